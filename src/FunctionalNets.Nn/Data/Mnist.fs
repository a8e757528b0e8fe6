namespace FunctionalNets

// Placeholder: Data/Mnist lands here.
