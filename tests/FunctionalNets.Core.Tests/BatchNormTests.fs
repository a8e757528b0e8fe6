/// batchNorm (batch statistics, the training-mode forward of BatchNorm1d/2d): values against the definition written
/// out with loops in double, its fused gradients in both modes (and second order) against finite differences in
/// Float64, the Float32 kernels against the Float64 formula on CIFAR-sized batches, and bad-input errors.
module FunctionalNets.Tests.BatchNormTests

open System
open Expecto
open FunctionalNets.Testing
open FsCheck.FSharp
open FunctionalNets
open FunctionalNets.Tests.GradCheck

let private realOf (shape: int[]) seed =
    tensorOf shape (valuesOf Real (numelOf shape) seed)

/// The definition over [N; C; L] (L the product of the dims after the channel dim): per channel the mean and biased
/// variance of its N L values, y = (x - mean) / sqrt(var + eps) * w + b. Returns y, the means and the variances.
let private reference (shape: int[]) (eps: float) (w: float[] option) (b: float[] option) (xs: float[]) =
    let n, c = shape[0], shape[1]
    let l = xs.Length / (n * c)
    let at i ch j = (i * c + ch) * l + j
    let y = Array.zeroCreate xs.Length

    let stats =
        Array.init c (fun ch ->
            let vals =
                [|
                    for i in 0 .. n - 1 do
                        for j in 0 .. l - 1 -> xs[at i ch j]
                |]

            let mu = Array.average vals
            let var = vals |> Array.averageBy (fun v -> (v - mu) * (v - mu))

            let scale =
                (defaultArg (Option.map (fun (w: float[]) -> w[ch]) w) 1.0) / sqrt (var + eps)

            let shift = defaultArg (Option.map (fun (b: float[]) -> b[ch]) b) 0.0

            for i in 0 .. n - 1 do
                for j in 0 .. l - 1 do
                    y[at i ch j] <- (xs[at i ch j] - mu) * scale + shift

            mu, var)

    y, Array.map fst stats, Array.map snd stats

/// Ranks 2 to 4 with dims 1..4; a batch of one needs more than one value per channel, so it gets spatial dims.
let private case =
    gen {
        let! shape = Gens.shapeRank 2 4
        let! seed = Gens.seed
        let! affine = Gen.elements [ 0; 1; 2 ]

        let shape =
            if numelOf shape / shape[1] < 2 then
                Array.append [| shape[0]; shape[1] |] [| 3 |]
            else
                shape

        return shape, seed, affine
    }

let private apply affine (x: Tensor) (w: Tensor) (b: Tensor) eps =
    match affine with
    | 0 -> Tensor.batchNorm (x, eps = eps)
    | 1 -> Tensor.batchNorm (x, w, eps = eps)
    | _ -> Tensor.batchNorm (x, w, b, eps = eps)

let ``batchNorm matches the definition and its fused gradients match finite differences`` () =
    forAll case (fun (shape, seed, affine) ->
        let c = shape[1]
        // Few values per channel can have a tiny variance; a moderate eps keeps finite differences well conditioned.
        let eps = 0.05
        let x = realOf shape seed
        let w = realOf [| c |] (seed + 1)
        let b = realOf [| c |] (seed + 2)
        let ctx = sprintf "%A affine %d" shape affine

        let expected, means, vars =
            reference
                shape
                eps
                (if affine >= 1 then Some(values w) else None)
                (if affine = 2 then Some(values b) else None)
                (values x)

        let y, m, v =
            match affine with
            | 0 -> Tensor.batchNormWithStats (x, eps = eps)
            | 1 -> Tensor.batchNormWithStats (x, w, eps = eps)
            | _ -> Tensor.batchNormWithStats (x, w, b, eps = eps)

        assertClose "batchNorm" ctx shape expected (values y)
        assertClose "batchNorm batch mean" ctx [| c |] means (values m)
        assertClose "batchNorm batch variance" ctx [| c |] vars (values v)

        match affine with
        | 0 -> checkGrad ("batchNorm " + ctx) (fun x -> Tensor.batchNorm (x, eps = eps)) x seed
        | 1 -> checkGrad2 ("batchNorm " + ctx) (fun x w -> Tensor.batchNorm (x, w, eps = eps)) x w seed
        | _ ->
            checkGradsN
                ("batchNorm " + ctx)
                (fun xs -> Tensor.batchNorm (xs[0], xs[1], xs[2], eps = eps))
                [ x; w; b ]
                seed)

let ``batchNorm second derivatives match finite differences`` () =
    forAllN 12 case (fun (shape, seed, affine) ->
        let x = realOf shape seed
        let w = realOf [| shape[1] |] (seed + 1)
        let b = realOf [| shape[1] |] (seed + 2)
        let cube (t: Tensor) = Tensor.sum (t * t * t)

        checkGrad "grad of batchNorm" (Diff.grad (fun z -> cube (apply affine z w b 0.5))) x seed)

