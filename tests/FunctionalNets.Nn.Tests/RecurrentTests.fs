module FunctionalNets.Tests.Nn.RecurrentTests

// Placeholder: this part lands here.
