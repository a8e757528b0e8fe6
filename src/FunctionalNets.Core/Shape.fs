namespace FunctionalNets

open System

/// An immutable tensor shape: the size of each dimension, outermost first.
[<Sealed; AllowNullLiteral>]
type Shape private (dims: int[]) =
    /// Creates a shape from dimension sizes; every size must be non-negative.
    static member Create(dims: int[]) =
        Shape.Checked("Shape.Create", nameof dims, dims)

    /// The one check of sizes given by a caller: null and negative sizes are refused naming the op and the parameter.
    static member internal Checked(op: string, name: string, dims: int[]) =
        if isNull dims then
            raise (ArgumentNullException(name, sprintf "%s: %s is null; pass the sizes (none for a scalar)." op name))

        for d in dims do
            if d < 0 then
                invalidArg
                    name
                    (sprintf
                        "%s: shape [%s] has a negative dimension; every size must be >= 0."
                        op
                        (String.Join("; ", dims)))

        Shape(Array.copy dims)

    /// Wraps an array the caller promises never to mutate (internal fast path).
    static member internal Wrap(dims: int[]) = Shape(dims)

    /// The shape of a scalar (rank 0, one element).
    static member Scalar = Shape([||])

    /// Number of dimensions.
    member _.Rank = dims.Length

    /// Size of dimension i (negative i counts from the end).
    member _.Item(i: int) =
        if i < 0 then dims[dims.Length + i] else dims[i]

    /// Total number of elements.
    member _.Numel =
        let mutable n = 1

        for d in dims do
            n <- n * d

        n

    /// A copy of the dimension sizes.
    member _.ToArray() = Array.copy dims
    /// The dimension sizes as a list.
    member _.ToList() = List.ofArray dims
    /// The dimension sizes without copying.
    member _.AsSpan() = ReadOnlySpan<int>(dims)
    member internal _.Dims = dims

    override _.Equals(o) =
        match o with
        | :? Shape as s -> s.Dims.AsSpan().SequenceEqual(ReadOnlySpan<int>(dims))
        | _ -> false

    override _.GetHashCode() =
        let mutable h = 17

        for d in dims do
            h <- h * 31 + d

        h

    override _.ToString() = "[" + String.Join("; ", dims) + "]"

