/// Runs the backend conformance suite (Suite.fs) on every backend under test, proves that it catches deliberately
/// wrong backends, and checks by reflection that it exercises every member of the contract.
module FunctionalNets.Tests.Conformance.ConformanceTests

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Tests.Conformance.TestBackends

/// The backends the suite runs on. A new backend is one line here: its name and how to get it.
let backendsUnderTest: (string * Lazy<Backend>) list =
    [
        "cpu", lazy (Backends.get Device.Cpu)
        "required-tier", lazy (requiredTier () :> Backend)
    ]

let ``Conformance: a backend one ulp off in Binary fails the suite, in Binary only`` () =
    let b = faulty (UlpOff "RawTensor.Binary")
    let failed = SuiteProperties.failures b
    Expect.equal (failed |> List.map fst) ([ "RawTensor.Binary" ]) "failed |> List.map fst"
    Expect.stringContains (snd failed.Head) "Binary" "snd failed.Head"
    Expect.stringContains (snd failed.Head) "the oracle gives" "snd failed.Head"

let ``Conformance: a backend with two elements of Permute swapped fails the suite`` () =
    let b = faulty (IndexOff "RawTensor.Permute")

    let e =
        Expects.throwsAny<exn> "SuiteProperties.run b \"RawTensor.Permute\"" (fun () ->
            SuiteProperties.run b "RawTensor.Permute")

    Expect.stringContains e.Message "Permute" "e.Message"

let ``Conformance: a backend with a wrong fused member fails the suite`` () =
    for m, check in
        [
            "RawTensor.GeluTanh", "RawTensor.GeluTanh, RawTensor.GeluTanhBackward"
            "RawTensor.LayerNorm", "RawTensor.LayerNorm, RawTensor.LayerNormBackward"
            "RawTensor.BatchNorm", "RawTensor.BatchNorm, RawTensor.BatchNormBackward"
            "RawTensor.Dropout", "RawTensor.Dropout, RawTensor.DropoutBackward"
        ] do
        let e =
            Expects.throwsAny<exn> "SuiteProperties.run (faulty (IndexOff m)) check" (fun () ->
                SuiteProperties.run (faulty (IndexOff m)) check)

        Expect.stringContains e.Message (m.Substring 10) "e.Message"

/// The line after "Parameters:" in FsCheck's report: the generated case.
let private parametersOf (report: string) =
    let lines = report.Split '\n' |> Array.map (fun l -> l.Trim())

    match Array.tryFindIndex (fun (l: string) -> l.EndsWith "Parameters:") lines with
    | Some i when i + 1 < lines.Length -> lines[i + 1]
    | _ -> failtestf "no \"Parameters:\" line followed by the case in the report:\n%s" report

let ``Conformance: a failing check prints its case, its seed and the commands that replay it`` () =
    let b = faulty (UlpOff "RawTensor.Binary")

    let e =
        Expects.throws<ExpectoRun.ExpectoFailedException> "the Binary check on a backend one ulp off" (fun () ->
            SuiteProperties.run b "RawTensor.Binary")

    let report = e.Message
    Expect.stringContains report "Failed after" "FsCheck's verdict"
    Expect.stringContains report "the oracle gives" "the check's own message"
    // The case as the check's generator makes it: ((shape a, shape b), dtype, kind, seed).
    let case = parametersOf report

    Expect.isMatch
        case
        @"^\(\(\[\|[0-9; ]*\|\], \[\|[0-9; ]*\|\]\), (Float32|Float64|Int32|Int64), (Add|Sub|Mul|Div|Pow|Max|Min), [0-9]+\)$"
        "the generated case"

    Expect.stringContains report "Original seed: (" "the seed"

    let focus =
        Text.RegularExpressions.Regex.Match(
            report,
            @"etestPropertyWithConfig \(([0-9]+)UL, ([0-9]+)UL, Some ([0-9]+)\)"
        )

    Expect.isTrue focus.Success "the etestPropertyWithConfig line that focuses the failing case"

    Expect.stringContains
        report
        "Replay: dotnet run --project tests/FunctionalNets.Core.Tests -- --join-with / --run \"RawTensor.Binary\""
        "the command that runs the test alone"

    // Replaying the printed seed (what etestPropertyWithConfig does) fails at once, on the same case.
    let group (i: int) = focus.Groups[i].Value
    let check = Suite.checks |> List.find (fun c -> c.Name = "RawTensor.Binary")

    let replayed =
        etestPropertyWithConfig
            (UInt64.Parse(group 1), UInt64.Parse(group 2), Some(Int32.Parse(group 3)))
            { FsCheckConfig.defaultConfig with
                maxTest = 1
            }
            "replayed"
            (lazy (check.Property b))

    match ExpectoRun.failures replayed with
    | [ (_, again) ] ->
        Expect.stringContains again "Failed after 1 test" "the replayed seed fails on its first case"
        Expect.equal (parametersOf again) case "the replayed case"
    | other -> failtestf "the replayed property should fail once, got %A" other

