module FunctionalNets.Tests.Nn.ConvLayerTests

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn

let private values (t: Tensor) = Tensor.toFloatArray t
let private dims (t: Tensor) = t.Shape.ToArray()
let private paths (p: PTree<Tensor>) = PTree.leaves p |> List.map fst
let private key = Key.create 5L

let private leaf (path: string) (tree: PTree<Tensor>) =
    match PTree.tryFind path tree with
    | Some(Leaf t) -> t
    | other -> failwithf "no tensor at '%s': %A" path other

let private close (tol: float) (expected: float[]) (actual: float[]) =
    Expect.equal actual.Length expected.Length "actual.Length"

    Array.iteri2
        (fun i e a ->
            Expect.isTrue (abs (e - a) <= tol * (1.0 + abs e)) (sprintf "element %d: expected %g, got %g" i e a))
        expected
        actual

let private input (shape: int list) =
    let n = List.fold (*) 1 shape
    Tensor.ofArray (Array.init n (fun i -> float32 (sin (float i * 0.37) + 0.1 * float (i % 7))), shape)

let private init (layer: Layer) (shape: int list) = Layer.init layer key shape

// PyTorch's documented output length for convolution and pooling (floor mode).
let private outLen size k s p d =
    (size + 2 * p - d * (k - 1) - 1) / s + 1

/// Direct 2-D cross-correlation from the definition: y[n,o,i,j] = b[o] + sum over the group's channels and
/// taps of x[n, c, i s + u d - p, j s + v d - p] w[o, c', u, v] (zero outside the image).
let private naiveConv2d (x: Tensor) (w: Tensor) (b: float[] option) stride padding dilation groups =
    let xs, ws = values x, values w
    let n, c, h, wd = x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
    let o, cg, kh, kw = w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]

    let oh, ow =
        outLen h kh stride padding dilation, outLen wd kw stride padding dilation

    let og = o / groups

    [|
        for ni in 0 .. n - 1 do
            for oi in 0 .. o - 1 do
                for i in 0 .. oh - 1 do
                    for j in 0 .. ow - 1 do
                        let g = oi / og
                        let mutable acc = b |> Option.map (fun b -> b[oi]) |> Option.defaultValue 0.0

                        for cc in 0 .. cg - 1 do
                            let ci = g * cg + cc

                            for u in 0 .. kh - 1 do
                                for v in 0 .. kw - 1 do
                                    let r = i * stride + u * dilation - padding
                                    let q = j * stride + v * dilation - padding

                                    if r >= 0 && r < h && q >= 0 && q < wd then
                                        acc <-
                                            acc
                                            + xs[((ni * c + ci) * h + r) * wd + q]
                                              * ws[((oi * cg + cc) * kh + u) * kw + v]

                        yield acc
    |]

let ``Conv2d infers PyTorch's output shape and matches the direct formula for stride, padding, dilation and groups``
    ()
    =
    for (cin, cout, k, s, p, d, g) in
        [
            3, 4, 3, 1, 1, 1, 1
            4, 6, 3, 2, 0, 1, 2
            4, 4, 3, 1, 2, 2, 4
            2, 3, 1, 1, 0, 1, 1
            3, 2, 5, 3, 2, 1, 1
        ] do
        let layer =
            Layers.conv2d (cin, cout, k, stride = s, padding = p, dilation = d, groups = g)

        let out, ps, _ = init layer [ cin; 9; 8 ]
        let expected = [| cout; outLen 9 k s p d; outLen 8 k s p d |]
        Expect.equal (out.ToArray()) expected "out.ToArray()"
        Expect.equal (dims (leaf "weight" ps)) [| cout; cin / g; k; k |] "dims (leaf \"weight\" ps)"
        let x = input [ 2; cin; 9; 8 ]
        let y = Layer.predict layer ps PTree.empty x
        Expect.equal (dims y) (Array.append [| 2 |] expected) "dims y"
        let bias = Some(values (leaf "bias" ps))
        close 1e-5 (naiveConv2d x (leaf "weight" ps) bias s p d g) (values y)

