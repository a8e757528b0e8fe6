module FunctionalNets.Tests.Nn.LayerTests
