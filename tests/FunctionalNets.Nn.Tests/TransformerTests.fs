/// Embedding, LayerNorm/RMSNorm, positional encodings, RoPE, MultiHeadAttention, the Transformer layers and GPT:
/// values against formulas written out here with plain floats, causal leak tests, a finite-difference gradient
/// check of a block, a learning test (a tiny GPT learns to reverse a sequence) and bad-input errors.
module FunctionalNets.Tests.Nn.TransformerTests

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn

let private values (t: Tensor) = Tensor.toFloatArray t
let private key = Key.create 5L

let private leaf (path: string) (tree: PTree<Tensor>) =
    match PTree.tryFind path tree with
    | Some(Leaf t) -> t
    | other -> failwithf "no tensor at '%s': %A" path other

let private closeArrays (tol: float) (expected: float[]) (actual: float[]) =
    Expect.equal actual.Length expected.Length "actual.Length"

    Array.iteri2
        (fun i e a ->
            Expect.isTrue (abs (e - a) <= tol * (1.0 + abs e)) (sprintf "element %d: expected %g, got %g" i e a))
        expected
        actual

let private randn (seed: int) (shape: int list) =
    Tensor.randn (Key.create (int64 seed), shape, DType.Float64)

let private toF64 (ps: Params) =
    PTree.map (fun (t: Tensor) -> Tensor.cast (t, DType.Float64)) ps

let private throwsArg (needles: string list) (f: unit -> obj) =
    let ex = Expects.throwsAny<ArgumentException> "the call" (fun () -> f () |> ignore)

    for n in needles do
        Expect.stringContains ex.Message n "ex.Message"

// ---------------------------------------------------------------------------------------------------
// Embedding, norms, positions
// ---------------------------------------------------------------------------------------------------

let ``Embedding layer looks rows up, has a weight N(0, 1) and names itself on a bad id`` () =
    let layer = Layers.embedding (50, 8)
    let out, ps, _ = Layer.init layer key [ 3 ]
    Expect.equal (out.ToArray()) [| 3; 8 |] "out.ToArray()"
    let w = leaf "weight" ps
    Expect.equal (w.Shape.ToArray()) [| 50; 8 |] "w.Shape.ToArray()"
    let wv = values w
    let mean = Array.average wv
    let std = sqrt (wv |> Array.averageBy (fun v -> (v - mean) * (v - mean)))
    // 400 draws of N(0, 1): the sample std is within 0.15 of 1 with overwhelming probability.
    Checks.inRange "std" 0.85 1.15 std
    let ids = Tensor.ofArray ([| 3L; 0L; 49L; 3L |], [ 2; 2 ])
    let y = Layer.predict layer ps PTree.empty ids
    Expect.equal (y.Shape.ToArray()) [| 2; 2; 8 |] "y.Shape.ToArray()"
    let yv = values y
    let expected = [| 3; 0; 49; 3 |] |> Array.collect (fun r -> wv[r * 8 .. r * 8 + 7])
    Expect.equal yv expected "yv"

    throwsArg [ "Embedding(50, 8)"; "id 50"; "[0, 50)" ] (fun () ->
        box (Layer.predict layer ps PTree.empty (Tensor.ofArray ([| 1L; 50L |], [ 1; 2 ]))))

