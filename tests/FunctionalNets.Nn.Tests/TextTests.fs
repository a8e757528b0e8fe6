module FunctionalNets.Tests.Nn.TextTests

// Placeholder: this part lands here.