let ``Conv2d without bias has only a weight, initialized within PyTorch's bounds`` () =
    let _, ps, _ = init (Layers.conv2d (32, 64, 3, bias = false)) [ 32; 8; 8 ]
    Expect.equal (paths ps) [ "weight" ] "paths ps"
    let w = values (leaf "weight" ps)
    // kaiming_uniform(a = sqrt 5) is U(-1/sqrt fan_in, 1/sqrt fan_in), fan_in = 32 * 3 * 3.
    let bound = 1.0 / sqrt (32.0 * 9.0)
    Expect.isTrue (w |> Array.forall (fun v -> abs v <= bound)) "a weight lies outside the uniform bound"
    let std = sqrt ((w |> Array.sumBy (fun v -> v * v)) / float w.Length)
    Checks.inRange "std" (0.95 * bound / sqrt 3.0) (1.05 * bound / sqrt 3.0) std

let ``Conv1d matches the direct formula over a unit height`` () =
    let layer = Layers.conv1d (2, 3, 3, stride = 2, padding = 1)
    let out, ps, _ = init layer [ 2; 11 ]
    Expect.equal (out.ToArray()) [| 3; outLen 11 3 2 1 1 |] "out.ToArray()"
    let x = input [ 2; 2; 11 ]
    let y = Layer.predict layer ps PTree.empty x
    let w = leaf "weight" ps
    let x4 = Tensor.reshape (x, [ 2; 2; 1; 11 ])
    let w4 = Tensor.reshape (w, [ 3; 2; 1; 3 ])
    // The 2-D formula with a 1-row kernel and no vertical padding is the 1-D one.
    let expected =
        let xs, ws, b = values x4, values w4, values (leaf "bias" ps)

        [|
            for n in 0..1 do
                for o in 0..2 do
                    for j in 0 .. out[1] - 1 do
                        let mutable acc = b[o]

                        for c in 0..1 do
                            for v in 0..2 do
                                let q = j * 2 + v - 1

                                if q >= 0 && q < 11 then
                                    acc <- acc + xs[(n * 2 + c) * 11 + q] * ws[(o * 2 + c) * 3 + v]

                        yield acc
        |]

    close 1e-5 expected (values y)

let ``ConvTranspose2d has PyTorch's output size and weight layout and inverts the shapes of Conv2d`` () =
    let layer =
        Layers.convTranspose2d (8, 4, 3, stride = 2, padding = 1, outputPadding = 1)

    let out, ps, _ = init layer [ 8; 5; 7 ]
    // (H - 1) stride - 2 padding + (k - 1) + outputPadding + 1
    Expect.equal (out.ToArray()) [| 4; 10; 14 |] "out.ToArray()"
    Expect.equal (dims (leaf "weight" ps)) [| 8; 4; 3; 3 |] "dims (leaf \"weight\" ps)"
    Expect.equal (dims (leaf "bias" ps)) [| 4 |] "dims (leaf \"bias\" ps)"
    let y = Layer.predict layer ps PTree.empty (input [ 3; 8; 5; 7 ])
    Expect.equal (dims y) [| 3; 4; 10; 14 |] "dims y"

let ``ConvTranspose2d with stride 1 is the direct formula with flipped, transposed weights`` () =
    let layer = Layers.convTranspose2d (2, 3, 3, padding = 1, bias = false)
    let _, ps, _ = init layer [ 2; 4; 5 ]
    let x = input [ 1; 2; 4; 5 ]
    let w = values (leaf "weight" ps) // [in 2; out 3; 3; 3]
    // With stride 1, conv_transpose(x, w, padding p) = conv(x, w', padding k - 1 - p) where
    // w'[o, c, u, v] = w[c, o, k - 1 - u, k - 1 - v].
    let flipped =
        Tensor.ofArray (
            Array.init 54 (fun i ->
                let o, c, u, v = i / 18, (i / 9) % 2, (i / 3) % 3, i % 3
                w[((c * 3 + o) * 3 + (2 - u)) * 3 + (2 - v)]),
            [ 3; 2; 3; 3 ]
        )

    let y = Layer.predict layer ps PTree.empty x
    close 1e-5 (naiveConv2d x flipped None 1 1 1 1) (values y)

