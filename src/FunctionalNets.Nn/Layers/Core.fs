namespace FunctionalNets

// Placeholder: Layers/Core lands here.
