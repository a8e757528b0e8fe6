namespace FunctionalNets

open System.Runtime.CompilerServices
open System.Runtime.InteropServices
open System

/// Comparisons, selection, clamping and logic. Comparisons give Bool tensors and carry no derivative.
[<AutoOpen; Extension>]
module ComparisonOps =
    let private cmp (name: string) (kind: CompareKind) (a: Tensor) (b: Tensor) =
        Args.required name "a" a
        Args.required name "b" b

        if a.DType <> b.DType then
            invalidArg
                "b"
                (sprintf
                    "%s: dtypes differ (%O %O and %O %O); cast one with Tensor.cast."
                    name
                    a.DType
                    a.Shape
                    b.DType
                    b.Shape)

        TConst(a.Raw.Compare(kind, b.Raw))

    let private sc (like: Tensor) (v: float) = TensorCore.scalarLike like v

    // The selection of a (where a wins, by kind) or b, whose derivative at equal operands is half to each, as
    // torch's maximum/minimum: a where() would send all of it to one side. The weights are constants: the
    // comparison is the same at every derivative level.
    let private tieSplit (name: string) (wins: CompareKind) (picks: CompareKind) (a: Tensor) (b: Tensor) =
        let a0, b0 = a.NoDiff, b.NoDiff
        // The forward is one comparison and one selection; the weights are only built when differentiating.
        let pickA = cmp name picks a0 b0

        let weights =
            lazy
                (let asFloat (m: Tensor) = TConst(m.Raw.Cast a.DType)
                 let tie = asFloat (cmp name CompareKind.Eq a0 b0)

                 let weightA =
                     TensorCore.add (asFloat (cmp name wins a0 b0)) (TensorCore.mul tie (sc a 0.5))

                 weightA, TensorCore.sub (sc a 1.0) weightA)

        let weight i =
            if i = 0 then fst weights.Value else snd weights.Value

        TensorCore.apply
            {
                Name = name
                Raw = fun r -> r[0].Where(pickA.Raw, r[1])
                Jvp = fun _ _ i t -> TensorCore.mul (TensorCore.expand pickA.Shape t) (weight i)
                Vjp = fun xs _ i g -> TensorCore.sumToShape xs[i].Shape (TensorCore.mul g (weight i))
            }
            [| a; b |]

    type Tensor with
        /// a = b elementwise.
        [<CompiledName("Eq"); Extension>]
        static member eq(a: Tensor, b: Tensor) = cmp "eq" CompareKind.Eq a b

        /// a <> b elementwise.
        [<CompiledName("Ne"); Extension>]
        static member ne(a: Tensor, b: Tensor) = cmp "ne" CompareKind.Ne a b

        /// a < b elementwise.
        [<CompiledName("Lt"); Extension>]
        static member lt(a: Tensor, b: Tensor) = cmp "lt" CompareKind.Lt a b

        /// a <= b elementwise.
        [<CompiledName("Le"); Extension>]
        static member le(a: Tensor, b: Tensor) = cmp "le" CompareKind.Le a b

        /// a > b elementwise.
        [<CompiledName("Gt"); Extension>]
        static member gt(a: Tensor, b: Tensor) = cmp "gt" CompareKind.Gt a b

        /// a >= b elementwise.
        [<CompiledName("Ge"); Extension>]
        static member ge(a: Tensor, b: Tensor) = cmp "ge" CompareKind.Ge a b

        /// a = b elementwise.
        [<CompiledName("Eq"); Extension>]
        static member eq(a: Tensor, b: float) =
            Args.required "eq" "a" a

            cmp "eq" CompareKind.Eq a (sc a b)

        /// a <> b elementwise.
        [<CompiledName("Ne"); Extension>]
        static member ne(a: Tensor, b: float) =
            Args.required "ne" "a" a

            cmp "ne" CompareKind.Ne a (sc a b)

        /// a < b elementwise.
        [<CompiledName("Lt"); Extension>]
        static member lt(a: Tensor, b: float) =
            Args.required "lt" "a" a

            cmp "lt" CompareKind.Lt a (sc a b)

        /// a <= b elementwise.
        [<CompiledName("Le"); Extension>]
        static member le(a: Tensor, b: float) =
            Args.required "le" "a" a

            cmp "le" CompareKind.Le a (sc a b)

        /// a > b elementwise.
        [<CompiledName("Gt"); Extension>]
        static member gt(a: Tensor, b: float) =
            Args.required "gt" "a" a

            cmp "gt" CompareKind.Gt a (sc a b)

        /// a >= b elementwise.
        [<CompiledName("Ge"); Extension>]
        static member ge(a: Tensor, b: float) =
            Args.required "ge" "a" a

            cmp "ge" CompareKind.Ge a (sc a b)

        /// Elementwise and of Bool tensors.
        [<CompiledName("LogicalAnd"); Extension>]
        static member logicalAnd(a: Tensor, b: Tensor) =
            Args.required "logicalAnd" "a" a
            Args.required "logicalAnd" "b" b
            TConst(a.Raw.Logical(LogicalKind.And, b.Raw))

        /// Elementwise or of Bool tensors.
        [<CompiledName("LogicalOr"); Extension>]
        static member logicalOr(a: Tensor, b: Tensor) =
            Args.required "logicalOr" "a" a
            Args.required "logicalOr" "b" b
            TConst(a.Raw.Logical(LogicalKind.Or, b.Raw))

        /// Elementwise exclusive or of Bool tensors.
        [<CompiledName("LogicalXor"); Extension>]
        static member logicalXor(a: Tensor, b: Tensor) =
            Args.required "logicalXor" "a" a
            Args.required "logicalXor" "b" b
            TConst(a.Raw.Logical(LogicalKind.Xor, b.Raw))

        /// Elementwise not of a Bool tensor.
        [<CompiledName("LogicalNot"); Extension>]
        static member logicalNot(a: Tensor) =
            Args.required "logicalNot" "a" a

            TConst(a.Raw.LogicalNot())

        /// a where cond is true, b elsewhere; all three broadcast together. Differentiable in a and b.
        [<CompiledName("Where"); Extension>]
        static member where(cond: Tensor, a: Tensor, b: Tensor) =
            Args.required "where" "cond" cond
            Args.required "where" "a" a
            Args.required "where" "b" b

            if cond.DType <> DType.Bool then
                invalidArg
                    "cond"
                    (sprintf "where: the condition must be a Bool tensor, got %O %O." cond.DType cond.Shape)

            if a.DType <> b.DType then
                invalidArg "b" (sprintf "where: dtypes differ (%O %O and %O %O)." a.DType a.Shape b.DType b.Shape)

            let c = cond.NoDiff

            let outShape =
                Shape.broadcast "where" (Shape.broadcast "where" c.Shape a.Shape) b.Shape

            let pick (i: int) (t: Tensor) =
                let z = TConst(t.Raw.Backend.Zeros(Shape.Scalar, t.DType))

                if i = 0 then
                    Tensor.where (c, t, z)
                else
                    Tensor.where (c, z, t)

            TensorCore.apply
                {
                    Name = "where"
                    Raw = fun r -> r[0].Where(c.Raw, r[1])
                    Jvp = fun _ _ i t -> TensorCore.expand outShape (pick i t)
                    Vjp = fun xs _ i g -> TensorCore.sumToShape xs[i].Shape (pick i g)
                }
                [| a; b |]

        /// Elementwise maximum with broadcasting; at ties each operand gets half the gradient (torch.maximum).
        [<CompiledName("Maximum"); Extension>]
        static member maximum(a: Tensor, b: Tensor) =
            Args.required "maximum" "a" a
            Args.required "maximum" "b" b
            tieSplit "maximum" CompareKind.Gt CompareKind.Ge a b

        /// Elementwise minimum with broadcasting; at ties each operand gets half the gradient (torch.minimum).
        [<CompiledName("Minimum"); Extension>]
        static member minimum(a: Tensor, b: Tensor) =
            Args.required "minimum" "a" a
            Args.required "minimum" "b" b
            tieSplit "minimum" CompareKind.Lt CompareKind.Le a b

        /// x limited to [min, max] (either bound optional); the derivative is 1 inside and 0 outside.
        [<CompiledName("Clamp"); Extension>]
        static member clamp(x: Tensor, [<Optional>] min: Nullable<float>, [<Optional>] max: Nullable<float>) =
            Args.required "clamp" "x" x
            let min = Option.ofNullable min
            let max = Option.ofNullable max

            let lowered =
                match min with
                | Some lo -> Tensor.where (Tensor.lt (x.NoDiff, lo), TensorCore.expand x.Shape (sc x lo), x)
                | None -> x

            match max with
            | Some hi -> Tensor.where (Tensor.gt (x.NoDiff, hi), TensorCore.expand x.Shape (sc x hi), lowered)
            | None -> lowered
