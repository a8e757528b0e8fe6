module FunctionalNets.Bench.SgemmBench

open System
open System.Diagnostics
open FunctionalNets.Kernels

/// Best seconds per call over `rounds` timed runs of `reps` calls each, after a warm-up that also lets tiered
/// JIT compilation settle (the peer, pytorch_ops.py, warms up with one call; .NET needs a little longer).
let private bestOf (f: unit -> unit) reps rounds =
    let warm = Stopwatch.StartNew()
    f ()

    while warm.Elapsed.TotalSeconds < 0.3 do
        f ()

    let mutable best = Double.MaxValue

    for _ in 1..rounds do
        let sw = Stopwatch.StartNew()

        for _ in 1..reps do
            f ()

        best <- min best (sw.Elapsed.TotalSeconds / float reps)

    best

let private randomArray (rng: Random) len =
    Array.init len (fun _ -> float32 (rng.NextDouble() * 2.0 - 1.0))

/// GFLOP/s of C = op(A) * op(B) for one shape, timed like the peer: reps = max(1, 2e9 // (2 m n k)), 5 rounds.
let private gflops (rng: Random) transA transB m n k =
    let a, b, c =
        randomArray rng (m * k), randomArray rng (k * n), Array.zeroCreate<float32>(m * n)

    let lda, ldb = (if transA then m else k), (if transB then k else n)
    let flops = 2.0 * float m * float n * float k
    let reps = max 1 (int (2e9 / flops))

    let call () =
        Gemm.Sgemm(transA, transB, m, n, k, 1.0f, ReadOnlySpan a, lda, ReadOnlySpan b, ldb, 0.0f, Span c, n)

    flops / bestOf call reps 5 / 1e9

/// The MLP benchmark's products (784-512-256-10, batches 64 and 128): forward x * W^T, weight gradients dY^T * X,
/// input gradients dY * W.
let private mlpShapes =
    [
        false, true, 64, 512, 784
        false, true, 128, 512, 784
        false, true, 64, 256, 512
        true, false, 512, 784, 64
        true, false, 256, 512, 64
        false, false, 64, 512, 256
        false, false, 128, 512, 256
    ]

let run () =
    let rng = Random 42

    for n in [ 256; 512; 1024; 2048 ] do
        printfn "{\"op\":\"sgemm\",\"n\":%d,\"gflops\":%.1f}" n (gflops rng false false n n n)

    for transA, transB, m, n, k in mlpShapes do
        let g = gflops rng transA transB m n k

        printfn
            "{\"op\":\"sgemm_shape\",\"m\":%d,\"n\":%d,\"k\":%d,\"transA\":%b,\"transB\":%b,\"gflops\":%.1f}"
            m
            n
            k
            transA
            transB
            g
