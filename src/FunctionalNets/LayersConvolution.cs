using Bridge = FunctionalNets.Nn.Interop.ConvBridge;

namespace FunctionalNets;

/// <summary>How a convolution fills the border it pads (torch's padding_mode).</summary>
public enum PaddingMode
{
    /// <summary>Zeros (torch's default).</summary>
    Zeros = 0,
    /// <summary>The mirror image without repeating the edge.</summary>
    Reflect = 1,
    /// <summary>The edge repeated.</summary>
    Replicate = 2,
    /// <summary>The input wrapped around.</summary>
    Circular = 3,
}

public static partial class Layers
{
    private static void CheckConv(string name, int inChannels, int outChannels, int kernelSize, int stride, int padding, int dilation, int groups)
    {
        if (inChannels < 1) throw new ArgumentOutOfRangeException(nameof(inChannels), inChannels, $"{name}: inChannels must be >= 1.");
        if (outChannels < 1) throw new ArgumentOutOfRangeException(nameof(outChannels), outChannels, $"{name}: outChannels must be >= 1.");
        if (kernelSize < 1) throw new ArgumentOutOfRangeException(nameof(kernelSize), kernelSize, $"{name}: kernelSize must be >= 1.");
        if (stride < 1) throw new ArgumentOutOfRangeException(nameof(stride), stride, $"{name}: stride must be >= 1.");
        if (padding < 0) throw new ArgumentOutOfRangeException(nameof(padding), padding, $"{name}: padding must be >= 0.");
        if (dilation < 1) throw new ArgumentOutOfRangeException(nameof(dilation), dilation, $"{name}: dilation must be >= 1.");
        if (groups < 1 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentOutOfRangeException(nameof(groups), groups,
                $"{name}: groups must be >= 1 and divide inChannels {inChannels} and outChannels {outChannels}.");
    }

    /// <summary>A 2-D convolution (cross-correlation) of [N, inChannels, H, W] with "weight"
    /// [outChannels, inChannels / groups, k, k] and "bias" [outChannels], as PyTorch's nn.Conv2d (same
    /// defaults and initialization). groups = inChannels = outChannels makes it depthwise.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="kernelSize">The square kernel's side.</param>
    /// <param name="stride">The step between windows.</param>
    /// <param name="padding">Zeros added on every side.</param>
    /// <param name="dilation">The spacing between kernel taps.</param>
    /// <param name="groups">Channel groups convolved separately.</param>
    /// <param name="bias">Whether to add a learned bias.</param>
    /// <param name="same">torch's padding='same': the output keeps the input's size (stride 1 only; an even kernel
    /// pads the extra element at the end). padding 0 is torch's 'valid'.</param>
    /// <param name="paddingMode">How the border is filled (torch's padding_mode).</param>
    public static Layer Conv2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0,
        int dilation = 1, int groups = 1, bool bias = true, bool same = false, PaddingMode paddingMode = PaddingMode.Zeros)
    {
        CheckConv("Conv2d", inChannels, outChannels, kernelSize, stride, padding, dilation, groups);
        if (same && stride != 1)
            throw new ArgumentException($"Conv2d: padding 'same' needs stride 1 (as in PyTorch), got stride {stride}.", nameof(same));
        if (same && padding != 0)
            throw new ArgumentException("Conv2d: give either padding or same, not both.", nameof(padding));
        return new(Bridge.Conv2d(inChannels, outChannels, kernelSize, stride, padding, dilation, groups, bias, same, Interop.PadMode(paddingMode)));
    }

