namespace FunctionalNets

open System.Runtime.CompilerServices
open System.Runtime.InteropServices

/// Cumulative sums.
[<AutoOpen; Extension>]
module CumulativeOps =
    // A prefix sum is linear; its adjoint is the suffix sum (the same scan run from the other end).
    let rec private scan (dim: int) (reverse: bool) (x: Tensor) : Tensor =
        TensorCore.apply
            {
                Name = (if reverse then "cumsumReverse" else "cumsum")
                Raw = fun r -> r[0].CumSum(dim, reverse)
                Jvp = fun _ _ _ t -> scan dim reverse t
                Vjp = fun _ _ _ g -> scan dim (not reverse) g
            }
            [| x |]

    type Tensor with
        /// Inclusive cumulative sum along dim (negative dims count from the end): y[.., j, ..] is the sum of
        /// x[.., k, ..] for k <= j. Bool inputs are summed as Int64 (PyTorch's promotion).
        [<CompiledName("CumSum"); Extension>]
        static member cumsum(x: Tensor, dim: int) =
            Args.required "cumsum" "x" x

            if x.Rank = 0 then
                if dim <> 0 && dim <> -1 then
                    invalidArg "dim" (sprintf "cumsum: dim %d is out of range for a scalar (use 0 or -1)." dim)

                x
            else
                let dim = Shape.normDim "cumsum" x.Rank dim

                let x =
                    if x.DType = DType.Bool then
                        TConst(x.Raw.Cast DType.Int64)
                    else
                        x

                scan dim false x
