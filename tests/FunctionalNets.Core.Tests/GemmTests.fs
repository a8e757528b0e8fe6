module FunctionalNets.Tests.GemmTests
