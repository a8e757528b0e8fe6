namespace FunctionalNets

open System.Runtime.CompilerServices
open System.Runtime.InteropServices

/// softmax, logSoftmax and logsumexp, stabilised by subtracting the (constant) maximum.
[<AutoOpen; Extension>]
module SoftmaxOps =
    type Tensor with
        /// log(sum(exp x)) over dims, computed without overflow.
        [<CompiledName("LogSumExp"); Extension>]
        static member logsumexp(x: Tensor, dims: int seq, [<Optional; DefaultParameterValue(false)>] keepDim: bool) =
            Args.required "logsumexp" "x" x
            Args.required "logsumexp" "dims" dims
            let ds = Shape.normDims "logsumexp" x.Rank dims
            // The max is a constant shift: it cancels in the derivative, so no gradient flows through it.
            let m = Tensor.max (x.NoDiff, ds, true)
            // An infinite maximum (a slice of -inf, or a +inf) is replaced by 0 as torch does, so a slice of
            // -inf gives log 0 = -inf instead of -inf - -inf = NaN.
            let m = Tensor.where (Tensor.eq (Tensor.abs m, infinity), Tensor.zerosLike m, m)

            let lse =
                TensorCore.add (Tensor.log (Tensor.sum (TensorCore.exp (TensorCore.sub x m), ds, true))) m

            if keepDim then
                lse
            else
                TensorCore.reshape
                    (Shape.Create(
                        x.Shape.ToArray()
                        |> Array.indexed
                        |> Array.filter (fun (i, _) -> not (Array.contains i ds))
                        |> Array.map snd
                    ))
                        .Dims
                    lse

        /// log(sum(exp x)) over one dim.
        [<CompiledName("LogSumExp"); Extension>]
        static member logsumexp(x: Tensor, dim: int, [<Optional; DefaultParameterValue(false)>] keepDim: bool) =
            Args.required "logsumexp" "x" x
            Tensor.logsumexp (x, [ dim ], keepDim = keepDim)

        /// x - logsumexp(x) along dim.
        [<CompiledName("LogSoftmax"); Extension>]
        static member logSoftmax(x: Tensor, [<Optional; DefaultParameterValue(-1)>] dim: int) =
            Args.required "logSoftmax" "x" x
            let dim = Shape.normDim "logSoftmax" x.Rank dim

            // An empty tensor has nothing to normalise: the result is empty, of its shape (as torch returns).
            if x.Shape.Numel = 0 then
                x
            else
                // (x - m) - log sum exp(x - m): adding m back before subtracting would round it away in float32.
                let z = TensorCore.sub x (Tensor.max (x.NoDiff, [ dim ], true))
                TensorCore.sub z (Tensor.log (Tensor.sum (TensorCore.exp z, [ dim ], true)))

        /// exp(x) / sum(exp(x)) along dim.
        [<CompiledName("Softmax"); Extension>]
        static member softmax(x: Tensor, [<Optional; DefaultParameterValue(-1)>] dim: int) =
            Args.required "softmax" "x" x
            TensorCore.exp (Tensor.logSoftmax (x, dim))
