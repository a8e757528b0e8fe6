/// scaledDotProductAttention against softmax(q k^T / sqrt E + mask) v written out with loops here, gradients
/// against finite differences, the causal mask's leak test, dropout's structure and bad-input errors.
module FunctionalNets.Tests.AttentionTests

open System
open Expecto
open FunctionalNets.Testing
open FsCheck.FSharp
open FunctionalNets
open FunctionalNets.Tests.GradCheck

type private MaskKind =
    | NoMask
    | BoolMask
    | FloatMask
    | Causal

/// Direct attention over flat arrays: batch b of q [L; E], k [S; E], v [S; Ev]; addMask l s gives the
/// additive mask (-inf forbids).
let private attentionRef
    (batch: int)
    (l: int)
    (s: int)
    (e: int)
    (ev: int)
    (scale: float)
    (addMask: int -> int -> int -> float)
    (q: float[])
    (k: float[])
    (v: float[])
    =
    [|
        for b in 0 .. batch - 1 do
            for i in 0 .. l - 1 do
                let scores =
                    Array.init s (fun j ->
                        let dot =
                            Seq.sum (seq { for x in 0 .. e - 1 -> q[(b * l + i) * e + x] * k[(b * s + j) * e + x] })

                        dot * scale + addMask b i j)

                let m = Array.max scores
                let ex = scores |> Array.map (fun z -> exp (z - m))
                let total = Array.sum ex

                for c in 0 .. ev - 1 do
                    yield Seq.sum (seq { for j in 0 .. s - 1 -> ex[j] / total * v[(b * s + j) * ev + c] })
    |]

let private case =
    gen {
        let! batch = Gen.elements [ [||]; [| 2 |]; [| 2; 2 |] ]
        let! l = Gen.choose (1, 4)
        let! s = Gen.choose (1, 4)
        let! e = Gen.choose (1, 4)
        let! ev = Gen.choose (1, 3)
        let! kind = Gen.elements [ NoMask; BoolMask; FloatMask; Causal ]
        let! seed = Gens.seed
        return batch, l, s, e, ev, kind, seed
    }

/// The inputs and mask of a case; a bool mask always lets key 0 through so no row is fully masked.
let private build (batch: int[], l, s, e, ev, kind, seed) =
    let nb = numelOf batch
    let shape last rows = Array.append batch [| rows; last |]
    let q = tensorOf (shape e l) (valuesOf Real (nb * l * e) seed)
    let k = tensorOf (shape e s) (valuesOf Real (nb * s * e) (seed + 1))
    let v = tensorOf (shape ev s) (valuesOf Real (nb * s * ev) (seed + 2))
    let rng = Random(seed + 3)
    // Masks are [L; S], broadcast over the batch dims.
    let allowed = Array.init (l * s) (fun i -> i % s = 0 || rng.Next 2 = 1)
    let additive = Array.init (l * s) (fun _ -> rng.NextDouble() - 0.5)

    let mask, addMask =
        match kind with
        | NoMask -> None, (fun _ _ _ -> 0.0)
        | BoolMask ->
            Some(Tensor.ofArray (allowed, [ l; s ])),
            (fun _ i j -> if allowed[i * s + j] then 0.0 else Double.NegativeInfinity)
        | FloatMask -> Some(tensorOf [| l; s |] additive), (fun _ i j -> additive[i * s + j])
        | Causal -> None, (fun _ i j -> if j <= i then 0.0 else Double.NegativeInfinity)

    q, k, v, mask, addMask

let private sdpa kind mask (q: Tensor) k v =
    match kind, mask with
    | Causal, _ -> Tensor.scaledDotProductAttention (q, k, v, isCausal = true)
    | _, Some m -> Tensor.scaledDotProductAttention (q, k, v, m)
    | _, None -> Tensor.scaledDotProductAttention (q, k, v)

let ``scaledDotProductAttention matches softmax(q k^T / sqrt E + mask) v`` () =
    forAllN 40 case (fun ((batch, l, s, e, ev, kind, seed) as c) ->
        // A causal mask with more queries than keys leaves no key for the first rows only when S = 0, never here.
        let q, k, v, mask, addMask = build c
        let y = sdpa kind mask q k v

        let expected =
            attentionRef (numelOf batch) l s e ev (1.0 / sqrt (float e)) addMask (values q) (values k) (values v)

        let outShape = Array.append batch [| l; ev |]
        assertClose "attention" (sprintf "%A" c) outShape expected (values y))

