namespace FunctionalNets

open System.Runtime.CompilerServices
open System.Runtime.InteropServices
open System

/// Elementwise math of one tensor: each op declares its derivative once, which gives both rules.
[<AutoOpen; Extension>]
module UnaryOps =
    let private one (x: Tensor) = TensorCore.scalarLike x 1.0

    let private zerosOf (x: Tensor) =
        TConst(x.Raw.Backend.Zeros(x.Shape, x.DType))

    let private u name kind deriv x = TensorCore.unary name kind deriv x

    type Tensor with
        /// e^x.
        [<CompiledName("Exp"); Extension>]
        static member exp(x: Tensor) = TensorCore.exp x

        /// Natural logarithm.
        [<CompiledName("Log"); Extension>]
        static member log(x: Tensor) = TensorCore.log x

        /// |x| (derivative sign(x), 0 at 0 as in PyTorch).
        [<CompiledName("Abs"); Extension>]
        static member abs(x: Tensor) =
            Args.required "abs" "x" x

            if x.DType.IsFloatingPoint then
                u "abs" UnaryKind.Abs (fun x _ -> Tensor.sign x) x
            else
                let zero = TConst(x.Raw.Backend.Zeros(Shape.Scalar, x.DType))
                let negated = TConst(zero.Raw.Binary(BinaryKind.Sub, x.Raw))
                TConst(negated.Raw.Where(x.Raw.Compare(CompareKind.Lt, zero.Raw), x.Raw))

        /// -1, 0 or 1 (zero derivative).
        [<CompiledName("Sign"); Extension>]
        static member sign(x: Tensor) =
            Args.required "sign" "x" x

            TConst(x.Raw.Unary UnaryKind.Sign)

        /// Square root.
        [<CompiledName("Sqrt"); Extension>]
        static member sqrt(x: Tensor) =
            u "sqrt" UnaryKind.Sqrt (fun _ y -> TensorCore.div (TensorCore.scalarLike y 0.5) y) x

        /// 1 / sqrt(x).
        [<CompiledName("Rsqrt"); Extension>]
        static member rsqrt(x: Tensor) =
            u "rsqrt" UnaryKind.Rsqrt (fun x y -> TensorCore.mul (TensorCore.scalarLike x -0.5) (TensorCore.div y x)) x

        /// Sine.
        [<CompiledName("Sin"); Extension>]
        static member sin(x: Tensor) =
            u "sin" UnaryKind.Sin (fun x _ -> Tensor.cos x) x

        /// Cosine.
        [<CompiledName("Cos"); Extension>]
        static member cos(x: Tensor) =
            u "cos" UnaryKind.Cos (fun x _ -> TensorCore.neg (Tensor.sin x)) x

        /// Hyperbolic tangent.
        [<CompiledName("Tanh"); Extension>]
        static member tanh(x: Tensor) =
            u "tanh" UnaryKind.Tanh (fun _ y -> TensorCore.sub (one y) (TensorCore.mul y y)) x

        /// 1 / (1 + e^-x).
        [<CompiledName("Sigmoid"); Extension>]
        static member sigmoid(x: Tensor) =
            u "sigmoid" UnaryKind.Sigmoid (fun _ y -> TensorCore.mul y (TensorCore.sub (one y) y)) x

        /// log(1 + x).
        [<CompiledName("Log1p"); Extension>]
        static member log1p(x: Tensor) =
            u "log1p" UnaryKind.Log1p (fun x _ -> TensorCore.div (one x) (TensorCore.add (one x) x)) x

        /// e^x - 1.
        [<CompiledName("Expm1"); Extension>]
        static member expm1(x: Tensor) =
            u "expm1" UnaryKind.Expm1 (fun _ y -> TensorCore.add y (one y)) x

        /// 1 / x.
        [<CompiledName("Reciprocal"); Extension>]
        static member reciprocal(x: Tensor) =
            u "reciprocal" UnaryKind.Reciprocal (fun _ y -> TensorCore.neg (TensorCore.mul y y)) x

        /// x * x.
        [<CompiledName("Square"); Extension>]
        static member square(x: Tensor) =
            Args.required "square" "x" x

            TensorCore.powScalar 2.0 x

        /// x ** p for a constant p.
        [<CompiledName("Pow"); Extension>]
        static member pow(x: Tensor, p: float) = TensorCore.powScalar p x

        /// x ** p elementwise with broadcasting.
        [<CompiledName("Pow"); Extension>]
        static member pow(x: Tensor, p: Tensor) =
            Args.required "pow" "x" x
            Args.required "pow" "p" p

            TensorCore.pow x p

        /// The error function (derivative 2/sqrt(pi) e^(-x^2)).
        [<CompiledName("Erf"); Extension>]
        static member erf(x: Tensor) =
            u
                "erf"
                UnaryKind.Erf
                (fun x _ ->
                    TensorCore.mul
                        (TensorCore.scalarLike x (2.0 / sqrt Math.PI))
                        (TensorCore.exp (TensorCore.neg (TensorCore.mul x x))))
                x

        /// Largest integer <= x (zero derivative).
        [<CompiledName("Floor"); Extension>]
        static member floor(x: Tensor) =
            Args.required "floor" "x" x

            TConst(x.Raw.Unary UnaryKind.Floor)

        /// Smallest integer >= x (zero derivative).
        [<CompiledName("Ceil"); Extension>]
        static member ceil(x: Tensor) =
            Args.required "ceil" "x" x

            TConst(x.Raw.Unary UnaryKind.Ceil)

        /// Nearest integer, halves to even (zero derivative).
        [<CompiledName("Round"); Extension>]
        static member round(x: Tensor) =
            Args.required "round" "x" x

            TConst(x.Raw.Unary UnaryKind.Round)

        /// 1 where x > 0, else 0 (the Heaviside step; zero derivative).
        [<CompiledName("Step"); Extension>]
        static member step(x: Tensor) =
            Args.required "step" "x" x

            TConst(x.Raw.Unary UnaryKind.Step)
