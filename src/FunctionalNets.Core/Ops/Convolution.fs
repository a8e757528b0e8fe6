namespace FunctionalNets

open System.Runtime.CompilerServices
open System.Runtime.InteropServices
open System

/// Convolutions (PyTorch semantics): conv1d, conv2d with stride, padding, dilation and groups (depthwise
/// included) and convTranspose2d. Everything is built from three ops over the backend primitives: the
/// convolution and its two gradients. Each is linear in each operand, and the derivatives of each are written
/// with the other two, so derivatives of any order stay differentiable.
[<AutoOpen; Extension>]
module ConvolutionOps =
    /// The hyper-parameters of one 2-D convolution; pairs are (height, width).
    type internal ConvArgs =
        {
            Stride: int * int
            Padding: int * int
            Dilation: int * int
            Groups: int
        }

    /// Validates a convolution of input x with weight w under the name op (the error messages name it).
    let internal geometry (op: string) (x: Shape) (w: Shape) (a: ConvArgs) =
        ConvGeometry.Create(op, x.ToArray(), w.ToArray(), a.Stride, a.Padding, a.Dilation, a.Groups)

    /// conv2d(x, w). Linear in each operand: the tangent is the convolution of the tangent, and the adjoints
    /// are the two gradient ops.
    let rec internal conv2dOp (a: ConvArgs) (x: Tensor) (w: Tensor) : Tensor =
        TensorCore.apply
            {
                Name = "conv2d"
                Raw = fun r -> r[0].Conv2d(r[1], a.Stride, a.Padding, a.Dilation, a.Groups)
                Jvp = fun xs _ i t -> if i = 0 then conv2dOp a t xs[1] else conv2dOp a xs[0] t
                Vjp =
                    fun xs _ i g ->
                        if i = 0 then
                            inputGradOp a xs[0].Shape g xs[1]
                        else
                            weightGradOp a xs[1].Shape g xs[0]
            }
            [| x; w |]

    /// The gradient of sum(conv2d(x, w) * dy) with respect to x of xShape: the transposed convolution of dy.
    /// With IG(dy, w) = conv2d_x^T dy: <G, IG(dy, w)> = <conv2d(G, w), dy>, so the adjoint for dy is conv2d(G, w)
    /// and the adjoint for w is the weight gradient with G in the input's place.
    and internal inputGradOp (a: ConvArgs) (xShape: Shape) (dy: Tensor) (w: Tensor) : Tensor =
        TensorCore.apply
            {
                Name = "conv2dInputGrad"
                Raw = fun r -> r[0].Conv2dInputGrad(r[1], xShape, a.Stride, a.Padding, a.Dilation, a.Groups)
                Jvp =
                    fun xs _ i t ->
                        if i = 0 then
                            inputGradOp a xShape t xs[1]
                        else
                            inputGradOp a xShape xs[0] t
                Vjp =
                    fun xs _ i g ->
                        if i = 0 then
                            conv2dOp a g xs[1]
                        else
                            weightGradOp a xs[1].Shape xs[0] g
            }
            [| dy; w |]

    /// The gradient of sum(conv2d(x, w) * dy) with respect to w of wShape. <G, WG(dy, x)> = <dy, conv2d(x, G)>,
    /// so the adjoint for dy is conv2d(x, G) and the adjoint for x is the input gradient of dy through G.
    and internal weightGradOp (a: ConvArgs) (wShape: Shape) (dy: Tensor) (x: Tensor) : Tensor =
        TensorCore.apply
            {
                Name = "conv2dWeightGrad"
                Raw = fun r -> r[0].Conv2dWeightGrad(r[1], wShape, a.Stride, a.Padding, a.Dilation, a.Groups)
                Jvp =
                    fun xs _ i t ->
                        if i = 0 then
                            weightGradOp a wShape t xs[1]
                        else
                            weightGradOp a wShape xs[0] t
                Vjp =
                    fun xs _ i g ->
                        if i = 0 then
                            conv2dOp a xs[1] g
                        else
                            inputGradOp a xs[1].Shape xs[0] g
            }
            [| dy; x |]

    let private checkOperands (op: string) (x: Tensor) (w: Tensor) =
        if x.DType <> w.DType then
            invalidArg
                "weight"
                (sprintf
                    "%s: dtypes differ (input %O %O, weight %O %O); cast one with Tensor.cast."
                    op
                    x.DType
                    x.Shape
                    w.DType
                    w.Shape)

        if x.DType <> DType.Float32 && x.DType <> DType.Float64 then
            invalidArg "x" (sprintf "%s is defined for float32 and float64 tensors, got %O; cast first." op x.DType)

    /// y + bias over the channel dim (dim 1), checking bias is [channels].
    let private addBias (op: string) (channels: int) (bias: Tensor option) (y: Tensor) =
        match bias with
        | None -> y
        | Some b ->
            if b.Rank <> 1 || b.Shape[0] <> channels then
                invalidArg
                    "bias"
                    (sprintf "%s: bias must be [%d] (one per output channel), got %O." op channels b.Shape)

            let dims = Array.init y.Rank (fun d -> if d = 1 then channels else 1)
            TensorCore.add y (TensorCore.reshape dims b)

    let private conv2dWith (op: string) (x: Tensor) (w: Tensor) (bias: Tensor option) (a: ConvArgs) =
        checkOperands op x w
        geometry op x.Shape w.Shape a |> ignore
        addBias op w.Shape[0] bias (conv2dOp a x w)

    let private convTranspose2dWith
        (x: Tensor)
        (w: Tensor)
        (bias: Tensor option)
        (a: ConvArgs)
        (outputPadding: int * int)
        =
        let op = "convTranspose2d"
        checkOperands op x w

        if x.Rank <> 4 || w.Rank <> 4 then
            invalidArg
                "x"
                (sprintf
                    "%s: expects input [N; C_in; H; W] and weight [C_in; C_out/groups; kH; kW], got %O and %O."
                    op
                    x.Shape
                    w.Shape)

        if x.Shape[1] <> w.Shape[0] then
            invalidArg
                "weight"
                (sprintf
                    "%s: channel mismatch: input %O has %d channels but weight %O expects %d."
                    op
                    x.Shape
                    x.Shape[1]
                    w.Shape
                    w.Shape[0])

        let (sh, sw), (ph, pw), (dh, dw), (oph, opw) =
            a.Stride, a.Padding, a.Dilation, outputPadding

        // The extra rows must be ones the matching convolution ignores (a stride remainder), so the output
        // padding has to stay below the stride.
        if oph < 0 || opw < 0 || oph >= max sh 1 || opw >= max sw 1 then
            invalidArg
                "outputPadding"
                (sprintf
                    "%s: output padding %s must be non-negative and smaller than the stride %s."
                    op
                    (Shape.format [ oph; opw ])
                    (Shape.format [ sh; sw ]))

        let outH = (x.Shape[2] - 1) * sh - 2 * ph + dh * (w.Shape[2] - 1) + oph + 1
        let outW = (x.Shape[3] - 1) * sw - 2 * pw + dw * (w.Shape[3] - 1) + opw + 1

        if outH < 1 || outW < 1 then
            invalidArg
                "padding"
                (sprintf
                    "%s: input %O with weight %O, stride %s and padding %s gives an empty output [%d; %d]."
                    op
                    x.Shape
                    w.Shape
                    (Shape.format [ sh; sw ])
                    (Shape.format [ ph; pw ])
                    outH
                    outW)

        if a.Groups < 1 || w.Shape[0] % a.Groups <> 0 then
            invalidArg
                "groups"
                (sprintf "%s: groups %d does not divide the %d input channels of %O." op a.Groups x.Shape[1] x.Shape)

        let outShape = Shape.Create [| x.Shape[0]; w.Shape[1] * a.Groups; outH; outW |]
        // The transposed convolution is the input gradient of the convolution from outShape back to x's shape.
        let g = geometry op outShape w.Shape a
        g.CheckOutput(op, x.Shape.ToArray())
        addBias op outShape[1] bias (inputGradOp a outShape x w)

    let private pair (v: int) = v, v

    type Tensor with
        /// 2-D convolution (cross-correlation) of x [N; C; H; W] with weight [O; C/groups; kH; kW], PyTorch's
        /// conv2d: output [N; O; (H + 2 padding - dilation (kH - 1) - 1) / stride + 1; ...], plus bias [O] when
        /// given. Square stride/padding/dilation as ints; use the overload taking pairs for (height, width).
        [<CompiledName("Conv2d"); Extension>]
        static member conv2d
            (
                x: Tensor,
                weight: Tensor,
                [<Optional>] bias: Tensor,
                [<Optional; DefaultParameterValue(1)>] stride: int,
                [<Optional; DefaultParameterValue(0)>] padding: int,
                [<Optional; DefaultParameterValue(1)>] dilation: int,
                [<Optional; DefaultParameterValue(1)>] groups: int
            ) =
            Args.required "conv2d" "x" x
            Args.required "conv2d" "weight" weight
            let bias = Args.opt bias

            conv2dWith
                "conv2d"
                x
                weight
                bias
                {
                    Stride = pair stride
                    Padding = pair padding
                    Dilation = pair dilation
                    Groups = groups
                }

        /// conv2d with (height, width) pairs: stride and padding are required here, which is what tells this
        /// overload apart from the square one.
        [<CompiledName("Conv2d"); Extension>]
        static member conv2d
            (
                x: Tensor,
                weight: Tensor,
                stride: int * int,
                padding: int * int,
                [<Optional>] dilation: int * int,
                [<Optional>] bias: Tensor,
                [<Optional; DefaultParameterValue(1)>] groups: int
            ) =
            Args.required "conv2d" "x" x
            Args.required "conv2d" "weight" weight
            Args.required "conv2d" "stride" stride
            Args.required "conv2d" "padding" padding
            let dilation = Args.opt dilation
            let bias = Args.opt bias

            conv2dWith
                "conv2d"
                x
                weight
                bias
                {
                    Stride = stride
                    Padding = padding
                    Dilation = defaultArg dilation (1, 1)
                    Groups = groups
                }

        /// 1-D convolution of x [N; C; L] with weight [O; C/groups; k], plus bias [O]: conv2d over a unit height.
        [<CompiledName("Conv1d"); Extension>]
        static member conv1d
            (
                x: Tensor,
                weight: Tensor,
                [<Optional>] bias: Tensor,
                [<Optional; DefaultParameterValue(1)>] stride: int,
                [<Optional; DefaultParameterValue(0)>] padding: int,
                [<Optional; DefaultParameterValue(1)>] dilation: int,
                [<Optional; DefaultParameterValue(1)>] groups: int
            ) =
            Args.required "conv1d" "x" x
            Args.required "conv1d" "weight" weight
            let bias = Args.opt bias
            let op = "conv1d"

            if x.Rank <> 3 || weight.Rank <> 3 then
                invalidArg
                    "x"
                    (sprintf
                        "%s: expects input [N; C; L] and weight [O; C/groups; k], got %O and %O."
                        op
                        x.Shape
                        weight.Shape)

            let x4 = TensorCore.reshape [| x.Shape[0]; x.Shape[1]; 1; x.Shape[2] |] x

            let w4 =
                TensorCore.reshape [| weight.Shape[0]; weight.Shape[1]; 1; weight.Shape[2] |] weight

            let y =
                conv2dWith
                    op
                    x4
                    w4
                    None
                    {
                        Stride = 1, stride
                        Padding = 0, padding
                        Dilation = 1, dilation
                        Groups = groups
                    }

            addBias op weight.Shape[0] bias (TensorCore.reshape [| y.Shape[0]; y.Shape[1]; y.Shape[3] |] y)

        /// Transposed 2-D convolution, PyTorch's conv_transpose2d: x [N; C_in; H; W], weight
        /// [C_in; C_out/groups; kH; kW], output [N; C_out; (H - 1) stride - 2 padding + dilation (kH - 1) +
        /// outputPadding + 1; ...], plus bias [C_out]. It is the gradient of conv2d with respect to its input.
        /// outputPadding must be smaller than the stride.
        [<CompiledName("ConvTranspose2d"); Extension>]
        static member convTranspose2d
            (
                x: Tensor,
                weight: Tensor,
                [<Optional>] bias: Tensor,
                [<Optional; DefaultParameterValue(1)>] stride: int,
                [<Optional; DefaultParameterValue(0)>] padding: int,
                [<Optional; DefaultParameterValue(0)>] outputPadding: int,
                [<Optional; DefaultParameterValue(1)>] groups: int,
                [<Optional; DefaultParameterValue(1)>] dilation: int
            ) =
            Args.required "convTranspose2d" "x" x
            Args.required "convTranspose2d" "weight" weight
            let bias = Args.opt bias

            convTranspose2dWith
                x
                weight
                bias
                {
                    Stride = pair stride
                    Padding = pair padding
                    Dilation = pair dilation
                    Groups = groups
                }
                (pair outputPadding)

        /// convTranspose2d with (height, width) pairs; stride and padding are required in this overload.
        [<CompiledName("ConvTranspose2d"); Extension>]
        static member convTranspose2d
            (
                x: Tensor,
                weight: Tensor,
                stride: int * int,
                padding: int * int,
                [<Optional>] outputPadding: int * int,
                [<Optional>] dilation: int * int,
                [<Optional>] bias: Tensor,
                [<Optional; DefaultParameterValue(1)>] groups: int
            ) =
            Args.required "convTranspose2d" "x" x
            Args.required "convTranspose2d" "weight" weight
            Args.required "convTranspose2d" "stride" stride
            Args.required "convTranspose2d" "padding" padding
            let outputPadding = Args.opt outputPadding
            let dilation = Args.opt dilation
            let bias = Args.opt bias

            convTranspose2dWith
                x
                weight
                bias
                {
                    Stride = stride
                    Padding = padding
                    Dilation = defaultArg dilation (1, 1)
                    Groups = groups
                }
                (defaultArg outputPadding (0, 0))
