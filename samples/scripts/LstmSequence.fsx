// Sequential MNIST in the functional F# style: each digit is read as 28 time steps of 28 pixels (one row per
// step) by an LSTM whose final hidden state a linear layer classifies. An epoch is an explicit fold of
// Train.trainStep over the batches; the script prints each epoch's time and the test accuracy.
//
// Build first, from the repository root:   dotnet build -c Release tests/FunctionalNets.Nn.Tests
// then run:                                dotnet fsi samples/scripts/LstmSequence.fsx
// Options:  --limit N    train on the first N training images and test on the first N test images
//           --epochs E   number of epochs (default 5)
//           --hidden H   LSTM hidden size (default 128)
//           --data DIR   the folder holding the four MNIST files (default: DataLocation.findMnist)
// e.g. a quick run:       dotnet fsi samples/scripts/LstmSequence.fsx --limit 2000 --epochs 1
#I "../../tests/FunctionalNets.Nn.Tests/bin/Release/net10.0"
#I "../../tests/FunctionalNets.Nn.Tests/bin/Debug/net10.0"
#r "FunctionalNets.Kernels.dll"
#r "System.Numerics.Tensors.dll"
#r "FunctionalNets.Core.dll"
#r "FunctionalNets.Data.dll"
#r "FunctionalNets.Nn.dll"

open System.Diagnostics
open FunctionalNets
open FunctionalNets.Nn

// ---- arguments ----

let args =
    fsi.CommandLineArgs |> Array.skip 1 |> Array.filter ((<>) "--") |> List.ofArray

let rec parse (limit, epochs, hidden, data) args =
    match args with
    | [] -> limit, epochs, hidden, data
    | "--limit" :: n :: rest -> parse (Some(int n), epochs, hidden, data) rest
    | "--epochs" :: n :: rest -> parse (limit, int n, hidden, data) rest
    | "--hidden" :: n :: rest -> parse (limit, epochs, int n, data) rest
    | "--data" :: d :: rest -> parse (limit, epochs, hidden, Some d) rest
    | a :: _ -> failwithf "unknown argument '%s'; use --limit N, --epochs E, --hidden H, --data DIR" a

let limit, epochs, hidden, dataDir = parse (None, 5, 128, None) args

// ---- data ----

let mnist = Mnist.load (DataLocation.findMnist dataDir)

let limited (ds: IDataset) =
    match limit with
    | Some n -> Dataset.take n ds
    | None -> ds

let train = limited mnist.Train
let test = limited mnist.Test
printfn "sequential MNIST: %d training and %d test images, %d epochs" train.Count test.Count epochs

// ---- model: rows as time steps, an LSTM's last hidden state, a linear classifier ----

let model =
    Layers.rowsAsSequence ()
    >-> Layers.lstm (28, hidden, returnSequences = false)
    >-> Layers.linear (hidden, 10)

let optimizer = Optim.adam 2e-3
let batchSize = 128
let loader = DataLoader.create train batchSize true false
let key = Key.create 42L
let initial = Train.init model [ 1; 28; 28 ] optimizer key
printfn "%s, %d parameters" model.Name (Layer.numParams initial.Params)

// ---- training: an epoch is a fold of trainStep over the epoch's batches ----

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

let total = Stopwatch.StartNew()

let final =
    [ 1..epochs ]
    |> List.fold
        (fun ts epoch ->
            let watch = Stopwatch.StartNew()
            let ts', loss = runEpoch ts epoch
            printfn "epoch %d/%d: train loss %.4f (%.1fs)" epoch epochs loss watch.Elapsed.TotalSeconds
            ts')
        initial

printfn "training: %.2f min" total.Elapsed.TotalMinutes

// ---- evaluation ----

let logs =
    Train.evaluate model Losses.crossEntropy [ Metrics.accuracy ] final test 500

printfn "test loss: %.4f" logs["loss"]
printfn "test accuracy: %.4f" logs["accuracy"]
