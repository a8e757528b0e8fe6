module FunctionalNets.Bench.StepProfileBench

open System
open System.Diagnostics
open FunctionalNets
open FunctionalNets.Nn

let private phases =
    [|
        "gather"
        "dropout"
        "forward"
        "loss"
        "backward"
        "optimizer"
        "loss_accumulation"
        "scope_release"
        "other"
    |]

let private gather, dropout, forward, loss, backward, optimizer, accumulation, scope, loop =
    0, 1, 2, 3, 4, 5, 6, 7, 8

/// The MLP of mnist_mlp_epoch, its dropout layers wrapped so the clock charges them (mask and multiply) apart
/// from the rest of the forward pass.
let private model (clock: PhaseClock.Clock) =
    MnistMlp.modelWith (fun inner ->
        { inner with
            Apply =
                fun p s ctx x ->
                    clock.Mark forward
                    let r = inner.Apply p s ctx x
                    clock.Mark dropout
                    r
        })

let private keepState (ts: TrainState) : obj = box [ ts.Params; ts.State; ts.Opt ]

/// One epoch of what Train.fit does for mnist_mlp_epoch (shuffled batches of 64 from the prefetching loader,
/// forward with dropout, cross-entropy, backward, Adam, the loss summed on the device, one scope per step, the
/// replaced state donated), with a mark between phases. Returns the state after the epoch.
let private profiledEpoch (clock: PhaseClock.Clock) (net: Layer) (tx: GradTx) (loader: DataLoader) (ts0: TrainState) =
    let mutable ts = ts0
    let mutable acc = Unchecked.defaultof<Tensor>
    let mutable first = true
    use e = (DataLoader.batches loader (Train.epochKey ts0 1)).GetEnumerator()
    clock.Start()

    while (clock.Mark loop
           e.MoveNext()) do
        let batch = e.Current
        clock.Mark gather
        let previous = ts
        let acc0 = acc

        let next, acc1 =
            Scope.runKeeping (fun (next, a) -> box [ keepState next; box a ]) (fun () ->
                let ctx = Train.stepContext ts ts.Step

                let objective (p: Params) =
                    clock.Mark loop
                    let y, s = net.Apply p ts.State ctx batch.Input
                    clock.Mark forward
                    let l = Losses.crossEntropy y batch.Target
                    clock.Mark loss
                    l, PTree.node [ "state", s ]

                let (value, aux), grads = Diff.valueAndGradTreeAux objective ts.Params
                clock.Mark backward

                let newState =
                    match aux with
                    | Node [ _, s ] -> s
                    | _ -> invalidOp "unreachable"

                let next = Train.applyGradients tx grads newState ts
                clock.Mark optimizer
                let weighted = Tensor.cast (value, DType.Float64) * float batch.Input.Shape[0]
                let a = if isNull (box acc0) then weighted else acc0 + weighted
                clock.Mark accumulation
                next, a)

        if not first then
            Scope.donate (keepState previous) (keepState next)

        clock.Mark scope
        first <- false
        ts <- next
        acc <- acc1

    Tensor.toScalar acc |> ignore
    clock.Mark accumulation
    ts

/// Forward + backward + Adam alone at the epoch's shapes: trainStep's work on 64 batches held in memory, in
/// turn, one scope per step and the replaced state donated as fit does; no loader, loss read or accumulation.
let private stepsAlone (net: Layer) (tx: GradTx) (batches: Batch[]) (steps: int) (ts0: TrainState) =
    let mutable ts = ts0

    for i in 0 .. steps - 1 do
        let batch = batches[i % batches.Length]

        let next =
            Scope.runKeeping keepState (fun () ->
                let ctx = Train.stepContext ts ts.Step

                let objective (p: Params) =
                    let y, s = net.Apply p ts.State ctx batch.Input
                    Losses.crossEntropy y batch.Target, s

                let (_, s), grads = Diff.valueAndGradTreeAux objective ts.Params
                Train.applyGradients tx grads s ts)

        if i > 0 then
            Scope.donate (keepState ts) (keepState next)

        ts <- next

    ts

let private measure (f: unit -> 'T) =
    let proc = Process.GetCurrentProcess()
    proc.Refresh()
    let cpu0 = proc.TotalProcessorTime
    let gen2 = GC.CollectionCount 2
    let alloc = GC.GetTotalAllocatedBytes false
    let watch = Stopwatch.StartNew()
    let r = f ()
    let wall = watch.Elapsed.TotalSeconds
    proc.Refresh()

    r,
    wall,
    (proc.TotalProcessorTime - cpu0).TotalSeconds,
    GC.CollectionCount 2 - gen2,
    float (GC.GetTotalAllocatedBytes false - alloc) / 1048576.0

/// The MNIST MLP epoch step split into phases (FN_BENCH_ROUNDS=n epochs, 1 by default, the first cold), each round
/// followed by Train.fit's epoch and by forward + backward + Adam alone for as many steps: one JSON line each,
/// figures per 1,000 steps where named so.
let run () =
    let mnist = Mnist.load (DataLocation.findMnist None)
    let clock = PhaseClock.Clock phases
    let net = model clock
    let plain = MnistMlp.model ()
    let tx = Optim.adam 1e-3
    let initial = Train.init net [ 1; 28; 28 ] tx (Key.create 0L)
    let loader = DataLoader.create mnist.Train 64 true false
    let steps = DataLoader.count loader

    let inMemory =
        DataLoader.batches (DataLoader.create mnist.Train 64 false false) (Key.create 1L)
        |> Seq.truncate 64
        |> Array.ofSeq

    let options =
        { FitOptions.defaults with
            Epochs = 1
            BatchSize = 64
        }

    let rounds =
        match Int32.TryParse(Environment.GetEnvironmentVariable "FN_BENCH_ROUNDS") with
        | true, n when n > 0 -> n
        | _ -> 1

    let per1000 x = x * 1000.0 / float steps

    for round in 1..rounds do
        clock.Reset()

        let _, wall, cpu, gen2, mb =
            measure (fun () -> profiledEpoch clock net tx loader initial)

        printfn
            "{\"bench\":\"mlp_step_profile\",\"round\":%d,\"steps\":%d,\"seconds\":%.3f,\"cpu_seconds\":%.3f,\"gen2\":%d,\"alloc_mb\":%.1f,\"phases_per_1000_steps\":%s}"
            round
            steps
            wall
            cpu
            gen2
            mb
            (clock.Json steps)

        let _, wall, cpu, gen2, mb =
            measure (fun () -> Train.fit plain Losses.crossEntropy tx options mnist.Train initial)

        printfn
            "{\"bench\":\"mlp_fit_epoch\",\"round\":%d,\"steps\":%d,\"seconds\":%.3f,\"cpu_seconds\":%.3f,\"ms_per_step\":%.3f,\"gen2_per_1000_steps\":%.1f,\"alloc_mb_per_1000_steps\":%.1f}"
            round
            steps
            wall
            cpu
            (per1000 wall)
            (per1000 (float gen2))
            (per1000 mb)

        let _, wall, cpu, gen2, mb =
            measure (fun () -> stepsAlone plain tx inMemory steps initial)

        printfn
            "{\"bench\":\"mlp_fwd_bwd_adam\",\"round\":%d,\"steps\":%d,\"seconds\":%.3f,\"cpu_seconds\":%.3f,\"ms_per_step\":%.3f,\"gen2_per_1000_steps\":%.1f,\"alloc_mb_per_1000_steps\":%.1f}"
            round
            steps
            wall
            cpu
            (per1000 wall)
            (per1000 (float gen2))
            (per1000 mb)
