namespace FunctionalNets

// Placeholder: Training/Progress lands here.
