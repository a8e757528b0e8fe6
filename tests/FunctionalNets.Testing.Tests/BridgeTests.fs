/// The bridge's own behaviour, on small Expecto trees made for the purpose: what a failing property, a failing
/// expectation, an exception and a skipped test turn into, and how names are flattened.
module FunctionalNets.Testing.Tests.BridgeTests

open System
open Expecto
open FsCheck
open FunctionalNets.Testing

// A property that fails for some generated case (FsCheck finds x >= 10 among 100 ints quickly, then shrinks to 10).
/// A tree with one test of each outcome (not exposed to xunit: most of it fails on purpose).
let sample =
    testList
        "Sample"
        [
            testCase "passes" ignore
            testCase "fails" (fun () -> Expect.equal 1 2 "one is not two")
            testCase "throws" (fun () -> invalidOp "boom")
            testCase "skips" (fun () -> skiptest "torch is not installed")
            ptestCase "is pending" ignore
            testList "nested" [ testCase "max/min (a slash in a name)" ignore ]
            testPropertyWithConfig
                { FsCheckConfig.defaultConfig with
                    maxTest = 100
                }
                "fails for large x"
                (fun (x: int) -> x < 10)
        ]

let private run name =
    ExpectoRun.runOne (Reflection.Assembly.GetExecutingAssembly()) sample name

let private failure name =
    Expects.throws<ExpectoRun.ExpectoFailedException> name (fun () -> run name)

/// The tests of this module.
let tests =
    testList
        "Bridge"
        [
            testCase "flattening names every test case by its path, in order"
            <| fun () ->
                Expect.sequenceEqual
                    (ExpectoRun.flatten sample |> List.map fst)
                    [
                        "Sample/passes"
                        "Sample/fails"
                        "Sample/throws"
                        "Sample/skips"
                        "Sample/is pending"
                        "Sample/nested/max/min (a slash in a name)"
                        "Sample/fails for large x"
                    ]
                    "flattened names"

            testCase "a passing test returns; one whose name holds the separator is still found"
            <| fun () ->
                run "Sample/passes"
                run "Sample/nested/max/min (a slash in a name)"

            testCase "a failed expectation carries Expecto's message and the command that replays it"
            <| fun () ->
                let e = failure "Sample/fails"
                Expect.stringContains e.Message "one is not two" "Expecto's message"
                Expect.isFalse (e.Message.Contains "\u001b[") "no terminal colour escapes"

                Expect.stringContains
                    e.Message
                    "dotnet run --project tests/FunctionalNets.Testing.Tests -- --join-with / --run \"Sample/fails\""
                    "the replay command"

            testCase "an exception keeps its type, message and stack as the inner exception"
            <| fun () ->
                let e = failure "Sample/throws"
                Expect.stringContains e.Message "InvalidOperationException: boom" "the exception in the message"
                Expect.isNotNull e.InnerException "the inner exception"
                Expect.equal (e.InnerException.GetType()) typeof<InvalidOperationException> "its type"

            testCase "a failing property prints its seed, the shrunk counterexample and the line that focuses it"
            <| fun () ->
                let e = failure "Sample/fails for large x"
                Expect.stringContains e.Message "Failed after" "FsCheck's verdict"
                Expect.stringContains e.Message "Original seed: (" "the seed"
                // Whether FsCheck first hits 10 or shrinks a larger case to it, the case printed last is 10.
                Expect.stringContains e.Message "\t10\n" "the shrunk counterexample"
                Expect.stringContains e.Message "etestPropertyWithConfig (" "the line that focuses the seed"
                Expect.stringContains e.Message "--run \"Sample/fails for large x\"" "the replay command"

            testCase "the seed a failing property prints replays it: the same shrunk case fails again"
            <| fun () ->
                let report = (failure "Sample/fails for large x").Message

                let focus =
                    Text.RegularExpressions.Regex.Match(
                        report,
                        @"etestPropertyWithConfig \(([0-9]+)UL, ([0-9]+)UL, Some ([0-9]+)\)"
                    )

                Expect.isTrue focus.Success "the line that focuses the failing case"
                let group (i: int) = focus.Groups[i].Value
                // The property of Sample with the printed seed, as the README says to replay one.
                let replayed =
                    etestPropertyWithConfig
                        (UInt64.Parse(group 1), UInt64.Parse(group 2), Some(Int32.Parse(group 3)))
                        { FsCheckConfig.defaultConfig with
                            maxTest = 100
                        }
                        "replayed"
                        (fun (x: int) -> x < 10)

                match ExpectoRun.failures replayed with
                | [ ("replayed", again) ] ->
                    Expect.stringContains again "Failed after 1 test" "the printed seed fails on its first case"
                    Expect.stringContains again "\t10\n" "the same shrunk counterexample"
                | other -> failtestf "the replayed property should fail, got %A" other

            testCase "failures lists the tests that failed or threw, by full name, in the tree's order"
            <| fun () ->
                let failed = ExpectoRun.failures sample |> List.map fst

                Expect.sequenceEqual
                    failed
                    [ "Sample/fails"; "Sample/throws"; "Sample/fails for large x" ]
                    "the failed tests, not the passed, skipped or pending ones"

            testCase "skiptest and pending tests become skips with their reason"
            <| fun () ->
                let e =
                    Expects.throws<ExpectoRun.SkippedException> "skiptest" (fun () -> run "Sample/skips")

                Expect.stringContains e.Message "torch is not installed" "the reason"

                Expects.throws<ExpectoRun.SkippedException> "ptestCase" (fun () -> run "Sample/is pending")
                |> ignore

            testCase "a name that is not in the tree is a clear error"
            <| fun () ->
                let e =
                    Expects.throws<InvalidOperationException> "unknown name" (fun () -> run "Sample/renamed")

                Expect.stringContains e.Message "No Expecto test is named \"Sample/renamed\"" "the message"

            testCase "Expects.throws wants the exact type, throwsAny a subtype"
            <| fun () ->
                Expects.throwsAny<ArgumentException> "subtype" (fun () -> raise (ArgumentNullException "x"))
                |> ignore

                let wrong =
                    try
                        Expects.throws<ArgumentException> "exact" (fun () -> raise (ArgumentNullException "x"))
                        |> ignore

                        None
                    with e ->
                        Some e.Message

                Expect.isSome wrong "a subtype is not the exact type"
                Expect.stringContains wrong.Value "System.ArgumentNullException" "what was raised"
        ]
