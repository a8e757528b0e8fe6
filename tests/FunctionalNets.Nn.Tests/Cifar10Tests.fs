module FunctionalNets.Tests.Nn.Cifar10Tests
