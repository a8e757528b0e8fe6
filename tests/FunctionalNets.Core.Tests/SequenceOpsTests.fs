module FunctionalNets.Tests.SequenceOpsTests

// Placeholder: this part lands here.
