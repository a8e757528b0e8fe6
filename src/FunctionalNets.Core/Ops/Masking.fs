namespace FunctionalNets

// Placeholder: this part lands here.
