/// The convolution kernels' algorithms (im2col + GEMM, Winograd F(2x2, 3x3), the direct few-channel kernel) against the direct definition written
/// out with loops in double, on random shapes: each path forced in turn, and the choice the shape alone makes.
module FunctionalNets.Tests.WinogradTests

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets.Kernels

/// A shape: batch, channels in and out, height, width, kernel, stride, padding.
type private Case =
    {
        N: int
        C: int
        O: int
        H: int
        W: int
        K: int
        S: int
        P: int
    }

    member c.OH = (c.H + 2 * c.P - c.K) / c.S + 1
    member c.OW = (c.W + 2 * c.P - c.K) / c.S + 1

    member c.Geometry =
        ConvGeometry.Create("conv2d", [| c.N; c.C; c.H; c.W |], [| c.O; c.C; c.K; c.K |], c.S, c.S, c.P, c.P, 1, 1, 1)

let private randomFloats (rng: Random) n =
    Array.init n (fun _ -> float32 (rng.NextDouble() * 2.0 - 1.0))

/// y and, beside it, the sum of |x w| over the terms of each output (the scale a float32 rounding error is relative to).
let private directForward (c: Case) (x: float32[]) (w: float32[]) =
    let oh, ow = c.OH, c.OW
    let y = Array.zeroCreate<float>(c.N * c.O * oh * ow)
    let mag = Array.zeroCreate<float> y.Length

    for n in 0 .. c.N - 1 do
        for o in 0 .. c.O - 1 do
            for i in 0 .. oh - 1 do
                for j in 0 .. ow - 1 do
                    let at = ((n * c.O + o) * oh + i) * ow + j

                    for ch in 0 .. c.C - 1 do
                        for ki in 0 .. c.K - 1 do
                            for kj in 0 .. c.K - 1 do
                                let ih, iw = i * c.S - c.P + ki, j * c.S - c.P + kj

                                if ih >= 0 && ih < c.H && iw >= 0 && iw < c.W then
                                    let t =
                                        float x[((n * c.C + ch) * c.H + ih) * c.W + iw]
                                        * float w[((o * c.C + ch) * c.K + ki) * c.K + kj]

                                    y[at] <- y[at] + t
                                    mag[at] <- mag[at] + abs t

    y, mag

/// dx of sum(conv(x, w) * dy): every product dy[o, i, j] w[o, c, ki, kj] added where the forward pass read x.
let private directInputGrad (c: Case) (dy: float32[]) (w: float32[]) =
    let oh, ow = c.OH, c.OW
    let dx = Array.zeroCreate<float>(c.N * c.C * c.H * c.W)
    let mag = Array.zeroCreate<float> dx.Length

    for n in 0 .. c.N - 1 do
        for o in 0 .. c.O - 1 do
            for i in 0 .. oh - 1 do
                for j in 0 .. ow - 1 do
                    let g = float dy[((n * c.O + o) * oh + i) * ow + j]

                    for ch in 0 .. c.C - 1 do
                        for ki in 0 .. c.K - 1 do
                            for kj in 0 .. c.K - 1 do
                                let ih, iw = i * c.S - c.P + ki, j * c.S - c.P + kj

                                if ih >= 0 && ih < c.H && iw >= 0 && iw < c.W then
                                    let at = ((n * c.C + ch) * c.H + ih) * c.W + iw
                                    let t = g * float w[((o * c.C + ch) * c.K + ki) * c.K + kj]
                                    dx[at] <- dx[at] + t
                                    mag[at] <- mag[at] + abs t

    dx, mag

