using FunctionalNets.Nn;

namespace FunctionalNets;

public static partial class Layers
{
    /// <summary>Batch normalization over [N, C] or [N, C, L], as PyTorch's nn.BatchNorm1d: batch statistics
    /// in training (updating the running mean and variance), running statistics in evaluation.</summary>
    /// <param name="features">The channel count C.</param>
    /// <param name="eps">Added to the variance.</param>
    /// <param name="momentum">Weight of the batch statistics in the running ones; null is torch's momentum=None, the
    /// cumulative average of every batch's statistics.</param>
    /// <param name="affine">Learn a per-channel scale and shift.</param>
    /// <param name="trackRunningStats">Keep running statistics for evaluation.</param>
    public static Layer BatchNorm1d(int features, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true) =>
        new(NormalizationLayers.BatchNorm1d(features, eps, momentum ?? 0.1, affine, trackRunningStats, cumulativeAverage: momentum is null));

    /// <summary>Batch normalization over [N, C, H, W], as PyTorch's nn.BatchNorm2d (see <see cref="BatchNorm1d"/>).</summary>
    /// <param name="features">The channel count C.</param>
    /// <param name="eps">Added to the variance.</param>
    /// <param name="momentum">Weight of the batch statistics in the running ones; null is torch's momentum=None, the
    /// cumulative average of every batch's statistics.</param>
    /// <param name="affine">Learn a per-channel scale and shift.</param>
    /// <param name="trackRunningStats">Keep running statistics for evaluation.</param>
    public static Layer BatchNorm2d(int features, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true) =>
        new(NormalizationLayers.BatchNorm2d(features, eps, momentum ?? 0.1, affine, trackRunningStats, cumulativeAverage: momentum is null));

    /// <summary>Group normalization over [N, C, ...], as PyTorch's nn.GroupNorm.</summary>
    /// <param name="groups">Groups of channels normalized together; must divide channels.</param>
    /// <param name="channels">The channel count C.</param>
    /// <param name="eps">Added to the variance.</param>
    /// <param name="affine">Learn a per-channel scale and shift.</param>
    public static Layer GroupNorm(int groups, int channels, double eps = 1e-5, bool affine = true) =>
        new(NormalizationLayers.GroupNorm(groups, channels, eps, affine));

    /// <summary>Channel dropout: in training whole (example, channel) maps are zeroed with probability p and
    /// the rest scaled by 1 / (1 - p); the identity in evaluation.</summary>
    /// <param name="p">The drop probability, in [0, 1).</param>
    public static Layer Dropout2d(double p) => new(NormalizationLayers.Dropout2d(p));

    /// <summary>The mean over the spatial dims: [N, C, H, W] to [N, C].</summary>
    public static Layer GlobalAvgPool() => new(NormalizationLayers.GlobalAvgPool());
}
