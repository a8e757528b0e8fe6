namespace FunctionalNets

// Placeholder: Init lands here.
