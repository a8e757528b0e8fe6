namespace FunctionalNets

// Placeholder: Perceptron lands here.
