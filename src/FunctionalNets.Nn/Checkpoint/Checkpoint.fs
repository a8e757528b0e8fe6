namespace FunctionalNets

// Placeholder: Checkpoint/Checkpoint lands here.
