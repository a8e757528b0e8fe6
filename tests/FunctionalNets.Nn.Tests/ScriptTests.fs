module FunctionalNets.Tests.Nn.ScriptTests