let ``scaledDotProductAttention honours an explicit scale`` () =
    let c = [| 2 |], 3, 4, 2, 2, NoMask, 5
    let q, k, v, _, _ = build c
    let y = Tensor.scaledDotProductAttention (q, k, v, scale = 0.3)

    let expected =
        attentionRef 2 3 4 2 2 0.3 (fun _ _ _ -> 0.0) (values q) (values k) (values v)

    assertClose "attention scale 0.3" "" [| 2; 3; 2 |] expected (values y)

let ``scaledDotProductAttention gradients match finite differences`` () =
    forAllN 20 case (fun ((_, _, _, _, _, kind, seed) as c) ->
        let q, k, v, mask, _ = build c

        checkGradsN (sprintf "attention %A" c) (fun xs -> sdpa kind mask xs[0] xs[1] xs[2]) [ q; k; v ] seed)

let ``scaledDotProductAttention second derivatives match finite differences`` () =
    // checkGrad on a gradient exercises the fused softmax's composite backward rule (reverse over reverse and
    // forward over reverse).
    forAllN 8 case (fun ((_, _, _, _, _, kind, seed) as c) ->
        let q, k, v, mask, _ = build c
        let cube (t: Tensor) = Tensor.sum (t * t * t)
        checkGrad (sprintf "grad of attention wrt q %A" c) (Diff.grad (fun q -> cube (sdpa kind mask q k v))) q seed)

let ``Float32 causal attention on a CharGpt-sized batch agrees with the Float64 formula`` () =
    // Large enough that the fused softmax splits rows across threads.
    let b, l, e = 8, 64, 16

    let qs, ks, vs =
        valuesOf Real (b * l * e) 1, valuesOf Real (b * l * e) 2, valuesOf Real (b * l * e) 3

    let round = Array.map (fun (v: float) -> float (float32 v))

    let f32 v =
        Tensor.cast (tensorOf [| b; l; e |] v, DType.Float32)

    let y = Tensor.scaledDotProductAttention (f32 qs, f32 ks, f32 vs, isCausal = true)

    let expected =
        attentionRef
            b
            l
            l
            e
            e
            (1.0 / 4.0)
            (fun _ i j -> if j <= i then 0.0 else Double.NegativeInfinity)
            (round qs)
            (round ks)
            (round vs)

    assertCloseTol
        1e-5
        1e-4
        "float32 causal attention"
        "[8; 64; 16]"
        [| b; l; e |]
        expected
        (values (Tensor.cast (y, DType.Float64)))

