module FunctionalNets.Tests.Nn.TrainingTests
