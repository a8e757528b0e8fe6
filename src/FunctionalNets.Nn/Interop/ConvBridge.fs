namespace FunctionalNets.Nn.Interop

// Placeholder: this part lands here.
