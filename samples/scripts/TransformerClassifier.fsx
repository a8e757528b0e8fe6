// Sequence classification with a Transformer encoder: each MNIST digit is a sequence of 28 rows (28 features
// per step), embedded to 64 features with sinusoidal positions, two pre-norm encoder layers, a mean over time
// and a linear classifier.
//
// Build first, from the repository root:   dotnet build -c Release tests/FunctionalNets.Nn.Tests
// then run:                                dotnet fsi samples/scripts/TransformerClassifier.fsx
// Options:  --limit N    train and test on the first N images of each split;  --epochs E (default 3)
#I "../../tests/FunctionalNets.Nn.Tests/bin/Release/net10.0"
#I "../../tests/FunctionalNets.Nn.Tests/bin/Debug/net10.0"
#r "FunctionalNets.Kernels.dll"
#r "System.Numerics.Tensors.dll"
#r "FunctionalNets.Core.dll"
#r "FunctionalNets.Data.dll"
#r "FunctionalNets.Nn.dll"

open FunctionalNets
open FunctionalNets.Nn

let args =
    fsi.CommandLineArgs |> Array.skip 1 |> Array.filter ((<>) "--") |> List.ofArray

let rec parse (limit, epochs) args =
    match args with
    | [] -> limit, epochs
    | "--limit" :: n :: rest -> parse (Some(int n), epochs) rest
    | "--epochs" :: n :: rest -> parse (limit, int n) rest
    | a :: _ -> failwithf "unknown argument '%s'; use --limit N, --epochs E" a

let limit, epochs = parse (None, 3) args
let mnist = Mnist.load (DataLocation.findMnist None)

let limited (ds: IDataset) =
    match limit with
    | Some n -> Dataset.take n ds
    | None -> ds

let train, test = limited mnist.Train, limited mnist.Test
let dim = 64

let encoder =
    Layers.transformerEncoderLayer (dim, 4, feedForward = 128, dropout = 0.1, normFirst = true)

let model =
    Layer.sequential
        [
            Layers.rowsAsSequence ()
            Layers.linear (28, dim)
            Layers.sinusoidalPositionalEncoding (28, dim)
            encoder
            encoder
            Layers.layerNorm [ dim ]
            Layer.stateless "MeanOverTime" (fun s -> Shape.ofList [ s[-1] ]) (fun _ x -> Tensor.mean (x, 1))
            Layers.linear (dim, 10)
        ]

let steps = int64 epochs * int64 ((train.Count + 127) / 128)
let optimizer = Optim.adamw (Schedules.oneCycle 2e-3 steps 0.3 25.0 1e4)
let initial = Train.init model [ 1; 28; 28 ] optimizer (Key.create 0L)
printfn "%d training and %d test sequences, %d parameters" train.Count test.Count (Layer.numParams initial.Params)

let options =
    { FitOptions.defaults with
        Epochs = epochs
        BatchSize = 128
        Validation = Some test
        Metrics = [ Metrics.accuracy ]
        Verbose = true
    }

let trained, _ = Train.fit model Losses.crossEntropy optimizer options train initial

let logs =
    Train.evaluate model Losses.crossEntropy [ Metrics.accuracy ] trained test 500

printfn "test accuracy: %.4f" logs["accuracy"]
