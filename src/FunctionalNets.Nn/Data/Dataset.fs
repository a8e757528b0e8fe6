namespace FunctionalNets

// Placeholder: Data/Dataset lands here.
