namespace FunctionalNets

// Placeholder: Optim/Transforms lands here.
