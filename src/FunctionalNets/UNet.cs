using FunctionalNets.Nn;
using Microsoft.FSharp.Core;
using NnUNet = FunctionalNets.Nn.UNet;

namespace FunctionalNets;

/// <summary>
/// The small DDPM U-Net (Ho et al. 2020, scaled down) that predicts the noise in x_t from x_t and the timestep t:
/// a sinusoidal time embedding through a two-layer MLP, time-conditioned residual blocks with GroupNorm at full,
/// half and quarter resolution, self-attention at the quarter resolution, and skip connections on the way up.
/// It takes two inputs (the images and their timesteps), so it is not a <see cref="Net"/>: its parameters are a
/// <see cref="ParameterTree"/> from <see cref="Init(int, Device?)"/> that a hand-written loop differentiates and
/// updates (<see cref="Gradients"/>, <see cref="Optimizer.Update"/>), and <see cref="Apply"/> runs it:
/// <code>
/// var unet = new UNet(channels: 16);
/// var parameters = unet.Init(seed: 0);
/// var loss = NoiseSchedule.Linear().NoiseLoss(unet.Denoiser(parameters), images, key);
/// </code>
/// Images must be [N, ImageChannels, H, W] with H and W divisible by 4 (MNIST's 28 x 28).
/// </summary>
public sealed class UNet
{
    private readonly UNetConfig config;
    private readonly FSharpFunc<PTree<Tensor>, FSharpFunc<Tensor, FSharpFunc<Tensor, Tensor>>> apply;
    // The paths, shapes and dtypes every parameter tree given to Apply must have. Only that metadata is read, so
    // the weights drawn for it go back to the allocator at once.
    private readonly ParameterTree template;

    /// <summary>A U-Net of the given widths; an <see cref="ArgumentException"/> names a width that does not fit
    /// (groups must divide the channels, heads twice the channels).</summary>
    /// <param name="channels">Channels at full resolution; the half- and quarter-resolution levels have twice as
    /// many.</param>
    /// <param name="imageChannels">Channels of the images (1 for MNIST).</param>
    /// <param name="groups">GroupNorm groups; must divide <paramref name="channels"/>.</param>
    /// <param name="heads">Attention heads at the lowest resolution; must divide 2 · channels.</param>
    public UNet(int channels = 32, int imageChannels = 1, int groups = 8, int heads = 4)
    {
        config = new UNetConfig(imageChannels, channels, groups, heads);
        // Both check the configuration, the first without drawing any weights.
        apply = GenerativeTerms.Run("UNet", "UNet", () => NnUNet.apply(config));
        using (Scope.Open()) template = Init(0);
    }

    /// <summary>Channels at full resolution.</summary>
    public int Channels => config.Channels;

    /// <summary>Channels of the images.</summary>
    public int ImageChannels => config.ImageChannels;

    /// <summary>GroupNorm groups.</summary>
    public int Groups => config.Groups;

    /// <summary>Attention heads at the lowest resolution.</summary>
    public int Heads => config.Heads;

    /// <summary>Number of trainable values.</summary>
    public long ParameterCount => template.ElementCount;

    /// <summary>Freshly initialised parameters, one subtree per block ("time_mlp_in", "in_conv", "down0", ...,
    /// "out_conv").</summary>
    /// <param name="key">The key the weights are drawn from.</param>
    /// <param name="device">Where the parameters live; null for the CPU.</param>
    public ParameterTree Init(Key key, Device? device = null)
    {
        var p = GenerativeTerms.Run("UNet.Init", "UNet", () => NnUNet.init(config, key));
        return new ParameterTree(device is null ? p : PTree.map(Interop.Func<Tensor, Tensor>(t => CreationOps.ToDevice(device, t)), p));
    }

    /// <summary>Freshly initialised parameters drawn from a seed.</summary>
    /// <param name="seed">The seed.</param>
    /// <param name="device">Where the parameters live; null for the CPU.</param>
    public ParameterTree Init(int seed = 0, Device? device = null) => Init(Key.Create(seed), device);

    /// <summary>The predicted noise, x's shape, differentiable in the parameters.</summary>
    /// <param name="parameters">The paths and shapes of <see cref="Init(int, Device?)"/>'s tree.</param>
    /// <param name="x">Noised images [N, ImageChannels, H, W], H and W divisible by 4.</param>
    /// <param name="t">Their timesteps, one per image [N] (float).</param>
    public Tensor Apply(ParameterTree parameters, Tensor x, Tensor t)
    {
        const string method = "UNet.Apply";
        var p = Guard.NotNull(parameters, nameof(parameters), method);
        var images = Guard.NotNull(x, nameof(x), method);
        var steps = Guard.NotNull(t, nameof(t), method);
        Guard.SamePaths(template, p, nameof(parameters), method);
        return GenerativeTerms.Run(method, "UNet", () => FSharpFunc<PTree<Tensor>, Tensor>.InvokeFast(apply, p.Inner, images, steps));
    }

    /// <summary>The U-Net with fixed parameters as the (images, timesteps) → noise function that
    /// <see cref="NoiseSchedule.NoiseLoss"/> and <see cref="NoiseSchedule.Sample"/> take.</summary>
    /// <param name="parameters">The parameters (checked at each call, as <see cref="Apply"/> checks them).</param>
    public Func<Tensor, Tensor, Tensor> Denoiser(ParameterTree parameters)
    {
        var p = Guard.NotNull(parameters, nameof(parameters), "UNet.Denoiser");
        return (x, t) => Apply(p, x, t);
    }

    /// <summary>E.g. <c>UNet(channels 16, 1 image channel, 8 groups, 4 heads)</c>.</summary>
    public override string ToString() =>
        $"UNet(channels {Channels}, {ImageChannels} image channel{(ImageChannels == 1 ? "" : "s")}, {Groups} groups, {Heads} heads)";
}
