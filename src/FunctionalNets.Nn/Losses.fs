namespace FunctionalNets

// Placeholder: Losses lands here.
