module FunctionalNets.Tests.AttentionTests

// Placeholder: this part lands here.
