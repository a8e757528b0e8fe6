namespace FunctionalNets

open System

/// Activation functions. Each is a composition of differentiable ops or one primitive with its derivative.
[<AutoOpen>]
module ActivationOps =
    let private s (like: Tensor) v = TensorCore.scalarLike like v

    type Tensor with
        /// max(x, 0) (derivative: step(x), 0 at 0 as in PyTorch).
        static member relu(x: Tensor) =
            TensorCore.unary "relu" UnaryKind.Relu (fun x _ -> Tensor.step x) x

        /// x where x > 0, slope * x elsewhere.
        static member leakyRelu(x: Tensor, ?slope: float) =
            let slope = defaultArg slope 0.01
            let st = Tensor.step x
            // step * (1 - slope) + slope is 1 above zero and slope below, and carries no derivative itself.
            TensorCore.mul x (TensorCore.add (TensorCore.mul st (s x (1.0 - slope))) (s x slope))

        /// x where x > 0, alpha * (e^x - 1) elsewhere.
        static member elu(x: Tensor, ?alpha: float) =
            let alpha = defaultArg alpha 1.0
            let st = Tensor.step x

            let neg =
                TensorCore.mul (s x alpha) (Tensor.expm1 (TensorCore.mul x (TensorCore.sub (s x 1.0) st)))

            TensorCore.add (TensorCore.mul st x) (TensorCore.mul (TensorCore.sub (s x 1.0) st) neg)

        /// log(1 + e^x), computed without overflow (derivative sigmoid(x)).
        static member softplus(x: Tensor) =
            TensorCore.unary "softplus" UnaryKind.Softplus (fun x _ -> Tensor.sigmoid x) x

        /// x * sigmoid(x) (also called swish).
        static member silu(x: Tensor) = TensorCore.mul x (Tensor.sigmoid x)

        /// The exact GELU, x * Phi(x) with Phi the standard normal CDF (PyTorch's default).
        static member gelu(x: Tensor) =
            let phi =
                TensorCore.mul
                    (s x 0.5)
                    (TensorCore.add (s x 1.0) (Tensor.erf (TensorCore.mul x (s x (1.0 / sqrt 2.0)))))

            TensorCore.mul x phi

        /// The tanh approximation of GELU.
        static member geluTanh(x: Tensor) =
            let inner =
                TensorCore.mul
                    (s x (sqrt (2.0 / Math.PI)))
                    (TensorCore.add x (TensorCore.mul (s x 0.044715) (TensorCore.powScalar 3.0 x)))

            TensorCore.mul (TensorCore.mul (s x 0.5) x) (TensorCore.add (s x 1.0) (Tensor.tanh inner))
