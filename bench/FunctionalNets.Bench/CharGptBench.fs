module FunctionalNets.Bench.CharGptBench

open System
open System.Diagnostics
open FunctionalNets
open FunctionalNets.Nn

/// Training throughput of the CharGpt sample's model, the same work as bench/peers/pytorch_chargpt.py: a GPT
/// (vocab 96, context 128, dim 128, 4 heads, 4 blocks, tied LM head, dropout 0), AdamW, batch 32 x 128 random
/// token ids, cross-entropy of the logits reshaped to [N*T; V]. Warm-up 3 steps, median of 20 timed steps.
/// Beside wall time it prints the process CPU seconds per step: the machine is shared, so CPU time tells
/// whether a change did less work even when the wall clock is noisy.
let run () =
    let vocab, context, batch, steps = 96, 128, 32, 20

    let model = Layers.gpt (vocab, context, dim = 128, heads = 4, layers = 4)
    let tx = Optim.adamw 3e-4
    let keys = Key.splitN 2 (Key.create 0L)
    let ids = Tensor.randint (keys[0], 0, vocab, [ batch; context + 1 ], DType.Int64)

    let batchOf =
        {
            Input = Tensor.slice (ids, 1, 0, context)
            Target = Tensor.slice (ids, 1, 1, context + 1)
        }

    let loss (logits: Tensor) (target: Tensor) =
        Losses.crossEntropy (Tensor.reshape (logits, [ -1; vocab ])) (Tensor.reshape (target, [ -1 ]))

    let mutable state = Train.init model [ context ] tx keys[1]

    let step () =
        let next, _ = Train.trainStep model loss tx state batchOf
        state <- next

    for _ in 1..3 do
        step ()

    let stepS, cpuS = BenchTiming.medianPerCall step steps

    let load =
        try
            IO.File.ReadAllText("/proc/loadavg").Split(' ')[0]
        with _ ->
            "null"

    printfn
        "{\"bench\":\"chargpt_train\",\"batch\":%d,\"context\":%d,\"dim\":128,\"heads\":4,\"layers\":4,\"vocab\":%d,\"step_ms_median\":%.2f,\"tokens_per_second\":%.0f,\"cpu_s_per_step_median\":%.3f,\"load_average_1m\":%s}"
        batch
        context
        vocab
        (stepS * 1e3)
        (float (batch * context) / stepS)
        cpuS
        load

/// Where a CharGpt training step goes: forward + backward of each stage at the model's shapes (batch 32 x 128
/// tokens, dim 128), as process CPU milliseconds per call (summed over threads) and wall milliseconds, medians of 7
/// after a warm-up of at least 40 calls and one second.
/// Per-step totals multiply by the count in the label (4 blocks).
let profile () =
    let keys = Key.splitN 12 (Key.create 1L)
    let n, t, d, h, vocab = 32, 128, 128, 4, 96

    let time (label: string) (f: Tensor -> Tensor) (x: Tensor) =
        let both () =
            Scope.run (fun () -> Diff.grad (fun x -> Tensor.sum (f x)) x |> ignore)

        // Warm up for a second and at least 40 calls: the tiered JIT recompiles a hot method only after 30 calls
        // and a delay, and with two warm-up calls the first stages timed partly unoptimised code.
        let warm = Stopwatch.StartNew()
        let mutable calls = 0

        while calls < 40 || warm.Elapsed.TotalSeconds < 1.0 do
            both ()
            calls <- calls + 1

        let wall, cpu = BenchTiming.medianPerCall both 7
        printfn "{\"stage\":\"%s\",\"cpu_ms\":%.1f,\"wall_ms\":%.1f}" label (cpu * 1e3) (wall * 1e3)

    let x = Tensor.randn (keys[0], [ n; t; d ])

    let w d0 d1 i =
        Tensor.randn (keys[i], [ d0; d1 ]) * 0.02

    let qkvW, fc1W, fc2W, projW = w (3 * d) d 1, w (4 * d) d 2, w d (4 * d) 3, w d d 4
    let hidden = Tensor.randn (keys[5], [ n; t; 4 * d ])
    let q = Tensor.randn (keys[6], [ n; h; t; d / h ])
    let tok = w vocab d 7
    let ids = Tensor.randint (keys[8], 0, vocab, [ n; t ], DType.Int64)
    let target = Tensor.randint (keys[9], 0, vocab, [ n * t ], DType.Int64)
    let lnW, lnB = Tensor.ones [ d ], Tensor.zeros [ d ]
    time "layerNorm x9" (fun x -> Tensor.layerNorm (x, [ d ], lnW, lnB, 1e-5)) x
    time "qkv linear x4 (x grad)" (fun x -> Tensor.linear (x, qkvW)) x
    time "qkv linear x4 (w grad)" (fun w -> Tensor.linear (x, w)) qkvW

    time
        "head split permute x4"
        (fun x -> Tensor.permute (Tensor.reshape (Tensor.linear (x, qkvW), [ n; t; 3; h; d / h ]), [ 2; 0; 3; 1; 4 ]))
        x

    time
        "sdpa causal x4 (q, k, v distinct)"
        (fun q -> Tensor.scaledDotProductAttention (q, q * 0.5, q * 2.0, isCausal = true))
        q

    time "sdpa causal x4 (q grad)" (fun q -> Tensor.scaledDotProductAttention (q, q, q, isCausal = true)) q
    time "sdpa: q k^T only x4 (q grad)" (fun q -> Tensor.matmulNT (q, q)) q
    time "sdpa: softmax only x4" (fun s -> Tensor.softmax (s, -1)) (Tensor.randn (keys[10], [ n; h; t; t ]))
    time "merge permute x4" (fun q -> Tensor.reshape (Tensor.permute (q, [ 0; 2; 1; 3 ]), [ n; t; d ])) q
    time "out proj x4" (fun x -> Tensor.linear (x, projW)) x
    time "fc1 x4 (3-D x: batched GEMMs)" (fun x -> Tensor.linear (x, fc1W)) x
    time "fc1 x4 (rows: one GEMM)" (fun x -> Tensor.linear (Tensor.reshape (x, [ n * t; d ]), fc1W)) x
    time "fc1 x4 (rows, w grad)" (fun w -> Tensor.linear (Tensor.reshape (x, [ n * t; d ]), w)) fc1W
    time "geluTanh x4" Tensor.geluTanh hidden
    time "fc2 x4" (fun x -> Tensor.linear (x, fc2W)) hidden
    time "residual add x8" (fun x -> x + x) x
    time "token embedding x1 (w grad)" (fun w -> Tensor.embedding (w, ids)) tok

    time
        "lm head + cross-entropy x1"
        (fun x -> Losses.crossEntropy (Tensor.linear (Tensor.reshape (x, [ n * t; d ]), tok)) target)
        x
