namespace FunctionalNets.Kernels;

/// <summary>How a 2-D convolution pass is computed.</summary>
public enum ConvAlgorithm
{
    /// <summary>Unfold the input patches (im2col) and multiply with the packed GEMM: every shape, both dtypes.</summary>
    Im2Col,
    /// <summary>Winograd F(2x2, 3x3): float32, 3x3 kernels, stride 1, dilation 1, one group, padding at most 2.</summary>
    Winograd,
    /// <summary>Direct 3x3 stride-1 kernel on padded image copies (float32, Vector512, one group): forward and weight
    /// gradient, for inputs with few channels.</summary>
    Direct,
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

    /// <summary>Input channels up to which the direct kernel computes the forward pass and the weight gradient.</summary>
    private const int DirectMaxChannels = 4;

    /// <summary>
    /// Forces an algorithm for convolutions started on the calling thread (null: the measured choice), for benchmarks
    /// and tests. A forced algorithm that cannot compute a shape is ignored for that shape.
    /// </summary>
    public static ConvAlgorithm? Override { get => overrideAlgorithm; set => overrideAlgorithm = value; }

    /// <summary>
    /// Whether Winograd F(2x2, 3x3) can compute this pass: 3x3 kernel, stride 1, dilation 1, one group and padding at
    /// most 2 (the input gradient convolves with padding 2 - P).
    /// </summary>
    public static bool WinogradApplies(in ConvGeometry g, ConvPass pass) =>
        g.KH == 3 && g.KW == 3 && g.SH == 1 && g.SW == 1 && g.DH == 1 && g.DW == 1
        && g.Groups == 1 && g.PH <= 2 && g.PW <= 2;

    /// <summary>The algorithm a float32 pass of this shape runs (float64 always runs im2col).</summary>
    public static ConvAlgorithm Choose(in ConvGeometry g, ConvPass pass)
    {
        bool direct = DirectConv.Applies(g, pass), winograd = WinogradApplies(g, pass);
        if (Override is { } forced && (forced == ConvAlgorithm.Im2Col
                                       || (forced == ConvAlgorithm.Winograd && winograd)
                                       || (forced == ConvAlgorithm.Direct && direct)))
            return forced;
        // The direct kernel against im2col, bench conv_algorithms, FN_THREADS=1, process CPU ms per call, batch 64,
        // 2-core AVX-512 EPYC (Zen 5) at load 48 (2026-12-03 18:30 UTC; bench/README.md):
        //   shape (C -> O, plane)        forward direct / im2col   weight grad direct / im2col
        //   1 -> 32, 28x28 (MNIST)       0.50 / 0.69               0.57 / 1.98
        //   3 -> 32, 32x32 (CIFAR)       0.83 / 1.33               1.55 / 2.22
        // With C 9 im2col rows only, packing them costs about what the product does; the direct kernel reads each
        // padded image row once per tap instead. With more channels the GEMM's k grows and it runs near peak; the bound
        // of 4 covers the measured first layers (shapes between 4 and 16 channels were not measured).
        if (direct && g.C <= DirectMaxChannels)
            return ConvAlgorithm.Direct;
        if (!winograd)
            return ConvAlgorithm.Im2Col;
        // Measured with bench conv_algorithms (FN_THREADS=1, CPU ms per call, Winograd / im2col, two runs on the
        // 2-core AVX-512 EPYC at load 16-24; bench/README.md):
        //   shape (C -> O, plane, batch)      forward     input grad  weight grad
        //   8 -> 8, 28x28, 64                 1.45-1.73   1.29-1.66   1.71
        //   16 -> 16, 28x28, 64               0.80-0.91   0.93-1.17   1.66
        //   16 -> 32, 16x16, 64               0.71-0.81   1.10-1.11   1.79
        //   32 -> 64, 14x14, 64 (MNIST)       0.80        0.87-1.10   0.94
        //   32 -> 64, 16x16, 64               0.69-0.76   0.93-1.23   0.72
        //   64 -> 128, 8x8, 64                0.45-0.59   0.72-0.79   0.62
        //   128 -> 256, 4x4, 64               0.68-0.85   0.91-0.94   0.59
        //   64 -> 64, 32x32, 32 (ResNet-18)   0.58-0.64   0.67-0.71   0.78
        //   128 -> 128, 16x16, 32             0.58-0.66   0.59-0.70   0.64
        //   256 -> 256, 8x8, 32               0.64-0.68   0.61-0.64   0.59
        //   512 -> 512, 4x4, 32               1.48-1.55   1.40-1.42   1.10   a chunk of few tiles re-packs a 1 MiB kernel 16 times
        // Both channel counts are dimensions of the 16 products (m and k, or m and n for the weight gradient), so the
        // smaller one bounds their efficiency; the transforms cost per channel what the products save per channel pair.
        int minChannels = pass == ConvPass.Forward ? 16 : 32;
        bool enoughTiles = g.L >= 64 || (long)g.C * g.O <= 128 * 256;
        return Math.Min(g.C, g.O) >= minChannels && enoughTiles ? ConvAlgorithm.Winograd : ConvAlgorithm.Im2Col;
    }
}
