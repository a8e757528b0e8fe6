namespace FunctionalNets.Nn

open FunctionalNets

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
        static member sigmoid: Layer = elementwise "Sigmoid" Tensor.sigmoid

        /// The hyperbolic tangent.
        static member tanh: Layer = elementwise "Tanh" Tensor.tanh

        /// max(x, 0).
        static member relu: Layer = elementwise "ReLU" Tensor.relu

        /// x for x > 0, slope * x otherwise (PyTorch's default slope is 0.01).
        static member leakyRelu(slope: float) : Layer =
            elementwise (sprintf "LeakyReLU(%g)" slope) (fun x -> Tensor.leakyRelu (x, slope))

        /// x for x > 0, alpha * (e^x - 1) otherwise (PyTorch's default alpha is 1).
        static member elu(alpha: float) : Layer =
            elementwise (sprintf "ELU(%g)" alpha) (fun x -> Tensor.elu (x, alpha))

        /// x * sigmoid(x).
        static member silu: Layer = elementwise "SiLU" Tensor.silu

        /// x * sigmoid(x): another name for silu.
        static member swish: Layer = Layers.silu

        /// The exact GELU, x * Phi(x) (PyTorch's default approximate='none').
        static member gelu: Layer = elementwise "GELU" Tensor.gelu

        /// torch's nn.Softplus(beta, threshold): log(1 + e^(beta x)) / beta, and x where beta x > threshold.
        static member softplusWith (beta: float) (threshold: float) : Layer =
            if not (beta > 0.0) || System.Double.IsInfinity beta then
                invalidArg "beta" (sprintf "Softplus: beta must be a positive finite number, got %g." beta)

            let name =
                if beta = 1.0 && threshold = 20.0 then
                    "Softplus"
                else
                    sprintf "Softplus(beta=%g, threshold=%g)" beta threshold

            elementwise name (fun x -> Tensor.softplus (x, beta, threshold))

        /// torch's nn.Softplus(): log(1 + e^x), and x itself above 20.
        static member softplus: Layer = Layers.softplusWith 1.0 20.0

        /// Softmax along dim, counted with the batch dim (dim 1 or -1 for [N; C] scores).
        static member softmax(dim: int) : Layer =
            alongDim (sprintf "Softmax(dim=%d)" dim) dim (fun x d -> Tensor.softmax (x, d))

        /// Log-softmax along dim, counted with the batch dim (dim 1 or -1 for [N; C] scores).
        static member logSoftmax(dim: int) : Layer =
            alongDim (sprintf "LogSoftmax(dim=%d)" dim) dim (fun x d -> Tensor.logSoftmax (x, d))

        /// The Heaviside step: 1 where x > 0, else 0 (the perceptron's activation; it has zero derivative,
        /// so gradient descent cannot train through it).
        static member step: Layer = elementwise "Step" Tensor.step
