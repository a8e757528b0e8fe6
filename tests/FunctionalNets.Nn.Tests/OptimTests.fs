module FunctionalNets.Tests.Nn.OptimTests
