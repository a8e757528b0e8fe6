module FunctionalNets.Tests.Nn.ModelTests

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn

// ---- an independent forward pass of Models.cifarSmall in Float64, by direct loops ----

/// NCHW activations.
type private Act =
    {
        N: int
        C: int
        H: int
        W: int
        V: float[]
    }

let private at (a: Act) n c y x =
    a.V[((n * a.C + c) * a.H + y) * a.W + x]

/// 3x3 convolution, stride 1, zero padding 1, no bias: out[n,o,y,x] = sum_c,ky,kx w[o,c,ky,kx] in[n,c,y+ky-1,x+kx-1].
let private conv3x3 (w: float[]) (outC: int) (a: Act) =
    let v = Array.zeroCreate (a.N * outC * a.H * a.W)

    for n in 0 .. a.N - 1 do
        for o in 0 .. outC - 1 do
            for y in 0 .. a.H - 1 do
                for x in 0 .. a.W - 1 do
                    let mutable s = 0.0

                    for c in 0 .. a.C - 1 do
                        for ky in 0..2 do
                            for kx in 0..2 do
                                let yy, xx = y + ky - 1, x + kx - 1

                                if yy >= 0 && yy < a.H && xx >= 0 && xx < a.W then
                                    s <- s + w[((o * a.C + c) * 3 + ky) * 3 + kx] * at a n c yy xx

                    v[((n * outC + o) * a.H + y) * a.W + x] <- s

    { a with C = outC; V = v }

/// BatchNorm in evaluation mode: (x - mean_c) / sqrt(var_c + 1e-5) * weight_c + bias_c, then ReLU.
let private bnRelu (weight: float[]) (bias: float[]) (mean: float[]) (var: float[]) (a: Act) =
    let plane = a.H * a.W

    { a with
        V =
            a.V
            |> Array.mapi (fun i x ->
                let c = (i / plane) % a.C
                max 0.0 ((x - mean[c]) / sqrt (var[c] + 1e-5) * weight[c] + bias[c]))
    }

/// 2x2 max pooling, stride 2.
let private maxPool2 (a: Act) =
    let h, w = a.H / 2, a.W / 2

    {
        N = a.N
        C = a.C
        H = h
        W = w
        V =
            Array.init (a.N * a.C * h * w) (fun i ->
                let x, y, c, n = i % w, (i / w) % h, (i / (w * h)) % a.C, i / (w * h * a.C)

                max
                    (max (at a n c (2 * y) (2 * x)) (at a n c (2 * y) (2 * x + 1)))
                    (max (at a n c (2 * y + 1) (2 * x)) (at a n c (2 * y + 1) (2 * x + 1))))
    }

let ``cifarSmall's forward pass equals the network written out with direct loops`` () =
    let model = Models.cifarSmall 10
    let _, ps0, st0 = model.Init (Key.create 3L) (Shape.ofList [ 3; 8; 8 ])

    // Move every parameter and running statistic off its initial value (BatchNorm starts as the identity), so
    // each one shows in the output.
    let perturb (salt: float) (path: string) (t: Tensor) =
        if t.DType <> DType.Float32 then
            t
        else
            let v = Tensor.toFloatArray t

            let moved =
                v
                |> Array.mapi (fun i x ->
                    let s = sin (float i * 0.37 + salt + float path.Length)

                    if path.EndsWith "running_var" then x + 0.5 * abs s
                    elif path.EndsWith "weight" && t.Rank = 1 then x + 0.3 * s
                    else x + 0.1 * s)

            Tensor.ofArray (moved |> Array.map float32, t.Shape.ToArray())

    let ps = PTree.mapWithPath (perturb 0.0) ps0
    let st = PTree.mapWithPath (perturb 1.0) st0
    let input = Array.init (2 * 3 * 8 * 8) (fun i -> cos (float i * 0.11))
    let x = Tensor.ofArray (input |> Array.map float32, [ 2; 3; 8; 8 ])
    let got = Tensor.toFloatArray (Layer.predict model ps st x)

    let leaf (tree: PTree<Tensor>) (name: string) =
        PTree.leaves tree |> List.find (fst >> (=) name) |> snd |> Tensor.toFloatArray

    let stage (index: int) (outC: int) (a: Act) =
        let bn = string (index + 1)

        conv3x3 (leaf ps (sprintf "%d.weight" index)) outC a
        |> bnRelu
            (leaf ps (bn + ".weight"))
            (leaf ps (bn + ".bias"))
            (leaf st (bn + ".running_mean"))
            (leaf st (bn + ".running_var"))

    let features =
        {
            N = 2
            C = 3
            H = 8
            W = 8
            V = input
        }
        |> stage 0 32
        |> maxPool2
        |> stage 4 64
        |> maxPool2
        |> stage 8 128
        |> maxPool2
        |> stage 12 256

    // Global average pooling over the 1x1 plane left, then the linear layer 16: y = W f + b.
    let w, b = leaf ps "16.weight", leaf ps "16.bias"

    let expected =
        Array.init (2 * 10) (fun i ->
            let n, k = i / 10, i % 10
            b[k] + Seq.sum (seq { for c in 0..255 -> w[k * 256 + c] * at features n c 0 0 }))

    Expect.equal got.Length 20 "got.Length"

    for i in 0..19 do
        Expect.isTrue
            (abs (got[i] - expected[i]) <= 1e-4 * (1.0 + abs expected[i]))
            (sprintf "logit %d: %g, the direct loops give %g" i got[i] expected[i])

/// The tests of this module.
let tests =
    testList
        "Model"
        [
            testCase
                "cifarSmall's forward pass equals the network written out with direct loops"
                ``cifarSmall's forward pass equals the network written out with direct loops``
        ]
