module FunctionalNets.Tests.Nn.TransformTests