let ``Conformance: every abstract and virtual member of RawTensor and Backend is exercised by the suite`` () =
    let members = Suite.contractMembers ()
    // The reflection sees the members we know of (a guard against an empty or wrong enumeration).
    for m in
        [
            "RawTensor.Unary"
            "RawTensor.AdamStep"
            "RawTensor.Backend"
            "Backend.Zeros"
            "Backend.Name"
        ] do
        Expect.contains members m "the contract members"

    let declared = Suite.checks |> List.collect (fun c -> c.Members) |> Set.ofList

    let undeclared = members |> List.filter (fun m -> not (declared.Contains m))
    Expect.isTrue undeclared.IsEmpty (sprintf "members no conformance check declares: %A" undeclared)
    // Run the whole suite on a backend that records every member called.
    let b = recording ()
    Expect.isEmpty (SuiteProperties.failures b) "the recording backend passes the suite"
    let called = b.Calls
    let unexercised = members |> List.filter (fun m -> not (called.Contains m))
    Expect.isTrue unexercised.IsEmpty (sprintf "members the conformance suite never calls: %A" unexercised)

let ``Conformance: the fused members have defaults (virtual, not abstract)`` () =
    let fused =
        [
            "AdamStep"
            "AdamApply"
            "MaxPool2dBackward"
            "LayerNorm"
            "LayerNormBackward"
            "BatchNorm"
            "BatchNormBackward"
            "Dropout"
            "DropoutBackward"
            "AttentionSoftmax"
            "AttentionSoftmaxBackward"
            "Attention"
            "AttentionBackward"
            "PrefersFusedAttention"
            "GeluTanh"
            "GeluTanhBackward"
            "UpsampleNearest2d"
            "UpsampleNearest2dBackward"
        ]

    for name in fused do
        let m = typeof<RawTensor>.GetMethod name
        Expect.isTrue (m.IsVirtual && not m.IsAbstract) (sprintf "RawTensor.%s should be virtual with a default" name)

let ``Conformance: a backend missing a required primitive names it and the backend at the first call`` () =
    let b = withoutMatMul ()
    let x = TConst(b.Full(Shape.Create [| 2; 3 |], DType.Float32, 1.0))
    let y = TConst(b.Full(Shape.Create [| 3; 2 |], DType.Float32, 1.0))

    let e =
        Expects.throws<NotSupportedException> "Tensor.matmul (x, y)" (fun () -> Tensor.matmul (x, y) |> ignore)

    Expect.stringContains e.Message "RawTensor.MatMul" "e.Message"
    Expect.stringContains e.Message "no-matmul" "e.Message"

let ``Required tier: ops on the fused members give the CPU backend's values and gradients`` () =
    let run (b: Backend) =
        let x0 = TConst(Suite.tensor b DType.Float64 Suite.Real 7 [| 2; 3; 4; 6 |])
        let w = TConst(Suite.tensor b DType.Float64 Suite.Real 8 [| 6 |])

        let f (x: Tensor) =
            let h = Tensor.geluTanh (Tensor.layerNorm (x, [ 6 ], weight = w))
            let a = Tensor.scaledDotProductAttention (h, h, h, isCausal = true)
            let p = Tensor.maxPool2d (Tensor.dropout (a, 0.3, Key.create 3L), 2)
            Tensor.sum (p * p)

        let v, g = Diff.valueAndGrad f x0
        let m, s, u = Tensor.adamStep (g, x0, x0 * x0, 0.9, 0.999, 1e-8, 0.1, 0.001)
        [| v.Raw; g.Raw; m.Raw; s.Raw; u.Raw |]

    let expected = run (Suite.oracle ())
    let required = requiredTier ()
    let actual = run required

    for i in 0 .. expected.Length - 1 do
        Suite.agree (sprintf "output %d" i) (Suite.Close(1e-5, 1e-10)) expected[i] actual[i]

    // RequiredTierRawTensor does not override the fused members, so the values above came from their defaults,
    // which reached the CPU kernels through the required primitives only.
    Expect.contains required.Calls "RawTensor.Binary" "required.Calls"

let tests =
    testList
        "Conformance"
        [
            // One case per (backend, check), named as xunit named the rows of the theory this list replaces.
            testList
                "Conformance: backend agrees with the CPU oracle"
                [
                    for backend, b in backendsUnderTest do
                        for c in Suite.checks -> SuiteProperties.test (sprintf "%s, %s" backend c.Name) b.Force c
                ]
            testCase
                "Conformance: a backend one ulp off in Binary fails the suite, in Binary only"
                ``Conformance: a backend one ulp off in Binary fails the suite, in Binary only``
            testCase
                "Conformance: a backend with two elements of Permute swapped fails the suite"
                ``Conformance: a backend with two elements of Permute swapped fails the suite``
            testCase
                "Conformance: a backend with a wrong fused member fails the suite"
                ``Conformance: a backend with a wrong fused member fails the suite``
            testCase
                "Conformance: a failing check prints its case, its seed and the commands that replay it"
                ``Conformance: a failing check prints its case, its seed and the commands that replay it``
            testCase
                "Conformance: every abstract and virtual member of RawTensor and Backend is exercised by the suite"
                ``Conformance: every abstract and virtual member of RawTensor and Backend is exercised by the suite``
            testCase
                "Conformance: the fused members have defaults (virtual, not abstract)"
                ``Conformance: the fused members have defaults (virtual, not abstract)``
            testCase
                "Conformance: a backend missing a required primitive names it and the backend at the first call"
                ``Conformance: a backend missing a required primitive names it and the backend at the first call``
            testCase
                "Required tier: ops on the fused members give the CPU backend's values and gradients"
                ``Required tier: ops on the fused members give the CPU backend's values and gradients``
        ]