/// dw of sum(conv(x, w) * dy): every product dy[o, i, j] x[c, read position] summed into the tap that read it.
let private directWeightGrad (c: Case) (dy: float32[]) (x: float32[]) =
    let oh, ow = c.OH, c.OW
    let dw = Array.zeroCreate<float>(c.O * c.C * c.K * c.K)
    let mag = Array.zeroCreate<float> dw.Length

    for n in 0 .. c.N - 1 do
        for o in 0 .. c.O - 1 do
            for i in 0 .. oh - 1 do
                for j in 0 .. ow - 1 do
                    let g = float dy[((n * c.O + o) * oh + i) * ow + j]

                    for ch in 0 .. c.C - 1 do
                        for ki in 0 .. c.K - 1 do
                            for kj in 0 .. c.K - 1 do
                                let ih, iw = i * c.S - c.P + ki, j * c.S - c.P + kj

                                if ih >= 0 && ih < c.H && iw >= 0 && iw < c.W then
                                    let at = ((o * c.C + ch) * c.K + ki) * c.K + kj
                                    let t = g * float x[((n * c.C + ch) * c.H + ih) * c.W + iw]
                                    dw[at] <- dw[at] + t
                                    mag[at] <- mag[at] + abs t

    dw, mag

/// Within 64 float32 epsilons of the terms' magnitude: Winograd's transforms add and subtract up to 16 transformed
/// products per output where the direct sum has 9, so its rounding error is a small multiple of the direct one's;
/// a wrong tap or sign gives errors of the order of the magnitude itself.
let private close (what: string) (expected: float[]) (mag: float[]) (actual: float32[]) =
    Expect.equal actual.Length expected.Length "actual.Length"

    for i in 0 .. expected.Length - 1 do
        let tol = 64.0 * 1.1920929e-7 * (mag[i] + 1e-30)

        if abs (float actual[i] - expected[i]) > tol then
            failtest (
                sprintf
                    "%s: element %d is %.9g, the direct definition gives %.9g (tolerance %.3g)"
                    what
                    i
                    actual[i]
                    expected[i]
                    tol
            )

let private withAlgorithm (algorithm: ConvAlgorithm option) f =
    let saved = ConvAlgorithms.Override
    ConvAlgorithms.Override <- Option.toNullable algorithm

    try
        f ()
    finally
        ConvAlgorithms.Override <- saved

let private run (c: Case) (rng: Random) (algorithm: ConvAlgorithm option) =
    let mutable g = c.Geometry
    let x = randomFloats rng (c.N * c.C * c.H * c.W)
    let w = randomFloats rng (c.O * c.C * c.K * c.K)
    let dy = randomFloats rng (c.N * c.O * c.OH * c.OW)
    let y = Array.create (dy.Length) nanf
    let dx = Array.create (x.Length) nanf
    let dw = Array.create (w.Length) nanf

    withAlgorithm algorithm (fun () ->
        ConvKernels.Forward(&g, ReadOnlySpan x, ReadOnlySpan w, Span y)
        ConvKernels.InputGrad(&g, ReadOnlySpan dy, ReadOnlySpan w, Span dx)
        ConvKernels.WeightGrad(&g, ReadOnlySpan dy, ReadOnlySpan x, Span dw))

    let name = sprintf "%A %A" algorithm c
    let yRef, yMag = directForward c x w
    close (name + " forward") yRef yMag y
    let dxRef, dxMag = directInputGrad c dy w
    close (name + " input gradient") dxRef dxMag dx
    let dwRef, dwMag = directWeightGrad c dy x
    close (name + " weight gradient") dwRef dwMag dw

/// Random shapes: odd and even sizes down to 1x1, padding 0 to 2, batch 1 to 3; one in five is a shape Winograd does
/// not compute (stride 2 or a 5x5 kernel), which must fall back to im2col even when Winograd is forced.
let private randomCases (seed: int) (count: int) =
    let rng = Random seed

    [
        for _ in 1..count do
            let k, s =
                if rng.Next 5 = 0 then
                    (if rng.Next 2 = 0 then 5, 1 else 3, 2)
                else
                    3, 1

            let p = rng.Next 3
            let minSize = max 1 (k - 2 * p)

            {
                N = 1 + rng.Next 3
                C = 1 + rng.Next 19
                O = 1 + rng.Next 19
                H = minSize + rng.Next 12
                W = minSize + (if rng.Next 3 = 0 then rng.Next 40 else rng.Next 12)
                K = k
                S = s
                P = p
            }
    ]

