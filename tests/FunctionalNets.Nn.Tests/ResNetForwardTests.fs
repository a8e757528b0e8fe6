/// Models.resnet18Cifar's forward pass (evaluation mode) against the network written out here, layer by layer, in
/// Float64 loops: 3x3 stem, four stages of two BasicBlocks (3x3 convolutions, BatchNorm with running statistics,
/// ReLU, identity or 1x1-convolution shortcut added before the block's last ReLU), global average pooling, linear.
module FunctionalNets.Tests.Nn.ResNetForwardTests

open Expecto
open FunctionalNets
open FunctionalNets.Nn
open FunctionalNets.Testing

/// NCHW activations of one image.
type private Act = { C: int; H: int; W: int; V: float[] }

/// out[o,y,x] = sum_c,ky,kx w[o,c,ky,kx] in[c, y*s + ky - p, x*s + kx - p], zero outside.
let private conv (w: float[]) (outC: int) (k: int) (s: int) (p: int) (a: Act) =
    let h, wd = (a.H + 2 * p - k) / s + 1, (a.W + 2 * p - k) / s + 1
    let v = Array.zeroCreate (outC * h * wd)

    for o in 0 .. outC - 1 do
        for y in 0 .. h - 1 do
            for x in 0 .. wd - 1 do
                let mutable acc = 0.0

                for c in 0 .. a.C - 1 do
                    for ky in 0 .. k - 1 do
                        for kx in 0 .. k - 1 do
                            let yy, xx = y * s + ky - p, x * s + kx - p

                            if yy >= 0 && yy < a.H && xx >= 0 && xx < a.W then
                                acc <- acc + w[((o * a.C + c) * k + ky) * k + kx] * a.V[(c * a.H + yy) * a.W + xx]

                v[(o * h + y) * wd + x] <- acc

    { C = outC; H = h; W = wd; V = v }

/// (x - mean_c) / sqrt(var_c + 1e-5) * weight_c + bias_c.
let private bn (weight: float[]) (bias: float[]) (mean: float[]) (var: float[]) (a: Act) =
    let plane = a.H * a.W

    { a with
        V =
            a.V
            |> Array.mapi (fun i x ->
                let c = i / plane
                (x - mean[c]) / sqrt (var[c] + 1e-5) * weight[c] + bias[c])
    }

let private relu (a: Act) = { a with V = Array.map (max 0.0) a.V }
let private add (a: Act) (b: Act) = { a with V = Array.map2 (+) a.V b.V }

/// Moves a parameter or running statistic off its initial value (BatchNorm starts as the identity), deterministically,
/// so that every one of them shows in the output.
let private perturb (salt: float) (path: string) (t: Tensor) =
    if t.DType <> DType.Float32 then
        t
    else
        let moved =
            Tensor.toFloatArray t
            |> Array.mapi (fun i x ->
                let s = sin (float i * 0.37 + salt + float path.Length)

                if path.EndsWith "running_var" then x + 0.5 * abs s
                elif path.EndsWith "weight" && t.Rank = 1 then x + 0.3 * s
                else x + 0.1 * s)

        Tensor.ofArray (Array.map float32 moved, t.Shape.ToArray())

/// The tests of this module.
let tests =
    testList
        "ResNet-18 forward"
        [
            testCase "resnet18Cifar's logits equal the network written out layer by layer"
            <| fun () ->
                let model = Models.resnet18Cifar 10
                let _, ps0, st0 = model.Init (Key.create 5L) (Shape.ofList [ 3; 8; 8 ])
                let ps = PTree.mapWithPath (perturb 0.0) ps0
                let st = PTree.mapWithPath (perturb 1.0) st0
                let input = Array.init (3 * 8 * 8) (fun i -> cos (float i * 0.13))
                let x = Tensor.ofArray (Array.map float32 input, [ 1; 3; 8; 8 ])
                let got = Tensor.toFloatArray (Layer.predict model ps st x)

                let all = Map.ofList (PTree.leaves ps @ PTree.leaves st)

                let leaf (name: string) =
                    match all.TryFind name with
                    | Some t -> Tensor.toFloatArray t
                    | None -> failtestf "resnet18Cifar has no parameter %s (it has %A)" name (all.Keys |> List.ofSeq)

                let bnAt (prefix: string) =
                    bn
                        (leaf (prefix + ".weight"))
                        (leaf (prefix + ".bias"))
                        (leaf (prefix + ".running_mean"))
                        (leaf (prefix + ".running_var"))

                // Block i of the sequential (3 to 10): PyTorch's BasicBlock, torchvision's names.
                let block (i: int) (outC: int) (stride: int) (a: Act) =
                    let p = sprintf "%d.body." i

                    let body =
                        a
                        |> conv (leaf (p + "conv1.weight")) outC 3 stride 1
                        |> bnAt (p + "bn1")
                        |> relu
                        |> conv (leaf (p + "conv2.weight")) outC 3 1 1
                        |> bnAt (p + "bn2")

                    let shortcut =
                        if stride <> 1 || a.C <> outC then
                            a
                            |> conv (leaf (sprintf "%d.shortcut.0.weight" i)) outC 1 stride 0
                            |> bnAt (sprintf "%d.shortcut.1" i)
                        else
                            a

                    relu (add body shortcut)

                let features =
                    { C = 3; H = 8; W = 8; V = input }
                    |> conv (leaf "0.weight") 64 3 1 1
                    |> bnAt "1"
                    |> relu
                    |> block 3 64 1
                    |> block 4 64 1
                    |> block 5 128 2
                    |> block 6 128 1
                    |> block 7 256 2
                    |> block 8 256 1
                    |> block 9 512 2
                    |> block 10 512 1

                // Global average pooling, then the linear layer 12: y = W f + b.
                let pooled =
                    Array.init 512 (fun c ->
                        Array.average features.V[c * features.H * features.W .. (c + 1) * features.H * features.W - 1])

                let w, b = leaf "12.weight", leaf "12.bias"

                let expected =
                    Array.init 10 (fun k -> b[k] + Array.sum (Array.init 512 (fun c -> w[k * 512 + c] * pooled[c])))

                Expect.equal got.Length 10 "ten logits"
                let scale = 1.0 + Array.max (Array.map abs expected)

                for k in 0..9 do
                    // Float32 through 20 layers: a few 1e-6 per layer, relative to the largest logit.
                    Expect.isTrue
                        (abs (got[k] - expected[k]) <= 1e-3 * scale)
                        (sprintf "logit %d: %g, the loops give %g (all: %A vs %A)" k got[k] expected[k] got expected)
        ]