let ``MaxPool2d, AvgPool2d and AdaptiveAvgPool2d layers compute hand-checked values`` () =
    let x = Tensor.ofArray (Array.init 16 float32, [ 1; 1; 4; 4 ])

    let run (layer: Layer) =
        Layer.predict layer PTree.empty PTree.empty x
    // 2x2 windows of 0..15 laid out row by row: maxima 5 7 13 15, means 2.5 4.5 10.5 12.5.
    Expect.equal (values (run (Layers.maxPool2d 2))) [| 5.0; 7.0; 13.0; 15.0 |] "values (run (Layers.maxPool2d 2))"
    Expect.equal (values (run (Layers.avgPool2d 2))) [| 2.5; 4.5; 10.5; 12.5 |] "values (run (Layers.avgPool2d 2))"
    Expect.equal (values (run (Layers.adaptiveAvgPool2d 1))) [| 7.5 |] "values (run (Layers.adaptiveAvgPool2d 1))"
    // Stride 1 with padding 1 pads with -inf for max: the corner window sees only x[0, 0].
    let padded = run (Layers.maxPool2d (2, stride = 1, padding = 1))
    Expect.equal (dims padded) [| 1; 1; 5; 5 |] "dims padded"
    Expect.equal ((values padded)[0]) 0.0 "(values padded)[0]"
    let out, _, _ = init (Layers.maxPool2d (3, stride = 2, ceilMode = true)) [ 1; 6; 6 ]
    // ceil((6 - 3) / 2) + 1 = 3
    Expect.equal (out.ToArray()) [| 1; 3; 3 |] "out.ToArray()"

let ``A convolution whose kernel is larger than its padded input names the layer and the shape`` () =
    let ex =
        Expects.throws<ArgumentException> "init (Layers.conv2d (2, 4, 5, padding = 1)) [ 2; 2; 2 ]" (fun () ->
            init (Layers.conv2d (2, 4, 5, padding = 1)) [ 2; 2; 2 ] |> ignore)

    Expect.stringContains ex.Message "Conv2d(2->4" "ex.Message"
    Expect.stringContains ex.Message "[2; 2; 2]" "ex.Message"
    Expect.stringContains ex.Message "kernel is larger" "ex.Message"
    let layer = Layers.conv2d (2, 4, 5, padding = 1)
    let _, ps, _ = init layer [ 2; 8; 8 ]

    let ex2 =
        Expects.throws<ArgumentException> "Layer.predict layer ps PTree.empty (input [ 1; 2; 2; 2 ])" (fun () ->
            Layer.predict layer ps PTree.empty (input [ 1; 2; 2; 2 ]) |> ignore)

    Expect.stringContains ex2.Message "kernel is larger" "ex2.Message"

let ``Mismatched channel counts name the layer and both counts`` () =
    let ex =
        Expects.throws<ArgumentException> "init (Layers.conv2d (3, 8, 3)) [ 1; 28; 28 ]" (fun () ->
            init (Layers.conv2d (3, 8, 3)) [ 1; 28; 28 ] |> ignore)

    Expect.stringContains ex.Message "Conv2d(3->8" "ex.Message"
    Expect.stringContains ex.Message "1 channels, expected 3" "ex.Message"
    let layer = Layers.conv2d (3, 8, 3)
    let _, ps, _ = init layer [ 3; 8; 8 ]

    let ex2 =
        Expects.throws<ArgumentException> "Layer.predict layer ps PTree.empty (input [ 2; 4; 8; 8 ])" (fun () ->
            Layer.predict layer ps PTree.empty (input [ 2; 4; 8; 8 ]) |> ignore)

    Expect.stringContains ex2.Message "[2; 4; 8; 8]" "ex2.Message"
    Expect.stringContains ex2.Message "4 channels, expected 3" "ex2.Message"

    Expects.throws<ArgumentOutOfRangeException> "Layers.conv2d (3, 8, 3, groups = 2)" (fun () ->
        Layers.conv2d (3, 8, 3, groups = 2) |> ignore)
    |> fun e -> Expect.stringContains e.Message "divisible by groups" "e.Message"

