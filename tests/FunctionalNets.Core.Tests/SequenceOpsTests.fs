/// maskedFill, triu/tril, cumsum, embedding, layerNorm and rmsNorm: values against loops over float arrays
/// written here from PyTorch's definitions, gradients in both modes (and second order) against finite
/// differences in Float64, and bad-input errors.
module FunctionalNets.Tests.SequenceOpsTests

open System
open Expecto
open FunctionalNets.Testing
open FsCheck.FSharp
open FunctionalNets
open FunctionalNets.Tests.GradCheck

let private throwsArg (needles: string list) (f: unit -> Tensor) =
    let ex = Expects.throwsAny<exn> "the call" (fun () -> f () |> ignore)
    Expect.isNotNull ex "an exception was raised"
    Expect.isTrue (ex :? ArgumentException) (sprintf "expected an ArgumentException, got %O" ex)

    for n in needles do
        Expect.stringContains ex.Message n "ex.Message"

/// A Float64 input of a random shape with rank lo..hi and its seed.
let private realCase lo hi =
    gen {
        let! shape = Gens.shapeRank lo hi
        let! seed = Gens.seed
        return shape, seed
    }

let private realOf (shape: int[]) seed =
    tensorOf shape (valuesOf Real (numelOf shape) seed)

// ---------------------------------------------------------------------------------------------------
// maskedFill, triu, tril
// ---------------------------------------------------------------------------------------------------

let ``maskedFill puts the value where the broadcast mask is true and passes gradients elsewhere`` () =
    forAll (Gen.zip (realCase 1 3) Gens.bool) (fun ((shape, seed), lastOnly) ->
        // A mask over the last dim only exercises broadcasting; a full mask the plain case.
        let maskShape = if lastOnly then [| shape[shape.Length - 1] |] else shape
        let mask = boolTensor maskShape (seed + 1)
        let x = realOf shape seed
        let y = values (Tensor.maskedFill (x, mask, -7.5))
        let mv = Tensor.toArray mask :?> bool[]
        let xv = values x
        let last = shape[shape.Length - 1]

        let expected =
            xv
            |> Array.mapi (fun i v ->
                let m = if lastOnly then mv[i % last] else mv[i]
                if m then -7.5 else v)

        assertClose "maskedFill" (sprintf "%A" shape) shape expected y
        checkGrad "maskedFill" (fun x -> Tensor.maskedFill (x, mask, 3.0)) x seed)

let ``triu and tril keep column - row >= or <= diagonal over the last two dims`` () =
    let case =
        gen {
            let! shape = Gens.shapeRank 2 3
            let! diagonal = Gen.choose (-3, 3)
            let! seed = Gens.seed
            return shape, diagonal, seed
        }

    forAll case (fun (shape, diagonal, seed) ->
        let x = realOf shape seed
        let xv = values x
        let r, c = shape[shape.Length - 2], shape[shape.Length - 1]

        let expect keep =
            xv
            |> Array.mapi (fun flat v ->
                let i, j = (flat / c) % r, flat % c
                if keep (j - i) then v else 0.0)

        let ctx = sprintf "%A diagonal %d" shape diagonal
        assertClose "triu" ctx shape (expect (fun d -> d >= diagonal)) (values (Tensor.triu (x, diagonal)))
        assertClose "tril" ctx shape (expect (fun d -> d <= diagonal)) (values (Tensor.tril (x, diagonal)))
        checkGrad ("triu " + ctx) (fun x -> Tensor.triu (x, diagonal)) x seed
        checkGrad ("tril " + ctx) (fun x -> Tensor.tril (x, diagonal)) x seed)

let ``maskedFill, triu and tril reject bad input naming the op and shapes`` () =
    let x = Tensor.zeros [ 2; 3 ]

    throwsArg [ "maskedFill"; "[4]"; "[2; 3]" ] (fun () ->
        Tensor.maskedFill (x, Tensor.ofArray ([| true; false; true; false |], [ 4 ]), 1.0))

    throwsArg [ "maskedFill"; "Bool" ] (fun () -> Tensor.maskedFill (x, Tensor.zeros [ 2; 3 ], 1.0))
    throwsArg [ "triu"; "[3]" ] (fun () -> Tensor.triu (Tensor.zeros [ 3 ]))

// ---------------------------------------------------------------------------------------------------
// cumsum
// ---------------------------------------------------------------------------------------------------

