module FunctionalNets.Tests.Nn.MnistTests
