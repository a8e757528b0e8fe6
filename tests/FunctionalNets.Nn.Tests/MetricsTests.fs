module FunctionalNets.Tests.Nn.MetricsTests