let ``Winograd forward and both gradients match the direct definition on random shapes`` () =
    let rng = Random 11

    for c in randomCases 1 40 do
        run c rng (Some ConvAlgorithm.Winograd)

let ``im2col forward and both gradients match the direct definition on random shapes`` () =
    let rng = Random 12

    for c in randomCases 2 25 do
        run c rng (Some ConvAlgorithm.Im2Col)

/// The direct kernel (forward and weight gradient; the input gradient falls back) on the same random shapes, with up to
/// 19 channels each way, so output-channel blocks and row vectors both end part-full.
let ``the direct kernel's forward and weight gradient match the direct definition on random shapes`` () =
    let rng = Random 14

    for c in randomCases 3 40 do
        run c rng (Some ConvAlgorithm.Direct)

let ``the measured choice matches the direct definition on the MNIST, CIFAR and ResNet shapes`` () =
    let rng = Random 13

    for n, ch, o, hw in [ 2, 1, 32, 28; 2, 32, 64, 14; 1, 3, 32, 32; 2, 64, 128, 8; 1, 128, 128, 4 ] do
        run
            {
                N = n
                C = ch
                O = o
                H = hw
                W = hw
                K = 3
                S = 1
                P = 1
            }
            rng
            None

let ``Winograd is chosen only where it applies`` () =
    let geometry (k, s, p, d, groups) =
        ConvGeometry.Create("conv2d", [| 8; 64; 16; 16 |], [| 64; 64 / groups; k; k |], s, s, p, p, d, d, groups)

    let choose shape pass =
        let mutable g = geometry shape
        ConvAlgorithms.Choose(&g, pass)

    Expect.equal
        (choose (3, 1, 1, 1, 1) ConvPass.Forward)
        ConvAlgorithm.Winograd
        "choose (3, 1, 1, 1, 1) ConvPass.Forward"

    Expect.equal
        (choose (3, 1, 1, 1, 1) ConvPass.InputGrad)
        ConvAlgorithm.Winograd
        "choose (3, 1, 1, 1, 1) ConvPass.InputGrad"

    withAlgorithm (Some ConvAlgorithm.Winograd) (fun () ->
        Expect.equal
            (choose (3, 1, 1, 1, 1) ConvPass.WeightGrad)
            ConvAlgorithm.Winograd
            "choose (3, 1, 1, 1, 1) ConvPass.WeightGrad")

    for shape in [ 3, 2, 1, 1, 1; 5, 1, 2, 1, 1; 3, 1, 1, 2, 1; 3, 1, 1, 1, 2; 3, 1, 3, 1, 1 ] do
        withAlgorithm (Some ConvAlgorithm.Winograd) (fun () ->
            for pass in [ ConvPass.Forward; ConvPass.InputGrad; ConvPass.WeightGrad ] do
                Expect.equal (choose shape pass) ConvAlgorithm.Im2Col "choose shape pass")

let tests =
    testList
        "Winograd"
        [
            testCase
                "Winograd forward and both gradients match the direct definition on random shapes"
                ``Winograd forward and both gradients match the direct definition on random shapes``
            testCase
                "im2col forward and both gradients match the direct definition on random shapes"
                ``im2col forward and both gradients match the direct definition on random shapes``
            testCase
                "the direct kernel's forward and weight gradient match the direct definition on random shapes"
                ``the direct kernel's forward and weight gradient match the direct definition on random shapes``
            testCase
                "the measured choice matches the direct definition on the MNIST, CIFAR and ResNet shapes"
                ``the measured choice matches the direct definition on the MNIST, CIFAR and ResNet shapes``
            testCase "Winograd is chosen only where it applies" ``Winograd is chosen only where it applies``
        ]
