namespace FunctionalNets.Nn.Interop

open FunctionalNets.Nn

/// The convolution, pooling, residual and normalization layers under plain .NET names for the C# host (F#
/// declares them as extension members of Layers, which other .NET languages cannot call). The C# side
/// validates and supplies every argument, so these take no optionals.
[<AbstractClass; Sealed>]
type internal ConvBridge =
    static member Conv1d
        (
            inChannels: int,
            outChannels: int,
            kernelSize: int,
            stride: int,
            padding: int,
            dilation: int,
            groups: int,
            bias: bool,
            same: bool,
            paddingMode: FunctionalNets.PadMode
        ) =
        Layers.conv1d (
            inChannels,
            outChannels,
            kernelSize,
            stride = stride,
            padding = padding,
            dilation = dilation,
            groups = groups,
            bias = bias,
            same = same,
            paddingMode = paddingMode
        )

    static member Conv2d
        (
            inChannels: int,
            outChannels: int,
            kernelSize: int,
            stride: int,
            padding: int,
            dilation: int,
            groups: int,
            bias: bool,
            same: bool,
            paddingMode: FunctionalNets.PadMode
        ) =
        Layers.conv2d (
            inChannels,
            outChannels,
            kernelSize,
            stride = stride,
            padding = padding,
            dilation = dilation,
            groups = groups,
            bias = bias,
            same = same,
            paddingMode = paddingMode
        )

    static member ConvTranspose2d
        (
            inChannels: int,
            outChannels: int,
            kernelSize: int,
            stride: int,
            padding: int,
            outputPadding: int,
            groups: int,
            dilation: int,
            bias: bool
        ) =
        Layers.convTranspose2d (
            inChannels,
            outChannels,
            kernelSize,
            stride = stride,
            padding = padding,
            outputPadding = outputPadding,
            groups = groups,
            dilation = dilation,
            bias = bias
        )

    static member MaxPool2d(kernelSize: int, stride: int, padding: int, dilation: int, ceilMode: bool) =
        Layers.maxPool2d (kernelSize, stride = stride, padding = padding, dilation = dilation, ceilMode = ceilMode)

    static member AvgPool2d(kernelSize: int, stride: int, padding: int, ceilMode: bool, countIncludePad: bool) =
        Layers.avgPool2d (
            kernelSize,
            stride = stride,
            padding = padding,
            ceilMode = ceilMode,
            countIncludePad = countIncludePad
        )

    static member AdaptiveAvgPool2d(height: int, width: int) =
        Layers.adaptiveAvgPool2d (height, width)

    static member Residual(body: Layer, shortcut: Layer option, activation: Layer option) =
        Layers.residual (body, ?shortcut = shortcut, ?activation = activation)

    static member BasicBlock(inChannels: int, outChannels: int, stride: int) =
        Layers.basicBlock (inChannels, outChannels, stride = stride)