let ``A residual block adds its body to the input and checks that the shapes agree`` () =
    let body = Layers.linear (3, 3)
    let layer = Layers.residual (body, activation = Layers.relu ())
    let _, ps, _ = init layer [ 3 ]
    Expect.equal (paths ps) [ "body.weight"; "body.bias" ] "paths ps"
    let x = Tensor.ofArray ([| 1.0f; -2.0f; 0.5f; 0.0f; 3.0f; -1.0f |], [ 2; 3 ])
    let w, b = values (leaf "body.weight" ps), values (leaf "body.bias" ps)
    let xs = values x

    let expected =
        Array.init 6 (fun i ->
            let n, o = i / 3, i % 3
            let lin = b[o] + (Array.init 3 (fun c -> w[o * 3 + c] * xs[n * 3 + c]) |> Array.sum)
            max 0.0 (lin + xs[i]))

    close 1e-5 expected (values (Layer.predict layer ps PTree.empty x))

    let ex =
        Expects.throws<ArgumentException> "init (Layers.residual (Layers.linear (3, 4))) [ 3 ]" (fun () ->
            init (Layers.residual (Layers.linear (3, 4))) [ 3 ] |> ignore)

    Expect.stringContains ex.Message "shortcut" "ex.Message"
    Expect.stringContains ex.Message "[4]" "ex.Message"

let ``A basic block keeps or halves the plane and adds a projection shortcut only when needed`` () =
    let same, ps1, ss1 = init (Layers.basicBlock (16, 16)) [ 16; 8; 8 ]
    Expect.equal (same.ToArray()) [| 16; 8; 8 |] "same.ToArray()"
    Expect.isFalse (paths ps1 |> Seq.exists (fun p -> p.StartsWith "shortcut")) "no shortcut in paths ps1"
    Expect.contains (paths ps1) "body.conv1.weight" "paths ps1"
    Expect.contains (paths ss1) "body.bn2.running_var" "paths ss1"
    let down, ps2, _ = init (Layers.basicBlock (16, 32, stride = 2)) [ 16; 8; 8 ]
    Expect.equal (down.ToArray()) [| 32; 4; 4 |] "down.ToArray()"
    Expect.equal (dims (leaf "shortcut.0.weight" ps2)) [| 32; 16; 1; 1 |] "dims (leaf \"shortcut.0.weight\" ps2)"
    Expect.contains (paths ps2) "shortcut.1.weight" "paths ps2"

let ``The model zoo's networks have the parameter counts of their PyTorch definitions`` () =
    let count (layer: Layer) (shape: int list) =
        let out, ps, _ = init layer shape
        out.ToArray(), Layer.numParams ps
    // conv 1*32*9+32, conv 32*64*9+64, fc 3136*128+128, fc 128*10+10
    Expect.equal
        (count (Models.mnistCnn ()) [ 1; 28; 28 ])
        ((([| 10 |]), 320 + 18496 + 401536 + 1290))
        "count (Models.mnistCnn ()) [ 1; 28; 28 ]"
    // bias-free convs, BatchNorm weight and bias per channel, the classifier
    let small =
        3 * 32 * 9
        + 32 * 64 * 9
        + 64 * 128 * 9
        + 128 * 256 * 9
        + 2 * (32 + 64 + 128 + 256)
        + 2570

    Expect.equal
        (count (Models.cifarSmall 10) [ 3; 32; 32 ])
        ((([| 10 |]), small))
        "count (Models.cifarSmall 10) [ 3; 32; 32 ]"
    // The CIFAR ResNet-18 (3x3 stem, no max pool) has 11,173,962 parameters for 10 classes.
    Expect.equal
        (count (Models.resnet18Cifar 10) [ 3; 32; 32 ])
        ((([| 10 |]), 11173962))
        "count (Models.resnet18Cifar 10) [ 3; 32; 32 ]"

