namespace FunctionalNets

// Placeholder: Checkpoint/SafeTensors lands here.
