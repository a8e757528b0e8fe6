namespace FunctionalNets.Nn

open FunctionalNets
open System.Runtime.InteropServices

/// Activation layers: no parameters, no state, the output shape is the input shape.
[<AutoOpen>]
module ActivationLayers =
    let private elementwise (name: string) (f: Tensor -> Tensor) =
        Layer.stateless name id (fun _ x -> f x)

    // dim counts the batch dim, as in PyTorch (nn.Softmax(dim=1) on [N; C]); Init sees shapes without it.
    let private alongDim (name: string) (dim: int) (f: Tensor -> int -> Tensor) =
        Layer.stateless
            name
            (fun shape ->
                Shape.normDim name (shape.Rank + 1) dim |> ignore
                shape)
            (fun _ x -> f x (Shape.normDim name x.Rank dim))

    type Layers with
        /// The logistic sigmoid 1 / (1 + e^-x).
        [<CompiledName("Sigmoid")>]
        static member sigmoid() : Layer = elementwise "Sigmoid" Tensor.sigmoid

        /// The hyperbolic tangent.
        [<CompiledName("Tanh")>]
        static member tanh() : Layer = elementwise "Tanh" Tensor.tanh

        /// max(x, 0).
        [<CompiledName("ReLU")>]
        static member relu() : Layer = elementwise "ReLU" Tensor.relu

        /// x for x > 0, slope * x otherwise (PyTorch's default slope is 0.01).
        [<CompiledName("LeakyReLU")>]
        static member leakyRelu([<Optional; DefaultParameterValue(0.01)>] slope: float) : Layer =
            Check.finite "LeakyReLU" "slope" slope
            elementwise (sprintf "LeakyReLU(%g)" slope) (fun x -> Tensor.leakyRelu (x, slope))

        /// x for x > 0, alpha * (e^x - 1) otherwise (PyTorch's default alpha is 1).
        [<CompiledName("ELU")>]
        static member elu([<Optional; DefaultParameterValue(1.0)>] alpha: float) : Layer =
            Check.finite "ELU" "alpha" alpha
            elementwise (sprintf "ELU(%g)" alpha) (fun x -> Tensor.elu (x, alpha))

        /// x * sigmoid(x).
        [<CompiledName("SiLU")>]
        static member silu() : Layer = elementwise "SiLU" Tensor.silu

        /// x * sigmoid(x): another name for silu.
        [<CompiledName("Swish")>]
        static member swish() : Layer = Layers.silu ()

        /// The exact GELU, x * Phi(x) (PyTorch's default approximate='none').
        [<CompiledName("GELU")>]
        static member gelu() : Layer = elementwise "GELU" Tensor.gelu

        /// torch's nn.Softplus(beta = 1, threshold = 20): log(1 + e^(beta x)) / beta, and x where beta x > threshold.
        [<CompiledName("Softplus")>]
        static member softplus
            (
                [<Optional; DefaultParameterValue(1.0)>] beta: float,
                [<Optional; DefaultParameterValue(20.0)>] threshold: float
            ) : Layer =
            Check.positive "Softplus" "beta" beta

            let name =
                if beta = 1.0 && threshold = 20.0 then
                    "Softplus"
                else
                    sprintf "Softplus(beta=%g, threshold=%g)" beta threshold

            elementwise name (fun x -> Tensor.softplus (x, beta, threshold))

        /// Softmax along dim, counted with the batch dim (dim 1 or -1, the default, for [N; C] scores).
        [<CompiledName("Softmax")>]
        static member softmax([<Optional; DefaultParameterValue(-1)>] dim: int) : Layer =
            alongDim (sprintf "Softmax(dim=%d)" dim) dim (fun x d -> Tensor.softmax (x, d))

        /// Log-softmax along dim, counted with the batch dim (dim 1 or -1, the default, for [N; C] scores).
        [<CompiledName("LogSoftmax")>]
        static member logSoftmax([<Optional; DefaultParameterValue(-1)>] dim: int) : Layer =
            alongDim (sprintf "LogSoftmax(dim=%d)" dim) dim (fun x d -> Tensor.logSoftmax (x, d))

        /// The Heaviside step: 1 where x > 0, else 0 (the perceptron's activation; it has zero derivative,
        /// so gradient descent cannot train through it).
        [<CompiledName("Step")>]
        static member step() : Layer = elementwise "Step" Tensor.step
