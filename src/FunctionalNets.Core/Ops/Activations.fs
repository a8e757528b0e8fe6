namespace FunctionalNets

open System.Runtime.CompilerServices
open System.Runtime.InteropServices
open System

/// g * gelu'(x) for the tanh GELU: one fused raw pass, with derivatives written as Tensor ops so that
/// grad-of-grad works. With z = k x (1 + a x^2), k = 2 sqrt(2/pi), a = 0.044715 and s = sigmoid z,
/// gelu'(x) = s + x s (1 - s) z' and gelu''(x) = 2 s (1 - s) z' + x s (1 - s) ((1 - 2 s) z'^2 + z''),
/// where z' = k (1 + 3 a x^2) and z'' = 6 a k x.
module internal GeluTanhGrad =
    let private a = 0.044715
    let private k = 2.0 * sqrt (2.0 / Math.PI)

    /// gelu''(x), composite (only second and higher derivatives use it).
    let second (x: Tensor) =
        let sc v = TensorCore.scalarLike x v
        let x2 = TensorCore.mul x x

        let z =
            TensorCore.mul (TensorCore.mul (sc k) x) (TensorCore.add (sc 1.0) (TensorCore.mul (sc a) x2))

        let s = Tensor.sigmoid z
        let ds = TensorCore.mul s (TensorCore.sub (sc 1.0) s)

        let dz =
            TensorCore.mul (sc k) (TensorCore.add (sc 1.0) (TensorCore.mul (sc (3.0 * a)) x2))

        let d2z = TensorCore.mul (sc (6.0 * a * k)) x

        let curv =
            TensorCore.add
                (TensorCore.mul (TensorCore.sub (sc 1.0) (TensorCore.mul (sc 2.0) s)) (TensorCore.mul dz dz))
                d2z

        TensorCore.add (TensorCore.mul (TensorCore.mul (sc 2.0) ds) dz) (TensorCore.mul (TensorCore.mul x ds) curv)

    /// g * gelu'(x); linear in g, so g's derivative rules call it again.
    let rec apply (x: Tensor) (g: Tensor) : Tensor =
        TensorCore.apply
            {
                Name = "geluTanhBackward"
                Raw = fun r -> r[0].GeluTanhBackward r[1]
                Jvp =
                    fun xs _ i t ->
                        if i = 0 then
                            TensorCore.mul (TensorCore.mul xs[1] (second xs[0])) t
                        else
                            apply xs[0] t
                Vjp =
                    fun xs _ i adj ->
                        if i = 0 then
                            TensorCore.mul (TensorCore.mul xs[1] (second xs[0])) adj
                        else
                            apply xs[0] adj
            }
            [| x; g |]

/// Activation functions. Each is a composition of differentiable ops or one primitive with its derivative.
[<AutoOpen; Extension>]
module ActivationOps =
    let private s (like: Tensor) v = TensorCore.scalarLike like v

    type Tensor with
        /// max(x, 0) (derivative: step(x), 0 at 0 as in PyTorch).
        [<CompiledName("Relu"); Extension>]
        static member relu(x: Tensor) =
            TensorCore.unary "relu" UnaryKind.Relu (fun x _ -> Tensor.step x) x

        /// x where x > 0, slope * x elsewhere.
        [<CompiledName("LeakyRelu"); Extension>]
        static member leakyRelu(x: Tensor, [<Optional; DefaultParameterValue(0.01)>] slope: float) =
            Args.required "leakyRelu" "x" x
            let st = Tensor.step x
            // step * (1 - slope) + slope is 1 above zero and slope below, and carries no derivative itself.
            TensorCore.mul x (TensorCore.add (TensorCore.mul st (s x (1.0 - slope))) (s x slope))

        /// x where x > 0, alpha * (e^x - 1) elsewhere.
        [<CompiledName("Elu"); Extension>]
        static member elu(x: Tensor, [<Optional; DefaultParameterValue(1.0)>] alpha: float) =
            Args.required "elu" "x" x
            let st = Tensor.step x

            let neg =
                TensorCore.mul (s x alpha) (Tensor.expm1 (TensorCore.mul x (TensorCore.sub (s x 1.0) st)))

            TensorCore.add (TensorCore.mul st x) (TensorCore.mul (TensorCore.sub (s x 1.0) st) neg)

        /// log(1 + e^x), computed without overflow (derivative sigmoid(x)), with no threshold: the smooth
        /// function everywhere (what BCE with logits needs). torch's F.softplus defaults are
        /// <c>softplus(x, 1.0, 20.0)</c>.
        [<CompiledName("Softplus"); Extension>]
        static member softplus(x: Tensor) =
            TensorCore.unary "softplus" UnaryKind.Softplus (fun x _ -> Tensor.sigmoid x) x

        /// torch's F.softplus(x, beta, threshold): log(1 + e^(beta x)) / beta, and x itself where
        /// beta x > threshold, so the value is x and the derivative exactly 1 there (torch's reversion to the
        /// identity for numerical stability).
        [<CompiledName("Softplus"); Extension>]
        static member softplus(x: Tensor, beta: float, threshold: float) =
            Args.required "softplus" "x" x

            if not (beta > 0.0) || Double.IsInfinity beta then
                invalidArg "beta" (sprintf "softplus: beta must be a positive finite number, got %g." beta)

            let bx = TensorCore.mul x (s x beta)
            let smooth = TensorCore.div (Tensor.softplus bx) (s x beta)
            Tensor.where (Tensor.gt (bx.NoDiff, threshold), x, smooth)

        /// x * sigmoid(x) (also called swish).
        [<CompiledName("Silu"); Extension>]
        static member silu(x: Tensor) =
            Args.required "silu" "x" x

            TensorCore.mul x (Tensor.sigmoid x)

        /// The exact GELU, x * Phi(x) with Phi the standard normal CDF (PyTorch's default).
        [<CompiledName("Gelu"); Extension>]
        static member gelu(x: Tensor) =
            Args.required "gelu" "x" x

            let phi =
                TensorCore.mul
                    (s x 0.5)
                    (TensorCore.add (s x 1.0) (Tensor.erf (TensorCore.mul x (s x (1.0 / sqrt 2.0)))))

            TensorCore.mul x phi

        /// The tanh approximation of GELU (GPT-2's, PyTorch's gelu(approximate="tanh")):
        /// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). One fused pass forward and one backward.
        [<CompiledName("GeluTanh"); Extension>]
        static member geluTanh(x: Tensor) =
            Args.required "geluTanh" "x" x

            TensorCore.requireFloat "geluTanh" "x" x

            TensorCore.apply
                {
                    Name = "geluTanh"
                    Raw = fun r -> r[0].GeluTanh()
                    Jvp = fun xs _ _ t -> GeluTanhGrad.apply xs[0] t
                    Vjp = fun xs _ _ g -> GeluTanhGrad.apply xs[0] g
                }
                [| x |]
