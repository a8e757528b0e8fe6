/// Tensor.pad's modes against torch 1.13's F.pad, and their errors.
module FunctionalNets.Tests.PaddingTests

open Xunit
open FunctionalNets

// x = torch.arange(12, dtype=torch.float64).reshape(1, 1, 3, 4) * 0.5 - 1.0
let private x =
    Tensor.ofArray (Array.init 12 (fun i -> float i * 0.5 - 1.0), [ 1; 1; 3; 4 ])

let private padded (mode: PadMode) =
    // F.pad(x, (1, 2, 2, 1), mode): width (1, 2), height (2, 1)
    let y = Tensor.pad (x, [ (2, 1); (1, 2) ], mode)
    Assert.Equal<int[]>([| 1; 1; 6; 7 |], y.Shape.ToArray())
    Tensor.toFloatArray y

[<Fact>]
let ``reflect, replicate and circular padding match torch's F.pad`` () =
    Assert.Equal<float[]>(
        [|
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
        |],
        padded PadMode.Reflect
    )

    Assert.Equal<float[]>(
        [|
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
        |],
        padded PadMode.Replicate
    )

    Assert.Equal<float[]>(
        [|
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
        |],
        padded PadMode.Circular
    )

    Assert.Equal<float[]>(
        Tensor.toFloatArray (Tensor.pad (x, [ (1, 1) ], 2.0)),
        Tensor.toFloatArray (Tensor.pad (x, [ (1, 1) ], PadMode.Constant 2.0))
    )

[<Fact>]
let ``reflect padding as wide as the dim is refused with the sizes named`` () =
    // torch: "Padding size should be less than the corresponding input dimension"
    let e =
        Assert.Throws<System.ArgumentException>(fun () -> Tensor.pad (x, [ (4, 0) ], PadMode.Reflect) |> ignore)

    Assert.Contains("less than the size (4)", e.Message)
    Assert.Contains("[1; 1; 3; 4]", e.Message)
