module FunctionalNets.Tests.Nn.PlotTests
