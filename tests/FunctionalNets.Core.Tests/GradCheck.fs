module FunctionalNets.Tests.GradCheck
