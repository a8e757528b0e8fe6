namespace FunctionalNets.Nn

open System
open System.Runtime.InteropServices
open FunctionalNets

/// Convolution and pooling layers with PyTorch's names, defaults, parameter names ("weight" [O; C/groups;
/// k...], "bias" [O]) and initialization. Shapes put the batch first and channels second: [N; C; L] for
/// the 1-D layers, [N; C; H; W] for the 2-D ones.
[<AutoOpen>]
module ConvolutionalLayers =
    /// Output length of one spatial dim under PyTorch's convolution and pooling arithmetic.
    let internal outLength (size: int) (kernel: int) (stride: int) (padding: int) (dilation: int) (ceilMode: bool) =
        let span = size + 2 * padding - dilation * (kernel - 1) - 1

        if span < 0 then
            None
        else
            let steps =
                if ceilMode then
                    let s = (span + stride - 1) / stride
                    // PyTorch drops a last window that would start inside the right padding only.
                    if s * stride >= size + padding then s - 1 else s
                else
                    span / stride

            Some(steps + 1)

    /// The per-example output shape of a layer mapping [C; spatial...] to [outChannels; spatial'...], or an
    /// exception naming the layer, the shape and why no window fits.
    let internal spatialOut
        (name: string)
        (inChannels: int)
        (outChannels: int)
        (spatialRank: int)
        (length: int -> int -> int option)
        (shape: Shape)
        =
        let expected =
            if spatialRank = 1 then
                sprintf "[%d; L]" inChannels
            else
                sprintf "[%d; H; W]" inChannels

        if shape.Rank <> spatialRank + 1 then
            invalidArg
                "shape"
                (sprintf
                    "%s: input shape %O (per example, without the batch dim) has rank %d, expected %s."
                    name
                    shape
                    shape.Rank
                    expected)

        if inChannels > 0 && shape[0] <> inChannels then
            invalidArg
                "shape"
                (sprintf
                    "%s: input shape %O (per example, without the batch dim) has %d channels, expected %d (%s)."
                    name
                    shape
                    shape[0]
                    inChannels
                    expected)

        let dims =
            Array.init spatialRank (fun d ->
                match length d shape[d + 1] with
                | Some n when n >= 1 -> n
                | _ ->
                    invalidArg
                        "shape"
                        (sprintf
                            "%s: the kernel is larger than the padded input %O (per example): no output position fits; use a smaller kernel or more padding."
                            name
                            shape))

        Shape.ofArray (Array.append [| (if outChannels > 0 then outChannels else shape[0]) |] dims)

    /// Checks a batch against the channel count and rank before the op runs, so that the message names the
    /// layer rather than the op.
    let internal checkBatch (name: string) (channels: int) (rank: int) (x: Tensor) =
        if x.Rank <> rank then
            invalidArg
                "input"
                (sprintf
                    "%s: input %O has rank %d, expected %s."
                    name
                    x.Shape
                    x.Rank
                    (if rank = 3 then "[N; C; L]" else "[N; C; H; W]"))

        if channels > 0 && x.Shape[1] <> channels then
            invalidArg "input" (sprintf "%s: input %O has %d channels, expected %d." name x.Shape x.Shape[1] channels)

    let private checkPositive (name: string) (what: string) (value: int) = Check.atLeast name what 1 value

    let private checkConvArgs
        (name: string)
        (inChannels: int)
        (outChannels: int)
        (kernel: int)
        (stride: int)
        (padding: int)
        (dilation: int)
        (groups: int)
        =
        checkPositive name "inChannels" inChannels
        checkPositive name "outChannels" outChannels
        checkPositive name "kernelSize" kernel
        checkPositive name "stride" stride
        checkPositive name "dilation" dilation
        checkPositive name "groups" groups

        if padding < 0 then
            Check.atLeast name "padding" 0 padding

        Check.inRange
            (inChannels % groups = 0 && outChannels % groups = 0)
            "groups"
            groups
            (sprintf
                "%s: inChannels %d and outChannels %d must both be divisible by groups %d."
                name
                inChannels
                outChannels
                groups)

    /// PyTorch's convolution init: kaiming_uniform(a = sqrt 5) for the weight, i.e. U(-1/sqrt fan_in,
    /// 1/sqrt fan_in) with fan_in = weight.shape[1] * prod(kernel), and the same bounds for the bias.
    let private convParams (key: Key) (weightShape: int list) (outChannels: int) (bias: bool) =
        let kw, kb = Key.split key
        let weight = Init.kaimingUniform (kw, weightShape, a = sqrt 5.0)

        if bias then
            let fanIn = weightShape |> List.tail |> List.fold (*) 1
            let bound = 1.0 / sqrt (float fanIn)

            Node
                [
                    "weight", Leaf weight
                    "bias", Leaf(Init.uniform (kb, [ outChannels ], -bound, bound))
                ]
        else
            Node [ "weight", Leaf weight ]

    let private convLayer
        (name: string)
        (spatialRank: int)
        (inChannels: int)
        (outChannels: int)
        (weightShape: int list)
        (bias: bool)
        (length: int -> int -> int option)
        (run: Tensor -> Tensor -> Tensor option -> Tensor)
        =
        let init (key: Key) (shape: Shape) =
            let out = spatialOut name inChannels outChannels spatialRank length shape
            out, convParams key weightShape outChannels bias, PTree.empty

        let apply (ps: Params) (state: State) (_: Ctx) (x: Tensor) =
            checkBatch name inChannels (spatialRank + 2) x
            // The per-example shape check gives the "kernel larger than input" message with the layer's name.
            spatialOut name inChannels outChannels spatialRank length (Shape.ofArray (x.Shape.ToArray()[1..]))
            |> ignore

            let w = Layer.param name "weight" ps

            let b = if bias then Some(Layer.param name "bias" ps) else None

            run x w b, state

        Layer.create name init apply

    let private poolName (kind: string) (kernel: int) (stride: int) (padding: int) =
        sprintf "%s(kernel=%d, stride=%d, padding=%d)" kind kernel stride padding

    let private checkPool (name: string) (kernel: int) (stride: int) (padding: int) (dilation: int) =
        checkPositive name "kernelSize" kernel
        checkPositive name "stride" stride
        checkPositive name "dilation" dilation

        if padding < 0 || 2 * padding > kernel then
            raise (
                System.ArgumentOutOfRangeException(
                    "padding",
                    padding,
                    sprintf "%s: padding must be between 0 and half the kernel size, got %d." name padding
                )
            )

    let private poolLayer (name: string) (length: int -> int -> int option) (run: Tensor -> Tensor) =
        let outShape (shape: Shape) =
            spatialOut name (if shape.Rank > 0 then shape[0] else 0) 0 2 length shape

        Layer.stateless name outShape (fun _ x ->
            checkBatch name 0 4 x
            outShape (Shape.ofArray (x.Shape.ToArray()[1..])) |> ignore
            run x)

    /// Conv1d and Conv2d: "weight" [outChannels; inChannels / groups; k (; k)], the op (given its symmetric
    /// padding) applied with the layer's options and an optional bias. same pads dilation (k - 1) in total per
    /// spatial dim, the odd element on the right/bottom (torch's padding='same', stride 1 only); a paddingMode
    /// other than zeros pads the input explicitly first (torch's F.pad(mode) then a convolution without padding).
    let private convNd
        (kind: string)
        (spatialRank: int)
        (op: Tensor -> Tensor -> Tensor option -> int -> Tensor)
        (inChannels: int)
        (outChannels: int)
        (kernelSize: int)
        (stride: int)
        (padding: int)
        (dilation: int)
        (groups: int)
        (bias: bool)
        (same: bool)
        (paddingMode: PadMode)
        =
        // An omitted paddingMode arrives as null ([<Optional>] without a constant default): zeros.
        let paddingMode =
            if isNull (box paddingMode) then
                PadMode.Constant 0.0
            else
                paddingMode

        let paddingText = if same then "same" else string padding

        let modeText =
            match paddingMode with
            | PadMode.Constant 0.0 -> ""
            | PadMode.Constant v -> sprintf ", padding_mode=constant %g" v
            | m -> sprintf ", padding_mode=%s" ((sprintf "%A" m).ToLowerInvariant())

        let name =
            sprintf
                "%s(%d->%d, kernel=%d, stride=%d, padding=%s%s%s%s)"
                kind
                inChannels
                outChannels
                kernelSize
                stride
                paddingText
                (if dilation <> 1 then
                     sprintf ", dilation=%d" dilation
                 else
                     "")
                (if groups <> 1 then sprintf ", groups=%d" groups else "")
                modeText

        checkConvArgs name inChannels outChannels kernelSize stride padding dilation groups

        if same && stride <> 1 then
            invalidArg "same" (sprintf "%s: padding 'same' needs stride 1 (as in PyTorch), got stride %d." name stride)

        if same && padding <> 0 then
            invalidArg "padding" (sprintf "%s: give either padding or same, not both." name)

        let before, after =
            if same then
                let total = dilation * (kernelSize - 1)
                total / 2, total - total / 2
            else
                padding, padding

        let explicitPadding = before <> after || paddingMode <> PadMode.Constant 0.0

        let run (x: Tensor) (w: Tensor) (b: Tensor option) =
            if explicitPadding && (before > 0 || after > 0) then
                op (Tensor.pad (x, List.replicate spatialRank (before, after), paddingMode)) w b 0
            else
                op x w b before

        convLayer
            name
            spatialRank
            inChannels
            outChannels
            ([ outChannels; inChannels / groups ] @ List.replicate spatialRank kernelSize)
            bias
            (fun _ size ->
                // (before + after) / 2 is the symmetric padding giving the same length (the kernel arithmetic
                // only sees their sum).
                outLength (size + (before + after) % 2) kernelSize stride ((before + after) / 2) dilation false)
            run

    type Layers with
        /// PyTorch's Conv2d(inChannels, outChannels, kernelSize, stride, padding, dilation, groups, bias,
        /// padding_mode): a 2-D cross-correlation of [N; inChannels; H; W] with "weight" [outChannels; inChannels /
        /// groups; k; k] plus "bias" [outChannels]. groups = inChannels = outChannels is a depthwise convolution.
        /// same is torch's padding='same' (even kernels pad the extra row/column at the bottom/right); padding 0
        /// is 'valid'. paddingMode fills the border (zeros when omitted: PadMode.Constant 0.0).
        [<CompiledName("Conv2d")>]
        static member conv2d
            (
                inChannels: int,
                outChannels: int,
                kernelSize: int,
                [<Optional; DefaultParameterValue(1)>] stride: int,
                [<Optional; DefaultParameterValue(0)>] padding: int,
                [<Optional; DefaultParameterValue(1)>] dilation: int,
                [<Optional; DefaultParameterValue(1)>] groups: int,
                [<Optional; DefaultParameterValue(true)>] bias: bool,
                [<Optional; DefaultParameterValue(false)>] same: bool,
                [<Optional>] paddingMode: PadMode
            ) : Layer =

            convNd
                "Conv2d"
                2
                (fun x w b padding ->
                    Tensor.conv2d (
                        x,
                        w,
                        ?bias = b,
                        stride = stride,
                        padding = padding,
                        dilation = dilation,
                        groups = groups
                    ))
                inChannels
                outChannels
                kernelSize
                stride
                padding
                dilation
                groups
                bias
                same
                paddingMode

        /// PyTorch's Conv1d: [N; inChannels; L] with "weight" [outChannels; inChannels / groups; k] and "bias";
        /// same and paddingMode as in conv2d.
        [<CompiledName("Conv1d")>]
        static member conv1d
            (
                inChannels: int,
                outChannels: int,
                kernelSize: int,
                [<Optional; DefaultParameterValue(1)>] stride: int,
                [<Optional; DefaultParameterValue(0)>] padding: int,
                [<Optional; DefaultParameterValue(1)>] dilation: int,
                [<Optional; DefaultParameterValue(1)>] groups: int,
                [<Optional; DefaultParameterValue(true)>] bias: bool,
                [<Optional; DefaultParameterValue(false)>] same: bool,
                [<Optional>] paddingMode: PadMode
            ) : Layer =

            convNd
                "Conv1d"
                1
                (fun x w b padding ->
                    Tensor.conv1d (
                        x,
                        w,
                        ?bias = b,
                        stride = stride,
                        padding = padding,
                        dilation = dilation,
                        groups = groups
                    ))
                inChannels
                outChannels
                kernelSize
                stride
                padding
                dilation
                groups
                bias
                same
                paddingMode

        /// PyTorch's ConvTranspose2d: [N; inChannels; H; W] -> [N; outChannels; (H - 1) stride - 2 padding +
        /// dilation (k - 1) + outputPadding + 1; ...] with "weight" [inChannels; outChannels / groups; k; k] and
        /// "bias" [outChannels]; initialized as PyTorch does (fan_in from the weight's second dim).
        [<CompiledName("ConvTranspose2d")>]
        static member convTranspose2d
            (
                inChannels: int,
                outChannels: int,
                kernelSize: int,
                [<Optional; DefaultParameterValue(1)>] stride: int,
                [<Optional; DefaultParameterValue(0)>] padding: int,
                [<Optional; DefaultParameterValue(0)>] outputPadding: int,
                [<Optional; DefaultParameterValue(1)>] groups: int,
                [<Optional; DefaultParameterValue(1)>] dilation: int,
                [<Optional; DefaultParameterValue(true)>] bias: bool
            ) : Layer =

            let name =
                sprintf
                    "ConvTranspose2d(%d->%d, kernel=%d, stride=%d, padding=%d%s)"
                    inChannels
                    outChannels
                    kernelSize
                    stride
                    padding
                    (if outputPadding <> 0 then
                         sprintf ", outputPadding=%d" outputPadding
                     else
                         "")

            checkConvArgs name inChannels outChannels kernelSize stride padding dilation groups

            if outputPadding < 0 || (outputPadding >= stride && outputPadding >= dilation) then
                raise (
                    System.ArgumentOutOfRangeException(
                        "outputPadding",
                        outputPadding,
                        sprintf "%s: outputPadding must be >= 0 and smaller than the stride or the dilation." name
                    )
                )

            let length _ size =
                let n =
                    (size - 1) * stride - 2 * padding
                    + dilation * (kernelSize - 1)
                    + outputPadding
                    + 1

                if size >= 1 && n >= 1 then Some n else None

            convLayer
                name
                2
                inChannels
                outChannels
                [ inChannels; outChannels / groups; kernelSize; kernelSize ]
                bias
                length
                (fun x w b ->
                    Tensor.convTranspose2d (
                        x,
                        w,
                        ?bias = b,
                        stride = stride,
                        padding = padding,
                        outputPadding = outputPadding,
                        groups = groups,
                        dilation = dilation
                    ))

        /// PyTorch's MaxPool2d(kernelSize, stride = kernelSize, padding = 0, dilation = 1, ceilMode = false);
        /// a null stride is the kernel size.
        [<CompiledName("MaxPool2d")>]
        static member maxPool2d
            (
                kernelSize: int,
                [<Optional>] stride: Nullable<int>,
                [<Optional; DefaultParameterValue(0)>] padding: int,
                [<Optional; DefaultParameterValue(1)>] dilation: int,
                [<Optional; DefaultParameterValue(false)>] ceilMode: bool
            ) : Layer =
            let stride = if stride.HasValue then stride.Value else kernelSize
            let name = poolName "MaxPool2d" kernelSize stride padding
            checkPool name kernelSize stride padding dilation

            poolLayer name (fun _ size -> outLength size kernelSize stride padding dilation ceilMode) (fun x ->
                Tensor.maxPool2d (
                    x,
                    kernelSize,
                    stride = stride,
                    padding = padding,
                    dilation = dilation,
                    ceilMode = ceilMode
                ))

        /// PyTorch's AvgPool2d(kernelSize, stride = kernelSize, padding = 0, ceilMode = false,
        /// countIncludePad = true); a null stride is the kernel size.
        [<CompiledName("AvgPool2d")>]
        static member avgPool2d
            (
                kernelSize: int,
                [<Optional>] stride: Nullable<int>,
                [<Optional; DefaultParameterValue(0)>] padding: int,
                [<Optional; DefaultParameterValue(false)>] ceilMode: bool,
                [<Optional; DefaultParameterValue(true)>] countIncludePad: bool
            ) : Layer =
            let stride = if stride.HasValue then stride.Value else kernelSize
            let name = poolName "AvgPool2d" kernelSize stride padding
            checkPool name kernelSize stride padding 1

            poolLayer name (fun _ size -> outLength size kernelSize stride padding 1 ceilMode) (fun x ->
                Tensor.avgPool2d (
                    x,
                    kernelSize,
                    stride = stride,
                    padding = padding,
                    ceilMode = ceilMode,
                    countIncludePad = countIncludePad
                ))

        /// PyTorch's AdaptiveAvgPool2d((height, width)): averages each input plane down to a fixed output
        /// plane, whatever the input's spatial size; a null width is the height (a square plane).
        [<CompiledName("AdaptiveAvgPool2d")>]
        static member adaptiveAvgPool2d(height: int, [<Optional>] width: Nullable<int>) : Layer =
            let width = if width.HasValue then width.Value else height
            let name = sprintf "AdaptiveAvgPool2d(%d, %d)" height width
            checkPositive name "height" height
            checkPositive name "width" width
            let target = [| height; width |]

            poolLayer name (fun d size -> if size >= 1 then Some target[d] else None) (fun x ->
                Tensor.adaptiveAvgPool2d (x, (height, width)))
