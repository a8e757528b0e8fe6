module FunctionalNets.Bench.StepBench

open System
open System.Diagnostics
open FunctionalNets
open FunctionalNets.Nn

/// Wall seconds, process CPU seconds and full (gen2) collections of f.
let private measure (f: unit -> 'T) =
    let proc = Process.GetCurrentProcess()
    GC.Collect()
    proc.Refresh()
    let cpu0 = proc.TotalProcessorTime
    let gen2 = GC.CollectionCount 2
    let watch = Stopwatch.StartNew()
    let r = f ()
    let wall = watch.Elapsed.TotalSeconds
    proc.Refresh()
    r, wall, (proc.TotalProcessorTime - cpu0).TotalSeconds, GC.CollectionCount 2 - gen2

let private line (name: string) (steps: int) (wall: float) (cpu: float) (gen2: int) (extra: string) =
    printfn
        "{\"bench\":\"%s\",\"steps\":%d,\"seconds\":%.3f,\"cpu_seconds\":%.3f,\"ms_per_step\":%.3f,\"cpu_ms_per_step\":%.3f,\"gen2_per_1000_steps\":%.1f%s}"
        name
        steps
        wall
        cpu
        (wall * 1e3 / float steps)
        (cpu * 1e3 / float steps)
        (float gen2 * 1000.0 / float steps)
        extra

let private weightsOf (ts: TrainState) =
    PTree.values ts.Params |> List.map (fun t -> Tensor.toArray t :?> float32[])

/// One epoch (938 steps, no shuffling so both loops see the same batches) trained three ways from the same state:
/// Train.fit; a user's own `Seq.fold Train.trainStep` over DataLoader.batches; and, as the yardstick, the same
/// step on 50 batches already in memory, in turn (forward + backward + Adam, nothing else; not one batch repeated:
/// the network soon fits it and the loop then cost more CPU per step than an epoch, probably through subnormals). Prints wall and CPU
/// time per step, full collections per 1,000 steps, and whether fold and fit end with bit-identical weights.
let run () =
    let mnist = Mnist.load (DataLocation.findMnist None)
    let model = MnistMlp.model ()
    let loss = Losses.crossEntropy
    let tx = Optim.adam 1e-3
    let initial = Train.init model [ 1; 28; 28 ] tx (Key.create 0L)

    let options =
        { FitOptions.defaults with
            BatchSize = 64
            Shuffle = false
        }

    let loader = DataLoader.create mnist.Train 64 false false
    let steps = DataLoader.count loader
    // Warm-up: one short pass of each loop so the JIT has compiled both before they are timed.
    let few = Seq.truncate 50 (DataLoader.batches loader (Key.create 1L)) |> Array.ofSeq

    few
    |> Array.fold (fun ts b -> fst (Train.trainStep model loss tx ts b)) initial
    |> ignore

    Train.fit model loss tx { options with Epochs = 1 } (Dataset.take 3200 mnist.Train) initial
    |> ignore

    let rounds =
        match Int32.TryParse(Environment.GetEnvironmentVariable "FN_BENCH_ROUNDS") with
        | true, n when n > 0 -> n
        | _ -> 1

    for _ in 1..rounds do
        let _, wall, cpu, gen2 =
            measure (fun () ->
                let mutable ts = initial

                for i in 0 .. steps - 1 do
                    ts <- fst (Train.trainStep model loss tx ts few[i % few.Length])

                ts)

        line "step_alone" steps wall cpu gen2 ""

        let (fitted, _), wall, cpu, gen2 =
            measure (fun () -> Train.fit model loss tx options mnist.Train initial)

        line "fit_epoch" steps wall cpu gen2 ""

        let folded, wall, cpu, gen2 =
            measure (fun () ->
                DataLoader.batches loader (Key.create 1L)
                |> Seq.fold (fun ts b -> fst (Train.trainStep model loss tx ts b)) initial)

        let bits (ts: TrainState) =
            weightsOf ts |> List.map (Array.map BitConverter.SingleToInt32Bits)

        let same = bits folded = bits fitted
        line "fold_epoch" steps wall cpu gen2 (sprintf ",\"weights_identical_to_fit\":%b" same)