let ``LayerNorm and RMSNorm layers match their formulas and create PyTorch's parameters`` () =
    let x = randn 1 [ 2; 3; 4 ]
    let ln = Layers.layerNorm [ 4 ]
    let _, ps, _ = Layer.init ln key [ 3; 4 ]
    Expect.equal (PTree.leaves ps |> List.map fst) [ "weight"; "bias" ] "PTree.leaves ps |> List.map fst"
    // Non-trivial affine parameters.
    let ps = Node [ "weight", Leaf(randn 2 [ 4 ]); "bias", Leaf(randn 3 [ 4 ]) ]
    let w, b = values (leaf "weight" ps), values (leaf "bias" ps)
    let y = Layer.predict ln ps PTree.empty x

    let expectedLn =
        values x
        |> Array.chunkBySize 4
        |> Array.collect (fun row ->
            let mu = Array.average row
            let var = row |> Array.averageBy (fun v -> (v - mu) ** 2.0)
            row |> Array.mapi (fun i v -> (v - mu) / sqrt (var + 1e-5) * w[i] + b[i]))

    closeArrays 1e-9 expectedLn (values y)

    let rms = Layers.rmsNorm ([ 4 ], eps = 1e-6)
    let _, rps, _ = Layer.init rms key [ 3; 4 ]
    Expect.equal (PTree.leaves rps |> List.map fst) [ "weight" ] "PTree.leaves rps |> List.map fst"
    let rps = Node [ "weight", Leaf(randn 4 [ 4 ]) ]
    let rw = values (leaf "weight" rps)

    let expectedRms =
        values x
        |> Array.chunkBySize 4
        |> Array.collect (fun row ->
            let r = sqrt ((row |> Array.averageBy (fun v -> v * v)) + 1e-6)
            row |> Array.mapi (fun i v -> v / r * rw[i]))

    closeArrays 1e-9 expectedRms (values (Layer.predict rms rps PTree.empty x))
    throwsArg [ "LayerNorm([4])"; "[2; 3; 5]" ] (fun () -> box (Layer.predict ln ps PTree.empty (randn 1 [ 2; 3; 5 ])))

let ``sinusoidal table holds sin and cos of p / 10000^(2i / d), and a too long sequence names both lengths`` () =
    let pe = Layers.sinusoidalPositionalEncoding (10, 4)
    let x = Tensor.zeros ([ 1; 3; 4 ], DType.Float64)
    let y = values (Layer.predict pe PTree.empty PTree.empty x)
    // Hand-computed: position p, pair i uses the angle p / 10000^(2i/4) = p / 100^i.
    let expected =
        [|
            for p in 0..2 do
                let p = float p
                yield! [| sin p; cos p; sin (p / 100.0); cos (p / 100.0) |]
        |]

    closeArrays 1e-12 expected y

    throwsArg [ "SinusoidalPositionalEncoding"; "length 11"; "10 positions" ] (fun () ->
        box (Layer.predict pe PTree.empty PTree.empty (Tensor.zeros [ 1; 11; 4 ])))

    let learned = Layers.learnedPositionalEncoding (6, 4)
    let _, lps, _ = Layer.init learned key [ 5; 4 ]
    let ly = Layer.predict learned lps PTree.empty (Tensor.zeros [ 2; 5; 4 ])
    let table = values (leaf "weight" lps)
    closeArrays 0.0 (Array.append table[0..19] table[0..19]) (values ly)

    throwsArg [ "LearnedPositionalEncoding"; "length 7"; "6 positions" ] (fun () ->
        box (Layer.predict learned lps PTree.empty (Tensor.zeros [ 2; 7; 4 ])))

let ``RoPE preserves pair norms and makes q . k depend only on the position difference`` () =
    let hd = 6
    let q = randn 1 [ 1; hd ]
    let k = randn 2 [ 1; hd ]
    // The same vector at every position of a sequence of 7.
    let rq = values (rope (Tensor.expand (q, [ 7; hd ])))
    let rk = values (rope (Tensor.expand (k, [ 7; hd ])))
    let row (a: float[]) p = a[p * hd .. p * hd + hd - 1]

    let dot (a: float[]) (b: float[]) =
        Array.fold2 (fun s x y -> s + x * y) 0.0 a b
    // Pairs (c, c + hd/2) rotate together, so their norms are kept.
    let qv = values q

    for p in 0..6 do
        for c in 0 .. hd / 2 - 1 do
            let r = row rq p
            closeArrays 1e-12 [| qv[c] ** 2.0 + qv[c + 3] ** 2.0 |] [| r[c] ** 2.0 + r[c + 3] ** 2.0 |]

    // Position 0 is unrotated; m - n fixed gives the same score.
    closeArrays 1e-12 qv (row rq 0)

    for diff in 0..3 do
        let s0 = dot (row rq diff) (row rk 0)

        for n in 1 .. 6 - diff do
            closeArrays 1e-10 [| s0 |] [| dot (row rq (n + diff)) (row rk n) |]

