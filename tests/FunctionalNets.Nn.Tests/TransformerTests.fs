module FunctionalNets.Tests.Nn.TransformerTests

// Placeholder: this part lands here.
