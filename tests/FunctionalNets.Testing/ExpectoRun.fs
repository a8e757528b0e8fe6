/// Names and runs single Expecto tests: what both the xunit bridge and a project's own Expecto entry point rely on.
module FunctionalNets.Testing.ExpectoRun

open System
open System.Reflection
open System.Text.RegularExpressions
open Expecto
open Expecto.Impl

/// The separator of the parts of a test's name, here and on the command line (`--join-with /`): Expecto's default
/// is '.', which collides with the dots in test names such as "tolerance 1e-5".
let separator = "/"

/// The full name of a flattened test, its parts joined with the separator.
let fullName (t: FlatTest) = String.Join(separator, t.name)

/// Every test case of a tree, by full name, in the tree's order.
let flatten (tests: Test) : (string * FlatTest) list =
    Test.toTestCodeList tests |> List.map (fun t -> fullName t, t)

/// The command that runs one test of the calling test project alone, with Expecto's runner.
let replayCommand (assembly: Assembly) (name: string) =
    sprintf "dotnet run --project tests/%s -- --join-with / --run \"%s\"" (assembly.GetName().Name) name

/// An Expecto test that was skipped (`skiptest`, `ptestCase`, a pending list): the bridge reports it as skipped.
type SkippedException(reason: string) =
    inherit Exception(reason)

/// An Expecto test that failed: its message is Expecto's (for a property: FsCheck's seed, the shrunk counterexample
/// and the `etestProperty` line that focuses it) followed by the command that replays it.
type ExpectoFailedException(message: string, inner: exn) =
    inherit Exception(message, inner)

// The runner's own console output is noise inside `dotnet test`: the result travels in the exception.
let private quiet =
    { ExpectoConfig.defaultConfig with
        printer = TestPrinters.silent
        noSpinner = true
    }

// Expect's messages colour "expected" and "actual" for a terminal; a test report shows the escapes as text.
let private plain (message: string) =
    Regex.Replace(message, "\u001b\[[0-9;]*m", "")

// Expecto's report of a failure: its message for a failed expectation or property, the exception's type and message
// for an error.
let private report (result: TestResult) =
    match result with
    | TestResult.Failed message -> Some(plain (message.Trim()), null)
    | TestResult.Error e -> Some(sprintf "%s: %s" (e.GetType().Name) e.Message, e)
    | TestResult.Passed
    | TestResult.Ignored _ -> None

/// Runs the test named `name` (a full name from `flatten`) of `tests`; returns when it passes, raises
/// SkippedException when Expecto ignores it and ExpectoFailedException when it fails or throws.
let runOne (assembly: Assembly) (tests: Test) (name: string) =
    let replay = replayCommand assembly name

    let single =
        Test.filter separator (fun parts -> String.Join(separator, parts) = name) tests

    match evalTests quiet single |> Async.RunSynchronously with
    | [ (_, summary) ] ->
        match summary.result, report summary.result with
        | TestResult.Ignored reason, _ -> raise (SkippedException reason)
        | _, Some(message, inner) -> raise (ExpectoFailedException(sprintf "%s\n\nReplay: %s" message replay, inner))
        | _, None -> ()
    | [] ->
        invalidOp (
            sprintf
                "No Expecto test is named \"%s\" in %s: the list of tests changed since discovery; rebuild and rerun."
                name
                (assembly.GetName().Name)
        )
    | many ->
        invalidOp (
            sprintf
                "%d Expecto tests in %s are named \"%s\": give each test of a list its own name."
                many.Length
                (assembly.GetName().Name)
                name
        )

/// Runs every test of `tests`, one after another; returns the full name and Expecto's report (as runOne raises it,
/// without the replay line) of each test that failed or threw, in the tree's order. For tests of a test suite.
let failures (tests: Test) : (string * string) list =
    let results =
        evalTests { quiet with runInParallel = false } tests
        |> Async.RunSynchronously
        |> List.map (fun (t, summary) -> fullName t, summary.result)
        |> Map.ofList

    flatten tests
    |> List.choose (fun (name, _) -> report results[name] |> Option.map (fun (message, _) -> name, message))