    /// <summary>A 1-D convolution of [N, inChannels, L] with "weight" [outChannels, inChannels / groups, k]
    /// and "bias" [outChannels], as PyTorch's nn.Conv1d.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="kernelSize">The kernel's length.</param>
    /// <param name="stride">The step between windows.</param>
    /// <param name="padding">Zeros added at both ends.</param>
    /// <param name="dilation">The spacing between kernel taps.</param>
    /// <param name="groups">Channel groups convolved separately.</param>
    /// <param name="bias">Whether to add a learned bias.</param>
    /// <param name="same">torch's padding='same': the output keeps the input's size (stride 1 only; an even kernel
    /// pads the extra element at the end). padding 0 is torch's 'valid'.</param>
    /// <param name="paddingMode">How the border is filled (torch's padding_mode).</param>
    public static Layer Conv1d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0,
        int dilation = 1, int groups = 1, bool bias = true, bool same = false, PaddingMode paddingMode = PaddingMode.Zeros)
    {
        CheckConv("Conv1d", inChannels, outChannels, kernelSize, stride, padding, dilation, groups);
        if (same && stride != 1)
            throw new ArgumentException($"Conv1d: padding 'same' needs stride 1 (as in PyTorch), got stride {stride}.", nameof(same));
        if (same && padding != 0)
            throw new ArgumentException("Conv1d: give either padding or same, not both.", nameof(padding));
        return new(Bridge.Conv1d(inChannels, outChannels, kernelSize, stride, padding, dilation, groups, bias, same, Interop.PadMode(paddingMode)));
    }

    /// <summary>A transposed 2-D convolution (the gradient of Conv2d with respect to its input), as PyTorch's
    /// nn.ConvTranspose2d: "weight" [inChannels, outChannels / groups, k, k], output side
    /// (H - 1) stride - 2 padding + dilation (k - 1) + outputPadding + 1.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="kernelSize">The square kernel's side.</param>
    /// <param name="stride">The upsampling step.</param>
    /// <param name="padding">Rows and columns removed from every side of the full output.</param>
    /// <param name="outputPadding">Extra rows and columns on the bottom and right (smaller than the stride).</param>
    /// <param name="groups">Channel groups.</param>
    /// <param name="dilation">The spacing between kernel taps.</param>
    /// <param name="bias">Whether to add a learned bias.</param>
    public static Layer ConvTranspose2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0,
        int outputPadding = 0, int groups = 1, int dilation = 1, bool bias = true)
    {
        CheckConv("ConvTranspose2d", inChannels, outChannels, kernelSize, stride, padding, dilation, groups);
        if (outputPadding < 0 || (outputPadding >= stride && outputPadding >= dilation))
            throw new ArgumentOutOfRangeException(nameof(outputPadding), outputPadding,
                "ConvTranspose2d: outputPadding must be >= 0 and smaller than the stride or the dilation.");
        return new(Bridge.ConvTranspose2d(inChannels, outChannels, kernelSize, stride, padding, outputPadding, groups, dilation, bias));
    }

    /// <summary>2-D max pooling over [N, C, H, W], as PyTorch's nn.MaxPool2d (padding counts as -infinity).</summary>
    /// <param name="kernelSize">The square window's side.</param>
    /// <param name="stride">The step between windows; defaults to the kernel size.</param>
    /// <param name="padding">Padding on every side, at most half the kernel.</param>
    /// <param name="dilation">The spacing between window taps.</param>
    /// <param name="ceilMode">Round the output size up instead of down.</param>
    public static Layer MaxPool2d(int kernelSize, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false)
    {
        if (kernelSize < 1) throw new ArgumentOutOfRangeException(nameof(kernelSize), kernelSize, "MaxPool2d: kernelSize must be >= 1.");
        return new(Bridge.MaxPool2d(kernelSize, stride ?? kernelSize, padding, dilation, ceilMode));
    }

    /// <summary>2-D average pooling over [N, C, H, W], as PyTorch's nn.AvgPool2d.</summary>
    /// <param name="kernelSize">The square window's side.</param>
    /// <param name="stride">The step between windows; defaults to the kernel size.</param>
    /// <param name="padding">Zero padding on every side, at most half the kernel.</param>
    /// <param name="ceilMode">Round the output size up instead of down.</param>
    /// <param name="countIncludePad">Divide by the whole window, padding included.</param>
    public static Layer AvgPool2d(int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false, bool countIncludePad = true)
    {
        if (kernelSize < 1) throw new ArgumentOutOfRangeException(nameof(kernelSize), kernelSize, "AvgPool2d: kernelSize must be >= 1.");
        return new(Bridge.AvgPool2d(kernelSize, stride ?? kernelSize, padding, ceilMode, countIncludePad));
    }

    /// <summary>Averages each plane down to a fixed [height, width] whatever the input size, as PyTorch's
    /// nn.AdaptiveAvgPool2d.</summary>
    /// <param name="height">The output height.</param>
    /// <param name="width">The output width; defaults to the height.</param>
    public static Layer AdaptiveAvgPool2d(int height, int? width = null)
    {
        if (height < 1) throw new ArgumentOutOfRangeException(nameof(height), height, "AdaptiveAvgPool2d: height must be >= 1.");
        if (width is < 1) throw new ArgumentOutOfRangeException(nameof(width), width, "AdaptiveAvgPool2d: width must be >= 1.");
        return new(Bridge.AdaptiveAvgPool2d(height, width ?? height));
    }

    /// <summary>A residual connection: activation(body(x) + shortcut(x)); the shortcut defaults to the
    /// identity and the activation to none. Parameters live under "body", "shortcut" and "activation".</summary>
    /// <param name="body">The residual branch.</param>
    /// <param name="shortcut">A layer that matches the body's output shape (e.g. a strided 1x1 convolution).</param>
    /// <param name="activation">A layer applied to the sum.</param>
    public static Layer Residual(Layer body, Layer? shortcut = null, Layer? activation = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        return new(Bridge.Residual(body.Inner, Interop.Option(shortcut?.Inner), Interop.Option(activation?.Inner)));
    }

    /// <summary>ResNet's basic block: two 3x3 convolution + BatchNorm stages with a ReLU between and after,
    /// and a 1x1 convolution + BatchNorm shortcut when the stride or the channel count changes.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="stride">The first convolution's stride (2 halves the plane).</param>
    public static Layer BasicBlock(int inChannels, int outChannels, int stride = 1)
    {
        CheckConv("BasicBlock", inChannels, outChannels, 3, stride, 1, 1, 1);
        return new(Bridge.BasicBlock(inChannels, outChannels, stride));
    }
}
