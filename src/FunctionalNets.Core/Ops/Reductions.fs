namespace FunctionalNets

open System.Runtime.CompilerServices
open System.Runtime.InteropServices
open System

/// Sums, means, extrema, variances over any set of dims.
[<AutoOpen; Extension>]
module ReductionOps =
    let private dimsOrAll (op: string) (x: Tensor) (dims: int seq option) =
        match dims with
        | None -> Array.init x.Rank id
        | Some ds -> Shape.normDims op x.Rank ds

    let private countOf (x: Tensor) (dims: int[]) =
        dims |> Array.fold (fun acc d -> acc * x.Shape.Dims[d]) 1

    /// Moves the reduced dims last and merges them, so one MaxAlong/MinAlong over the last dim does the work.
    let private extremeRaw (isMax: bool) (r: RawTensor) (dims: int[]) (outShape: Shape) =
        let keptDims =
            [|
                for d in 0 .. r.Shape.Rank - 1 do
                    if not (Array.contains d dims) then
                        d
            |]

        let keptSizes = keptDims |> Array.map (fun d -> r.Shape.Dims[d])
        let reduced = dims |> Array.fold (fun acc d -> acc * r.Shape.Dims[d]) 1

        let merged =
            r.Permute(Array.append keptDims dims).Reshape(Shape.Create(Array.append keptSizes [| reduced |]))

        let values, _ =
            if isMax then
                merged.MaxAlong(keptSizes.Length, false)
            else
                merged.MinAlong(keptSizes.Length, false)

        values.Reshape outShape

    /// The extreme over dims. Its derivative is shared evenly among the elements equal to the extreme, as
    /// torch's amax/amin and max()/min() without a dim do (a gather at the first one would favour one of them).
    let private extreme (op: string) (isMax: bool) (x: Tensor) (dims: int[]) (keepDim: bool) =
        if x.Numel = 0 then
            invalidArg "x" (sprintf "%s: cannot reduce an empty tensor %O." op x.Shape)

        let inShape = x.Shape

        let kept =
            inShape.Dims |> Array.mapi (fun i n -> if Array.contains i dims then 1 else n)

        let outShape =
            if keepDim then
                Shape.Create kept
            else
                Shape.Create(
                    inShape.Dims
                    |> Array.indexed
                    |> Array.filter (fun (i, _) -> not (Array.contains i dims))
                    |> Array.map snd
                )

        // Constants: which elements tie for the extreme, each weighted 1 / (number of ties in its slice).
        let weights (x0: Tensor) (y: Tensor) =
            let hit =
                TConst(x0.Raw.Compare(CompareKind.Eq, y.Raw.Reshape(Shape.Create kept)).Cast x0.DType)

            TensorCore.div hit (TensorCore.sumDims dims true hit)

        TensorCore.apply
            {
                Name = op
                Raw = fun r -> extremeRaw isMax r[0] dims outShape
                Jvp = fun xs y _ t -> TensorCore.sumDims dims keepDim (TensorCore.mul t (weights xs[0] y))
                Vjp =
                    fun xs y _ g ->
                        TensorCore.mul (TensorCore.expand inShape (TensorCore.reshape kept g)) (weights xs[0] y)
            }
            [| x |]

    /// (values, Int64 indices) of the first extreme along dim; the derivative goes to that index, as torch's
    /// max(dim)/min(dim).
    let private extremeWithIndices (op: string) (isMax: bool) (x: Tensor) (dim: int) (keepDim: bool) =
        if x.Numel = 0 then
            invalidArg "x" (sprintf "%s: cannot reduce an empty tensor %O." op x.Shape)

        let dim = Shape.normDim op x.Rank dim

        let _, idx =
            if isMax then
                x.Raw.MaxAlong(dim, true)
            else
                x.Raw.MinAlong(dim, true)

        let values = Tensor.gather (x, dim, TConst idx)

        if keepDim then
            values, TConst idx
        else
            let dims = Shape.removeDim dim x.Shape
            TensorCore.reshape dims.Dims values, TConst(idx.Reshape dims)

    type Tensor with
        /// Sum over dims (all when none are given).
        [<CompiledName("Sum"); Extension>]
        static member sum
            (x: Tensor, [<Optional>] dims: int seq, [<Optional; DefaultParameterValue(false)>] keepDim: bool)
            =
            Args.required "sum" "x" x
            let dims = Args.opt dims
            let dims = dimsOrAll "sum" x dims

            if dims.Length = 0 then
                x
            else
                TensorCore.sumDims dims keepDim x

        /// Sum over one dim.
        [<CompiledName("Sum"); Extension>]
        static member sum(x: Tensor, dim: int, [<Optional; DefaultParameterValue(false)>] keepDim: bool) =
            Args.required "sum" "x" x
            Tensor.sum (x, [ dim ], keepDim = keepDim)

        /// Mean over dims (all when none are given).
        [<CompiledName("Mean"); Extension>]
        static member mean
            (x: Tensor, [<Optional>] dims: int seq, [<Optional; DefaultParameterValue(false)>] keepDim: bool)
            =
            Args.required "mean" "x" x
            let dims = Args.opt dims

            TensorCore.requireFloat "mean" "x" x

            let ds = dimsOrAll "mean" x dims
            let s = Tensor.sum (x, ds, keepDim = keepDim)
            TensorCore.mul s (TensorCore.scalarLike s (1.0 / float (countOf x ds)))

        /// Mean over one dim.
        [<CompiledName("Mean"); Extension>]
        static member mean(x: Tensor, dim: int, [<Optional; DefaultParameterValue(false)>] keepDim: bool) =
            Args.required "mean" "x" x
            Tensor.mean (x, [ dim ], keepDim = keepDim)

        /// Maximum over dims (all when none are given), torch's amax: the gradient is shared evenly among equal
        /// maxima. <c>maxWithIndices</c> is torch's max(dim), whose gradient goes to the returned index.
        [<CompiledName("Max"); Extension>]
        static member max
            (x: Tensor, [<Optional>] dims: int seq, [<Optional; DefaultParameterValue(false)>] keepDim: bool)
            =
            Args.required "max" "x" x
            let dims = Args.opt dims
            extreme "max" true x (dimsOrAll "max" x dims) keepDim

        /// Maximum over one dim.
        [<CompiledName("Max"); Extension>]
        static member max(x: Tensor, dim: int, [<Optional; DefaultParameterValue(false)>] keepDim: bool) =
            Args.required "max" "x" x
            Tensor.max (x, [ dim ], keepDim = keepDim)

        /// Minimum over dims (all when none are given), torch's amin: the gradient is shared evenly among equal
        /// minima. <c>minWithIndices</c> is torch's min(dim), whose gradient goes to the returned index.
        [<CompiledName("Min"); Extension>]
        static member min
            (x: Tensor, [<Optional>] dims: int seq, [<Optional; DefaultParameterValue(false)>] keepDim: bool)
            =
            Args.required "min" "x" x
            let dims = Args.opt dims
            extreme "min" false x (dimsOrAll "min" x dims) keepDim

        /// Minimum over one dim.
        [<CompiledName("Min"); Extension>]
        static member min(x: Tensor, dim: int, [<Optional; DefaultParameterValue(false)>] keepDim: bool) =
            Args.required "min" "x" x
            Tensor.min (x, [ dim ], keepDim = keepDim)

        /// torch's max(dim): the maximum along dim and the Int64 index of the first maximum, where all the
        /// gradient goes.
        [<CompiledName("MaxWithIndices"); Extension>]
        static member maxWithIndices(x: Tensor, dim: int, [<Optional; DefaultParameterValue(false)>] keepDim: bool) =
            Args.required "maxWithIndices" "x" x
            extremeWithIndices "maxWithIndices" true x dim keepDim

        /// torch's min(dim): the minimum along dim and the Int64 index of the first minimum, where all the
        /// gradient goes.
        [<CompiledName("MinWithIndices"); Extension>]
        static member minWithIndices(x: Tensor, dim: int, [<Optional; DefaultParameterValue(false)>] keepDim: bool) =
            Args.required "minWithIndices" "x" x
            extremeWithIndices "minWithIndices" false x dim keepDim

        /// Int64 position of the first maximum along dim (of the flattened tensor when no dim is given).
        [<CompiledName("Argmax"); Extension>]
        static member argmax
            (x: Tensor, [<Optional>] dim: Nullable<int>, [<Optional; DefaultParameterValue(false)>] keepDim: bool)
            =
            Args.required "argmax" "x" x
            let dim = Option.ofNullable dim

            if x.Numel = 0 then
                invalidArg "x" (sprintf "argmax: cannot take the argmax of an empty tensor %O." x.Shape)

            match dim with
            | None -> TConst(snd (x.Raw.Reshape(Shape.Create [| x.Numel |]).MaxAlong(0, false)))
            | Some d -> TConst(snd (x.Raw.MaxAlong(Shape.normDim "argmax" x.Rank d, keepDim)))

        /// Int64 position of the first minimum along dim (of the flattened tensor when no dim is given).
        [<CompiledName("Argmin"); Extension>]
        static member argmin
            (x: Tensor, [<Optional>] dim: Nullable<int>, [<Optional; DefaultParameterValue(false)>] keepDim: bool)
            =
            Args.required "argmin" "x" x
            let dim = Option.ofNullable dim

            if x.Numel = 0 then
                invalidArg "x" (sprintf "argmin: cannot take the argmin of an empty tensor %O." x.Shape)

            match dim with
            | None -> TConst(snd (x.Raw.Reshape(Shape.Create [| x.Numel |]).MinAlong(0, false)))
            | Some d -> TConst(snd (x.Raw.MinAlong(Shape.normDim "argmin" x.Rank d, keepDim)))

        /// Variance over dims (all when none are given); unbiased (divides by n - 1) unless told otherwise.
        [<CompiledName("Var"); Extension>]
        static member var
            (
                x: Tensor,
                [<Optional>] dims: int seq,
                [<Optional; DefaultParameterValue(false)>] keepDim: bool,
                [<Optional; DefaultParameterValue(true)>] unbiased: bool
            ) =
            Args.required "var" "x" x
            let dims = Args.opt dims
            let ds = dimsOrAll "var" x dims
            let n = countOf x ds
            let centered = TensorCore.sub x (Tensor.mean (x, ds, true))
            let ss = Tensor.sum (TensorCore.mul centered centered, ds, keepDim = keepDim)
            let denom = if unbiased then float (n - 1) else float n
            TensorCore.div ss (TensorCore.scalarLike ss denom)

        /// Variance over one dim.
        [<CompiledName("Var"); Extension>]
        static member var
            (
                x: Tensor,
                dim: int,
                [<Optional; DefaultParameterValue(false)>] keepDim: bool,
                [<Optional; DefaultParameterValue(true)>] unbiased: bool
            ) =
            Args.required "var" "x" x
            Tensor.var (x, [ dim ], keepDim = keepDim, unbiased = unbiased)

        /// Standard deviation over dims (all when none are given); unbiased unless told otherwise. A constant slice
        /// has derivative 0 (torch's), not the 0 * inf of sqrt's derivative at 0.
        [<CompiledName("Std"); Extension>]
        static member std
            (
                x: Tensor,
                [<Optional>] dims: int seq,
                [<Optional; DefaultParameterValue(false)>] keepDim: bool,
                [<Optional; DefaultParameterValue(true)>] unbiased: bool
            ) =
            Args.required "std" "x" x
            let v = Tensor.var (x, dims, keepDim, unbiased)
            let positive = Tensor.gt (v.NoDiff, 0.0)
            // sqrt only sees positive variances (1 elsewhere), and the zero branch is a constant.
            Tensor.where (
                positive,
                Tensor.sqrt (Tensor.where (positive, v, Tensor.onesLike v)),
                Tensor.zerosLike v.NoDiff
            )

        /// Standard deviation over one dim.
        [<CompiledName("Std"); Extension>]
        static member std
            (
                x: Tensor,
                dim: int,
                [<Optional; DefaultParameterValue(false)>] keepDim: bool,
                [<Optional; DefaultParameterValue(true)>] unbiased: bool
            ) =
            Args.required "std" "x" x
            Tensor.std (x, [ dim ], keepDim = keepDim, unbiased = unbiased)
