namespace FunctionalNets

// Placeholder: Layers/Activations lands here.
