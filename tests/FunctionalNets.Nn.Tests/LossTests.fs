module FunctionalNets.Tests.Nn.LossTests
