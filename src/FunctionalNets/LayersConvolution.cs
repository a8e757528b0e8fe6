using FunctionalNets.Nn;

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
        int dilation = 1, int groups = 1, bool bias = true, bool same = false, PaddingMode paddingMode = PaddingMode.Zeros) =>
        new(ConvolutionalLayers.Conv2d(inChannels, outChannels, kernelSize, stride, padding, dilation, groups, bias, same,
            Interop.PadMode(paddingMode)));

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
        int dilation = 1, int groups = 1, bool bias = true, bool same = false, PaddingMode paddingMode = PaddingMode.Zeros) =>
        new(ConvolutionalLayers.Conv1d(inChannels, outChannels, kernelSize, stride, padding, dilation, groups, bias, same,
            Interop.PadMode(paddingMode)));

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
        int outputPadding = 0, int groups = 1, int dilation = 1, bool bias = true) =>
        new(ConvolutionalLayers.ConvTranspose2d(inChannels, outChannels, kernelSize, stride, padding, outputPadding, groups,
            dilation, bias));

    /// <summary>2-D max pooling over [N, C, H, W], as PyTorch's nn.MaxPool2d (padding counts as -infinity).</summary>
    /// <param name="kernelSize">The square window's side.</param>
    /// <param name="stride">The step between windows; defaults to the kernel size.</param>
    /// <param name="padding">Padding on every side, at most half the kernel.</param>
    /// <param name="dilation">The spacing between window taps.</param>
    /// <param name="ceilMode">Round the output size up instead of down.</param>
    public static Layer MaxPool2d(int kernelSize, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false) =>
        new(ConvolutionalLayers.MaxPool2d(kernelSize, stride, padding, dilation, ceilMode));

    /// <summary>2-D average pooling over [N, C, H, W], as PyTorch's nn.AvgPool2d.</summary>
    /// <param name="kernelSize">The square window's side.</param>
    /// <param name="stride">The step between windows; defaults to the kernel size.</param>
    /// <param name="padding">Zero padding on every side, at most half the kernel.</param>
    /// <param name="ceilMode">Round the output size up instead of down.</param>
    /// <param name="countIncludePad">Divide by the whole window, padding included.</param>
    public static Layer AvgPool2d(int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false, bool countIncludePad = true) =>
        new(ConvolutionalLayers.AvgPool2d(kernelSize, stride, padding, ceilMode, countIncludePad));

    /// <summary>Averages each plane down to a fixed [height, width] whatever the input size, as PyTorch's
    /// nn.AdaptiveAvgPool2d.</summary>
    /// <param name="height">The output height.</param>
    /// <param name="width">The output width; defaults to the height.</param>
    public static Layer AdaptiveAvgPool2d(int height, int? width = null) =>
        new(ConvolutionalLayers.AdaptiveAvgPool2d(height, width));

    /// <summary>A residual connection: activation(body(x) + shortcut(x)); the shortcut defaults to the
    /// identity and the activation to none. Parameters live under "body", "shortcut" and "activation".</summary>
    /// <param name="body">The residual branch.</param>
    /// <param name="shortcut">A layer that matches the body's output shape (e.g. a strided 1x1 convolution).</param>
    /// <param name="activation">A layer applied to the sum.</param>
    public static Layer Residual(Layer body, Layer? shortcut = null, Layer? activation = null) =>
        new(ResidualLayers.Residual(body?.Inner!, shortcut?.Inner!, activation?.Inner!));

    /// <summary>ResNet's basic block: two 3x3 convolution + BatchNorm stages with a ReLU between and after,
    /// and a 1x1 convolution + BatchNorm shortcut when the stride or the channel count changes.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="stride">The first convolution's stride (2 halves the plane).</param>
    public static Layer BasicBlock(int inChannels, int outChannels, int stride = 1) =>
        new(ResidualLayers.BasicBlock(inChannels, outChannels, stride));
}
