module FunctionalNets.Tests.Nn.SafeTensorsTests
