/// The xunit class of the bridge's tests and their Expecto entry point.
module FunctionalNets.Testing.Tests.Main

open System.Reflection
open FunctionalNets.Testing

type Bridge() =
    inherit ExpectoSuite(BridgeTests.tests)

[<EntryPoint>]
let main argv =
    Runner.main argv (ExpectoSuite.All(Assembly.GetExecutingAssembly()))
