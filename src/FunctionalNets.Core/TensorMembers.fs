namespace FunctionalNets

/// One index position in F# slicing syntax: a single index (the dim is dropped) or an inclusive range.
[<RequireQualifiedAccess>]
type SliceSpec =
    | At of int
    | Range of int option * int option

/// Instance members that make tensors read like PyTorch/DiffSharp: x.T, x.[0, 1..2], x.Sum(), ...
[<AutoOpen>]
module TensorMembers =
    /// Applies F# slicing: ranges are inclusive (F# semantics), negative positions count from the end.
    let internal sliceWith (x: Tensor) (specs: SliceSpec[]) =
        if specs.Length > x.Rank then
            invalidArg
                "index"
                (sprintf "slice: %d indices given for a tensor of rank %d (%O)." specs.Length x.Rank x.Shape)

        let starts = Array.zeroCreate x.Rank
        let steps = Array.create x.Rank 1
        let sizes = x.Shape.ToArray()
        let dropped = System.Collections.Generic.List<int>()

        specs
        |> Array.iteri (fun d spec ->
            let n = x.Shape.Dims[d]
            let norm i = if i < 0 then i + n else i

            match spec with
            | SliceSpec.At i ->
                let j = norm i

                if j < 0 || j >= n then
                    raise (
                        System.ArgumentOutOfRangeException(
                            "index",
                            sprintf "index %d is out of range for dim %d of size %d (shape %O)." i d n x.Shape
                        )
                    )

                starts[d] <- j
                sizes[d] <- 1
                dropped.Add d
            | SliceSpec.Range(s, e) ->
                let s = s |> Option.map norm |> Option.defaultValue 0 |> max 0 |> min n
                let e = e |> Option.map norm |> Option.defaultValue (n - 1) |> min (n - 1)
                starts[d] <- s
                sizes[d] <- max 0 (e - s + 1))

        let sliced = IndexingOps.sliceAll starts steps sizes x

        if dropped.Count = 0 then
            sliced
        else
            let keep =
                sizes
                |> Array.indexed
                |> Array.filter (fun (d, _) -> not (dropped.Contains d))
                |> Array.map snd

            TensorCore.reshape keep sliced

    type Tensor with
        member x.GetSlice(s0: int option, e0: int option) =
            sliceWith x [| SliceSpec.Range(s0, e0) |]

        member x.GetSlice(i0: int, s1: int option, e1: int option) =
            sliceWith x [| SliceSpec.At i0; SliceSpec.Range(s1, e1) |]

        member x.GetSlice(s0: int option, e0: int option, i1: int) =
            sliceWith x [| SliceSpec.Range(s0, e0); SliceSpec.At i1 |]

        member x.GetSlice(s0: int option, e0: int option, s1: int option, e1: int option) =
            sliceWith x [| SliceSpec.Range(s0, e0); SliceSpec.Range(s1, e1) |]

        member x.GetSlice(i0: int, i1: int, s2: int option, e2: int option) =
            sliceWith x [| SliceSpec.At i0; SliceSpec.At i1; SliceSpec.Range(s2, e2) |]

        member x.GetSlice(i0: int, s1: int option, e1: int option, i2: int) =
            sliceWith x [| SliceSpec.At i0; SliceSpec.Range(s1, e1); SliceSpec.At i2 |]

        member x.GetSlice(i0: int, s1: int option, e1: int option, s2: int option, e2: int option) =
            sliceWith x [| SliceSpec.At i0; SliceSpec.Range(s1, e1); SliceSpec.Range(s2, e2) |]

        member x.GetSlice(s0: int option, e0: int option, i1: int, i2: int) =
            sliceWith x [| SliceSpec.Range(s0, e0); SliceSpec.At i1; SliceSpec.At i2 |]

        member x.GetSlice(s0: int option, e0: int option, i1: int, s2: int option, e2: int option) =
            sliceWith x [| SliceSpec.Range(s0, e0); SliceSpec.At i1; SliceSpec.Range(s2, e2) |]

        member x.GetSlice(s0: int option, e0: int option, s1: int option, e1: int option, i2: int) =
            sliceWith x [| SliceSpec.Range(s0, e0); SliceSpec.Range(s1, e1); SliceSpec.At i2 |]

        member x.GetSlice
            (s0: int option, e0: int option, s1: int option, e1: int option, s2: int option, e2: int option)
            =
            sliceWith x [| SliceSpec.Range(s0, e0); SliceSpec.Range(s1, e1); SliceSpec.Range(s2, e2) |]

        member x.GetSlice
            (
                s0: int option,
                e0: int option,
                s1: int option,
                e1: int option,
                s2: int option,
                e2: int option,
                s3: int option,
                e3: int option
            ) =
            sliceWith
                x
                [|
                    SliceSpec.Range(s0, e0)
                    SliceSpec.Range(s1, e1)
                    SliceSpec.Range(s2, e2)
                    SliceSpec.Range(s3, e3)
                |]

        /// The element or sub-tensor at an index.
        member x.Item(i0: int) = sliceWith x [| SliceSpec.At i0 |]

        /// The element or sub-tensor at an index.
        member x.Item(i0: int, i1: int) =
            sliceWith x [| SliceSpec.At i0; SliceSpec.At i1 |]

        /// The element or sub-tensor at an index.
        member x.Item(i0: int, i1: int, i2: int) =
            sliceWith x [| SliceSpec.At i0; SliceSpec.At i1; SliceSpec.At i2 |]

        /// The element or sub-tensor at an index.
        member x.Item(i0: int, i1: int, i2: int, i3: int) =
            sliceWith x [| SliceSpec.At i0; SliceSpec.At i1; SliceSpec.At i2; SliceSpec.At i3 |]

        /// The transpose: dims reversed (for a matrix, rows and columns swapped).
        member x.T =
            if x.Rank < 2 then
                x
            else
                Tensor.permute (x, Array.init x.Rank (fun i -> x.Rank - 1 - i))

        /// The single value of a one-element tensor.
        member x.ToScalar() = Tensor.toScalar x
        /// The values as a typed array.
        member x.ToArray() = Tensor.toArray x

        /// Sum of all elements, or over a dim.
        member x.Sum(?dim: int, ?keepDim: bool) =
            match dim with
            | Some d -> Tensor.sum (x, d, ?keepDim = keepDim)
            | None -> Tensor.sum x

        /// Mean of all elements, or over a dim.
        member x.Mean(?dim: int, ?keepDim: bool) =
            match dim with
            | Some d -> Tensor.mean (x, d, ?keepDim = keepDim)
            | None -> Tensor.mean x

        /// Reshape (one entry may be -1).
        member x.View([<System.ParamArray>] dims: int[]) = Tensor.reshape (x, dims)
        /// Matrix product.
        member x.Matmul(other: Tensor) = Tensor.matmul (x, other)
        /// e^x.
        member x.Exp() = Tensor.exp x
        /// Natural logarithm.
        member x.Log() = Tensor.log x
        /// Without derivative levels.
        member x.Detach() = x.NoDiff
        /// Cast to a dtype.
        member x.Cast(dtype: DType) = Tensor.cast (x, dtype)
