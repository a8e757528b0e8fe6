module FunctionalNets.Bench.EpochBench

open System.Diagnostics
open FunctionalNets
open FunctionalNets.Nn

/// One training epoch of model (Adam 1e-3, batch 64), timed like ../shared/bench/pytorch_mnist.py --epochs 1
/// --batch 64: the clock covers the training loop only, then the test set is evaluated; prints
/// {"bench":name,"train_seconds":...,"train_cpu_seconds":...,"test_accuracy":...}.
let run (name: string) (model: Layer) (inputShape: int list) (train: IDataset) (test: IDataset) =
    let tx = Optim.adam 1e-3
    let state = Train.init model inputShape tx (Key.create 0L)

    let options =
        { FitOptions.defaults with
            Epochs = 1
            BatchSize = 64
        }

    // FN_BENCH_EPOCHS=n runs n epochs in one process, one line each, to show how steady consecutive epochs are.
    let epochs =
        match System.Int32.TryParse(System.Environment.GetEnvironmentVariable "FN_BENCH_EPOCHS") with
        | true, n when n > 0 -> n
        | _ -> 1

    // FN_CONV_ALGORITHM=Im2Col or Winograd forces one convolution algorithm wherever it applies (the training loop
    // runs on this thread), to set the measured choice beside either path in the same sitting.
    match System.Environment.GetEnvironmentVariable "FN_CONV_ALGORITHM" with
    | null
    | "" -> ()
    | a ->
        FunctionalNets.Kernels.ConvAlgorithms.Override <-
            System.Nullable(System.Enum.Parse<FunctionalNets.Kernels.ConvAlgorithm> a)

    // FN_KERNEL_SPIN_US=n: how long the kernels' helper threads poll for work before sleeping, to weigh the CPU time
    // polling burns against the wall time it saves.
    match System.Int32.TryParse(System.Environment.GetEnvironmentVariable "FN_KERNEL_SPIN_US") with
    | true, us -> FunctionalNets.Kernels.KernelSettings.HelperSpinMicroseconds <- us
    | _ -> ()

    // Process CPU time beside the wall clock: on a machine shared with other work the wall time mostly
    // measures the load, the CPU time the work. The per-thread split shows whether the kernels' helper threads
    // worked beside the training thread (an epoch whose CPU seconds equal its wall seconds may have used one core).
    let proc = Process.GetCurrentProcess()
    let mutable trained = state

    for epoch in 1..epochs do
        proc.Refresh()
        let cpu0 = proc.TotalProcessorTime
        let threads0 = ThreadCpu.snapshot ()
        let gen2 = System.GC.CollectionCount 2
        let watch = Stopwatch.StartNew()
        let next, _ = Train.fit model Losses.crossEntropy tx options train trained
        let seconds = watch.Elapsed.TotalSeconds
        proc.Refresh()
        let cpuSeconds = (proc.TotalProcessorTime - cpu0).TotalSeconds
        let threads = ThreadCpu.json threads0 (ThreadCpu.snapshot ())
        trained <- next

        let logs =
            Train.evaluate model Losses.crossEntropy [ Metrics.accuracy ] trained test 1000

        printfn
            "{\"bench\":\"%s\",\"epoch\":%d,\"train_seconds\":%.3f,\"train_cpu_seconds\":%.3f,\"gen2_collections\":%d,\"test_accuracy\":%.4f,\"threads\":%s}"
            name
            epoch
            seconds
            cpuSeconds
            (System.GC.CollectionCount 2 - gen2)
            logs["accuracy"]
            threads

/// run on MNIST (28 x 28 grey images).
let runMnist (name: string) (model: Layer) =
    let mnist = Mnist.load (DataLocation.findMnist None)
    run name model [ 1; 28; 28 ] mnist.Train mnist.Test
