namespace FunctionalNets

/// Sums, means, extrema, variances over any set of dims.
[<AutoOpen>]
module ReductionOps =
    let private dimsOrAll (op: string) (x: Tensor) (dims: int seq option) =
        match dims with
        | None -> Array.init x.Rank id
        | Some ds -> Shape.normDims op x.Rank ds

    let private countOf (x: Tensor) (dims: int[]) =
        dims |> Array.fold (fun acc d -> acc * x.Shape.Dims[d]) 1

    /// Moves the reduced dims last and merges them, so one MaxAlong/MinAlong over the last dim does the work.
    let private extreme (op: string) (isMax: bool) (x: Tensor) (dims: int[]) (keepDim: bool) =
        if x.Numel = 0 then
            invalidArg "x" (sprintf "%s: cannot reduce an empty tensor %O." op x.Shape)

        let keptDims =
            [|
                for d in 0 .. x.Rank - 1 do
                    if not (Array.contains d dims) then
                        d
            |]

        let perm = Array.append keptDims dims
        let moved = Tensor.permute (x, perm)
        let keptSizes = keptDims |> Array.map (fun d -> x.Shape.Dims[d])
        let merged = TensorCore.reshape (Array.append keptSizes [| countOf x dims |]) moved
        let r = merged.Raw

        let _, idx =
            if isMax then
                r.MaxAlong(merged.Rank - 1, true)
            else
                r.MinAlong(merged.Rank - 1, true)

        let values = Tensor.gather (merged, merged.Rank - 1, TConst idx)

        let outShape =
            if keepDim then
                x.Shape.ToArray()
                |> Array.mapi (fun i n -> if Array.contains i dims then 1 else n)
            else
                keptSizes

        TensorCore.reshape outShape values

    type Tensor with
        /// Sum over dims (all when none are given).
        static member sum(x: Tensor, ?dims: int seq, ?keepDim: bool) =
            let dims = dimsOrAll "sum" x dims
            let keepDim = defaultArg keepDim false

            if dims.Length = 0 then
                x
            else
                TensorCore.sumDims dims keepDim x

        /// Sum over one dim.
        static member sum(x: Tensor, dim: int, ?keepDim: bool) =
            Tensor.sum (x, [ dim ], ?keepDim = keepDim)

        /// Mean over dims (all when none are given).
        static member mean(x: Tensor, ?dims: int seq, ?keepDim: bool) =
            if not x.DType.IsFloatingPoint then
                invalidArg "x" (sprintf "mean: expected a floating-point tensor, got %O; cast it first." x.DType)

            let ds = dimsOrAll "mean" x dims
            let s = Tensor.sum (x, ds, ?keepDim = keepDim)
            TensorCore.mul s (TensorCore.scalarLike s (1.0 / float (countOf x ds)))

        /// Mean over one dim.
        static member mean(x: Tensor, dim: int, ?keepDim: bool) =
            Tensor.mean (x, [ dim ], ?keepDim = keepDim)

        /// Maximum over dims (all when none are given); the gradient goes to the first maximum.
        static member max(x: Tensor, ?dims: int seq, ?keepDim: bool) =
            extreme "max" true x (dimsOrAll "max" x dims) (defaultArg keepDim false)

        /// Maximum over one dim.
        static member max(x: Tensor, dim: int, ?keepDim: bool) =
            Tensor.max (x, [ dim ], ?keepDim = keepDim)

        /// Minimum over dims (all when none are given); the gradient goes to the first minimum.
        static member min(x: Tensor, ?dims: int seq, ?keepDim: bool) =
            extreme "min" false x (dimsOrAll "min" x dims) (defaultArg keepDim false)

        /// Minimum over one dim.
        static member min(x: Tensor, dim: int, ?keepDim: bool) =
            Tensor.min (x, [ dim ], ?keepDim = keepDim)

        /// Int64 position of the first maximum along dim (of the flattened tensor when no dim is given).
        static member argmax(x: Tensor, ?dim: int, ?keepDim: bool) =
            if x.Numel = 0 then
                invalidArg "x" (sprintf "argmax: cannot take the argmax of an empty tensor %O." x.Shape)

            match dim with
            | None -> TConst(snd (x.Raw.Reshape(Shape.Create [| x.Numel |]).MaxAlong(0, false)))
            | Some d -> TConst(snd (x.Raw.MaxAlong(Shape.normDim "argmax" x.Rank d, defaultArg keepDim false)))

        /// Int64 position of the first minimum along dim (of the flattened tensor when no dim is given).
        static member argmin(x: Tensor, ?dim: int, ?keepDim: bool) =
            if x.Numel = 0 then
                invalidArg "x" (sprintf "argmin: cannot take the argmin of an empty tensor %O." x.Shape)

            match dim with
            | None -> TConst(snd (x.Raw.Reshape(Shape.Create [| x.Numel |]).MinAlong(0, false)))
            | Some d -> TConst(snd (x.Raw.MinAlong(Shape.normDim "argmin" x.Rank d, defaultArg keepDim false)))

        /// Variance over dims (all when none are given); unbiased (divides by n - 1) unless told otherwise.
        static member var(x: Tensor, ?dims: int seq, ?keepDim: bool, ?unbiased: bool) =
            let ds = dimsOrAll "var" x dims
            let n = countOf x ds
            let unbiased = defaultArg unbiased true
            let centered = TensorCore.sub x (Tensor.mean (x, ds, true))
            let ss = Tensor.sum (TensorCore.mul centered centered, ds, ?keepDim = keepDim)
            let denom = if unbiased then float (n - 1) else float n
            TensorCore.div ss (TensorCore.scalarLike ss denom)

        /// Variance over one dim.
        static member var(x: Tensor, dim: int, ?keepDim: bool, ?unbiased: bool) =
            Tensor.var (x, [ dim ], ?keepDim = keepDim, ?unbiased = unbiased)

        /// Standard deviation over dims (all when none are given); unbiased unless told otherwise.
        static member std(x: Tensor, ?dims: int seq, ?keepDim: bool, ?unbiased: bool) =
            Tensor.sqrt (Tensor.var (x, ?dims = dims, ?keepDim = keepDim, ?unbiased = unbiased))

        /// Standard deviation over one dim.
        static member std(x: Tensor, dim: int, ?keepDim: bool, ?unbiased: bool) =
            Tensor.std (x, [ dim ], ?keepDim = keepDim, ?unbiased = unbiased)
