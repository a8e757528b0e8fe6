using Microsoft.FSharp.Core;
using NnTransforms = FunctionalNets.Nn.Transforms;

namespace FunctionalNets;

/// <summary>A transform of a batch of images [N, C, H, W], possibly random: attach transforms to a dataset with
/// <see cref="Dataset.Map"/>. Random ones draw from a key that Fit derives from the run's seed, the epoch and
/// the batch, so a run is reproducible and every epoch sees new crops, flips and erasures.</summary>
public sealed class Transform
{
    internal Transform(string name, FSharpFunc<Key, FSharpFunc<Tensor, Tensor>> inner)
    {
        Name = name;
        Inner = inner;
    }

    internal FSharpFunc<Key, FSharpFunc<Tensor, Tensor>> Inner { get; }

    /// <summary>The transform and its settings, e.g. <c>RandomCrop(28, padding: 2)</c>.</summary>
    public string Name { get; }

    /// <summary>Applies the transform to a batch of images with the randomness of a seed (to look at what it
    /// does; training draws its own keys).</summary>
    /// <param name="images">Images [N, C, H, W].</param>
    /// <param name="seed">The seed of the draws.</param>
    public Tensor Apply(Tensor images, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(images);
        return CSharpTerms.Run(() => FSharpFunc<Key, Tensor>.InvokeFast(Inner, KeyModule.create(seed), images));
    }

    /// <summary>The transform's name.</summary>
    public override string ToString() => Name;
}

/// <summary>Image transforms for <see cref="Dataset.Map"/> (torchvision's names and defaults), e.g.
/// <c>train.Map(Transforms.RandomCrop(28, padding: 2), Transforms.RandomErasing(p: 0.5))</c>.</summary>
public static class Transforms
{
    private static Transform Keyed(string name, Func<Key, Tensor, Tensor> f) => new(name, FuncConvert.FromFunc(f));

    /// <summary>(x - mean[c]) / std[c] per channel.</summary>
    /// <param name="mean">One mean per channel.</param>
    /// <param name="std">One standard deviation (&gt; 0) per channel.</param>
    public static Transform Normalize(double[] mean, double[] std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        double[] m = [.. mean], s = [.. std];
        return Keyed($"Normalize(mean: [{string.Join(", ", m)}], std: [{string.Join(", ", s)}])", (_, x) => NnTransforms.normalize(m, s, x));
    }

    /// <summary>Zero-pads every side by padding, then cuts a size x size window at a random position, per image.</summary>
    /// <param name="size">The output height and width.</param>
    /// <param name="padding">Zero pixels added on every side first.</param>
    public static Transform RandomCrop(int size, int padding = 0) =>
        Keyed($"RandomCrop({size}, padding: {padding})", (k, x) => NnTransforms.randomCrop(k, padding, size, x));

    /// <summary>Mirrors each image left to right with probability p.</summary>
    /// <param name="p">The probability, in [0, 1].</param>
    public static Transform RandomHorizontalFlip(double p = 0.5) =>
        Keyed($"RandomHorizontalFlip(p: {p})", (k, x) => NnTransforms.randomHorizontalFlip(k, p, x));

    /// <summary>Mirrors each image top to bottom with probability p.</summary>
    /// <param name="p">The probability, in [0, 1].</param>
    public static Transform RandomVerticalFlip(double p = 0.5) =>
        Keyed($"RandomVerticalFlip(p: {p})", (k, x) => NnTransforms.randomVerticalFlip(k, p, x));

    /// <summary>A random rotation, scaling and shift per image (nearest pixel, zero outside), as torchvision's
    /// RandomAffine: an angle in [-degrees, degrees], a scale in [scaleMin, scaleMax], a shift of up to
    /// translate times the width across and the height down. <c>RandomAffine(translate: 0.1)</c> is a random shift.</summary>
    /// <param name="degrees">The largest rotation, in degrees [0, 180].</param>
    /// <param name="translate">The largest shift as a fraction of the image size, in [0, 1).</param>
    /// <param name="scaleMin">The smallest scale (&gt; 0).</param>
    /// <param name="scaleMax">The largest scale.</param>
    public static Transform RandomAffine(double degrees = 0, double translate = 0, double scaleMin = 1, double scaleMax = 1) =>
        Keyed($"RandomAffine(degrees: {degrees}, translate: {translate}, scale: [{scaleMin}, {scaleMax}])",
            (k, x) => NnTransforms.randomAffine(k, degrees, translate, scaleMin, scaleMax, x));

    /// <summary>Random erasing (torchvision's RandomErasing): with probability p, a rectangle of each image, of
    /// an area in [scaleMin, scaleMax] of the image and an aspect ratio in [ratioMin, ratioMax], is set to value.</summary>
    /// <param name="p">The probability per image, in [0, 1].</param>
    /// <param name="scaleMin">The smallest erased share of the area.</param>
    /// <param name="scaleMax">The largest erased share of the area.</param>
    /// <param name="ratioMin">The smallest aspect ratio (height / width).</param>
    /// <param name="ratioMax">The largest aspect ratio.</param>
    /// <param name="value">The value written into the rectangle.</param>
    public static Transform RandomErasing(double p = 0.5, double scaleMin = 0.02, double scaleMax = 0.33,
        double ratioMin = 0.3, double ratioMax = 3.3, double value = 0.0) =>
        Keyed($"RandomErasing(p: {p})", (k, x) => NnTransforms.randomErasing(k, p, scaleMin, scaleMax, ratioMin, ratioMax, value, x));

    /// <summary>A transform from a C# function of the batch of inputs (no randomness).</summary>
    /// <param name="transform">The function.</param>
    /// <param name="name">Its name.</param>
    public static Transform Lambda(Func<Tensor, Tensor> transform, string name = "Lambda")
    {
        ArgumentNullException.ThrowIfNull(transform);
        return Keyed(name, (_, x) => transform(x) ?? throw new InvalidOperationException($"Transform '{name}' returned null."));
    }
}
