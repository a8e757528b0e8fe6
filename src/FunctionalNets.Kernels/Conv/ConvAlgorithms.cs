namespace FunctionalNets.Kernels;

/// <summary>How a 2-D convolution pass is computed.</summary>
public enum ConvAlgorithm
{
    /// <summary>Unfold the input patches (im2col) and multiply with the packed GEMM: every shape, both dtypes.</summary>
    Im2Col,
    /// <summary>Winograd F(2x2, 3x3): float32, 3x3 kernels, stride 1, dilation 1, one group, padding at most 2.</summary>
    Winograd,
}

/// <summary>The pass of a convolution an algorithm is chosen for.</summary>
public enum ConvPass
{
    /// <summary>y = conv(x, w).</summary>
    Forward,
    /// <summary>dx from dy and w.</summary>
    InputGrad,
    /// <summary>dw from dy and x.</summary>
    WeightGrad,
}

/// <summary>
/// Picks the algorithm for one convolution pass from its shape alone (never from timing at run time, so a shape always
/// takes the same path and gives the same bits). The thresholds come from bench/README.md's conv_algorithms sitting.
/// </summary>
public static class ConvAlgorithms
{
    [ThreadStatic] private static ConvAlgorithm? overrideAlgorithm;

    /// <summary>
    /// Forces an algorithm for convolutions started on the calling thread (null: the measured choice), for benchmarks
    /// and tests. A forced algorithm that cannot compute a shape is ignored for that shape.
    /// </summary>
    public static ConvAlgorithm? Override { get => overrideAlgorithm; set => overrideAlgorithm = value; }

    /// <summary>
    /// Whether Winograd F(2x2, 3x3) can compute this pass: 3x3 kernel, stride 1, dilation 1, one group and padding at
    /// most 2 (the input gradient convolves with padding 2 - P). The weight gradient always goes by im2col.
    /// </summary>
    public static bool WinogradApplies(in ConvGeometry g, ConvPass pass) =>
        pass != ConvPass.WeightGrad && g.KH == 3 && g.KW == 3 && g.SH == 1 && g.SW == 1 && g.DH == 1 && g.DW == 1
        && g.Groups == 1 && g.PH <= 2 && g.PW <= 2;

    /// <summary>The algorithm a float32 pass of this shape runs (float64 always runs im2col).</summary>
    public static ConvAlgorithm Choose(in ConvGeometry g, ConvPass pass)
    {
        if (!WinogradApplies(g, pass))
            return ConvAlgorithm.Im2Col;
        if (Override is { } forced)
            return forced;
        // Measured with bench conv_algorithms (FN_THREADS=1, CPU ms per call, Winograd / im2col; bench/README.md):
        //   shape (C -> O, plane)         forward     input grad
        //   8 -> 8, 28x28                 1.31-1.73   1.66-1.67   few channels: thin products, transforms dominate
        //   16 -> 16, 28x28               0.80-0.92   1.02-1.17
        //   16 -> 32, 16x16               0.71-0.75   1.06-1.10
        //   32 -> 64, 14x14 (MNIST)       0.70-0.80   0.95-1.10
        //   32 -> 64, 16x16               0.65-0.76   0.92-0.93
        //   64 -> 128, 8x8                0.53-0.59   0.67-0.79
        //   128 -> 256, 4x4               0.82-0.85   0.74-0.94
        //   64 -> 64 .. 256 -> 256, 32x32 .. 8x8 (ResNet-18)  0.55-0.80  0.58-0.74
        //   512 -> 512, 4x4               1.19-1.55   1.02-1.42   a chunk of few tiles re-packs a 1 MiB kernel 16 times
        // Both channel counts are dimensions of the 16 products (k and m), so the smaller one bounds their efficiency.
        int minChannels = pass == ConvPass.Forward ? 16 : 32;
        bool enoughTiles = g.L >= 64 || (long)g.C * g.O <= 128 * 256;
        return Math.Min(g.C, g.O) >= minChannels && enoughTiles ? ConvAlgorithm.Winograd : ConvAlgorithm.Im2Col;
    }
}
