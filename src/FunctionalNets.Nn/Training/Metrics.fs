namespace FunctionalNets

// Placeholder: Training/Metrics lands here.