let ``the causal mask leaks nothing: changing keys and values after t never changes outputs up to t`` () =
    let n, t, e = 2, 6, 3
    let q = tensorOf [| n; t; e |] (valuesOf Real (n * t * e) 1)
    let k = valuesOf Real (n * t * e) 2
    let v = valuesOf Real (n * t * e) 3

    let run (k: float[]) (v: float[]) =
        values (
            Tensor.scaledDotProductAttention (q, tensorOf [| n; t; e |] k, tensorOf [| n; t; e |] v, isCausal = true)
        )

    let base' = run k v

    for pos in 1 .. t - 1 do
        // Perturb position pos of every batch's keys and values.
        let bump (a: float[]) =
            a |> Array.mapi (fun i x -> if (i / e) % t = pos then x + 10.0 else x)

        let changed = run (bump k) (bump v)

        for i in 0 .. base'.Length - 1 do
            let row = (i / e) % t

            if row < pos then
                Expect.isTrue (base'[i] = changed[i]) (sprintf "output row %d changed when position %d changed" row pos)

        // And the perturbation does reach the rows that may see it.
        Expect.isTrue (Array.exists2 (fun a b -> a <> b) base' changed) (sprintf "position %d changed nothing" pos)

let ``attention dropout zeroes weights or rescales them by 1 / (1 - p), reproducibly from the key`` () =
    let l, s, p = 16, 16, 0.25
    let q = tensorOf [| l; 4 |] (valuesOf Real (l * 4) 1)
    let k = tensorOf [| s; 4 |] (valuesOf Real (s * 4) 2)
    // With v the identity the output is the attention weight matrix itself.
    let v = Tensor.eye (s, dtype = DType.Float64)
    let plain = values (Tensor.scaledDotProductAttention (q, k, v))
    let key = Key.create 42L

    let dropped =
        values (Tensor.scaledDotProductAttention (q, k, v, dropout = p, key = key))

    let again =
        values (Tensor.scaledDotProductAttention (q, k, v, dropout = p, key = key))

    let other =
        values (Tensor.scaledDotProductAttention (q, k, v, dropout = p, key = Key.create 43L))

    Expect.equal again dropped "again"
    Expect.notEqual other dropped "other"
    let mutable zeros = 0

    for i in 0 .. plain.Length - 1 do
        if dropped[i] = 0.0 then
            zeros <- zeros + 1
        else
            Expect.isTrue
                (abs (dropped[i] - plain[i] / (1.0 - p)) < 1e-12)
                (sprintf "weight %d is neither 0 nor rescaled" i)

    // 256 Bernoulli(0.25) draws: mean 64, standard deviation about 7.
    Expect.isTrue (let v = zeros in v >= (64 - 30) && v <= (64 + 30)) "zeros in [64 - 30, 64 + 30]"

let ``scaledDotProductAttention rejects a mask of the wrong shape and mismatched operands`` () =
    let q = Tensor.zeros [ 2; 3; 4 ]
    let k = Tensor.zeros [ 2; 5; 4 ]
    let v = Tensor.zeros [ 2; 5; 6 ]

    let throwsArg (needles: string list) (f: unit -> Tensor) =
        let ex = Expects.throwsAny<exn> "the call" (fun () -> f () |> ignore)
        Expect.isTrue (ex :? ArgumentException) (sprintf "expected an ArgumentException, got %O" ex)

        for nd in needles do
            Expect.stringContains ex.Message nd "ex.Message"

    let badMask = Tensor.ofArray (Array.create 12 true, [ 3; 4 ])

    throwsArg [ "scaledDotProductAttention"; "mask [3; 4]"; "[2; 3; 5]" ] (fun () ->
        Tensor.scaledDotProductAttention (q, k, v, badMask))

    throwsArg [ "scaledDotProductAttention"; "[2; 3; 4]"; "[2; 5; 3]" ] (fun () ->
        Tensor.scaledDotProductAttention (q, Tensor.zeros [ 2; 5; 3 ], v))

    throwsArg [ "scaledDotProductAttention"; "[2; 4; 6]" ] (fun () ->
        Tensor.scaledDotProductAttention (q, k, Tensor.zeros [ 2; 4; 6 ]))

    throwsArg [ "dropout"; "key" ] (fun () -> Tensor.scaledDotProductAttention (q, k, v, dropout = 0.1))

let tests =
    testList
        "Attention"
        [
            property
                "scaledDotProductAttention matches softmax(q k^T / sqrt E + mask) v"
                ``scaledDotProductAttention matches softmax(q k^T / sqrt E + mask) v``
            testCase
                "scaledDotProductAttention honours an explicit scale"
                ``scaledDotProductAttention honours an explicit scale``
            property
                "scaledDotProductAttention gradients match finite differences"
                ``scaledDotProductAttention gradients match finite differences``
            property
                "scaledDotProductAttention second derivatives match finite differences"
                ``scaledDotProductAttention second derivatives match finite differences``
            testCase
                "Float32 causal attention on a CharGpt-sized batch agrees with the Float64 formula"
                ``Float32 causal attention on a CharGpt-sized batch agrees with the Float64 formula``
            testCase
                "the causal mask leaks nothing: changing keys and values after t never changes outputs up to t"
                ``the causal mask leaks nothing: changing keys and values after t never changes outputs up to t``
            testCase
                "attention dropout zeroes weights or rescales them by 1 / (1 - p), reproducibly from the key"
                ``attention dropout zeroes weights or rescales them by 1 / (1 - p), reproducibly from the key``
            testCase
                "scaledDotProductAttention rejects a mask of the wrong shape and mismatched operands"
                ``scaledDotProductAttention rejects a mask of the wrong shape and mismatched operands``
        ]
