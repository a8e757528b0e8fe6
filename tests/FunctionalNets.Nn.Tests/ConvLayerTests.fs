module FunctionalNets.Tests.Nn.ConvLayerTests
