// Rosenblatt's perceptron learns the logic gates AND, OR and NAND, and fails on XOR.
//
// Build first, from the repository root:   dotnet build -c Release tests/FunctionalNets.Nn.Tests
// (that build copies every assembly the scripts need, dependencies included, into one folder), then run:
//                                          dotnet fsi samples/scripts/PerceptronGates.fsx
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

/// The four corners of the unit square: 00, 01, 10, 11.
let corners = [| 0.0f; 0.0f; 0.0f; 1.0f; 1.0f; 0.0f; 1.0f; 1.0f |]
let inputs = Tensor.ofArray (corners, [ 4; 2 ])

/// A gate as a batch: the four corners and the gate's outputs as 0/1 targets.
let gate (truth: float32[]) =
    {
        Input = inputs
        Target = Tensor.ofArray (truth, [ 4 ])
    }

let gates =
    [
        "AND", gate [| 0.0f; 0.0f; 0.0f; 1.0f |]
        "OR", gate [| 0.0f; 1.0f; 1.0f; 1.0f |]
        "NAND", gate [| 1.0f; 1.0f; 1.0f; 0.0f |]
        "XOR", gate [| 0.0f; 1.0f; 1.0f; 0.0f |]
    ]

let maxEpochs = 100
let learningRate = 1.0

for name, data in gates do
    // Training is a fold of the learning rule over epochs; the model is an immutable value.
    let model, converged, epochs =
        Perceptron.create 2 |> Perceptron.train learningRate maxEpochs data

    let predicted = Tensor.toFloatArray (Perceptron.predict model data.Input)
    let targets = Tensor.toFloatArray data.Target

    let correct =
        Array.fold2 (fun n p t -> if p = t then n + 1 else n) 0 predicted targets

    if converged then
        printfn "%s converged in %d epochs, %d/4 correct" name epochs correct
    else
        printfn "%s did not converge in %d epochs, %d/4 correct" name epochs correct

    let w = Tensor.toFloatArray model.Weight
    printfn "  w = [%g; %g], b = %g" w[0] w[1] (Tensor.toScalar model.Bias)

    for i in 0..3 do
        printfn "  %g %g -> %g (target %g)" corners[2 * i] corners[2 * i + 1] predicted[i] targets[i]

printfn "XOR is not linearly separable: no line puts (0,1) and (1,0) on one side and (0,0) and (1,1) on the other."
