// The MNIST CNN (conv32-pool-conv64-pool-fc128-dropout0.5-fc10, the PyTorch peer benchmark's model) from
// F#: Models.mnistCnn is a value, Train.fit folds the training steps, and the charts are written from
// the fit's history, the test predictions and the first convolution's weight.
//
// Build first, from the repository root:   dotnet build -c Release tests/FunctionalNets.Nn.Tests
// then run:                                dotnet fsi samples/scripts/MnistCnn.fsx
// Options:  --limit N    train on the first N training images and test on the first N test images
//           --epochs E   number of epochs (default 6)
//           --data DIR   the folder holding the four MNIST files (default: DataLocation.findMnist)
//           --out DIR    where the pictures go (default mnist-cnn-output)
// e.g. a quick run:       dotnet fsi samples/scripts/MnistCnn.fsx --limit 2000 --epochs 1
#I "../../tests/FunctionalNets.Nn.Tests/bin/Release/net10.0"
#I "../../tests/FunctionalNets.Nn.Tests/bin/Debug/net10.0"
#r "FunctionalNets.Kernels.dll"
#r "System.Numerics.Tensors.dll"
#r "FunctionalNets.Core.dll"
#r "FunctionalNets.Data.dll"
#r "FunctionalNets.Nn.dll"
#r "SkiaSharp.dll"
#r "ScottPlot.dll"
#r "FunctionalNets.Plots.dll"
#load "ScriptDevice.fsx"

open System.Diagnostics
open System.IO
open FunctionalNets
open FunctionalNets.Nn
open FunctionalNets.Plots

let device, args =
    fsi.CommandLineArgs
    |> Array.skip 1
    |> Array.filter ((<>) "--")
    |> List.ofArray
    |> ScriptDevice.take

let rec parse (limit, epochs, data, out) args =
    match args with
    | [] -> limit, epochs, data, out
    | "--limit" :: n :: rest -> parse (Some(int n), epochs, data, out) rest
    | "--epochs" :: n :: rest -> parse (limit, int n, data, out) rest
    | "--data" :: d :: rest -> parse (limit, epochs, Some d, out) rest
    | "--out" :: d :: rest -> parse (limit, epochs, data, d) rest
    | a :: _ ->
        failwithf
            "unknown argument '%s'; use --limit N, --epochs E, --data DIR, --out DIR, --device cpu|cuda|cuda-sim"
            a

let limit, epochs, dataDir, outDir = parse (None, 6, None, "mnist-cnn-output") args

let mnist = Mnist.load (DataLocation.findMnist dataDir)

let limited (ds: IDataset) =
    match limit with
    | Some n -> Dataset.take n ds
    | None -> ds

let train, test = limited mnist.Train, limited mnist.Test
printfn "MNIST: %d training and %d test images, %d epochs" train.Count test.Count epochs

let model = Models.mnistCnn ()
// Adam under a one-cycle learning rate (warm up to 3e-3, then anneal over every step).
let steps = int64 epochs * int64 ((train.Count + 63) / 64)
let optimizer = Optim.adam (Schedules.oneCycle 3e-3 (max 2L steps) 0.3 25.0 1e4)
let initial = Train.init model [ 1; 28; 28 ] optimizer (Key.create 0L)
printfn "%s, %d parameters" model.Name (Layer.numParams initial.Params)

// Epoch times come from a callback: callbacks are pure state machines, so this one only reads the clock.
let clock = Stopwatch.StartNew()

let timer =
    Callbacks.create "EpochTimes" (fun e ->
        printfn "epoch %d: %.1f s, val_accuracy %.4f" e.Epoch clock.Elapsed.TotalSeconds e.Logs["val_accuracy"]
        clock.Restart()
        false)

let options =
    { FitOptions.defaults with
        Epochs = epochs
        BatchSize = 64
        Validation = Some(ScriptDevice.data device test)
        Metrics = [ Metrics.accuracy ]
        Callbacks = [ timer ]
    }

let trained, history =
    Train.fit
        model
        Losses.crossEntropy
        optimizer
        options
        (ScriptDevice.data device train)
        (Train.toDevice device initial)

let logs =
    Train.evaluate model Losses.crossEntropy [ Metrics.accuracy ] trained (ScriptDevice.data device test) 1000

printfn "test accuracy: %.4f" logs["accuracy"]

// ---- pictures ----

Directory.CreateDirectory outDir |> ignore
let predictions = Train.predict model trained (ScriptDevice.data device test) 1000
let targets = test.GetBatch(Array.init test.Count id).Target
let matrix = Metrics.confusionMatrix predictions targets

let filters =
    (PTree.tryFind "0.weight" trained.Params
     |> Option.get
     |> function
         | Leaf w -> w
         | Node _ -> failwith "0.weight")

let names = Some(Array.init 10 string)
TrainingCurves.save (Path.Combine(outDir, "training_curves.svg")) history
TrainingCurves.save (Path.Combine(outDir, "training_curves.png")) history
ConfusionMatrix.save (Path.Combine(outDir, "confusion_matrix.svg")) false names matrix
ConfusionMatrix.save (Path.Combine(outDir, "confusion_matrix.png")) false names matrix
ImageGrid.saveFilters (Path.Combine(outDir, "filters.svg")) filters
ImageGrid.saveFilters (Path.Combine(outDir, "filters.png")) filters
printfn "pictures written to %s" (Path.GetFullPath outDir)