// ---------------------------------------------------------------------------------------------------
// MultiHeadAttention against a per-head formula
// ---------------------------------------------------------------------------------------------------

/// Multi-head attention written out with loops: x [N; L; D] queries, m [N; S; D] keys/values, PyTorch's
/// parameter layout; allowed n i j says whether query i of example n may attend to key j.
let private mhaRef (d: int) (h: int) (ps: Params) (x: Tensor) (m: Tensor) (allowed: int -> int -> int -> bool) =
    let n, l, s = x.Shape[0], x.Shape[1], m.Shape[1]
    let hd = d / h
    let w, b = values (leaf "in_proj_weight" ps), values (leaf "in_proj_bias" ps)
    let ow, ob = values (leaf "out_proj.weight" ps), values (leaf "out_proj.bias" ps)
    let xv, mv = values x, values m
    // Row r of the in-projection applied to token t of a [N; T; D] array.
    let proj (src: float[]) (len: int) r bi t =
        b[r]
        + Seq.sum (seq { for c in 0 .. d - 1 -> w[r * d + c] * src[(bi * len + t) * d + c] })

    [|
        for bi in 0 .. n - 1 do
            for i in 0 .. l - 1 do
                let concat =
                    [|
                        for head in 0 .. h - 1 do
                            let q = Array.init hd (fun e -> proj xv l (head * hd + e) bi i)

                            let ks =
                                Array.init s (fun j -> Array.init hd (fun e -> proj mv s (d + head * hd + e) bi j))

                            let vs =
                                Array.init s (fun j -> Array.init hd (fun e -> proj mv s (2 * d + head * hd + e) bi j))

                            let scores =
                                Array.init s (fun j ->
                                    if allowed bi i j then
                                        Array.fold2 (fun a x y -> a + x * y) 0.0 q ks[j] / sqrt (float hd)
                                    else
                                        Double.NegativeInfinity)

                            let mx = Array.max scores
                            let e = scores |> Array.map (fun z -> exp (z - mx))
                            let total = Array.sum e

                            yield!
                                Array.init hd (fun c ->
                                    Seq.sum (seq { for j in 0 .. s - 1 -> e[j] / total * vs[j][c] }))
                    |]

                for o in 0 .. d - 1 do
                    yield ob[o] + Seq.sum (seq { for c in 0 .. d - 1 -> ow[o * d + c] * concat[c] })
    |]

let ``MultiHeadAttention matches a per-head formula: self, causal, key padding and cross`` () =
    let d, h = 8, 2
    let cfg = MultiHeadAttention.config d h
    // Non-zero biases so they are checked too.
    let ps =
        MultiHeadAttention.init cfg key
        |> toF64
        |> PTree.mapWithPath (fun path t ->
            if path.EndsWith "bias" then
                randn 9 (t.Shape.ToList())
            else
                t)

    let x = randn 1 [ 2; 5; d ]
    let mem = randn 2 [ 2; 3; d ]

    let run q kv masks =
        values (MultiHeadAttention.apply cfg ps Ctx.eval q kv masks)

    closeArrays 1e-9 (mhaRef d h ps x x (fun _ _ _ -> true)) (run x x AttentionMasks.none)
    closeArrays 1e-9 (mhaRef d h ps x x (fun _ i j -> j <= i)) (run x x AttentionMasks.causal)
    // Example 0 pads its last two keys, example 1 its last one.
    let pad =
        Tensor.ofArray ([| false; false; false; true; true; false; false; false; false; true |], [ 2; 5 ])

    let padded n j =
        not ((n = 0 && j >= 3) || (n = 1 && j = 4))

    closeArrays
        1e-9
        (mhaRef d h ps x x (fun n i j -> padded n j && j <= i))
        (run
            x
            x
            { AttentionMasks.causal with
                KeyPaddingMask = Some pad
            })

    // A Bool attention mask: true forbids (PyTorch's nn.MultiheadAttention convention).
    let forbid = Tensor.ofArray (Array.init 15 (fun k -> k % 3 = 1), [ 5; 3 ])

    closeArrays
        1e-9
        (mhaRef d h ps x mem (fun _ i j -> (i * 3 + j) % 3 <> 1))
        (run
            x
            mem
            { AttentionMasks.none with
                AttnMask = Some forbid
            })

    closeArrays 1e-9 (mhaRef d h ps x mem (fun _ _ _ -> true)) (run x mem AttentionMasks.none)

    // A float attention mask together with key padding: -inf on the forbidden positions, 0 elsewhere, must act
    // like the Bool masks (the additive values are broadcast to every example and head).
    let additive =
        Tensor.ofArray (Array.init 25 (fun k -> if k % 5 > k / 5 then Double.NegativeInfinity else 0.0), [ 5; 5 ])

    closeArrays
        1e-9
        (mhaRef d h ps x x (fun n i j -> padded n j && j <= i))
        (run
            x
            x
            { AttentionMasks.none with
                AttnMask = Some additive
                KeyPaddingMask = Some pad
            })


