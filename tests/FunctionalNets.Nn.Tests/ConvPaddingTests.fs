/// Convolution layers with torch's padding='same' (even kernels included) and padding modes. Expected values are
/// torch 1.13's: x = torch.arange(12, dtype=torch.float64).reshape(1, 1, 3, 4) * 0.5 - 1.0, weights
/// torch.arange(8).reshape(2, 1, 2, 2) * 0.1 - 0.5, bias [0.1, -0.2], conv = nn.Conv2d(1, 2, 2, padding='same',
/// padding_mode=m) with those weights copied in; print(conv(x).flatten()).
module FunctionalNets.Tests.Nn.ConvPaddingTests

open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn

let private x =
    Tensor.ofArray (Array.init 12 (fun i -> float i * 0.5 - 1.0), [ 1; 1; 3; 4 ])

let private conv2dParams =
    PTree.Node
        [
            "weight", PTree.Leaf(Tensor.ofArray (Array.init 8 (fun i -> float i * 0.1 - 0.5), [ 2; 1; 2; 2 ]))
            "bias", PTree.Leaf(Tensor.ofArray ([| 0.1; -0.2 |], [ 2 ]))
        ]

let private close (expected: float[]) (actual: Tensor) =
    let a = Tensor.toFloatArray actual
    Expect.equal a.Length expected.Length "a.Length"

    Array.iteri
        (fun i e -> Expect.isTrue (abs (e - a[i]) <= 1e-12) (sprintf "element %d: expected %g, got %g" i e a[i]))
        expected

let private run (layer: Layer) (ps: Params) (input: Tensor) =
    let outShape, _, _ =
        layer.Init (Key.create 0L) (Shape.ofArray (input.Shape.ToArray()[1..]))

    let y, _ = layer.Apply ps PTree.empty { Mode = Mode.Eval; Key = None } input
    Expect.equal (y.Shape.ToArray()[1..]) (outShape.ToArray()) "y.Shape.ToArray()[1..]"
    y

let ``conv2d with padding same and an even kernel, for every padding mode, matches torch`` () =
    let cases =
        [
            PadMode.Constant 0.0,
            [|
                0.2
                -0.5
                -1.2
                -0.9
                -2.6
                -3.3
                -4.0
                -2.5
                -2.8
                -3.25
                -3.7
                -2.15
                0.3
                0.4
                0.5
                0.0
                0.7
                0.8
                0.9
                0.0
                -0.5
                -0.55
                -0.6
                -0.65
            |]
            PadMode.Reflect,
            [|
                0.2
                -0.5
                -1.2
                -1.3
                -2.6
                -3.3
                -4.0
                -4.1
                -3.4
                -4.1
                -4.8
                -4.9
                0.3
                0.4
                0.5
                0.4
                0.7
                0.8
                0.9
                0.8
                -0.1
                0.0
                0.1
                0.0
            |]
            PadMode.Circular,
            [|
                0.2
                -0.5
                -1.2
                -0.7
                -2.6
                -3.3
                -4.0
                -3.5
                -2.4
                -3.1
                -3.8
                -3.3
                0.3
                0.4
                0.5
                0.2
                0.7
                0.8
                0.9
                0.6
                -0.7
                -0.6
                -0.5
                -0.8
            |]
            PadMode.Replicate,
            [|
                0.2
                -0.5
                -1.2
                -1.6
                -2.6
                -3.3
                -4.0
                -4.4
                -4.4
                -5.1
                -5.8
                -6.2
                0.3
                0.4
                0.5
                0.5
                0.7
                0.8
                0.9
                0.9
                0.5
                0.6
                0.7
                0.7
            |]
        ]

    for mode, expected in cases do
        let y =
            run (Layers.conv2d (1, 2, 2, same = true, paddingMode = mode)) conv2dParams x

        Expect.equal (y.Shape.ToArray()) [| 1; 2; 3; 4 |] "y.Shape.ToArray()"
        close expected y

let ``conv1d with padding same and kernel 4, and reflect padding 1, match torch`` () =
    // x1 = torch.arange(5.) * 0.3, weight [[[1, -1, 0.5, 2]]], no bias: nn.Conv1d(1, 1, 4, padding='same') and
    // nn.Conv1d(1, 1, 4, padding=1, padding_mode='reflect')
    let x1 = Tensor.ofArray (Array.init 5 (fun i -> float i * 0.3), [ 1; 1; 5 ])

    let ps =
        PTree.Node
            [
                "weight", PTree.Leaf(Tensor.ofArray ([| 1.0; -1.0; 0.5; 2.0 |], [ 1; 1; 4 ]))
            ]

    close [| 1.35; 1.8; 2.55; 0.3; -0.3 |] (run (Layers.conv1d (1, 1, 4, bias = false, same = true)) ps x1)

    close
        [| 1.65; 1.8; 2.55; 2.1 |]
        (run (Layers.conv1d (1, 1, 4, padding = 1, bias = false, paddingMode = PadMode.Reflect)) ps x1)

let ``padding same with a stride is refused as in torch`` () =
    let e =
        Expects.throws<System.ArgumentException> "Layers.conv2d (1, 2, 3, stride = 2, same = true)" (fun () ->
            Layers.conv2d (1, 2, 3, stride = 2, same = true) |> ignore)

    Expect.stringContains e.Message "needs stride 1" "e.Message"

/// The tests of this module.
let tests =
    testList
        "ConvPadding"
        [
            testCase
                "conv2d with padding same and an even kernel, for every padding mode, matches torch"
                ``conv2d with padding same and an even kernel, for every padding mode, matches torch``
            testCase
                "conv1d with padding same and kernel 4, and reflect padding 1, match torch"
                ``conv1d with padding same and kernel 4, and reflect padding 1, match torch``
            testCase
                "padding same with a stride is refused as in torch"
                ``padding same with a stride is refused as in torch``
        ]
