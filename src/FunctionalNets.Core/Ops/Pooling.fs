namespace FunctionalNets

open System.Runtime.CompilerServices
open System.Runtime.InteropServices
open System

/// 2-D pooling and upsampling over the last two dims of NCHW (or CHW) tensors.
///
/// Every op here is linear in x once its data-dependent choices (max pooling's argmax indices) are fixed,
/// so each is declared as a pair: the op A and its adjoint A^T, where A's tangent rule is A itself and its
/// adjoint rule is A^T, and the other way round. Both are differentiable, so grad-of-grad works.
[<AutoOpen; Extension>]
module PoolingOps =
    let private pair (a, b) = [| a; b |]
    let private fmt (a: int[]) = sprintf "[%s]" (String.Join("; ", a))

    /// A linear op (raw forward fwd) whose adjoint has raw forward adj; each is the other's vjp rule.
    let rec private linearOp
        (name: string)
        (adjName: string)
        (fwd: RawTensor -> RawTensor)
        (adj: RawTensor -> RawTensor)
        (x: Tensor)
        : Tensor =
        TensorCore.apply
            {
                Name = name
                Raw = fun r -> fwd r[0]
                Jvp = fun _ _ _ t -> linearOp name adjName fwd adj t
                Vjp = fun _ _ _ g -> linearOp adjName name adj fwd g
            }
            [| x |]

    let private checkInput (op: string) (x: Tensor) =
        if x.Rank <> 3 && x.Rank <> 4 then
            invalidArg "x" (sprintf "%s: expected an NCHW or CHW tensor (rank 4 or 3), got shape %O." op x.Shape)

        TensorCore.requireFloat op "x" x

    let private planeSize (x: Tensor) =
        let d = x.Shape.Dims
        d[d.Length - 2], d[d.Length - 1]

    let private withPlane (x: Tensor) (h: int) (w: int) =
        let d = x.Shape.ToArray()
        d[d.Length - 2] <- h
        d[d.Length - 1] <- w
        d

    /// Validates a pooling window and returns the output plane size (PyTorch's rules: positive kernel,
    /// stride and dilation; padding at most half the kernel; a window that fits the padded input).
    let private poolGeometry
        (op: string)
        (x: Tensor)
        (kernel: int[])
        (stride: int[])
        (padding: int[])
        (dilation: int[])
        (ceilMode: bool)
        =
        checkInput op x
        let h, w = planeSize x

        let bad what (v: int[]) =
            invalidArg what (sprintf "%s: %s %s is invalid for input %O." op what (fmt v) x.Shape)

        if kernel |> Array.exists (fun k -> k <= 0) then
            bad "kernel" kernel

        if stride |> Array.exists (fun s -> s <= 0) then
            bad "stride" stride

        if dilation |> Array.exists (fun d -> d <= 0) then
            bad "dilation" dilation

        if Array.exists2 (fun p k -> p < 0 || p > k / 2) padding kernel then
            invalidArg
                "padding"
                (sprintf
                    "%s: padding %s must be between 0 and half the kernel %s (input %O)."
                    op
                    (fmt padding)
                    (fmt kernel)
                    x.Shape)

        let eff = Array.map2 (fun k d -> (k - 1) * d + 1) kernel dilation

        if eff[0] > h + 2 * padding[0] || eff[1] > w + 2 * padding[1] then
            invalidArg
                "kernel"
                (sprintf
                    "%s: kernel %s (dilation %s, spanning %s) is larger than the input %O padded by %s."
                    op
                    (fmt kernel)
                    (fmt dilation)
                    (fmt eff)
                    x.Shape
                    (fmt padding))

        let outLen i size =
            PoolGeometry.outputLength size kernel[i] stride[i] padding[i] dilation[i] ceilMode

        // With dilation a window's taps can straddle the whole input and land only in padding (PyTorch then
        // returns -inf and an out-of-plane index); such a window has no value or gradient, so it is refused.
        let check i size =
            let o = outLen i size

            for j in 0 .. o - 1 do
                let start = j * stride[i] - padding[i]

                let hits =
                    Seq.init kernel[i] (fun t -> start + t * dilation[i])
                    |> Seq.exists (fun q -> q >= 0 && q < size)

                if not hits then
                    invalidArg
                        "dilation"
                        (sprintf
                            "%s: output %d along dim %d has a window (kernel %s, stride %s, padding %s, dilation %s) that covers only padding of input %O."
                            op
                            j
                            (x.Rank - 2 + i)
                            (fmt kernel)
                            (fmt stride)
                            (fmt padding)
                            (fmt dilation)
                            x.Shape)

            o

        check 0 h, check 1 w

    /// The values of x (leading dims, H, W) at the plane positions indices (leading dims, OH, OW) name.
    let private gatherPlanes (indices: RawTensor) (x: RawTensor) =
        let xd, id = x.Shape.Dims, indices.Shape.Dims
        let r = xd.Length

        let flat (d: int[]) =
            Shape.Wrap(Array.append d[.. r - 3] [| d[r - 2] * d[r - 1] |])

        x.Reshape(flat xd).Gather(r - 2, indices.Reshape(flat id)).Reshape indices.Shape

    let private maxPoolCore (op: string) (x: Tensor) kernel stride padding dilation ceilMode =
        let oh, ow = poolGeometry op x kernel stride padding dilation ceilMode
        let inShape = x.Shape
        // Given the argmax (the op's residual), max pooling is a gather (linear): its tangent is the gather of the
        // tangent and its adjoint scatters into the input's shape, each the other's adjoint, at every order.
        let gather (indices: RawTensor) =
            linearOp op (op + "Backward") (gatherPlanes indices) (fun g -> g.MaxPool2dBackward(indices, inShape))

        let scatter (indices: RawTensor) =
            linearOp (op + "Backward") op (fun g -> g.MaxPool2dBackward(indices, inShape)) (gatherPlanes indices)

        let y, residuals =
            TensorCore.applyResidual
                {
                    Name = op
                    Forward =
                        fun r ->
                            let values, indices = r[0].MaxPool2d(kernel, stride, padding, dilation, ceilMode)

                            if
                                oh <> values.Shape.Dims[values.Shape.Rank - 2]
                                || ow <> values.Shape.Dims[values.Shape.Rank - 1]
                            then
                                invalidOp (
                                    sprintf "internal: %s computed output %O, expected %d x %d." op values.Shape oh ow
                                )

                            values, [| indices |]
                    Jvp = fun c ts -> gather c.Residuals[0].Raw ts[0].Value
                    Vjp = fun c g -> [| scatter c.Residuals[0].Raw g |]
                }
                [| x |]

        y, residuals[0]

    let private avgPoolCore (x: Tensor) kernel stride padding ceilMode countIncludePad =
        let op = "avgPool2d"
        poolGeometry op x kernel stride padding [| 1; 1 |] ceilMode |> ignore
        let inShape = x.Shape

        linearOp
            op
            (op + "Backward")
            (fun r -> r.AvgPool2d(kernel, stride, padding, ceilMode, countIncludePad))
            (fun g -> g.AvgPool2dBackward(inShape, kernel, stride, padding, ceilMode, countIncludePad))
            x

    let private checkOutputSize (op: string) (x: Tensor) (size: int[]) =
        checkInput op x

        if size |> Array.exists (fun s -> s <= 0) then
            invalidArg "outputSize" (sprintf "%s: output size %s must be positive (input %O)." op (fmt size) x.Shape)

        let h, w = planeSize x

        if h = 0 || w = 0 then
            invalidArg "x" (sprintf "%s: input %O has an empty plane." op x.Shape)

    let private adaptiveCore (x: Tensor) (size: int[]) =
        let op = "adaptiveAvgPool2d"
        checkOutputSize op x size
        let inShape = x.Shape

        linearOp
            op
            (op + "Backward")
            (fun r -> r.AdaptiveAvgPool2d size)
            (fun g -> g.AdaptiveAvgPool2dBackward inShape)
            x

    let private nearestCore (x: Tensor) (size: int[]) =
        let op = "upsampleNearest"
        checkOutputSize op x size
        let inShape = x.Shape

        linearOp
            op
            (op + "Backward")
            (fun r -> r.UpsampleNearest2d size)
            (fun g -> g.UpsampleNearest2dBackward inShape)
            x

    let private bilinearCore (x: Tensor) (size: int[]) (alignCorners: bool) =
        let op = "upsampleBilinear"
        checkOutputSize op x size
        let inShape = x.Shape

        linearOp
            op
            (op + "Backward")
            (fun r -> r.UpsampleBilinear2d(size, alignCorners))
            (fun g -> g.UpsampleBilinear2dBackward(inShape, alignCorners))
            x

    /// Output plane size floor(in * scale), as PyTorch computes it from a scale factor.
    let private scaledSize (op: string) (x: Tensor) (scale: float) =
        checkInput op x

        if not (scale > 0.0) || Double.IsInfinity scale then
            invalidArg "scale" (sprintf "%s: scale factor %g must be positive and finite (input %O)." op scale x.Shape)

        let h, w = planeSize x
        [| int (floor (float h * scale)); int (floor (float w * scale)) |]

    type Tensor with
        /// Max pooling over the last two dims (NCHW or CHW); stride defaults to the kernel, padding to 0,
        /// dilation to 1. Padding counts as -infinity and must be at most half the kernel.
        [<CompiledName("MaxPool2d"); Extension>]
        static member maxPool2d
            (
                x: Tensor,
                kernel: int * int,
                [<Optional>] stride: int * int,
                [<Optional>] padding: int * int,
                [<Optional>] dilation: int * int,
                [<Optional; DefaultParameterValue(false)>] ceilMode: bool
            ) =
            Args.required "maxPool2d" "x" x
            Args.required "maxPool2d" "kernel" kernel
            let stride = Args.opt stride
            let padding = Args.opt padding
            let dilation = Args.opt dilation

            fst (
                maxPoolCore
                    "maxPool2d"
                    x
                    (pair kernel)
                    (pair (defaultArg stride kernel))
                    (pair (defaultArg padding (0, 0)))
                    (pair (defaultArg dilation (1, 1)))
                    ceilMode
            )

        /// Max pooling with a square kernel (and square stride, padding and dilation).
        [<CompiledName("MaxPool2d"); Extension>]
        static member maxPool2d
            (
                x: Tensor,
                kernel: int,
                [<Optional>] stride: Nullable<int>,
                [<Optional; DefaultParameterValue(0)>] padding: int,
                [<Optional; DefaultParameterValue(1)>] dilation: int,
                [<Optional; DefaultParameterValue(false)>] ceilMode: bool
            ) =
            Args.required "maxPool2d" "x" x
            let stride = Option.ofNullable stride
            let sq (v: int) = (v, v)

            Tensor.maxPool2d (x, sq kernel, sq (defaultArg stride kernel), sq padding, sq dilation, ceilMode)

        /// Max pooling returning (values, indices): Int64 indices h * W + w of the first maximum within each
        /// (n, c) plane, as PyTorch's return_indices. The indices carry no derivative.
        [<CompiledName("MaxPool2dWithIndices"); Extension>]
        static member maxPool2dWithIndices
            (
                x: Tensor,
                kernel: int * int,
                [<Optional>] stride: int * int,
                [<Optional>] padding: int * int,
                [<Optional>] dilation: int * int,
                [<Optional; DefaultParameterValue(false)>] ceilMode: bool
            ) =
            Args.required "maxPool2dWithIndices" "x" x
            Args.required "maxPool2dWithIndices" "kernel" kernel
            let stride = Args.opt stride
            let padding = Args.opt padding
            let dilation = Args.opt dilation

            maxPoolCore
                "maxPool2dWithIndices"
                x
                (pair kernel)
                (pair (defaultArg stride kernel))
                (pair (defaultArg padding (0, 0)))
                (pair (defaultArg dilation (1, 1)))
                ceilMode

        /// maxPool2dWithIndices with a square kernel (and square stride, padding and dilation).
        [<CompiledName("MaxPool2dWithIndices"); Extension>]
        static member maxPool2dWithIndices
            (
                x: Tensor,
                kernel: int,
                [<Optional>] stride: Nullable<int>,
                [<Optional; DefaultParameterValue(0)>] padding: int,
                [<Optional; DefaultParameterValue(1)>] dilation: int,
                [<Optional; DefaultParameterValue(false)>] ceilMode: bool
            ) =
            Args.required "maxPool2dWithIndices" "x" x
            let stride = Option.ofNullable stride
            let sq (v: int) = (v, v)

            Tensor.maxPool2dWithIndices (x, sq kernel, sq (defaultArg stride kernel), sq padding, sq dilation, ceilMode)

        /// Average pooling over the last two dims; countIncludePad (default true, as PyTorch) divides by the
        /// window size including padding.
        [<CompiledName("AvgPool2d"); Extension>]
        static member avgPool2d
            (
                x: Tensor,
                kernel: int * int,
                [<Optional>] stride: int * int,
                [<Optional>] padding: int * int,
                [<Optional; DefaultParameterValue(false)>] ceilMode: bool,
                [<Optional; DefaultParameterValue(true)>] countIncludePad: bool
            ) =
            Args.required "avgPool2d" "x" x
            Args.required "avgPool2d" "kernel" kernel
            let stride = Args.opt stride
            let padding = Args.opt padding

            avgPoolCore
                x
                (pair kernel)
                (pair (defaultArg stride kernel))
                (pair (defaultArg padding (0, 0)))
                ceilMode
                countIncludePad

        /// Average pooling with a square kernel (and square stride and padding).
        [<CompiledName("AvgPool2d"); Extension>]
        static member avgPool2d
            (
                x: Tensor,
                kernel: int,
                [<Optional>] stride: Nullable<int>,
                [<Optional; DefaultParameterValue(0)>] padding: int,
                [<Optional; DefaultParameterValue(false)>] ceilMode: bool,
                [<Optional; DefaultParameterValue(true)>] countIncludePad: bool
            ) =
            Args.required "avgPool2d" "x" x
            let stride = Option.ofNullable stride
            let s = defaultArg stride kernel
            let p = padding

            avgPoolCore x [| kernel; kernel |] [| s; s |] [| p; p |] ceilMode countIncludePad

        /// Adaptive average pooling to an output plane of outputSize (height, width).
        [<CompiledName("AdaptiveAvgPool2d"); Extension>]
        static member adaptiveAvgPool2d(x: Tensor, outputSize: int * int) =
            Args.required "adaptiveAvgPool2d" "x" x
            Args.required "adaptiveAvgPool2d" "outputSize" outputSize

            adaptiveCore x (pair outputSize)

        /// Adaptive average pooling to a square output plane.
        [<CompiledName("AdaptiveAvgPool2d"); Extension>]
        static member adaptiveAvgPool2d(x: Tensor, outputSize: int) =
            Args.required "adaptiveAvgPool2d" "x" x
            adaptiveCore x [| outputSize; outputSize |]

        /// Nearest-neighbour resize to outputSize (height, width); source index floor(dst * in / out).
        [<CompiledName("UpsampleNearest"); Extension>]
        static member upsampleNearest(x: Tensor, outputSize: int * int) =
            Args.required "upsampleNearest" "x" x
            Args.required "upsampleNearest" "outputSize" outputSize

            nearestCore x (pair outputSize)

        /// Nearest-neighbour resize by a scale factor: output size floor(in * scale), indices from the sizes.
        [<CompiledName("UpsampleNearest"); Extension>]
        static member upsampleNearest(x: Tensor, scale: float) =
            Args.required "upsampleNearest" "x" x
            nearestCore x (scaledSize "upsampleNearest" x scale)

        /// Bilinear resize to outputSize (height, width); alignCorners defaults to false (PyTorch's default).
        [<CompiledName("UpsampleBilinear"); Extension>]
        static member upsampleBilinear
            (x: Tensor, outputSize: int * int, [<Optional; DefaultParameterValue(false)>] alignCorners: bool)
            =
            Args.required "upsampleBilinear" "x" x
            Args.required "upsampleBilinear" "outputSize" outputSize
            bilinearCore x (pair outputSize) alignCorners

        /// Bilinear resize by a scale factor: output size floor(in * scale), coordinates from the sizes (as
        /// PyTorch with recompute_scale_factor=True).
        [<CompiledName("UpsampleBilinear"); Extension>]
        static member upsampleBilinear
            (x: Tensor, scale: float, [<Optional; DefaultParameterValue(false)>] alignCorners: bool)
            =
            Args.required "upsampleBilinear" "x" x
            bilinearCore x (scaledSize "upsampleBilinear" x scale) alignCorners
