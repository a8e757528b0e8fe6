// An F# user's script, built from the FunctionalNets packages alone (NuGet.Config beside it maps them to ./feed):
// gradients of a function, then a small MLP trained on an MNIST subset, failing below the accuracy bar.
//
//   dotnet fsi Consumer.fsx [DATA_DIR]
#r "nuget: FunctionalNets.Data, 0.1.0"
#r "nuget: FunctionalNets.Nn, 0.1.0"

open FunctionalNets
open FunctionalNets.Nn

let x = Tensor.create ([ 1.0; 2.0; 3.0 ], DType.Float64)
let g = Diff.grad (fun x -> Tensor.sum (Tensor.sin x * x)) x
let expected = [| for v in [ 1.0; 2.0; 3.0 ] -> cos v * v + sin v |]
let got = Tensor.toArray g :?> float[]

if Array.exists2 (fun a b -> abs (a - b) > 1e-12) got expected then
    failwithf "grad of sum(sin x * x) is %A, expected %A" got expected

let mnist =
    Mnist.load (DataLocation.findMnist (Array.tryItem 1 fsi.CommandLineArgs))

let train = Dataset.take 6000 mnist.Train
let test = Dataset.take 2000 mnist.Test

let model =
    Layer.sequential
        [
            Layers.flatten ()
            Layers.linear (784, 128)
            Layers.relu ()
            Layers.linear (128, 10)
        ]

let tx = Optim.adam 1e-3
let loader = DataLoader.create train 64 true false
let start = Train.init model [ 1; 28; 28 ] tx (Key.create 0L)

let trained =
    [ 1L; 2L ]
    |> List.fold
        (fun state epoch ->
            DataLoader.batches loader (Key.create epoch)
            |> Seq.fold (fun s batch -> fst (Train.trainStep model Losses.crossEntropy tx s batch)) state)
        start

let accuracy =
    (Train.evaluate model Losses.crossEntropy [ Metrics.accuracy ] trained test 1000)["accuracy"]

printfn "{\"check\":\"consumer_fsx\",\"test_accuracy\":%.4f}" accuracy

if accuracy < 0.85 then
    failwithf "test accuracy %.4f after 2 epochs on 6,000 images is below 0.85" accuracy
