namespace FunctionalNets

// Placeholder: Optim/Optimizers lands here.
