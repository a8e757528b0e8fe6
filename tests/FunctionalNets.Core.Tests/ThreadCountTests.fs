/// Every kernel that sums across threads gives the same bits for 1, 2, 3 and 4 kernel threads (DESIGN.md section 4).
module FunctionalNets.Tests.ThreadCountTests

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets.Kernels

let private threadCounts = [ 1; 2; 3; 4; 2; 2; 2; 2; 3; 2 ]

let private randomFloats (seed: int) (n: int) =
    let rng = Random seed
    Array.init n (fun _ -> float32 (rng.NextDouble() - 0.5))

/// Runs f under each thread cap (restoring the cap afterwards) and asserts every result has the bits of the first.
let private sameForAnyThreads (what: string) (f: unit -> float32[]) =
    let saved = KernelSettings.MaxThreads

    let results =
        try
            [
                for t in threadCounts do
                    KernelSettings.MaxThreads <- t
                    t, f ()
            ]
        finally
            KernelSettings.MaxThreads <- saved

    let _, first = List.head results

    for t, r in List.tail results do
        Expect.equal r.Length first.Length "r.Length"

        match Array.tryFindIndex id (Array.map2 (fun (a: float32) b -> a.Equals b |> not) first r) with
        | Some i ->
            failtest (sprintf "%s: %d threads differ from 1 at element %d (%.9g vs %.9g)" what t i first[i] r[i])
        | None -> ()

let private weightGrad (input: int[]) (weight: int[]) pad =
    let mutable g =
        ConvGeometry.Create("conv2d", input, weight, 1, 1, pad, pad, 1, 1, 1)

    let x = randomFloats 1 (Array.reduce (*) input)
    let dy = randomFloats 2 (g.N * g.O * g.L)

    fun () ->
        let dw = Array.zeroCreate<float32>(Array.reduce (*) weight)
        ConvKernels.WeightGrad(&g, ReadOnlySpan dy, ReadOnlySpan x, Span dw)
        dw

let ``conv2d weight gradient (per-image path) is bit-identical for any thread count`` () =
    sameForAnyThreads "weight grad 64x32x14x14" (weightGrad [| 64; 32; 14; 14 |] [| 64; 32; 3; 3 |] 1)
    sameForAnyThreads "weight grad 5x3x28x28" (weightGrad [| 5; 3; 28; 28 |] [| 7; 3; 5; 5 |] 2)

let ``conv2d weight gradient (blocked path) is bit-identical for any thread count`` () =
    sameForAnyThreads "weight grad 32x64x8x8" (weightGrad [| 32; 64; 8; 8 |] [| 64; 64; 3; 3 |] 1)

let ``layer norm backward is bit-identical for any thread count`` () =
    let rows, n = 700, 96
    let x = randomFloats 3 (rows * n)
    let dy = randomFloats 4 (rows * n)
    let weight = randomFloats 5 n
    let mean = Array.zeroCreate<float32> rows
    let rstd = Array.zeroCreate<float32> rows
    LayerNorm.Forward(x, int64 rows, n, weight, null, 1e-5, Array.zeroCreate (rows * n), mean, rstd)

    sameForAnyThreads "layer norm dweight, dbias, dx" (fun () ->
        let dx = Array.zeroCreate<float32>(rows * n)
        let dw = Array.zeroCreate<float32> n
        let db = Array.zeroCreate<float32> n
        LayerNorm.Backward(dy, x, mean, rstd, int64 rows, n, weight, dx, dw, db)
        Array.concat [ dw; db; dx ])

let ``conv2d direct kernel forward and weight gradient are bit-identical for any thread count`` () =
    let saved = ConvAlgorithms.Override
    ConvAlgorithms.Override <- Nullable ConvAlgorithm.Direct

    try
        for input, weight in
            [
                [| 37; 3; 32; 32 |], [| 32; 3; 3; 3 |]
                [| 20; 1; 28; 28 |], [| 7; 1; 3; 3 |]
            ] do
            let mutable g = ConvGeometry.Create("conv2d", input, weight, 1, 1, 1, 1, 1, 1, 1)

            let x = randomFloats 12 (Array.reduce (*) input)
            let w = randomFloats 13 (Array.reduce (*) weight)
            let dy = randomFloats 14 (g.N * g.O * g.L)

            sameForAnyThreads (sprintf "direct conv %A" input) (fun () ->
                let y = Array.zeroCreate<float32>(g.N * g.O * g.L)
                let dw = Array.zeroCreate<float32> w.Length
                ConvKernels.Forward(&g, ReadOnlySpan x, ReadOnlySpan w, Span y)
                ConvKernels.WeightGrad(&g, ReadOnlySpan dy, ReadOnlySpan x, Span dw)
                Array.append y dw)
    finally
        ConvAlgorithms.Override <- saved

let ``batch norm forward and backward are bit-identical for any thread count`` () =
    let n, c, l = 16, 24, 49
    let x = randomFloats 8 (n * c * l)
    let dy = randomFloats 9 (n * c * l)
    let weight = randomFloats 10 c
    let bias = randomFloats 11 c

    sameForAnyThreads "batch norm y, mean, var, dx, dweight, dbias" (fun () ->
        let y = Array.zeroCreate<float32>(n * c * l)
        let mean = Array.zeroCreate<float32> c
        let var = Array.zeroCreate<float32> c
        BatchNorm.Forward(x, n, c, l, weight, bias, 1e-5, y, mean, var)
        let dx = Array.zeroCreate<float32>(n * c * l)
        let dw = Array.zeroCreate<float32> c
        let db = Array.zeroCreate<float32> c
        BatchNorm.Backward(dy, x, mean, var, n, c, l, weight, 1e-5, dx, dw, db)
        Array.concat [ y; mean; var; dx; dw; db ])