/// Functions over shapes: broadcasting, strides, dimension normalisation.
[<RequireQualifiedAccess>]
module Shape =
    /// Dimension sizes printed like a Shape ("[2; 3]"), for messages about raw arrays.
    let format (dims: int seq) = "[" + String.Join("; ", dims) + "]"

    /// Shape from a list of sizes.
    let ofList (dims: int list) = Shape.Create(Array.ofList dims)
    /// Shape from an array of sizes.
    let ofArray (dims: int[]) = Shape.Create dims
    /// The scalar shape.
    let scalar = Shape.Scalar
    /// Number of elements.
    let numel (s: Shape) = s.Numel

    /// Row-major strides of a contiguous tensor of this shape.
    let contiguousStrides (s: Shape) =
        let d = s.Dims
        let st = Array.zeroCreate d.Length
        let mutable acc = 1

        for i in d.Length - 1 .. -1 .. 0 do
            st[i] <- acc
            acc <- acc * d[i]

        st

    /// Normalises a possibly negative dimension index for a tensor of the given rank.
    let normDim (op: string) (rank: int) (dim: int) =
        let d = if dim < 0 then dim + rank else dim

        if d < 0 || d >= rank then
            raise (
                ArgumentOutOfRangeException(
                    "dim",
                    sprintf
                        "%s: dimension %d is out of range for a tensor of rank %d (expected %d..%d)."
                        op
                        dim
                        rank
                        (-rank)
                        (rank - 1)
                )
            )

        d

    /// Normalises and sorts a set of dimensions; rejects repeats.
    let normDims (op: string) (rank: int) (dims: int seq) =
        let ds = dims |> Seq.map (normDim op rank) |> Array.ofSeq |> Array.sort

        for i in 1 .. ds.Length - 1 do
            if ds[i] = ds[i - 1] then
                invalidArg "dims" (sprintf "%s: dimension %d is repeated in %s." op ds[i] (format dims))

        ds

    /// The broadcast of two shapes (NumPy rules), or an exception naming the op and both shapes.
    let broadcast (op: string) (a: Shape) (b: Shape) =
        if a.Equals b then
            a
        else
            let ra, rb = a.Rank, b.Rank
            let r = max ra rb
            let out = Array.zeroCreate r

            for i in 0 .. r - 1 do
                let da = if i < r - ra then 1 else a.Dims[i - (r - ra)]
                let db = if i < r - rb then 1 else b.Dims[i - (r - rb)]

                out[i] <-
                    if da = db then
                        da
                    elif da = 1 then
                        db
                    elif db = 1 then
                        da
                    else
                        invalidArg
                            "shape"
                            (sprintf
                                "%s: shapes %O and %O cannot be broadcast together (dimension %d: %d vs %d); sizes must match or one of them must be 1."
                                op
                                a
                                b
                                i
                                da
                                db)

            Shape.Wrap out

    /// Element strides of a tensor of shape `s` read as the (broadcast) shape `target`: 0 along broadcast dims.
    let broadcastStrides (s: Shape) (target: Shape) =
        let st = contiguousStrides s
        let r, rs = target.Rank, s.Rank
        let out = Array.zeroCreate r

        for i in 0 .. r - 1 do
            let j = i - (r - rs)

            if j >= 0 && s.Dims[j] <> 1 then
                out[i] <- st[j]

        out

    /// True when `s` can be broadcast to `target`.
    let canBroadcastTo (s: Shape) (target: Shape) =
        s.Rank <= target.Rank
        && Seq.forall
            (fun i ->
                let d = s.Dims[i]
                let t = target.Dims[i + target.Rank - s.Rank]
                d = t || d = 1)
            (seq { 0 .. s.Rank - 1 })

    /// Raises unless the two shapes are equal.
    let checkEqual (op: string) (a: Shape) (b: Shape) =
        if not (a.Equals b) then
            invalidArg "shape" (sprintf "%s: shapes %O and %O must be equal." op a b)

    /// The shape with dimension `dim` removed.
    let removeDim (dim: int) (s: Shape) =
        Shape.Wrap(Array.append s.Dims[.. dim - 1] s.Dims[dim + 1 ..])

    /// The shape with a new dimension of size `size` inserted at `dim`.
    let insertDim (dim: int) (size: int) (s: Shape) =
        Shape.Wrap(Array.concat [ s.Dims[.. dim - 1]; [| size |]; s.Dims[dim..] ])

    /// The shape with dimension `dim` set to `size`.
    let withDim (dim: int) (size: int) (s: Shape) =
        let d = Array.copy s.Dims
        d[dim] <- size
        Shape.Wrap d

    /// Resolves one -1 entry of a reshape target against the element count.
    let resolveReshape (op: string) (numel: int) (from: Shape) (dims: int[]) =
        let unknown = dims |> Array.filter (fun d -> d = -1) |> Array.length

        if unknown > 1 then
            invalidArg "shape" (sprintf "%s: at most one dimension may be -1, got %s." op (format dims))

        if dims |> Array.exists (fun d -> d < -1) then
            invalidArg "shape" (sprintf "%s: negative size in target shape %s." op (format dims))

        let known = dims |> Array.fold (fun acc d -> if d = -1 then acc else acc * d) 1

        let resolved =
            if unknown = 1 then
                if known = 0 || numel % known <> 0 then
                    invalidArg
                        "shape"
                        (sprintf
                            "%s: cannot reshape %O (%d elements) into %s: the known sizes do not divide the element count."
                            op
                            from
                            numel
                            (format dims))

                dims |> Array.map (fun d -> if d = -1 then numel / known else d)
            else
                dims

        if Array.fold (*) 1 resolved <> numel then
            invalidArg
                "shape"
                (sprintf
                    "%s: cannot reshape %O (%d elements) into %s (%d elements)."
                    op
                    from
                    numel
                    (format resolved)
                    (Array.fold (*) 1 resolved))

        Shape.Wrap resolved
