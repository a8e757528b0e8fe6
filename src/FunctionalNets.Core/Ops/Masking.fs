namespace FunctionalNets

open System.Runtime.CompilerServices
open System.Runtime.InteropServices

/// maskedFill and the triangular parts triu/tril: selections by a constant Bool mask, differentiable in x
/// (the gradient flows to the kept elements only).
[<AutoOpen; Extension>]
module MaskingOps =
    /// The Bool [rows; cols] mask of the elements triu (upper) or tril keeps: j - i >= diagonal (triu) or
    /// j - i <= diagonal (tril), as in PyTorch.
    let internal triangleMask (backend: Backend) (rows: int) (cols: int) (diagonal: int) (upper: bool) =
        let i =
            backend.Arange(0.0, 1.0, rows, DType.Int64).Reshape(Shape.Wrap [| rows; 1 |])
        // Shifting the columns by the diagonal compares j - diagonal with i, which needs no subtraction kernel.
        let j =
            backend.Arange(float -diagonal, 1.0, cols, DType.Int64).Reshape(Shape.Wrap [| 1; cols |])

        j.Compare((if upper then CompareKind.Ge else CompareKind.Le), i)

    let private triangle (op: string) (upper: bool) (x: Tensor) (diagonal: int) =
        if x.Rank < 2 then
            invalidArg
                "x"
                (sprintf "%s: expected a tensor of rank >= 2 (the last two dims are the matrix), got %O." op x.Shape)

        let keep = triangleMask x.Raw.Backend x.Shape[-2] x.Shape[-1] diagonal upper
        Tensor.where (TConst keep, x, TConst(x.Raw.Backend.Zeros(Shape.Scalar, x.DType)))

    type Tensor with
        /// PyTorch's masked_fill: value where mask is true, x elsewhere. mask is a Bool tensor that broadcasts to
        /// x's shape (the result has x's shape); no gradient reaches the filled elements.
        [<CompiledName("MaskedFill"); Extension>]
        static member maskedFill(x: Tensor, mask: Tensor, value: float) =
            Args.required "maskedFill" "x" x
            Args.required "maskedFill" "mask" mask

            if mask.DType <> DType.Bool then
                invalidArg
                    "mask"
                    (sprintf
                        "maskedFill: the mask must be a Bool tensor, got %O %O; compare to get one (e.g. Tensor.eq)."
                        mask.DType
                        mask.Shape)

            if not (Shape.canBroadcastTo mask.Shape x.Shape) then
                invalidArg
                    "mask"
                    (sprintf
                        "maskedFill: mask %O does not broadcast to the input %O; its dims must equal the input's or be 1."
                        mask.Shape
                        x.Shape)

            let fill = TConst(x.Raw.Backend.Full(Shape.Scalar, x.DType, value))
            Tensor.where (mask.NoDiff, fill, x)

        /// The upper triangle of the last two dims: elements with column - row >= diagonal (default 0), zeros
        /// elsewhere (PyTorch's triu).
        [<CompiledName("Triu"); Extension>]
        static member triu(x: Tensor, [<Optional; DefaultParameterValue(0)>] diagonal: int) =
            Args.required "triu" "x" x
            triangle "triu" true x diagonal

        /// The lower triangle of the last two dims: elements with column - row <= diagonal (default 0), zeros
        /// elsewhere (PyTorch's tril).
        [<CompiledName("Tril"); Extension>]
        static member tril(x: Tensor, [<Optional; DefaultParameterValue(0)>] diagonal: int) =
            Args.required "tril" "x" x
            triangle "tril" false x diagonal
