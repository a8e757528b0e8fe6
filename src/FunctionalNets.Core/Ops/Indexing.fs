namespace FunctionalNets

open System.Runtime.CompilerServices
open System.Runtime.InteropServices
open System

/// Slicing, joining, splitting, gathering and padding.
[<AutoOpen; Extension>]
module IndexingOps =
    let private int64Index (op: string) (index: Tensor) =
        match index.DType with
        | DType.Int64 -> index.Raw
        | DType.Int32 -> index.Raw.Cast DType.Int64
        | d ->
            invalidArg "index" (sprintf "%s: the index must be an Int32 or Int64 tensor, got %O %O." op d index.Shape)

    let private zerosLike (x: Tensor) =
        TConst(x.Raw.Backend.Zeros(x.Shape, x.DType))

    /// Strided slice on every dim, differentiable; its adjoint scatters back into zeros.
    let rec internal sliceAll (starts: int[]) (steps: int[]) (sizes: int[]) (x: Tensor) : Tensor =
        let full = x.Shape

        if
            starts |> Array.forall ((=) 0)
            && steps |> Array.forall ((=) 1)
            && sizes = full.Dims
        then
            x
        else
            TensorCore.apply
                {
                    Name = "slice"
                    Raw = fun r -> r[0].Slice(starts, steps, sizes)
                    Jvp = fun _ _ _ t -> sliceAll starts steps sizes t
                    Vjp = fun _ _ _ g -> sliceScatter full starts steps g
                }
                [| x |]

    /// Zeros of fullShape with x placed where sliceAll would read it.
    and internal sliceScatter (full: Shape) (starts: int[]) (steps: int[]) (x: Tensor) : Tensor =
        let sizes = x.Shape.ToArray()

        TensorCore.apply
            {
                Name = "sliceScatter"
                Raw = fun r -> r[0].SliceScatter(full, starts, steps)
                Jvp = fun _ _ _ t -> sliceScatter full starts steps t
                Vjp = fun _ _ _ g -> sliceAll starts steps sizes g
            }
            [| x |]

    /// Resolves Python-style start/stop/step for one dim of size n: negative indices count from the end.
    let internal resolveRange (op: string) (n: int) (start: int option) (stop: int option) (step: int) =
        if step = 0 then
            invalidArg "step" (sprintf "%s: step must not be zero." op)

        let norm i = if i < 0 then i + n else i

        if step > 0 then
            let s = start |> Option.map norm |> Option.defaultValue 0 |> max 0 |> min n
            let e = stop |> Option.map norm |> Option.defaultValue n |> max 0 |> min n
            s, max 0 ((e - s + step - 1) / step)
        else
            let s =
                start |> Option.map norm |> Option.defaultValue (n - 1) |> max -1 |> min (n - 1)

            let e = stop |> Option.map norm |> Option.defaultValue -1 |> max -1 |> min (n - 1)
            s, max 0 ((s - e + (-step) - 1) / (-step))

    type Tensor with
        /// Elements start, start+step, ... before stop along dim (Python slice rules; negative indices count from the end).
        [<CompiledName("Slice"); Extension>]
        static member slice
            (
                x: Tensor,
                dim: int,
                [<Optional>] start: Nullable<int>,
                [<Optional>] stop: Nullable<int>,
                [<Optional; DefaultParameterValue(1)>] step: int
            ) =
            Args.required "slice" "x" x
            let start = Option.ofNullable start
            let stop = Option.ofNullable stop
            let dim = Shape.normDim "slice" x.Rank dim
            let s, size = resolveRange "slice" x.Shape.Dims[dim] start stop step
            let starts = Array.zeroCreate x.Rank
            let steps = Array.create x.Rank 1
            let sizes = x.Shape.ToArray()
            starts[dim] <- s
            steps[dim] <- step
            sizes[dim] <- size
            sliceAll starts steps sizes x

        /// The sub-tensor at position index along dim (that dim removed).
        [<CompiledName("Select"); Extension>]
        static member select(x: Tensor, dim: int, index: int) =
            Args.required "select" "x" x
            let dim = Shape.normDim "select" x.Rank dim
            let n = x.Shape.Dims[dim]
            let i = if index < 0 then index + n else index

            if i < 0 || i >= n then
                raise (
                    ArgumentOutOfRangeException(
                        "index",
                        sprintf "select: index %d is out of range for dim %d of size %d (shape %O)." index dim n x.Shape
                    )
                )

            let sliced = Tensor.slice (x, dim, i, i + 1)
            TensorCore.reshape (Shape.removeDim dim x.Shape).Dims sliced

        /// Joins tensors along an existing dim; all other dims must match.
        [<CompiledName("Cat"); Extension>]
        static member cat(tensors: Tensor seq, [<Optional; DefaultParameterValue(0)>] dim: int) =
            Args.requiredAll "cat" "tensors" tensors
            let xs = Array.ofSeq tensors

            if xs.Length = 0 then
                invalidArg "tensors" "cat: needs at least one tensor."

            let first = xs[0]
            let dim = Shape.normDim "cat" first.Rank dim

            for x in xs do
                if x.Rank <> first.Rank || x.DType <> first.DType then
                    invalidArg
                        "tensors"
                        (sprintf
                            "cat: tensors %O (%O) and %O (%O) differ in rank or dtype."
                            first.Shape
                            first.DType
                            x.Shape
                            x.DType)

                for d in 0 .. x.Rank - 1 do
                    if d <> dim && x.Shape.Dims[d] <> first.Shape.Dims[d] then
                        invalidArg
                            "tensors"
                            (sprintf
                                "cat: along dim %d, shapes %O and %O must match in every other dim (dim %d: %d vs %d)."
                                dim
                                first.Shape
                                x.Shape
                                d
                                first.Shape.Dims[d]
                                x.Shape.Dims[d])

            if xs.Length = 1 then
                first
            else
                let offsets = xs |> Array.scan (fun acc x -> acc + x.Shape.Dims[dim]) 0
                let backend = first.Raw.Backend

                let placeAt (i: int) (full: Shape) (t: Tensor) =
                    let starts = Array.zeroCreate t.Rank
                    starts[dim] <- offsets[i]
                    sliceScatter full starts (Array.create t.Rank 1) t

                TensorCore.apply
                    {
                        Name = "cat"
                        Raw = fun r -> backend.Cat(r, dim)
                        Jvp = fun _ y i t -> placeAt i y.Shape t
                        Vjp = fun xs _ i g -> Tensor.slice (g, dim, offsets[i], offsets[i] + xs[i].Shape.Dims[dim])
                    }
                    xs

        /// Joins tensors of equal shape along a new dim.
        [<CompiledName("Stack"); Extension>]
        static member stack(tensors: Tensor seq, [<Optional; DefaultParameterValue(0)>] dim: int) =
            Args.requiredAll "stack" "tensors" tensors
            let xs = Array.ofSeq tensors

            if xs.Length = 0 then
                invalidArg "tensors" "stack: needs at least one tensor."

            for x in xs do
                if not (x.Shape.Equals xs[0].Shape) then
                    invalidArg
                        "tensors"
                        (sprintf "stack: every tensor must have the same shape; got %O and %O." xs[0].Shape x.Shape)

            let dim = Shape.normDim "stack" (xs[0].Rank + 1) dim
            Tensor.cat (xs |> Array.map (fun x -> Tensor.unsqueeze (x, dim)), dim)

        /// Pieces of the given sizes along dim (the sizes must add up to the dim's size).
        [<CompiledName("Split"); Extension>]
        static member split(x: Tensor, sizes: int seq, [<Optional; DefaultParameterValue(0)>] dim: int) =
            Args.required "split" "x" x
            Args.required "split" "sizes" sizes
            let dim = Shape.normDim "split" x.Rank dim
            let sizes = Array.ofSeq sizes

            if Array.sum sizes <> x.Shape.Dims[dim] || Array.exists (fun s -> s < 0) sizes then
                invalidArg
                    "sizes"
                    (sprintf
                        "split: sizes %s must be non-negative and add up to %d (dim %d of %O)."
                        (Shape.format sizes)
                        x.Shape.Dims[dim]
                        dim
                        x.Shape)

            let offsets = Array.scan (+) 0 sizes
            Array.init sizes.Length (fun i -> Tensor.slice (x, dim, offsets[i], offsets[i + 1]))

        /// n pieces of (nearly) equal size along dim, the last one possibly smaller.
        [<CompiledName("Chunk"); Extension>]
        static member chunk(x: Tensor, n: int, [<Optional; DefaultParameterValue(0)>] dim: int) =
            Args.required "chunk" "x" x
            let dim = Shape.normDim "chunk" x.Rank dim

            if n <= 0 then
                invalidArg "n" (sprintf "chunk: n must be positive, got %d." n)

            let size = x.Shape.Dims[dim]
            let each = (size + n - 1) / n
            let sizes = [| for s in 0..each .. size - 1 -> min each (size - s) |]
            Tensor.split (x, sizes, dim)

        /// torch.gather: out[i][j] = x[index[i][j]][j] for dim 0 (and likewise for other dims).
        [<CompiledName("Gather"); Extension>]
        static member gather(x: Tensor, dim: int, index: Tensor) =
            Args.required "gather" "x" x
            Args.required "gather" "index" index
            let dim = Shape.normDim "gather" x.Rank dim

            if index.Rank <> x.Rank then
                invalidArg
                    "index"
                    (sprintf "gather: index %O must have the same rank as the input %O." index.Shape x.Shape)

            for d in 0 .. x.Rank - 1 do
                if d <> dim && index.Shape.Dims[d] > x.Shape.Dims[d] then
                    invalidArg
                        "index"
                        (sprintf "gather: index %O is larger than the input %O in dim %d." index.Shape x.Shape d)

            let ix = int64Index "gather" index
            let ixT = TConst ix

            TensorCore.apply
                {
                    Name = "gather"
                    Raw = fun r -> r[0].Gather(dim, ix)
                    Jvp = fun _ _ _ t -> Tensor.gather (t, dim, ixT)
                    Vjp = fun xs _ _ g -> Tensor.scatterAdd (zerosLike xs[0], dim, ixT, g)
                }
                [| x |]

        /// torch.scatter_add: a copy of x with src added at the positions index names along dim.
        [<CompiledName("ScatterAdd"); Extension>]
        static member scatterAdd(x: Tensor, dim: int, index: Tensor, src: Tensor) =
            Args.required "scatterAdd" "x" x
            Args.required "scatterAdd" "index" index
            Args.required "scatterAdd" "src" src
            let dim = Shape.normDim "scatterAdd" x.Rank dim

            if not (index.Shape.Equals src.Shape) || index.Rank <> x.Rank then
                invalidArg
                    "src"
                    (sprintf
                        "scatterAdd: index %O and src %O must have equal shapes and the rank of the input %O."
                        index.Shape
                        src.Shape
                        x.Shape)

            if x.DType <> src.DType then
                invalidArg "src" (sprintf "scatterAdd: dtypes differ (%O and %O)." x.DType src.DType)

            let ix = int64Index "scatterAdd" index
            let ixT = TConst ix

            TensorCore.apply
                {
                    Name = "scatterAdd"
                    Raw = fun r -> r[0].ScatterAdd(dim, ix, r[1])
                    Jvp =
                        fun xs _ i t ->
                            if i = 0 then
                                t
                            else
                                Tensor.scatterAdd (zerosLike xs[0], dim, ixT, t)
                    Vjp = fun _ _ i g -> if i = 0 then g else Tensor.gather (g, dim, ixT)
                }
                [| x; src |]

        /// torch.index_select: the slices at the given positions along dim.
        [<CompiledName("IndexSelect"); Extension>]
        static member indexSelect(x: Tensor, dim: int, index: Tensor) =
            Args.required "indexSelect" "x" x
            Args.required "indexSelect" "index" index
            let dim = Shape.normDim "indexSelect" x.Rank dim

            if index.Rank <> 1 then
                invalidArg "index" (sprintf "indexSelect: index must be 1-D, got %O." index.Shape)

            let ix = int64Index "indexSelect" index
            let ixT = TConst ix

            TensorCore.apply
                {
                    Name = "indexSelect"
                    Raw = fun r -> r[0].IndexSelect(dim, ix)
                    Jvp = fun _ _ _ t -> Tensor.indexSelect (t, dim, ixT)
                    Vjp = fun xs _ _ g -> Tensor.indexAdd (zerosLike xs[0], dim, ixT, g)
                }
                [| x |]

        /// torch.index_add: a copy of x with src's slices added at the positions index names along dim.
        [<CompiledName("IndexAdd"); Extension>]
        static member indexAdd(x: Tensor, dim: int, index: Tensor, src: Tensor) =
            Args.required "indexAdd" "x" x
            Args.required "indexAdd" "index" index
            Args.required "indexAdd" "src" src
            let dim = Shape.normDim "indexAdd" x.Rank dim

            let otherDimsDiffer =
                src.Rank = x.Rank
                && Seq.exists (fun d -> d <> dim && src.Shape.Dims[d] <> x.Shape.Dims[d]) (seq { 0 .. x.Rank - 1 })

            if
                index.Rank <> 1
                || src.Rank <> x.Rank
                || src.Shape.Dims[dim] <> index.Numel
                || otherDimsDiffer
            then
                invalidArg
                    "src"
                    (sprintf
                        "indexAdd: expected a 1-D index and src shaped like the input %O with dim %d of size %d; got index %O, src %O."
                        x.Shape
                        dim
                        index.Numel
                        index.Shape
                        src.Shape)

            let ix = int64Index "indexAdd" index
            let ixT = TConst ix

            TensorCore.apply
                {
                    Name = "indexAdd"
                    Raw = fun r -> r[0].IndexAdd(dim, ix, r[1])
                    Jvp =
                        fun xs _ i t ->
                            if i = 0 then
                                t
                            else
                                Tensor.indexAdd (zerosLike xs[0], dim, ixT, t)
                    Vjp = fun _ _ i g -> if i = 0 then g else Tensor.indexSelect (g, dim, ixT)
                }
                [| x; src |]

        /// Constant padding of the trailing dims: padding[k] = (before, after) for dim (rank - padding.Length + k).
        [<CompiledName("Pad"); Extension>]
        static member pad(x: Tensor, padding: (int * int) seq, [<Optional; DefaultParameterValue(0.0)>] value: float) =
            Args.required "pad" "x" x
            Args.required "pad" "padding" padding
            let padding = Array.ofSeq padding

            if padding.Length > x.Rank then
                invalidArg
                    "padding"
                    (sprintf
                        "pad: %d (before, after) pairs given for a tensor of rank %d (%O)."
                        padding.Length
                        x.Rank
                        x.Shape)

            if padding |> Array.exists (fun (a, b) -> a < 0 || b < 0) then
                invalidArg "padding" (sprintf "pad: padding sizes must be >= 0, got %A." padding)

            let lead = x.Rank - padding.Length

            let before =
                Array.init x.Rank (fun d -> if d < lead then 0 else fst padding[d - lead])

            let after =
                Array.init x.Rank (fun d -> if d < lead then 0 else snd padding[d - lead])

            let sizes = x.Shape.ToArray()
            let ones = Array.create x.Rank 1

            TensorCore.apply
                {
                    Name = "pad"
                    Raw = fun r -> r[0].Pad(before, after, value)
                    Jvp = fun _ y _ t -> sliceScatter y.Shape before ones t
                    Vjp = fun _ _ _ g -> sliceAll before ones sizes g
                }
                [| x |]

        /// One-hot rows: an Int tensor of class indices of shape S gives S @ [numClasses] (Float32 unless a dtype is given).
        [<CompiledName("OneHot"); Extension>]
        static member oneHot(indices: Tensor, numClasses: int, [<Optional>] dtype: DType) =
            Args.required "oneHot" "indices" indices

            if indices.DType.IsFloatingPoint || indices.DType = DType.Bool then
                invalidArg "indices" (sprintf "oneHot: indices must be Int32 or Int64, got %O." indices.DType)

            let dtype = Args.dtypeOr Defaults.DType dtype
            let ix = int64Index "oneHot" indices

            for v in (ix.ToArray() :?> int64[]) do
                if v < 0L || v >= int64 numClasses then
                    raise (
                        ArgumentOutOfRangeException(
                            "indices",
                            sprintf "oneHot: class index %d is out of range for %d classes." v numClasses
                        )
                    )

            let outShape = Shape.Create(Array.append (indices.Shape.ToArray()) [| numClasses |])
            let zeros = indices.Raw.Backend.Zeros(outShape, dtype)

            let ones =
                indices.Raw.Backend.Full(Shape.Create(Array.append (indices.Shape.ToArray()) [| 1 |]), dtype, 1.0)

            let ixCol = ix.Reshape(ones.Shape)
            TConst(zeros.ScatterAdd(indices.Rank, ixCol, ones))
