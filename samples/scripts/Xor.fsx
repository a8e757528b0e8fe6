// A 2-4-1 multilayer perceptron learns XOR, the function a single perceptron cannot represent.
// Functional style: the model is a value built from layers, training is a fold of Train.trainStep.
//
// Build first, from the repository root:   dotnet build -c Release tests/FunctionalNets.Nn.Tests
// (that build copies every assembly the scripts need, dependencies included, into one folder), then run:
//                                          dotnet fsi samples/scripts/Xor.fsx
// Either build works: a Release build (the command above) or the Debug build `dotnet test` makes.
#I "../../tests/FunctionalNets.Nn.Tests/bin/Release/net10.0"
#I "../../tests/FunctionalNets.Nn.Tests/bin/Debug/net10.0"
#r "FunctionalNets.Kernels.dll"
#r "System.Numerics.Tensors.dll"
#r "FunctionalNets.Core.dll"
#r "FunctionalNets.Data.dll"
#r "FunctionalNets.Nn.dll"

open FunctionalNets
open FunctionalNets.Nn

let corners = [| 0.0f; 0.0f; 0.0f; 1.0f; 1.0f; 0.0f; 1.0f; 1.0f |]
let targets = [| 0.0f; 1.0f; 1.0f; 0.0f |]

let xor =
    {
        Input = Tensor.ofArray (corners, [ 4; 2 ])
        Target = Tensor.ofArray (targets, [ 4; 1 ])
    }

// 2 inputs -> 4 tanh units -> 1 sigmoid output (a probability).
let model =
    Layers.linear (2, 4)
    >-> Layers.tanh ()
    >-> Layers.linear (4, 1)
    >-> Layers.sigmoid ()

let optimizer = Optim.adam 0.05
let initial = Train.init model [ 2 ] optimizer (Key.create 3L)

// 200 full-batch steps: a fold of trainStep over the same batch, keeping the state and every 50th loss.
let final, losses =
    Seq.replicate 200 xor
    |> Seq.fold
        (fun (ts, losses) batch ->
            let ts', logs = Train.trainStep model Losses.bce optimizer ts batch

            ts',
            (if ts.Step % 50L = 0L then
                 (ts.Step, logs["loss"]) :: losses
             else
                 losses))
        (initial, [])

for step, loss in List.rev losses do
    printfn "step %d: loss %.4f" step loss

let probabilities =
    Tensor.toFloatArray (Layer.predict model final.Params final.State xor.Input)

let mutable correct = 0

for i in 0..3 do
    let predicted = if probabilities[i] > 0.5 then 1 else 0

    if predicted = int targets[i] then
        correct <- correct + 1

    printfn
        "%g xor %g -> %.4f predicted %d target %g"
        corners[2 * i]
        corners[2 * i + 1]
        probabilities[i]
        predicted
        targets[i]

printfn "correct: %d/4" correct
