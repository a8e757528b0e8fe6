module FunctionalNets.Tests.Nn.DataTests