/// The Float32 kernels at a CIFAR layer's shape (batch 64, 32 channels, 32 x 32, so every channel spans many runs)
/// and at odd sizes, against the Float64 definition and the Float64 composed gradient.
let ``batchNorm Float32 fused kernels agree with the Float64 formula on CIFAR-sized batches`` () =
    for shape in [ [| 64; 32; 32; 32 |]; [| 1; 5; 7; 9 |]; [| 3; 17; 5 |]; [| 33; 6 |] ] do
        let c = shape[1]
        let count = numelOf shape
        // An offset mean, as after a convolution: the centred-squares variance must not cancel.
        let xs = valuesOf Real count 21 |> Array.map (fun v -> 3.0 + 2.0 * v)
        let ws = valuesOf Real c 22
        let bs = valuesOf Real c 23
        let rs = valuesOf Real count 24

        let round (v: float[]) =
            v |> Array.map (fun v -> float (float32 v))

        let f32 (shape: int[]) v =
            Tensor.cast (tensorOf shape (round v), DType.Float32)

        let x, w, b, r = f32 shape xs, f32 [| c |] ws, f32 [| c |] bs, f32 shape rs
        let ctx = sprintf "%A" shape

        let expected, _, _ =
            reference shape 1e-5 (Some(round ws)) (Some(round bs)) (round xs)

        let y = Tensor.batchNorm (x, w, b)
        assertCloseTol 1e-4 1e-4 "batchNorm float32" ctx shape expected (values (Tensor.cast (y, DType.Float64)))

        let loss (x: Tensor) (w: Tensor) (b: Tensor) (r: Tensor) =
            let dims = [| 0; yield! [| 2 .. x.Rank - 1 |] |]

            let per (t: Tensor) =
                Tensor.reshape (t, Array.init x.Rank (fun d -> if d = 1 then c else 1))

            let centred = x - Tensor.mean (x, dims, true)

            let z =
                centred / Tensor.sqrt (Tensor.mean (centred * centred, dims, true) + 1e-5)
                * per w
                + per b

            Tensor.sum (z * r)

        let fused =
            Diff.gradTree
                (fun t ->
                    match PTree.values t with
                    | [ x; w; b ] -> Tensor.sum (Tensor.batchNorm (x, w, b) * r)
                    | _ -> failwith "three leaves")
                (Node [ "x", Leaf x; "w", Leaf w; "b", Leaf b ])
            |> PTree.values

        let composed =
            Diff.gradTree
                (fun t ->
                    match PTree.values t with
                    | [ x; w; b ] -> loss x w b (tensorOf shape (round rs))
                    | _ -> failwith "three leaves")
                (Node
                    [
                        "x", Leaf(tensorOf shape (round xs))
                        "w", Leaf(tensorOf [| c |] (round ws))
                        "b", Leaf(tensorOf [| c |] (round bs))
                    ])
            |> PTree.values

        for name, f, e in List.zip3 [ "dx"; "dweight"; "dbias" ] fused composed do
            // dweight and dbias sum N L products each, so their rounding grows with the batch.
            let tol = if name = "dx" then 1e-4 else 1e-3

            assertCloseTol
                tol
                tol
                ("batchNorm float32 " + name)
                ctx
                (e.Shape.ToArray())
                (values e)
                (values (Tensor.cast (f, DType.Float64)))

let ``batchNorm gives the same bits run to run`` () =
    let x = Tensor.cast (realOf [| 16; 8; 6; 6 |] 5, DType.Float32)
    let w = Tensor.cast (realOf [| 8 |] 6, DType.Float32)

    let run () =
        let y, g = Diff.valueAndGrad (fun x -> Tensor.sum (Tensor.batchNorm (x, w) * x)) x
        Array.append (Tensor.toFloatArray y) (Tensor.toFloatArray g)

    let first = run ()

    for _ in 1..3 do
        Expect.sequenceEqual (run ()) first "a second run"

let private throwsArg (needles: string list) (f: unit -> Tensor) =
    let ex = Expects.throwsAny<exn> "the call" (fun () -> f () |> ignore)
    Expect.isTrue (ex :? ArgumentException) (sprintf "expected an ArgumentException, got %O" ex)

    for n in needles do
        Expect.stringContains ex.Message n "ex.Message"

let ``batchNorm rejects bad inputs with messages naming the op and the shapes`` () =
    let x = realOf [| 4; 3; 2 |] 1
    throwsArg [ "batchNorm"; "[4]" ] (fun () -> Tensor.batchNorm (realOf [| 4 |] 1))
    throwsArg [ "batchNorm"; "weight"; "[3]"; "[4]" ] (fun () -> Tensor.batchNorm (x, realOf [| 4 |] 2))

    throwsArg [ "batchNorm"; "bias"; "[3]"; "[2; 3]" ] (fun () ->
        Tensor.batchNorm (x, realOf [| 3 |] 2, realOf [| 2; 3 |] 3))

    throwsArg [ "batchNorm"; "float32"; "float64" ] (fun () ->
        Tensor.batchNorm (x, Tensor.cast (realOf [| 3 |] 2, DType.Float32)))

    throwsArg [ "batchNorm"; "eps" ] (fun () -> Tensor.batchNorm (x, eps = -1.0))
    throwsArg [ "batchNorm" ] (fun () -> Tensor.batchNorm (Tensor.ofArray ([| 1; 2; 3; 4 |], [| 2; 2 |])))

let tests =
    testList
        "BatchNorm"
        [
            property
                "batchNorm matches the definition and its fused gradients match finite differences"
                ``batchNorm matches the definition and its fused gradients match finite differences``
            property
                "batchNorm second derivatives match finite differences"
                ``batchNorm second derivatives match finite differences``
            testCase
                "batchNorm Float32 fused kernels agree with the Float64 formula on CIFAR-sized batches"
                ``batchNorm Float32 fused kernels agree with the Float64 formula on CIFAR-sized batches``
            testCase "batchNorm gives the same bits run to run" ``batchNorm gives the same bits run to run``
            testCase
                "batchNorm rejects bad inputs with messages naming the op and the shapes"
                ``batchNorm rejects bad inputs with messages naming the op and the shapes``
        ]
