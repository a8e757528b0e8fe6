module FunctionalNets.Bench.EpochBench

open System.Diagnostics
open FunctionalNets
open FunctionalNets.Nn

/// One training epoch of model on MNIST (Adam 1e-3, batch 64), timed like ../shared/bench/pytorch_mnist.py
/// --epochs 1 --batch 64: the clock covers the training loop only, then the test set is evaluated; prints
/// {"bench":name,"train_seconds":...,"train_cpu_seconds":...,"test_accuracy":...}.
let runMnist (name: string) (model: Layer) =
    let mnist = Mnist.load (DataLocation.findMnist None)
    let tx = Optim.adam 1e-3
    let state = Train.init model [ 1; 28; 28 ] tx (Key.create 0L)

    let options =
        { FitOptions.defaults with
            Epochs = 1
            BatchSize = 64
        }

    // Process CPU time beside the wall clock: on a machine shared with other work the wall time mostly
    // measures the load, the CPU time the work.
    let proc = Process.GetCurrentProcess()
    let cpu0 = proc.TotalProcessorTime
    let watch = Stopwatch.StartNew()
    let trained, _ = Train.fit model Losses.crossEntropy tx options mnist.Train state
    let seconds = watch.Elapsed.TotalSeconds
    proc.Refresh()
    let cpuSeconds = (proc.TotalProcessorTime - cpu0).TotalSeconds

    let logs =
        Train.evaluate model Losses.crossEntropy [ Metrics.accuracy ] trained mnist.Test 1000

    printfn
        "{\"bench\":\"%s\",\"train_seconds\":%.3f,\"train_cpu_seconds\":%.3f,\"test_accuracy\":%.4f}"
        name
        seconds
        cpuSeconds
        logs["accuracy"]
