/// Tensor.pad's modes against torch 1.13's F.pad, and their errors.
module FunctionalNets.Tests.PaddingTests

open Expecto
open FunctionalNets.Testing
open FunctionalNets

// x = torch.arange(12, dtype=torch.float64).reshape(1, 1, 3, 4) * 0.5 - 1.0
let private x =
    Tensor.ofArray (Array.init 12 (fun i -> float i * 0.5 - 1.0), [ 1; 1; 3; 4 ])

let private padded (mode: PadMode) =
    // F.pad(x, (1, 2, 2, 1), mode): width (1, 2), height (2, 1)
    let y = Tensor.pad (x, [ (2, 1); (1, 2) ], mode)
    Expect.equal (y.Shape.ToArray()) ([| 1; 1; 6; 7 |]) "y.Shape.ToArray()"
    Tensor.toFloatArray y

let ``reflect, replicate and circular padding match torch's F.pad`` () =
    Expect.equal
        (padded PadMode.Reflect)
        ([|
            3.5
            3.0
            3.5
            4.0
            4.5
            4.0
            3.5
            1.5
            1.0
            1.5
            2.0
            2.5
            2.0
            1.5
            -0.5
            -1.0
            -0.5
            0.0
            0.5
            0.0
            -0.5
            1.5
            1.0
            1.5
            2.0
            2.5
            2.0
            1.5
            3.5
            3.0
            3.5
            4.0
            4.5
            4.0
            3.5
            1.5
            1.0
            1.5
            2.0
            2.5
            2.0
            1.5
        |])
        "padded PadMode.Reflect"

    Expect.equal
        (padded PadMode.Replicate)
        ([|
            -1.0
            -1.0
            -0.5
            0.0
            0.5
            0.5
            0.5
            -1.0
            -1.0
            -0.5
            0.0
            0.5
            0.5
            0.5
            -1.0
            -1.0
            -0.5
            0.0
            0.5
            0.5
            0.5
            1.0
            1.0
            1.5
            2.0
            2.5
            2.5
            2.5
            3.0
            3.0
            3.5
            4.0
            4.5
            4.5
            4.5
            3.0
            3.0
            3.5
            4.0
            4.5
            4.5
            4.5
        |])
        "padded PadMode.Replicate"

    Expect.equal
        (padded PadMode.Circular)
        ([|
            2.5
            1.0
            1.5
            2.0
            2.5
            1.0
            1.5
            4.5
            3.0
            3.5
            4.0
            4.5
            3.0
            3.5
            0.5
            -1.0
            -0.5
            0.0
            0.5
            -1.0
            -0.5
            2.5
            1.0
            1.5
            2.0
            2.5
            1.0
            1.5
            4.5
            3.0
            3.5
            4.0
            4.5
            3.0
            3.5
            0.5
            -1.0
            -0.5
            0.0
            0.5
            -1.0
            -0.5
        |])
        "padded PadMode.Circular"

    Expect.equal
        (Tensor.toFloatArray (Tensor.pad (x, [ (1, 1) ], PadMode.Constant 2.0)))
        (Tensor.toFloatArray (Tensor.pad (x, [ (1, 1) ], 2.0)))
        "Tensor.toFloatArray (Tensor.pad (x, [ (1, 1) ], PadMode.Constant 2.0))"

let ``reflect padding as wide as the dim is refused with the sizes named`` () =
    // torch: "Padding size should be less than the corresponding input dimension"
    let e =
        Expects.throws<System.ArgumentException> "Tensor.pad (x, [ (4, 0) ], PadMode.Reflect)" (fun () ->
            Tensor.pad (x, [ (4, 0) ], PadMode.Reflect) |> ignore)

    Expect.stringContains e.Message "less than the size (4)" "e.Message"
    Expect.stringContains e.Message "[1; 1; 3; 4]" "e.Message"

let tests =
    testList
        "Padding"
        [
            testCase
                "reflect, replicate and circular padding match torch's F.pad"
                ``reflect, replicate and circular padding match torch's F.pad``
            testCase
                "reflect padding as wide as the dim is refused with the sizes named"
                ``reflect padding as wide as the dim is refused with the sizes named``
        ]