let ``A small CNN learns to tell horizontal from vertical bars`` () =
    // Class 0: a bright row, class 1: a bright column, at random positions over faint noise.
    let make (seed: int) (n: int) =
        let rng = Random(seed)
        let labels = Array.init n (fun i -> i % 2)

        let pixels =
            [|
                for i in 0 .. n - 1 do
                    let at = rng.Next(1, 7)

                    for r in 0..7 do
                        for c in 0..7 do
                            let on = if labels[i] = 0 then r = at else c = at
                            yield float32 ((if on then 1.0 else 0.0) + 0.2 * rng.NextDouble())
            |]

        Tensor.ofArray (pixels, [ n; 1; 8; 8 ]), Tensor.ofArray (Array.map int64 labels, [ n ])

    let model =
        Layer.sequential
            [
                Layers.conv2d (1, 4, 3, padding = 1)
                Layers.relu ()
                Layers.maxPool2d 2
                Layers.flatten ()
                Layers.linear (64, 2)
            ]

    let xTrain, yTrain = make 1 64
    let xTest, yTest = make 2 64
    let tx = Optim.adam 0.02
    let mutable state = Train.init model [ 1; 8; 8 ] tx (Key.create 3L)

    for _ in 1..60 do
        state <- fst (Train.trainStep model Losses.crossEntropy tx state { Input = xTrain; Target = yTrain })

    let predicted =
        Tensor.argmax (Layer.predict model state.Params state.State xTest, dim = 1)

    let correct = Tensor.toFloatArray (Tensor.eq (predicted, yTest)) |> Array.sum
    Expect.isTrue (correct >= 62.0) (sprintf "test accuracy %g / 64" correct)

/// The tests of this module.
let tests =
    testList
        "ConvLayer"
        [
            testCase
                "Conv2d infers PyTorch's output shape and matches the direct formula for stride, padding, dilation and groups"
                ``Conv2d infers PyTorch's output shape and matches the direct formula for stride, padding, dilation and groups``
            testCase
                "Conv2d without bias has only a weight, initialized within PyTorch's bounds"
                ``Conv2d without bias has only a weight, initialized within PyTorch's bounds``
            testCase
                "Conv1d matches the direct formula over a unit height"
                ``Conv1d matches the direct formula over a unit height``
            testCase
                "ConvTranspose2d has PyTorch's output size and weight layout and inverts the shapes of Conv2d"
                ``ConvTranspose2d has PyTorch's output size and weight layout and inverts the shapes of Conv2d``
            testCase
                "ConvTranspose2d with stride 1 is the direct formula with flipped, transposed weights"
                ``ConvTranspose2d with stride 1 is the direct formula with flipped, transposed weights``
            testCase
                "MaxPool2d, AvgPool2d and AdaptiveAvgPool2d layers compute hand-checked values"
                ``MaxPool2d, AvgPool2d and AdaptiveAvgPool2d layers compute hand-checked values``
            testCase
                "A convolution whose kernel is larger than its padded input names the layer and the shape"
                ``A convolution whose kernel is larger than its padded input names the layer and the shape``
            testCase
                "Mismatched channel counts name the layer and both counts"
                ``Mismatched channel counts name the layer and both counts``
            testCase
                "A residual block adds its body to the input and checks that the shapes agree"
                ``A residual block adds its body to the input and checks that the shapes agree``
            testCase
                "A basic block keeps or halves the plane and adds a projection shortcut only when needed"
                ``A basic block keeps or halves the plane and adds a projection shortcut only when needed``
            testCase
                "The model zoo's networks have the parameter counts of their PyTorch definitions"
                ``The model zoo's networks have the parameter counts of their PyTorch definitions``
            testCase
                "A small CNN learns to tell horizontal from vertical bars"
                ``A small CNN learns to tell horizontal from vertical bars``
        ]