/// Prefix sums along dim by index arithmetic over the flat array.
let private cumsumRef (shape: int[]) (dim: int) (xs: float[]) =
    let inner = Array.fold (*) 1 shape[dim + 1 ..]
    let len = shape[dim]

    xs
    |> Array.mapi (fun flat _ ->
        let j = (flat / inner) % len
        let start = flat - j * inner
        Seq.sum (seq { for k in 0..j -> xs[start + k * inner] }))

let ``cumsum matches running sums along any dim, and its gradients match finite differences`` () =
    let case =
        gen {
            let! shape = Gens.shapeRank 1 3
            let! dim = Gens.dimOf shape.Length
            let! seed = Gens.seed
            return shape, dim, seed
        }

    forAll case (fun (shape, dim, seed) ->
        let x = realOf shape seed
        let d = if dim < 0 then dim + shape.Length else dim
        let ctx = sprintf "%A dim %d" shape dim
        assertClose "cumsum" ctx shape (cumsumRef shape d (values x)) (values (Tensor.cumsum (x, dim)))
        checkGrad ("cumsum " + ctx) (fun x -> Tensor.cumsum (x, dim)) x seed)

let ``cumsum of integers and bools stays exact`` () =
    let ints = Tensor.ofArray ([| 1; 2; 3; 4; 5; 6 |], [ 2; 3 ])

    Expect.equal
        (Tensor.toArray (Tensor.cumsum (ints, 1)) :?> int[])
        ([| 1; 3; 6; 4; 9; 15 |])
        "Tensor.toArray (Tensor.cumsum (ints, 1)) :?> int[]"

    Expect.equal
        (Tensor.toArray (Tensor.cumsum (ints, 0)) :?> int[])
        ([| 1; 2; 3; 5; 7; 9 |])
        "Tensor.toArray (Tensor.cumsum (ints, 0)) :?> int[]"

    let bools = Tensor.ofArray ([| true; false; true; true |], [ 4 ])
    let c = Tensor.cumsum (bools, 0)
    Expect.equal c.DType DType.Int64 "c.DType"
    Expect.equal (Tensor.toArray c :?> int64[]) ([| 1L; 1L; 2L; 3L |]) "Tensor.toArray c :?> int64[]"

let ``cumsum of a long Float32 row matches a double-precision running sum`` () =
    // Long enough that the kernel splits the work across threads.
    let n, rows = 4096, 40
    let xs = valuesOf Real (n * rows) 7
    let x = Tensor.cast (tensorOf [| rows; n |] xs, DType.Float32)
    let y = values (Tensor.cast (Tensor.cumsum (x, 1), DType.Float64))
    let xf = xs |> Array.map (fun v -> float (float32 v))
    let expected = cumsumRef [| rows; n |] 1 xf
    assertCloseTol 1e-3 1e-4 "cumsum float32" "[40; 4096]" [| rows; n |] expected y

// ---------------------------------------------------------------------------------------------------
// embedding
// ---------------------------------------------------------------------------------------------------

let ``embedding picks weight rows by id and its weight gradient adds repeated ids`` () =
    let case =
        gen {
            let! v = Gen.choose (1, 5)
            let! d = Gen.choose (1, 4)
            let! idShape = Gens.shapeRank 0 2
            let! seed = Gens.seed
            let! int32Ids = Gens.bool
            return v, d, idShape, seed, int32Ids
        }

    forAll case (fun (v, d, idShape, seed, int32Ids) ->
        let rng = Random(seed)
        let idv = Array.init (numelOf idShape) (fun _ -> rng.Next v)

        let ids =
            if int32Ids then
                Tensor.ofArray (idv, idShape)
            else
                int64Tensor idShape idv

        let w = realOf [| v; d |] seed
        let wv = values w
        let y = Tensor.embedding (w, ids)
        let outShape = Array.append idShape [| d |]
        let expected = Array.init (idv.Length * d) (fun i -> wv[idv[i / d] * d + i % d])
        let ctx = sprintf "V %d D %d ids %A" v d idv
        assertClose "embedding" ctx outShape expected (values y)
        checkGrad ("embedding " + ctx) (fun w -> Tensor.embedding (w, ids)) w seed)

let ``embedding rejects an id outside the vocabulary naming the id and V`` () =
    let w = Tensor.zeros [ 5; 3 ]
    throwsArg [ "embedding"; "id 5"; "[0, 5)" ] (fun () -> Tensor.embedding (w, Tensor.ofArray ([| 0; 5 |], [ 2 ])))
    throwsArg [ "embedding"; "id -1"; "[0, 5)" ] (fun () -> Tensor.embedding (w, int64Tensor [| 2 |] [| -1; 2 |]))
    throwsArg [ "embedding"; "Int32 or Int64" ] (fun () -> Tensor.embedding (w, Tensor.zeros [ 2 ]))