let ``sums are bit-identical for any thread count`` () =
    let x = randomFloats 6 300_001
    sameForAnyThreads "SumAll" (fun () -> [| Reduce.SumAll(ReadOnlySpan x) |])

    for outer, n, inner in [ (1, 300_001, 1); (3, 1000, 100); (1000, 300, 1); (1, 3, 100_000) ] do
        let x = randomFloats 7 (outer * n * inner)

        sameForAnyThreads (sprintf "Reduce.Sum [%d, %d, %d]" outer n inner) (fun () ->
            let y = Array.zeroCreate<float32>(outer * inner)
            Reduce.Sum(ReadOnlySpan x, outer, n, inner, Span y)
            y)

let ``GEMM is bit-identical for any thread count`` () =
    for m, n, k in [ (517, 263, 301); (64, 1000, 784); (1000, 10, 128) ] do
        let a = randomFloats 8 (m * k)
        let b = randomFloats 9 (k * n)

        for ta, tb in [ (false, false); (true, false); (false, true) ] do
            sameForAnyThreads (sprintf "Sgemm %dx%dx%d %b %b" m n k ta tb) (fun () ->
                let c = Array.zeroCreate<float32>(m * n)

                Gemm.Sgemm(
                    ta,
                    tb,
                    m,
                    n,
                    k,
                    1.0f,
                    ReadOnlySpan a,
                    (if ta then m else k),
                    ReadOnlySpan b,
                    (if tb then k else n),
                    0.0f,
                    Span c,
                    n
                )

                c)

let ``conv2d Winograd forward and both gradients are bit-identical for any thread count`` () =
    for input, weight in
        [
            [| 8; 24; 15; 15 |], [| 40; 24; 3; 3 |]
            [| 1; 32; 30; 33 |], [| 32; 32; 3; 3 |]
        ] do
        let mutable g = ConvGeometry.Create("conv2d", input, weight, 1, 1, 1, 1, 1, 1, 1)

        let x = randomFloats 10 (Array.reduce (*) input)
        let w = randomFloats 11 (Array.reduce (*) weight)
        let dy = randomFloats 12 (g.N * g.O * g.L)
        let saved = ConvAlgorithms.Override
        ConvAlgorithms.Override <- Nullable ConvAlgorithm.Winograd

        try
            sameForAnyThreads (sprintf "Winograd forward %A" input) (fun () ->
                let y = Array.zeroCreate<float32> dy.Length
                ConvKernels.Forward(&g, ReadOnlySpan x, ReadOnlySpan w, Span y)
                y)

            sameForAnyThreads (sprintf "Winograd input grad %A" input) (fun () ->
                let dx = Array.zeroCreate<float32> x.Length
                ConvKernels.InputGrad(&g, ReadOnlySpan dy, ReadOnlySpan w, Span dx)
                dx)

            sameForAnyThreads (sprintf "Winograd weight grad %A" input) (fun () ->
                let dw = Array.zeroCreate<float32> w.Length
                ConvKernels.WeightGrad(&g, ReadOnlySpan dy, ReadOnlySpan x, Span dw)
                dw)
        finally
            ConvAlgorithms.Override <- saved

let ``flash attention forward and backward are bit-identical for any thread count`` () =
    let bh, l, s, e = 6, 70, 90, 16
    let q = randomFloats 13 (bh * l * e)
    let k = randomFloats 14 (bh * s * e)
    let v = randomFloats 15 (bh * s * e)
    let dO = randomFloats 16 (bh * l * e)
    let lengths = [| 90; 1; 64; 65; 30; 90 |]

    sameForAnyThreads "flash attention o, lse, dq, dk, dv" (fun () ->
        let o = Array.zeroCreate<float32>(bh * l * e)
        let lse = Array.zeroCreate<float32>(bh * l)
        FlashAttention.Forward(q, k, v, bh, l, s, e, e, 0.25f, false, lengths, o, lse)
        let dq = Array.zeroCreate<float32> q.Length
        let dk = Array.zeroCreate<float32> k.Length
        let dv = Array.zeroCreate<float32> v.Length
        FlashAttention.Backward(q, k, v, o, lse, dO, bh, l, s, e, e, 0.25f, false, lengths, dq, dk, dv)
        Array.concat [ o; lse; dq; dk; dv ])

let tests =
    testSequencedGroup "KernelSettings.MaxThreads"
    <| testList
        "ThreadCount"
        [
            testCase
                "conv2d weight gradient (per-image path) is bit-identical for any thread count"
                ``conv2d weight gradient (per-image path) is bit-identical for any thread count``
            testCase
                "conv2d weight gradient (blocked path) is bit-identical for any thread count"
                ``conv2d weight gradient (blocked path) is bit-identical for any thread count``
            testCase
                "layer norm backward is bit-identical for any thread count"
                ``layer norm backward is bit-identical for any thread count``
            testCase
                "conv2d direct kernel forward and weight gradient are bit-identical for any thread count"
                ``conv2d direct kernel forward and weight gradient are bit-identical for any thread count``
            testCase
                "batch norm forward and backward are bit-identical for any thread count"
                ``batch norm forward and backward are bit-identical for any thread count``
            testCase "sums are bit-identical for any thread count" ``sums are bit-identical for any thread count``
            testCase "GEMM is bit-identical for any thread count" ``GEMM is bit-identical for any thread count``
            testCase
                "conv2d Winograd forward and both gradients are bit-identical for any thread count"
                ``conv2d Winograd forward and both gradients are bit-identical for any thread count``
            testCase
                "flash attention forward and backward are bit-identical for any thread count"
                ``flash attention forward and backward are bit-identical for any thread count``
        ]
