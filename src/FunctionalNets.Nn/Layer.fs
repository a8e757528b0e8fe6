namespace FunctionalNets

// Placeholder: Layer lands here.