// ---------------------------------------------------------------------------------------------------
// layerNorm, rmsNorm
// ---------------------------------------------------------------------------------------------------

/// Layer norm over runs of n trailing elements, written out: (x - mean) / sqrt(var + eps) * w + b.
let private layerNormRef (n: int) (eps: float) (w: float[] option) (b: float[] option) (xs: float[]) =
    xs
    |> Array.chunkBySize n
    |> Array.collect (fun row ->
        let mu = Array.average row
        let var = row |> Array.averageBy (fun v -> (v - mu) * (v - mu))

        row
        |> Array.mapi (fun i v ->
            let z = (v - mu) / sqrt (var + eps)

            let z =
                match w with
                | Some w -> z * w[i]
                | None -> z

            match b with
            | Some b -> z + b[i]
            | None -> z))

let private normCase =
    gen {
        let! shape = Gens.shapeRank 1 3
        let! k = Gen.choose (1, shape.Length)
        let! seed = Gens.seed
        let! affine = Gen.elements [ 0; 1; 2 ]
        return shape, k, seed, affine
    }

let ``layerNorm matches the formula and its fused gradients match finite differences`` () =
    forAll normCase (fun (shape, k, seed, affine) ->
        let normShape = shape[shape.Length - k ..]
        let n = numelOf normShape
        // Short runs can have a tiny variance; a moderate eps keeps the finite differences well conditioned.
        let eps = 0.05
        let x = realOf shape seed
        let w = realOf normShape (seed + 1)
        let b = realOf normShape (seed + 2)
        let ctx = sprintf "%A normalized %A affine %d" shape normShape affine

        let expected =
            layerNormRef
                n
                eps
                (if affine >= 1 then Some(values w) else None)
                (if affine = 2 then Some(values b) else None)
                (values x)

        let actual =
            match affine with
            | 0 -> Tensor.layerNorm (x, normShape, eps = eps)
            | 1 -> Tensor.layerNorm (x, normShape, w, eps = eps)
            | _ -> Tensor.layerNorm (x, normShape, w, b, eps = eps)

        assertClose "layerNorm" ctx shape expected (values actual)

        match affine with
        | 0 -> checkGrad ("layerNorm " + ctx) (fun x -> Tensor.layerNorm (x, normShape, eps = eps)) x seed
        | 1 -> checkGrad2 ("layerNorm " + ctx) (fun x w -> Tensor.layerNorm (x, normShape, w, eps = eps)) x w seed
        | _ ->
            checkGradsN
                ("layerNorm " + ctx)
                (fun xs -> Tensor.layerNorm (xs[0], normShape, xs[1], xs[2], eps = eps))
                [ x; w; b ]
                seed)

let ``layerNorm second derivatives match finite differences`` () =
    forAllN 12 normCase (fun (shape, k, seed, _) ->
        let normShape = shape[shape.Length - k ..]
        let x = realOf shape seed
        let w = realOf normShape (seed + 1)
        let cube (t: Tensor) = Tensor.sum (t * t * t)

        checkGrad
            "grad of layerNorm"
            (Diff.grad (fun z -> cube (Tensor.layerNorm (z, normShape, w, eps = 0.5))))
            x
            seed)

let ``layerNorm Float32 fused kernel agrees with the Float64 formula on a large batch`` () =
    let rows, n = 300, 256
    let xs = valuesOf Real (rows * n) 11 |> Array.map (fun v -> 3.0 + 2.0 * v)
    let ws = valuesOf Real n 12
    let bs = valuesOf Real n 13

    let f32 (shape: int[]) v =
        Tensor.cast (tensorOf shape v, DType.Float32)

    let x, w, b = f32 [| rows; n |] xs, f32 [| n |] ws, f32 [| n |] bs
    let y = Tensor.layerNorm (x, [ n ], w, b)

    let round (v: float[]) =
        v |> Array.map (fun v -> float (float32 v))

    let expected = layerNormRef n 1e-5 (Some(round ws)) (Some(round bs)) (round xs)

    assertCloseTol
        1e-4
        1e-4
        "layerNorm float32"
        "[300; 256]"
        [| rows; n |]
        expected
        (values (Tensor.cast (y, DType.Float64)))
    // The fused gradient against the Float64 composite one (itself checked against finite differences above).
    let g32 =
        Diff.grad (fun x -> Tensor.sum (Tensor.layerNorm (x, [ n ], w, b) * Tensor.layerNorm (x, [ n ], w, b))) x

    let x64 = tensorOf [| rows; n |] (round xs)

    let composite (x: Tensor) =
        let c = x - Tensor.mean (x, [ 1 ], true)

        let z =
            c / Tensor.sqrt (Tensor.mean (c * c, [ 1 ], true) + 1e-5)
            * tensorOf [| n |] (round ws)
            + tensorOf [| n |] (round bs)

        Tensor.sum (z * z)

    let g64 = Diff.grad composite x64

    assertCloseTol
        1e-3
        1e-3
        "layerNorm float32 gradient"
        "[300; 256]"
        [| rows; n |]
        (values g64)
        (values (Tensor.cast (g32, DType.Float64)))

