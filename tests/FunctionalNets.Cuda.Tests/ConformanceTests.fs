/// The backend conformance suite of FunctionalNets.Core.Tests (compiled in from there) on the simulated CUDA
/// device: every RawTensor and Backend member against the CPU oracle.
module FunctionalNets.Cuda.Tests.ConformanceTests

open Xunit
open FunctionalNets.Tests.Conformance
open FunctionalNets.Cuda.Tests.Sim

/// One case per check of the suite.
let conformanceCases: seq<obj[]> = seq { for c in Suite.checks -> [| box c.Name |] }

[<Theory; MemberData(nameof conformanceCases)>]
let ``Conformance: simulated cuda agrees with the CPU oracle`` (check: string) = Suite.runCheck (gpu ()) check
