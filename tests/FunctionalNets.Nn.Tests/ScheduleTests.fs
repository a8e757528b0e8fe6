module FunctionalNets.Tests.Nn.ScheduleTests
