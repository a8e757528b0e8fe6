namespace FunctionalNets

open System.Runtime.CompilerServices
open System.Runtime.InteropServices

/// How Tensor.pad fills the border (torch's F.pad modes).
[<RequireQualifiedAccess>]
type PadMode =
    /// A constant value (torch's 'constant'; Conv's padding_mode='zeros' is Constant 0.0).
    | Constant of value: float
    /// The mirror image without repeating the edge: [a b c d] padded by 2 is [c b | a b c d | c b].
    | Reflect
    /// The edge repeated: [a a | a b c d | d d].
    | Replicate
    /// The tensor wrapped around: [c d | a b c d | a b].
    | Circular

/// Padding with torch's modes, built from index selection along each padded dim (so the derivative is the
/// scatter-add of index selection, and no backend needs a new primitive).
[<AutoOpen; Extension>]
module PaddingOps =
    // The source index of output position j of a dim of n elements padded by `before` on the left.
    let private source (mode: PadMode) (n: int) (before: int) (j: int) =
        let s = j - before

        match mode with
        | PadMode.Reflect ->
            if s < 0 then -s
            elif s >= n then 2 * (n - 1) - s
            else s
        | PadMode.Replicate -> min (n - 1) (max 0 s)
        | PadMode.Circular -> ((s % n) + n) % n
        | PadMode.Constant _ -> s

    type Tensor with
        /// torch's F.pad(x, pad, mode) with padding[k] = (before, after) for dim (rank - padding.Length + k):
        /// constant, reflect (each side at most size - 1), replicate or circular (each side at most size).
        [<CompiledName("Pad"); Extension>]
        static member pad(x: Tensor, padding: (int * int) seq, mode: PadMode) =
            Args.required "pad" "x" x
            Args.required "pad" "padding" padding
            Args.required "pad" "mode" mode
            let padding = Array.ofSeq padding

            match mode with
            | PadMode.Constant value -> Tensor.pad (x, padding, value)
            | _ ->
                if padding.Length > x.Rank then
                    invalidArg
                        "padding"
                        (sprintf
                            "pad: %d (before, after) pairs given for a tensor of rank %d (%O)."
                            padding.Length
                            x.Rank
                            x.Shape)

                let lead = x.Rank - padding.Length

                padding
                |> Array.indexed
                |> Array.fold
                    (fun (y: Tensor) (k, (before, after)) ->
                        let dim = lead + k
                        let n = x.Shape[dim]

                        let limit, rule =
                            match mode with
                            | PadMode.Reflect -> n - 1, "less than the size"
                            | PadMode.Circular -> n, "at most the size"
                            | _ -> System.Int32.MaxValue, ""

                        if before < 0 || after < 0 then
                            invalidArg "padding" (sprintf "pad: padding sizes must be >= 0, got %A." padding)

                        if n = 0 || before > limit || after > limit then
                            invalidArg
                                "padding"
                                (sprintf
                                    "pad: %A padding (%d, %d) of dim %d of %O must be %s (%d); pad less or use PadMode.Constant."
                                    mode
                                    before
                                    after
                                    dim
                                    x.Shape
                                    rule
                                    n)

                        if before = 0 && after = 0 then
                            y
                        else
                            let index =
                                Array.init (n + before + after) (fun j -> int64 (source mode n before j))

                            Tensor.indexSelect (y, dim, Tensor.ofArray (index, [ index.Length ], y.Device)))
                    x
