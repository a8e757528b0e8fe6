namespace FunctionalNets

open System.Runtime.CompilerServices
open System.Runtime.InteropServices
open System

/// Reshaping and reordering dimensions.
[<AutoOpen; Extension>]
module LayoutOps =
    let rec private permuteCore (perm: int[]) (x: Tensor) : Tensor =
        if perm |> Array.mapi (fun i p -> i = p) |> Array.forall id then
            x
        else
            let inverse = Array.zeroCreate perm.Length
            perm |> Array.iteri (fun i p -> inverse[p] <- i)

            TensorCore.apply
                {
                    Name = "permute"
                    Raw = fun r -> r[0].Permute perm
                    Jvp = fun _ _ _ t -> permuteCore perm t
                    Vjp = fun _ _ _ g -> permuteCore inverse g
                }
                [| x |]

    type Tensor with
        /// Reshape to dims (one entry may be -1); shares storage where the backend can.
        [<CompiledName("Reshape"); Extension>]
        static member reshape(x: Tensor, dims: int seq) =
            Args.required "reshape" "x" x
            Args.required "reshape" "dims" dims

            TensorCore.reshape (Array.ofSeq dims) x

        /// Dimensions reordered: result dim i is x's dim perm[i] (negative entries count from the end).
        [<CompiledName("Permute"); Extension>]
        static member permute(x: Tensor, perm: int seq) =
            Args.required "permute" "x" x
            Args.required "permute" "perm" perm
            let perm = perm |> Seq.map (Shape.normDim "permute" x.Rank) |> Array.ofSeq

            if perm.Length <> x.Rank || (Array.distinct perm).Length <> perm.Length then
                invalidArg
                    "perm"
                    (sprintf "permute: %s is not a permutation of the %d dims of %O." (Shape.format perm) x.Rank x.Shape)

            permuteCore perm x

        /// Swaps two dimensions (by default the last two).
        [<CompiledName("Transpose"); Extension>]
        static member transpose
            (
                x: Tensor,
                [<Optional; DefaultParameterValue(-2)>] dim0: int,
                [<Optional; DefaultParameterValue(-1)>] dim1: int
            ) =
            Args.required "transpose" "x" x

            if x.Rank < 2 && dim0 = -2 && dim1 = -1 then
                invalidArg
                    "x"
                    (sprintf "transpose: needs rank >= 2, got %O; pass dims explicitly or use unsqueeze." x.Shape)

            let d0 = Shape.normDim "transpose" x.Rank dim0
            let d1 = Shape.normDim "transpose" x.Rank dim1
            let perm = Array.init x.Rank id
            perm[d0] <- d1
            perm[d1] <- d0
            permuteCore perm x

        /// Merges dims startDim..endDim (default all) into one.
        [<CompiledName("Flatten"); Extension>]
        static member flatten
            (
                x: Tensor,
                [<Optional; DefaultParameterValue(0)>] startDim: int,
                [<Optional; DefaultParameterValue(-1)>] endDim: int
            ) =
            Args.required "flatten" "x" x

            if x.Rank = 0 then
                TensorCore.reshape [| 1 |] x
            else
                let s = Shape.normDim "flatten" x.Rank startDim
                let e = Shape.normDim "flatten" x.Rank endDim

                if e < s then
                    invalidArg "endDim" (sprintf "flatten: endDim %d comes before startDim %d for %O." e s x.Shape)

                let d = x.Shape.ToArray()
                let merged = Array.fold (*) 1 d[s..e]
                TensorCore.reshape (Array.concat [ d[.. s - 1]; [| merged |]; d[e + 1 ..] ]) x

        /// Removes dimension dim if it has size 1, or every size-1 dim when none is given.
        [<CompiledName("Squeeze"); Extension>]
        static member squeeze(x: Tensor, [<Optional>] dim: Nullable<int>) =
            Args.required "squeeze" "x" x
            let dim = Option.ofNullable dim
            let d = x.Shape.ToArray()

            match dim with
            | Some dim ->
                let dim = Shape.normDim "squeeze" x.Rank dim

                if d[dim] <> 1 then
                    x
                else
                    TensorCore.reshape (Array.append d[.. dim - 1] d[dim + 1 ..]) x
            | None -> TensorCore.reshape (d |> Array.filter (fun n -> n <> 1)) x

        /// Inserts a size-1 dimension at dim (-1 appends).
        [<CompiledName("Unsqueeze"); Extension>]
        static member unsqueeze(x: Tensor, dim: int) =
            Args.required "unsqueeze" "x" x
            let dim = Shape.normDim "unsqueeze" (x.Rank + 1) dim
            let d = x.Shape.ToArray()
            TensorCore.reshape (Array.concat [ d[.. dim - 1]; [| 1 |]; d[dim..] ]) x

        /// Broadcast to a larger shape (size-1 dims repeat, new leading dims are added; -1 keeps a size).
        [<CompiledName("Expand"); Extension>]
        static member expand(x: Tensor, shape: int seq) =
            Args.required "expand" "x" x
            Args.required "expand" "shape" shape
            let dims = Array.ofSeq shape
            let lead = dims.Length - x.Rank

            let dims =
                dims
                |> Array.mapi (fun i n -> if n = -1 && i >= lead then x.Shape.Dims[i - lead] else n)

            TensorCore.expand (Shape.Create dims) x

        /// Broadcast to the shape of other.
        [<CompiledName("ExpandAs"); Extension>]
        static member expandAs(x: Tensor, other: Tensor) =
            Args.required "expandAs" "x" x
            Args.required "expandAs" "other" other

            TensorCore.expand other.Shape x

        /// Both tensors broadcast to their common shape.
        [<CompiledName("BroadcastPair"); Extension>]
        static member broadcastPair(a: Tensor, b: Tensor) =
            Args.required "broadcastPair" "a" a
            Args.required "broadcastPair" "b" b
            let s = Shape.broadcast "broadcast" a.Shape b.Shape
            TensorCore.expand s a, TensorCore.expand s b
