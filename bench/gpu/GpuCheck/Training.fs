/// The training checks of the GPU check: an MNIST MLP epoch, the MNIST CNN to 99.2% and a CIFAR-10 ResNet-18 to
/// 93%, each on the device with Train.fit (batches copied to the device as they are read), printing JSON lines.
/// The settings match the PyTorch peers in bench/peers/pytorch_*_cuda.py.
module FunctionalNets.GpuCheck.Training

open System.Diagnostics
open FunctionalNets
open FunctionalNets.Nn

/// Epoch times (seconds) recorded by a callback, and a stop once the next epoch would pass the budget.
let private timer (budgetSeconds: float) =
    let total = Stopwatch.StartNew()
    let epoch = Stopwatch.StartNew()
    let times = ResizeArray<float>()

    let cb =
        Callbacks.create "EpochTimes" (fun _ ->
            times.Add epoch.Elapsed.TotalSeconds
            epoch.Restart()
            // Stop when another epoch as long as the slowest so far would end past the budget.
            total.Elapsed.TotalSeconds + Seq.max times > budgetSeconds)

    cb, times

let private fitOn (dev: Device) model tx (options: FitOptions) (train: IDataset) (inputShape: int list) =
    let initial = Train.init model inputShape tx (Key.create 0L) |> Train.toDevice dev

    let options =
        { options with
            Validation = options.Validation |> Option.map (Dataset.toDevice dev)
        }

    Train.fit model Losses.crossEntropy tx options (Dataset.toDevice dev train) initial

let private accuracyOf dev model ts (test: IDataset) =
    (Train.evaluate model Losses.crossEntropy [ Metrics.accuracy ] ts (Dataset.toDevice dev test) 1000)["accuracy"]

let private times (t: seq<float>) =
    "[" + System.String.Join(",", t |> Seq.map (sprintf "%.3f")) + "]"

/// One epoch of the 784-h1-h2-10 ReLU MLP (784-512-256-10 in the check) with Adam 1e-3 at batch 128 (the first
/// epoch includes kernel compilation, so two are run and the second is the figure).
let mnistMlpEpoch (dev: Device) (mnistTrain: IDataset) (limit: int option) (h1: int, h2: int) =
    let train =
        limit
        |> Option.map (fun n -> Dataset.take n mnistTrain)
        |> Option.defaultValue mnistTrain

    let model =
        Layer.sequential
            [
                Layers.flatten ()
                Layers.linear (784, h1)
                Layers.relu ()
                Layers.linear (h1, h2)
                Layers.relu ()
                Layers.linear (h2, 10)
            ]

    let tx = Optim.adam 1e-3
    let cb, t = timer infinity

    let options =
        { FitOptions.defaults with
            Epochs = 2
            BatchSize = 128
            Metrics = [ Metrics.accuracy ]
            Callbacks = [ cb ]
        }

    let _, history = fitOn dev model tx options train [ 1; 28; 28 ]
    let last = List.last history.Epochs

    printfn
        "{\"check\":\"mnist_mlp_epoch\",\"layers\":\"784-%d-%d-10\",\"examples\":%d,\"batch\":128,\"epoch_seconds\":%s,\"train_accuracy\":%.4f}"
        h1
        h2
        train.Count
        (times t)
        last["accuracy"]

/// The MNIST CNN (Models.mnistCnn) with Adam under a one-cycle rate peaking at 3e-3, batch 64, to >= 99.2%.
let mnistCnn
    (dev: Device)
    (mnistTrain: IDataset, mnistTest: IDataset)
    (epochs: int)
    (limit: int option)
    (budgetSeconds: float)
    =
    let cut (ds: IDataset) =
        limit |> Option.map (fun n -> Dataset.take n ds) |> Option.defaultValue ds

    let train, test = cut mnistTrain, cut mnistTest
    let model = Models.mnistCnn ()
    let steps = int64 epochs * int64 ((train.Count + 63) / 64)
    let tx = Optim.adam (Schedules.oneCycle 3e-3 (max 2L steps) 0.3 25.0 1e4)
    let cb, t = timer budgetSeconds

    let options =
        { FitOptions.defaults with
            Epochs = epochs
            BatchSize = 64
            Callbacks = [ cb ]
        }

    let ts, _ = fitOn dev model tx options train [ 1; 28; 28 ]
    let acc = accuracyOf dev model ts test

    printfn
        "{\"check\":\"mnist_cnn\",\"epochs_run\":%d,\"epoch_seconds\":%s,\"test_accuracy\":%.4f,\"bar\":0.992,\"ok\":%b}"
        t.Count
        (times t)
        acc
        (acc >= 0.992)

/// ResNet-18 (CIFAR variant) with SGD (Nesterov momentum 0.9, weight decay 5e-4) under a one-cycle rate peaking
/// at 0.4, batch 512, random crop (pad 4) and horizontal flip, to >= 93%; stops early at the time budget.
let cifarResnet (dev: Device) (archive: string) (epochs: int) (limit: int option) (budgetSeconds: float) (small: bool) =
    let cifar = Cifar10.load archive

    let cut (ds: IDataset) =
        limit |> Option.map (fun n -> Dataset.take n ds) |> Option.defaultValue ds

    let train =
        Transforms.mapWithKey (Key.create 1L) Transforms.cifar10Train cifar.Train |> cut

    let test =
        cifar.Test
        |> Dataset.map (Transforms.onInput Transforms.normalizeCifar10)
        |> cut

    let model =
        if small then
            Models.cifarSmall 10
        else
            Models.resnet18Cifar 10

    let batch = 512
    let steps = int64 epochs * int64 ((train.Count + batch - 1) / batch)
    let lr = Schedules.oneCycle 0.4 (max 2L steps) 0.25 25.0 1e4

    let tx = Optim.sgd (lr, momentum = 0.9, nesterov = true, weightDecay = 5e-4)

    let cb, t = timer budgetSeconds

    let options =
        { FitOptions.defaults with
            Epochs = epochs
            BatchSize = batch
            Callbacks = [ cb ]
        }

    let ts, _ = fitOn dev model tx options train [ 3; 32; 32 ]
    let acc = accuracyOf dev model ts test

    printfn
        "{\"check\":\"cifar10_resnet18\",\"model\":\"%s\",\"epochs_planned\":%d,\"epochs_run\":%d,\"epoch_seconds\":%s,\"test_accuracy\":%.4f,\"bar\":0.93,\"ok\":%b}"
        (if small then "cifarSmall" else "resnet18Cifar")
        epochs
        t.Count
        (times t)
        acc
        (acc >= 0.93)
