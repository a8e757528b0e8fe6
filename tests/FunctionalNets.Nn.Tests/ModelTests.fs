module FunctionalNets.Tests.Nn.ModelTests

// Placeholder: this part lands here.