let ``MultiHeadAttention rejects masks of the wrong shape naming the layer and sizes`` () =
    let cfg = MultiHeadAttention.config 8 2
    let ps = MultiHeadAttention.init cfg key
    let x = Tensor.zeros [ 2; 5; 8 ]

    throwsArg [ "MultiHeadAttention(dim=8, heads=2)"; "[4; 5]"; "[5; 5]" ] (fun () ->
        box (
            MultiHeadAttention.apply
                cfg
                ps
                Ctx.eval
                x
                x
                { AttentionMasks.none with
                    AttnMask = Some(Tensor.zeros [ 4; 5 ])
                }
        ))

    throwsArg [ "MultiHeadAttention(dim=8, heads=2)"; "key padding"; "[2; 5]" ] (fun () ->
        box (
            MultiHeadAttention.apply
                cfg
                ps
                Ctx.eval
                x
                x
                { AttentionMasks.none with
                    KeyPaddingMask = Some(Tensor.ofArray (Array.create 8 false, [ 2; 4 ]))
                }
        ))

    throwsArg [ "MultiHeadAttention(dim=8, heads=2)"; "[2; 5; 6]" ] (fun () ->
        box (MultiHeadAttention.apply cfg ps Ctx.eval (Tensor.zeros [ 2; 5; 6 ]) x AttentionMasks.none))

// ---------------------------------------------------------------------------------------------------
// Transformer layers and GPT
// ---------------------------------------------------------------------------------------------------

let private tinyGpt =
    Layers.gpt (vocabSize = 11, contextLength = 8, dim = 16, heads = 2, layers = 2)

