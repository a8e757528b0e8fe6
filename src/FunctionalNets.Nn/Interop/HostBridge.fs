namespace FunctionalNets.Nn.Interop

open System.Runtime.CompilerServices
open FunctionalNets.Nn

[<assembly: InternalsVisibleTo("FunctionalNets")>]
[<assembly: InternalsVisibleTo("CheckpointWriter")>]
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
    static member Softplus(beta: float, threshold: float) = Layers.softplusWith beta threshold
    static member LeakyRelu(slope: float) = Layers.leakyRelu slope
    static member Elu(alpha: float) = Layers.elu alpha
    static member Softmax(dim: int) = Layers.softmax dim
    static member LogSoftmax(dim: int) = Layers.logSoftmax dim

    // Normalization and regularization layers (Layers/Normalization.fs).
    static member BatchNorm1d(features: int) = Layers.batchNorm1d features

    static member BatchNorm1d
        (features: int, eps: float, momentum: System.Nullable<float>, affine: bool, trackRunningStats: bool)
        =
        if momentum.HasValue then
            Layers.batchNorm1dWith eps momentum.Value affine trackRunningStats features
        else
            Layers.batchNorm1dCumulative eps affine trackRunningStats features

    static member BatchNorm2d(features: int) = Layers.batchNorm2d features

    static member BatchNorm2d
        (features: int, eps: float, momentum: System.Nullable<float>, affine: bool, trackRunningStats: bool)
        =
        if momentum.HasValue then
            Layers.batchNorm2dWith eps momentum.Value affine trackRunningStats features
        else
            Layers.batchNorm2dCumulative eps affine trackRunningStats features

    static member GroupNorm(groups: int, channels: int) = Layers.groupNorm groups channels

    static member GroupNorm(groups: int, channels: int, eps: float, affine: bool) =
        Layers.groupNormWith eps affine groups channels

    static member Dropout2d(p: float) = Layers.dropout2d p
    static member GlobalAvgPool() = Layers.globalAvgPool