let ``rmsNorm matches the formula and its gradients match finite differences`` () =
    forAll normCase (fun (shape, k, seed, affine) ->
        let normShape = shape[shape.Length - k ..]
        let n = numelOf normShape
        let x = realOf shape seed
        let w = realOf normShape (seed + 1)
        let ctx = sprintf "%A normalized %A" shape normShape

        let expected =
            values x
            |> Array.chunkBySize n
            |> Array.collect (fun row ->
                let rms = sqrt ((row |> Array.averageBy (fun v -> v * v)) + 0.01)

                row
                |> Array.mapi (fun i v -> v / rms * (if affine > 0 then (values w)[i] else 1.0)))

        let f x =
            if affine > 0 then
                Tensor.rmsNorm (x, normShape, w, eps = 0.01)
            else
                Tensor.rmsNorm (x, normShape, eps = 0.01)

        assertClose "rmsNorm" ctx shape expected (values (f x))
        checkGrad ("rmsNorm " + ctx) f x seed

        if affine > 0 then
            checkGrad2 ("rmsNorm weight " + ctx) (fun x w -> Tensor.rmsNorm (x, normShape, w, eps = 0.01)) x w seed)

let ``layerNorm and rmsNorm reject a normalized shape the input does not end with`` () =
    let x = Tensor.zeros [ 2; 3; 4 ]
    throwsArg [ "layerNorm"; "[2; 3; 4]"; "[3]" ] (fun () -> Tensor.layerNorm (x, [ 3 ]))
    throwsArg [ "layerNorm"; "weight"; "[5]" ] (fun () -> Tensor.layerNorm (x, [ 4 ], Tensor.zeros [ 5 ]))
    throwsArg [ "rmsNorm"; "[2; 3; 4]"; "[4; 4]" ] (fun () -> Tensor.rmsNorm (x, [ 4; 4 ]))

let tests =
    testList
        "SequenceOps"
        [
            property
                "maskedFill puts the value where the broadcast mask is true and passes gradients elsewhere"
                ``maskedFill puts the value where the broadcast mask is true and passes gradients elsewhere``
            property
                "triu and tril keep column - row >= or <= diagonal over the last two dims"
                ``triu and tril keep column - row >= or <= diagonal over the last two dims``
            testCase
                "maskedFill, triu and tril reject bad input naming the op and shapes"
                ``maskedFill, triu and tril reject bad input naming the op and shapes``
            property
                "cumsum matches running sums along any dim, and its gradients match finite differences"
                ``cumsum matches running sums along any dim, and its gradients match finite differences``
            testCase "cumsum of integers and bools stays exact" ``cumsum of integers and bools stays exact``
            testCase
                "cumsum of a long Float32 row matches a double-precision running sum"
                ``cumsum of a long Float32 row matches a double-precision running sum``
            property
                "embedding picks weight rows by id and its weight gradient adds repeated ids"
                ``embedding picks weight rows by id and its weight gradient adds repeated ids``
            testCase
                "embedding rejects an id outside the vocabulary naming the id and V"
                ``embedding rejects an id outside the vocabulary naming the id and V``
            property
                "layerNorm matches the formula and its fused gradients match finite differences"
                ``layerNorm matches the formula and its fused gradients match finite differences``
            property
                "layerNorm second derivatives match finite differences"
                ``layerNorm second derivatives match finite differences``
            testCase
                "layerNorm Float32 fused kernel agrees with the Float64 formula on a large batch"
                ``layerNorm Float32 fused kernel agrees with the Float64 formula on a large batch``
            property
                "rmsNorm matches the formula and its gradients match finite differences"
                ``rmsNorm matches the formula and its gradients match finite differences``
            testCase
                "layerNorm and rmsNorm reject a normalized shape the input does not end with"
                ``layerNorm and rmsNorm reject a normalized shape the input does not end with``
        ]