let ``GPT causal leak: changing token t + 1 never changes the logits at positions up to t`` () =
    let model = tinyGpt
    let out, ps, st = Layer.init model key [ 8 ]
    Expect.equal (out.ToArray()) [| 8; 11 |] "out.ToArray()"
    Expect.isTrue ((PTree.tryFind "lm_head" ps).IsNone) "tied weights must not create lm_head"
    let ids = [| 1L; 4L; 2L; 9L; 0L; 3L; 7L; 5L |]

    let logits (ids: int64[]) =
        values (Layer.predict model ps st (Tensor.ofArray (ids, [ 1; 8 ])))

    let base' = logits ids

    for t in 0..6 do
        let changed = Array.copy ids
        changed[t + 1] <- (changed[t + 1] + 3L) % 11L
        let other = logits changed
        Expect.equal (other[.. (t + 1) * 11 - 1]) (base'[.. (t + 1) * 11 - 1]) "other[.. (t + 1) * 11 - 1]"
        Expect.notEqual (other[(t + 1) * 11 ..]) (base'[(t + 1) * 11 ..]) "other[(t + 1) * 11 ..]"

let ``GPT rejects an out-of-vocabulary token and a sequence longer than its context, naming sizes`` () =
    let model = tinyGpt
    let _, ps, st = Layer.init model key [ 8 ]

    throwsArg [ "Gpt("; "id 11"; "[0, 11)" ] (fun () ->
        box (Layer.predict model ps st (Tensor.ofArray ([| 1L; 11L |], [ 1; 2 ]))))

    throwsArg [ "Gpt("; "length 9"; "context length"; "8" ] (fun () ->
        box (Layer.predict model ps st (Tensor.zeros ([ 1; 9 ], DType.Int64))))

    let untied =
        Layers.gpt (vocabSize = 11, contextLength = 8, dim = 16, heads = 2, layers = 2, tieWeights = false)

    let _, ups, _ = Layer.init untied key [ 8 ]

    Expect.equal
        ((leaf "lm_head.weight" ups).Shape.ToArray())
        [| 11; 16 |]
        "(leaf \"lm_head.weight\" ups).Shape.ToArray()"

let ``Transformer encoder and decoder gradients match finite differences (pre- and post-norm)`` () =
    for normFirst in [ true; false ] do
        for act in [ FfnActivation.Relu; FfnActivation.Gelu; FfnActivation.GeluTanh ] do
            let cfg =
                { TransformerEncoderLayer.config 4 2 with
                    FeedForward = 6
                    Dropout = 0.0
                    NormFirst = normFirst
                    Activation = act
                }

            let ps = TransformerEncoderLayer.init cfg key |> toF64
            let x = randn 3 [ 2; 3; 4 ]
            let w = randn 4 [ 2; 3; 4 ]

            let f (x: Tensor) =
                Tensor.sum (TransformerEncoderLayer.apply cfg ps Ctx.eval x AttentionMasks.causal * w)

            closeArrays 1e-5 (values (Diff.numGrad 1e-6 f x)) (values (Diff.grad f x))

            // With respect to the parameters, through a decoder layer reading a memory.
            let dps = TransformerDecoderLayer.init cfg key |> toF64
            let mem = randn 5 [ 2; 2; 4 ]

            let g (p: Params) =
                Tensor.sum (
                    TransformerDecoderLayer.apply cfg p Ctx.eval x mem AttentionMasks.causal AttentionMasks.none
                    * w
                )

            let grads = Diff.gradTree g dps

            for path, value in PTree.leaves dps do
                let numeric =
                    Diff.numGrad 1e-6 (fun t -> g (PTree.mapWithPath (fun p v -> if p = path then t else v) dps)) value

                closeArrays 1e-5 (values numeric) (values (leaf path grads))

let ``Transformer layers create PyTorch's parameter names`` () =
    let cfg = TransformerEncoderLayer.config 8 2

    let enc =
        TransformerEncoderLayer.init cfg key
        |> PTree.leaves
        |> List.map fst
        |> Set.ofList

    let expected =
        set
            [
                "self_attn.in_proj_weight"
                "self_attn.in_proj_bias"
                "self_attn.out_proj.weight"
                "self_attn.out_proj.bias"
                "linear1.weight"
                "linear1.bias"
                "linear2.weight"
                "linear2.bias"
                "norm1.weight"
                "norm1.bias"
                "norm2.weight"
                "norm2.bias"
            ]

    Expect.equal enc expected "enc"

    let dec =
        TransformerDecoderLayer.init cfg key
        |> PTree.leaves
        |> List.map fst
        |> Set.ofList

    let decExpected =
        expected
        + set
            [
                "multihead_attn.in_proj_weight"
                "multihead_attn.out_proj.bias"
                "norm3.weight"
            ]

    Expect.isTrue (Set.isSubset decExpected dec) (sprintf "decoder parameters %A" dec)

    Expect.equal
        ((leaf "linear1.weight" (TransformerEncoderLayer.init cfg key)).Shape.ToArray())
        [| 2048; 8 |]
        "(leaf \"linear1.weight\" (TransformerEncoderLayer.init cfg key)).Shape.ToArray()"

let ``a tiny GPT learns to reverse a sequence`` () =
    // Sequences [a1..a4, SEP, a4..a1]: the model reads the first 8 tokens and must predict a4..a1.
    let k, digits, sep = 4, 6, 6

    let model =
        Layers.gpt (vocabSize = 7, contextLength = 8, dim = 32, heads = 2, layers = 2)

    let rng = Random(1)

    let batch (n: int) =
        let seqs =
            Array.init n (fun _ ->
                let a = Array.init k (fun _ -> int64 (rng.Next digits))
                Array.concat [ a; [| int64 sep |]; Array.rev a ])

        let input = seqs |> Array.collect (fun s -> s[.. 2 * k - 1])
        let target = seqs |> Array.collect (fun s -> Array.rev s[.. k - 1])

        {
            Input = Tensor.ofArray (input, [ n; 2 * k ])
            Target = Tensor.ofArray (target, [ n; k ])
        }

    // Logits at positions k .. 2k - 1 predict the reversed part.
    let loss (logits: Tensor) (target: Tensor) =
        let part = Tensor.slice (logits, 1, k, 2 * k)
        Losses.crossEntropy (Tensor.reshape (part, [ -1; 7 ])) (Tensor.reshape (target, [ -1 ]))

    let tx = Optim.adam 3e-3
    let mutable ts = Train.init model [ 2 * k ] tx (Key.create 2L)

    for _ in 1..400 do
        ts <- fst (Train.trainStep model loss tx ts (batch 32))

    let test = batch 200
    let logits = Layer.predict model ts.Params ts.State test.Input
    let predicted = Tensor.argmax (Tensor.slice (logits, 1, k, 2 * k), -1)

    let hits =
        Array.map2
            (fun (p: int64) (t: int64) -> if p = t then 1.0 else 0.0)
            (Tensor.toArray predicted :?> int64[])
            (Tensor.toArray test.Target :?> int64[])

    let accuracy = Array.average hits
    Expect.isTrue (accuracy > 0.95) (sprintf "reverse-task accuracy %.3f after 400 steps, expected > 0.95" accuracy)

let ``GPT dropout is active in Train mode only and reproducible from the key`` () =
    let model =
        Layers.gpt (vocabSize = 11, contextLength = 8, dim = 16, heads = 2, layers = 2, dropout = 0.2)

    let _, ps, st = Layer.init model key [ 8 ]
    let ids = Tensor.ofArray ([| 1L; 4L; 2L; 9L; 0L; 3L; 7L; 5L |], [ 1; 8 ])

    let train (seed: int64) =
        values (fst (model.Apply ps st (Ctx.train (Key.create seed)) ids))

    let eval () = values (Layer.predict model ps st ids)
    Expect.equal (eval ()) (eval ()) "eval ()"
    Expect.equal (train 1L) (train 1L) "train 1L"
    Expect.notEqual (train 2L) (train 1L) "train 2L"
    Expect.notEqual (train 1L) (eval ()) "train 1L"

let ``MultiHeadAttention with RoPE rotates queries and keys per head before attending`` () =
    let d, h = 8, 2

    let cfg =
        { MultiHeadAttention.config d h with
            Rope = true
        }

    let ps = MultiHeadAttention.init cfg key |> toF64
    let x = randn 7 [ 1; 4; d ]
    let y = values (MultiHeadAttention.apply cfg ps Ctx.eval x x AttentionMasks.causal)
    // The same computation spelled out: project, split heads, rope q and k, attend causally, merge, project.
    let w, b = leaf "in_proj_weight" ps, leaf "in_proj_bias" ps
    let qkv = Tensor.linear (x, w, b)

    let part (i: int) =
        Tensor.slice (qkv, -1, i * d, (i + 1) * d)

    let heads (t: Tensor) =
        Tensor.permute (Tensor.reshape (t, [ 1; 4; h; d / h ]), [ 0; 2; 1; 3 ])

    let q, k, v = rope (heads (part 0)), rope (heads (part 1)), heads (part 2)

    let scores =
        Tensor.matmul (q, Tensor.transpose (k, 2, 3)) / sqrt (float (d / h))
        + Tensor.ofArray (Array.init 16 (fun i -> if i % 4 > i / 4 then Double.NegativeInfinity else 0.0), [ 4; 4 ])

    let merged =
        Tensor.reshape (Tensor.permute (Tensor.matmul (Tensor.softmax (scores, -1), v), [ 0; 2; 1; 3 ]), [ 1; 4; d ])

    let expected =
        Tensor.linear (merged, leaf "out_proj.weight" ps, leaf "out_proj.bias" ps)

    closeArrays 1e-9 (values expected) y
    // And RoPE changes the result (position 0 is unrotated, so compare a later one).
    let plain =
        values (MultiHeadAttention.apply { cfg with Rope = false } ps Ctx.eval x x AttentionMasks.causal)

    Expect.notEqual y[d..] plain[d..] "y[d..]"

let ``The sinusoidal encoding survives training steps, each in its own Scope, and adds the table`` () =
    // Regression: a table cached during one step's Scope was released when the step ended, and the next
    // step read released storage.
    let model =
        Layers.linear (3, 4)
        >-> Layers.sinusoidalPositionalEncoding (8, 4)
        >-> Layers.flatten ()
        >-> Layers.linear (20, 2)

    let tx = Optim.adam 1e-2
    let mutable ts = Train.init model [ 5; 3 ] tx (Key.create 1L)

    let batch =
        {
            Input = Tensor.cast (randn 3 [ 2; 5; 3 ], DType.Float32)
            Target = Tensor.ofArray ([| 0L; 1L |], [ 2 ])
        }

    for _ in 1..3 do
        ts <- fst (Train.trainStep model Losses.crossEntropy tx ts batch)

    let pe = Layers.sinusoidalPositionalEncoding (8, 4)
    let y = Layer.predict pe PTree.empty PTree.empty (Tensor.zeros [ 1; 3; 4 ])
    // pe[p, 2i] = sin(p / 10000^(2i/4)), pe[p, 2i+1] = cos(...): row 2 is sin 2, cos 2, sin 0.02, cos 0.02.
    closeArrays 1e-6 [| sin 2.0; cos 2.0; sin 0.02; cos 0.02 |] ((values y)[8..11])

let ``Transformer encoder and decoder layers equal their definitions: norms before or after, residuals around each block``
    ()
    =
    let d = 4
    let eps = 1e-5

    let attnCfg: AttentionConfig =
        {
            Dim = d
            Heads = 2
            Dropout = 0.0
            Bias = true
            Rope = false
        }

    // Off their initial values (LayerNorm starts as weight 1, bias 0), so every parameter shows.
    let perturb (ps: Params) =
        PTree.mapWithPath
            (fun path (t: Tensor) ->
                let v =
                    values t
                    |> Array.mapi (fun i x -> x + 0.2 * sin (float i * 0.7 + float path.Length))

                Tensor.ofArray (v, t.Shape.ToArray()))
            (toF64 ps)

    let tree (name: string) (ps: Params) = (PTree.tryFind name ps).Value

    let param (name: string) (ps: Params) = leaf name ps

    // LayerNorm over the last dim from its formula (biased variance), not the fused kernel.
    let ln (p: string) (ps: Params) (h: Tensor) =
        let mu = Tensor.mean (h, -1, keepDim = true)
        let c = h - mu
        let var = Tensor.mean (c * c, -1, keepDim = true)
        c / Tensor.sqrt (var + eps) * param (p + ".weight") ps + param (p + ".bias") ps

    let linear (p: string) (ps: Params) (h: Tensor) =
        Tensor.matmul (h, Tensor.transpose (param (p + ".weight") ps))
        + param (p + ".bias") ps

    let ff (ps: Params) (h: Tensor) =
        linear "linear2" ps (Tensor.relu (linear "linear1" ps h))

    let x = randn 7 [ 2; 3; d ]
    let mem = randn 8 [ 2; 2; d ]

    for normFirst in [ false; true ] do
        let cfg =
            { TransformerEncoderLayer.config d 2 with
                FeedForward = 6
                Dropout = 0.0
                NormFirst = normFirst
            }

        let attn (name: string) (ps: Params) (q: Tensor) (kv: Tensor) masks =
            MultiHeadAttention.apply attnCfg (tree name ps) Ctx.eval q kv masks

        // Post-norm (torch's default): h = norm(h + block h); pre-norm: h = h + block (norm h).
        let block (norm: string) (ps: Params) (f: Tensor -> Tensor) (h: Tensor) =
            if normFirst then
                h + f (ln norm ps h)
            else
                ln norm ps (h + f h)

        let eps' = perturb (TransformerEncoderLayer.init cfg key)

        let expected =
            x
            |> block "norm1" eps' (fun h -> attn "self_attn" eps' h h AttentionMasks.causal)
            |> block "norm2" eps' (ff eps')

        closeArrays
            1e-10
            (values expected)
            (values (TransformerEncoderLayer.apply cfg eps' Ctx.eval x AttentionMasks.causal))

        let dps = perturb (TransformerDecoderLayer.init cfg key)

        let expectedDecoder =
            x
            |> block "norm1" dps (fun h -> attn "self_attn" dps h h AttentionMasks.causal)
            |> block "norm2" dps (fun h -> attn "multihead_attn" dps h mem AttentionMasks.none)
            |> block "norm3" dps (ff dps)

        closeArrays
            1e-10
            (values expectedDecoder)
            (values (TransformerDecoderLayer.apply cfg dps Ctx.eval x mem AttentionMasks.causal AttentionMasks.none))

/// The tests of this module.
let tests =
    testList
        "Transformer"
        [
            testCase
                "Embedding layer looks rows up, has a weight N(0, 1) and names itself on a bad id"
                ``Embedding layer looks rows up, has a weight N(0, 1) and names itself on a bad id``
            testCase
                "LayerNorm and RMSNorm layers match their formulas and create PyTorch's parameters"
                ``LayerNorm and RMSNorm layers match their formulas and create PyTorch's parameters``
            testCase
                "sinusoidal table holds sin and cos of p / 10000^(2i / d), and a too long sequence names both lengths"
                ``sinusoidal table holds sin and cos of p / 10000^(2i / d), and a too long sequence names both lengths``
            testCase
                "RoPE preserves pair norms and makes q . k depend only on the position difference"
                ``RoPE preserves pair norms and makes q . k depend only on the position difference``
            testCase
                "MultiHeadAttention matches a per-head formula: self, causal, key padding and cross"
                ``MultiHeadAttention matches a per-head formula: self, causal, key padding and cross``
            testCase
                "MultiHeadAttention rejects masks of the wrong shape naming the layer and sizes"
                ``MultiHeadAttention rejects masks of the wrong shape naming the layer and sizes``
            testCase
                "GPT causal leak: changing token t + 1 never changes the logits at positions up to t"
                ``GPT causal leak: changing token t + 1 never changes the logits at positions up to t``
            testCase
                "GPT rejects an out-of-vocabulary token and a sequence longer than its context, naming sizes"
                ``GPT rejects an out-of-vocabulary token and a sequence longer than its context, naming sizes``
            testCase
                "Transformer encoder and decoder gradients match finite differences (pre- and post-norm)"
                ``Transformer encoder and decoder gradients match finite differences (pre- and post-norm)``
            testCase
                "Transformer layers create PyTorch's parameter names"
                ``Transformer layers create PyTorch's parameter names``
            testCase "a tiny GPT learns to reverse a sequence" ``a tiny GPT learns to reverse a sequence``
            testCase
                "GPT dropout is active in Train mode only and reproducible from the key"
                ``GPT dropout is active in Train mode only and reproducible from the key``
            testCase
                "MultiHeadAttention with RoPE rotates queries and keys per head before attending"
                ``MultiHeadAttention with RoPE rotates queries and keys per head before attending``
            testCase
                "The sinusoidal encoding survives training steps, each in its own Scope, and adds the table"
                ``The sinusoidal encoding survives training steps, each in its own Scope, and adds the table``
            testCase
                "Transformer encoder and decoder layers equal their definitions: norms before or after, residuals around each block"
                ``Transformer encoder and decoder layers equal their definitions: norms before or after, residuals around each block``
        ]
