module FunctionalNets.Bench.AttentionKernelBench

open System
open FunctionalNets.Kernels

/// Attention at CharGpt's shapes (batch 32 x 4 heads, 128 tokens, head size 32, causal) and at longer sequences (256 to
/// 1024 tokens, head size 32, as many slices as keep the work near CharGpt's; causal and not) two ways, raw kernels only:
/// composed (batched GEMM for the scores, the fused causal softmax, batched GEMM with v; backward: the two GEMM
/// gradients and the softmax's) and FlashAttention (tiles of 64 x 64, no score matrix). One JSON line per variant and
/// pass with the fastest and median wall milliseconds of 30 calls and the process CPU milliseconds per call.
/// FN_THREADS sets KernelSettings.MaxThreads.
let run () =
    match Environment.GetEnvironmentVariable "FN_THREADS" with
    | null
    | "" -> ()
    | t -> KernelSettings.MaxThreads <- int t

    let rng = Random 3

    let randomArray n =
        Array.init n (fun _ -> float32 (rng.NextDouble() * 2.0 - 1.0))

    for bh, l, e, causal in
        [
            128, 128, 32, true
            128, 128, 32, false
            32, 256, 32, true
            32, 256, 64, true
            8, 512, 32, true
            8, 512, 32, false
            4, 1024, 32, true
        ] do
        let scale = 1.0f / sqrt (float32 e)

        let q, k, v, dO =
            randomArray (bh * l * e), randomArray (bh * l * e), randomArray (bh * l * e), randomArray (bh * l * e)

        let scores = Array.zeroCreate<float32>(bh * l * l)
        let weights = Array.zeroCreate<float32>(bh * l * l)
        let dWeights = Array.zeroCreate<float32>(bh * l * l)
        let dScores = Array.zeroCreate<float32>(bh * l * l)
        let o = Array.zeroCreate<float32>(bh * l * e)
        let lse = Array.zeroCreate<float32>(bh * l)

        let dq, dk, dv =
            Array.zeroCreate<float32> q.Length, Array.zeroCreate<float32> k.Length, Array.zeroCreate<float32> v.Length

        let sq, se = int64 (l * l), int64 (l * e)

        let composedForward () =
            Gemm.SgemmBatched(false, true, bh, l, l, e, 1.0f, q, se, k, se, 0.0f, scores, sq)
            AttentionSoftmax.Forward(scores, int64 (bh * l), l, l, float scale, causal, weights)
            Gemm.SgemmBatched(false, false, bh, l, e, l, 1.0f, weights, sq, v, se, 0.0f, o, se)

        let composedBackward () =
            Gemm.SgemmBatched(false, true, bh, l, l, e, 1.0f, dO, se, v, se, 0.0f, dWeights, sq)
            Gemm.SgemmBatched(true, false, bh, l, e, l, 1.0f, weights, sq, dO, se, 0.0f, dv, se)
            AttentionSoftmax.Backward(dWeights, weights, int64 (bh * l), l, float scale, dScores)
            Gemm.SgemmBatched(false, false, bh, l, e, l, 1.0f, dScores, sq, k, se, 0.0f, dq, se)
            Gemm.SgemmBatched(true, false, bh, l, e, l, 1.0f, dScores, sq, q, se, 0.0f, dk, se)

        let flashForward () =
            FlashAttention.Forward(q, k, v, bh, l, l, e, e, scale, causal, ReadOnlySpan.Empty, o, lse)

        let flashBackward () =
            FlashAttention.Backward(q, k, v, o, lse, dO, bh, l, l, e, e, scale, causal, ReadOnlySpan.Empty, dq, dk, dv)

        for name, f in
            [
                "composed forward", composedForward
                "composed forward+backward",
                (fun () ->
                    composedForward ()
                    composedBackward ())
                "flash forward", flashForward
                "flash forward+backward",
                (fun () ->
                    flashForward ()
                    flashBackward ())
            ] do
            let best, median, cpu = ConvKernelBench.stats f 30

            printfn
                "{\"bench\":\"attention_kernels\",\"variant\":\"%s\",\"bh\":%d,\"l\":%d,\"e\":%d,\"causal\":%b,\"threads\":%d,\"min_ms\":%.3f,\"median_ms\":%.3f,\"cpu_ms\":%.3f}"
                name
                bh
                l
                e
                causal
                KernelSettings.MaxThreads
                best
                median
                cpu
