// The MNIST multilayer perceptron in the functional F# style: the model is a value, an epoch is an
// explicit fold of Train.trainStep over the batches, and evaluation runs the model in Eval mode.
//
// Build first, from the repository root:   dotnet build -c Release tests/FunctionalNets.Nn.Tests
// (that build copies every assembly the scripts need, dependencies included, into one folder), then run:
//                                          dotnet fsi samples/scripts/MnistMlp.fsx
// Options:  --limit N    train on the first N training images and test on the first N test images
//           --epochs E   number of epochs (default 3)
//           --data DIR   the folder holding the four MNIST files (default: DataLocation.findMnist, which
//                        finds the repository's data/mnist when run from inside the repository)
// e.g. a quick run:       dotnet fsi samples/scripts/MnistMlp.fsx --limit 2000 --epochs 1
// Either build works: a Release build (the command above) or the Debug build `dotnet test` makes.
#I "../../tests/FunctionalNets.Nn.Tests/bin/Release/net10.0"
#I "../../tests/FunctionalNets.Nn.Tests/bin/Debug/net10.0"
#r "FunctionalNets.Kernels.dll"
#r "System.Numerics.Tensors.dll"
#r "FunctionalNets.Core.dll"
#r "FunctionalNets.Data.dll"
#r "FunctionalNets.Nn.dll"
#load "ScriptDevice.fsx"

open System
open System.Diagnostics
open FunctionalNets
open FunctionalNets.Nn

// ---- arguments ----

let device, args =
    fsi.CommandLineArgs
    |> Array.skip 1
    |> Array.filter ((<>) "--")
    |> List.ofArray
    |> ScriptDevice.take

let rec parse (limit, epochs, data) args =
    match args with
    | [] -> limit, epochs, data
    | "--limit" :: n :: rest -> parse (Some(int n), epochs, data) rest
    | "--epochs" :: n :: rest -> parse (limit, int n, data) rest
    | "--data" :: d :: rest -> parse (limit, epochs, Some d) rest
    | a :: _ -> failwithf "unknown argument '%s'; use --limit N, --epochs E, --data DIR, --device cpu|cuda|cuda-sim" a

let limit, epochs, dataDir = parse (None, 3, None) args

// ---- data ----

let mnist = Mnist.load (DataLocation.findMnist dataDir)

let limited (ds: IDataset) =
    match limit with
    | Some n -> Dataset.take n ds
    | None -> ds

let train = ScriptDevice.data device (limited mnist.Train)
let test = ScriptDevice.data device (limited mnist.Test)
printfn "MNIST: %d training and %d test images, %d epochs" train.Count test.Count epochs

// ---- model and optimizer ----

let model =
    Layers.flatten ()
    >-> Layers.linear (784, 128)
    >-> Layers.relu ()
    >-> Layers.dropout 0.1
    >-> Layers.linear (128, 10)

let optimizer = Optim.adam 2e-3
let batchSize = 32
let loader = DataLoader.create train batchSize true false
let key = Key.create 42L
let initial = Train.init model [ 1; 28; 28 ] optimizer key |> Train.toDevice device
printfn "%s, %d parameters" model.Name (Layer.numParams initial.Params)

// ---- training: an epoch is a fold of trainStep over the epoch's batches ----

/// One epoch: the batches of a permutation drawn from the epoch's key, folded through trainStep; returns the
/// new state and the mean loss over the examples.
let runEpoch (ts: TrainState) (epoch: int) =
    let ts, lossSum, seen =
        DataLoader.batches loader (Key.foldIn epoch key)
        |> Seq.fold
            (fun (ts, lossSum, seen) batch ->
                let ts', logs = Train.trainStep model Losses.crossEntropy optimizer ts batch
                let n = batch.Input.Shape[0]
                ts', lossSum + logs["loss"] * float n, seen + n)
            (ts, 0.0, 0)

    ts, lossSum / float seen

let watch = Stopwatch.StartNew()

let final =
    [ 1..epochs ]
    |> List.fold
        (fun ts epoch ->
            let ts', loss = runEpoch ts epoch
            printfn "epoch %d/%d: train loss %.4f (%.1fs)" epoch epochs loss watch.Elapsed.TotalSeconds
            ts')
        initial

// ---- evaluation ----

let logs =
    Train.evaluate model Losses.crossEntropy [ Metrics.accuracy ] final test 256

printfn "test loss: %.4f" logs["loss"]
printfn "test accuracy: %.4f" logs["accuracy"]
