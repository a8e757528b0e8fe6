namespace FunctionalNets

// Placeholder: Training/Callbacks lands here.
