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

    let cfg =
        {
            VocabSize = vocab
            ContextLength = context
            Dim = 128
            Heads = 4
            Layers = 4
            Dropout = 0.0
            TieWeights = true
        }

    let model = Layers.gpt cfg
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

    let proc = Process.GetCurrentProcess()
    let wall = Array.zeroCreate steps
    let cpu = Array.zeroCreate steps

    for i in 0 .. steps - 1 do
        proc.Refresh()
        let c0 = proc.TotalProcessorTime
        let sw = Stopwatch.StartNew()
        step ()
        wall[i] <- sw.Elapsed.TotalSeconds
        proc.Refresh()
        cpu[i] <- (proc.TotalProcessorTime - c0).TotalSeconds

    let median (xs: float[]) = (Array.sort xs)[xs.Length / 2]
    let stepS = median wall
    let load = try IO.File.ReadAllText("/proc/loadavg").Split(' ')[0] with _ -> "null"

    printfn
        "{\"bench\":\"chargpt_train\",\"batch\":%d,\"context\":%d,\"dim\":128,\"heads\":4,\"layers\":4,\"vocab\":%d,\"step_ms_median\":%.2f,\"tokens_per_second\":%.0f,\"cpu_s_per_step_median\":%.3f,\"load_average_1m\":%s}"
        batch
        context
        vocab
        (stepS * 1e3)
        (float (batch * context) / stepS)
        (median cpu)
        load
