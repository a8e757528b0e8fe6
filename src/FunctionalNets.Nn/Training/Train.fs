namespace FunctionalNets

// Placeholder: Training/Train lands here.
