module FunctionalNets.Tests.Nn.PerceptronTests
