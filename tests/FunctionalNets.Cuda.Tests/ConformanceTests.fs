/// The backend conformance suite of FunctionalNets.Core.Tests (compiled in from there) on the simulated CUDA
/// device: every RawTensor and Backend member against the CPU oracle.
module FunctionalNets.Cuda.Tests.ConformanceTests

open Expecto
open FunctionalNets.Tests.Conformance
open FunctionalNets.Cuda.Tests.Sim

/// One Expecto.FsCheck property per check of the suite.
let tests =
    testList
        "Conformance: simulated cuda agrees with the CPU oracle"
        [ for c in Suite.checks -> SuiteProperties.test c.Name gpu c ]
