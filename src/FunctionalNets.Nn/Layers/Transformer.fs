namespace FunctionalNets.Nn

// Placeholder: this part lands here.
