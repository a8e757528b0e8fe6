/// The conformance suite's checks (Suite.fs) as Expecto.FsCheck properties, for the test projects that run the suite
/// on a backend (this one and FunctionalNets.Cuda.Tests, which compiles this file in).
module FunctionalNets.Tests.Conformance.SuiteProperties

open System.Reflection
open Expecto
open FunctionalNets
open FunctionalNets.Testing

/// The Expecto.FsCheck test named `name` of check c on the backend that `backend` returns when the test runs (so that
/// listing the tests starts no device). A failure prints FsCheck's case, its seed and the line that replays it.
let test (name: string) (backend: unit -> Backend) (c: Suite.Check) =
    testPropertyWithConfig
        { FsCheckConfig.defaultConfig with
            maxTest = c.Cases
        }
        name
        (lazy (c.Property(backend ())))

/// Every check on backend b, one test each, named after the check, in one list named "suite".
let testsOn (b: Backend) =
    testList "suite" [ for c in Suite.checks -> test c.Name (fun () -> b) c ]

/// Runs one check (by name) on a backend as the bridge runs a test; raises ExpectoFailedException with Expecto's report
/// (the case, its seed, the etestPropertyWithConfig line and the replay command) when it fails.
let run (b: Backend) (name: string) =
    match Suite.checks |> List.tryFind (fun c -> c.Name = name) with
    | Some c -> ExpectoRun.runOne (Assembly.GetExecutingAssembly()) (test name (fun () -> b) c) name
    | None -> failwithf "no conformance check named %s" name

/// Runs every check on a backend, one after another; returns the names of the checks that failed, with Expecto's
/// reports.
let failures (b: Backend) =
    ExpectoRun.failures (testsOn b)
    |> List.map (fun (name, report) -> name.Substring "suite/".Length, report)
