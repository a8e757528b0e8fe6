// CIFAR-10 from F#: the small fast network (Models.cifarSmall) by default or the ResNet-18 with
// --model resnet18, key-driven random crop + flip augmentation, SGD with Nesterov momentum, weight decay
// and a one-cycle learning rate, then the charts.
//
// Build first, from the repository root:   dotnet build -c Release tests/FunctionalNets.Nn.Tests
// then run:  dotnet fsi samples/scripts/Cifar10.fsx --data ../shared/datasets/cifar10-approx
// Options:  --data PATH   the cifar-10-binary.tar.gz archive or a folder holding it or its batch files
//                         (default: Cifar10.find, which searches $FUNCTIONALNETS_DATA, the cache, data/)
//           --model M     small (default) or resnet18
//           --epochs E    number of epochs (default 8 for small, 30 for resnet18)
//           --limit N     train and test on the first N images of each split (a quick look)
//           --out DIR     where the pictures go (default cifar10-output)
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

type Options =
    {
        Data: string option
        Model: string
        Epochs: int option
        Limit: int option
        Out: string
    }

let rec parse (o: Options) args =
    match args with
    | [] -> o
    | "--data" :: d :: rest -> parse { o with Data = Some d } rest
    | "--model" :: ("small" | "resnet18" as m) :: rest -> parse { o with Model = m } rest
    | "--epochs" :: n :: rest -> parse { o with Epochs = Some(int n) } rest
    | "--limit" :: n :: rest -> parse { o with Limit = Some(int n) } rest
    | "--out" :: d :: rest -> parse { o with Out = d } rest
    | a :: _ ->
        failwithf
            "unknown argument '%s'; use --data PATH, --model small|resnet18, --epochs E, --limit N, --out DIR, --device cpu|cuda|cuda-sim"
            a

let opts =
    parse
        {
            Data = None
            Model = "small"
            Epochs = None
            Limit = None
            Out = "cifar10-output"
        }
        args

let epochs =
    opts.Epochs |> Option.defaultValue (if opts.Model = "small" then 8 else 30)

let cifar = Cifar10.load (Cifar10.find opts.Data)
let normalized = Dataset.map (Transforms.onInput Transforms.normalizeCifar10)
// Each training batch is cropped and flipped with a key fit derives from the run's key, the epoch and the
// batch: the same seed gives the same batches, and every epoch draws new crops and flips.
let train =
    Dataset.mapWithKey
        (fun key batch ->
            { batch with
                Input = Transforms.cifar10Train key batch.Input
            })
        cifar.Train
    |> fun ds ->
        match opts.Limit with
        | Some n -> Dataset.take n ds
        | None -> ds

let testRaw =
    match opts.Limit with
    | Some n -> Dataset.take n cifar.Test
    | None -> cifar.Test

let test = normalized testRaw
printfn "CIFAR-10: %d training and %d test images, %s, %d epochs" train.Count test.Count opts.Model epochs

let model =
    if opts.Model = "small" then
        Models.cifarSmall 10
    else
        Models.resnet18Cifar 10

let batchSize = 128
let steps = int64 epochs * int64 ((train.Count + batchSize - 1) / batchSize)

let lr =
    Schedules.oneCycle (if opts.Model = "small" then 0.2 else 0.1) steps 0.3 25.0 1e4

let optimizer = Optim.sgd (lr, momentum = 0.9, nesterov = true, weightDecay = 5e-4)

let initial = Train.init model [ 3; 32; 32 ] optimizer (Key.create 0L)
printfn "%d parameters" (Layer.numParams initial.Params)

let clock = Stopwatch.StartNew()
let total = Stopwatch.StartNew()

let timer =
    Callbacks.create "EpochTimes" (fun e ->
        printfn
            "epoch %d: %.1f s, loss %.3f, val_accuracy %.4f"
            e.Epoch
            clock.Elapsed.TotalSeconds
            e.Logs["loss"]
            e.Logs["val_accuracy"]

        clock.Restart()
        false)

let options =
    { FitOptions.defaults with
        Epochs = epochs
        BatchSize = batchSize
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
    Train.evaluate model Losses.crossEntropy [ Metrics.accuracy ] trained (ScriptDevice.data device test) 500

printfn "test accuracy: %.4f after %d epochs, %.1f minutes" logs["accuracy"] epochs total.Elapsed.TotalMinutes

Directory.CreateDirectory opts.Out |> ignore
let predictions = Train.predict model trained (ScriptDevice.data device test) 500
let targets = testRaw.GetBatch(Array.init testRaw.Count id).Target
let matrix = Metrics.confusionMatrix predictions targets
// The stem convolution is the first rank-4 weight in parameter order.
let filters =
    PTree.leaves trained.Params
    |> List.map snd
    |> List.find (fun (t: Tensor) -> t.Rank = 4)

TrainingCurves.save (Path.Combine(opts.Out, "training_curves.svg")) history
TrainingCurves.save (Path.Combine(opts.Out, "training_curves.png")) history
ConfusionMatrix.save (Path.Combine(opts.Out, "confusion_matrix.svg")) false (Some cifar.Classes) matrix
ConfusionMatrix.save (Path.Combine(opts.Out, "confusion_matrix.png")) false (Some cifar.Classes) matrix
ImageGrid.saveFilters (Path.Combine(opts.Out, "filters.svg")) filters
ImageGrid.saveFilters (Path.Combine(opts.Out, "filters.png")) filters
printfn "pictures written to %s" (Path.GetFullPath opts.Out)
