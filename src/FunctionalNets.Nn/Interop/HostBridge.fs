namespace FunctionalNets.Nn.Interop

open System.Runtime.CompilerServices
open FunctionalNets.Nn

[<assembly: InternalsVisibleTo("FunctionalNets")>]
do ()

/// The activation layers under plain .NET names for the C# host (F# declares them as extension members of
/// Layers, whose compiled names other .NET languages cannot call).
[<AbstractClass; Sealed>]
type internal LayersBridge =
    static member Relu() = Layers.relu
    static member Sigmoid() = Layers.sigmoid
    static member Tanh() = Layers.tanh
    static member Silu() = Layers.silu
    static member Gelu() = Layers.gelu
    static member Softplus() = Layers.softplus
    static member LeakyRelu(slope: float) = Layers.leakyRelu slope
    static member Elu(alpha: float) = Layers.elu alpha
    static member Softmax(dim: int) = Layers.softmax dim
    static member LogSoftmax(dim: int) = Layers.logSoftmax dim
