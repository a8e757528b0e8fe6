module FunctionalNets.Tests.KeyTests
