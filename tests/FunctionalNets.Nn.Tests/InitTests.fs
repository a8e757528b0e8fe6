module FunctionalNets.Tests.Nn.InitTests
