using System.Numerics;
using System.Runtime.CompilerServices;

namespace FunctionalNets.Kernels;

public static partial class Pooling
{
    // PyTorch's avg_pool2d window: clipped to the padded plane for the countIncludePad divisor, then to the
    // real plane for the elements summed.
    private static (int h0, int h1, int w0, int w1, int divisor) AvgWindow(PoolWindow g, int oh, int ow, bool countIncludePad)
    {
        int h0 = oh * g.StrideH - g.PadH, w0 = ow * g.StrideW - g.PadW;
        int h1 = Math.Min(h0 + g.KernelH, g.H + g.PadH), w1 = Math.Min(w0 + g.KernelW, g.W + g.PadW);
        int padded = (h1 - h0) * (w1 - w0);
        h0 = Math.Max(h0, 0); w0 = Math.Max(w0, 0);
        h1 = Math.Min(h1, g.H); w1 = Math.Min(w1, g.W);
        int divisor = countIncludePad ? padded : (h1 - h0) * (w1 - w0);
        return (h0, h1, w0, w1, Math.Max(divisor, 1));
    }

    /// <summary>
    /// Average pooling with PyTorch's semantics (no dilation; <paramref name="countIncludePad"/> divides by the
    /// window clipped to the padded plane, otherwise by the real elements it covers).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AvgPool2d<T>(T[] x, PoolWindow g, bool countIncludePad, T[] y) where T : unmanaged, INumber<T>
    {
        g.CheckLengths(nameof(AvgPool2d), x.Length, y.Length);
        g.ForPlanes(g.OutPlane * g.KernelH * g.KernelW, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (p0, p1) =>
        {
            for (long p = p0; p < p1; p++)
            {
                long xb = p * g.InPlane, yb = p * g.OutPlane;
                for (int oh = 0; oh < g.OutH; oh++)
                    for (int ow = 0; ow < g.OutW; ow++)
                    {
                        var (h0, h1, w0, w1, d) = AvgWindow(g, oh, ow, countIncludePad);
                        T s = T.Zero;
                        for (int h = h0; h < h1; h++)
                            for (int w = w0; w < w1; w++)
                                s += x[xb + (long)h * g.W + w];
                        y[yb + (long)oh * g.OutW + ow] = s / T.CreateTruncating(d);
                    }
            }
        });
    }

    /// <summary>The adjoint of <see cref="AvgPool2d{T}"/>: each output gradient spread evenly (by its divisor) over its window.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AvgPool2dBackward<T>(T[] gradOutput, PoolWindow g, bool countIncludePad, T[] gradInput) where T : unmanaged, INumber<T>
    {
        g.CheckLengths(nameof(AvgPool2dBackward), gradInput.Length, gradOutput.Length);
        long plane = g.InPlane;
        g.ForPlanes(g.OutPlane * g.KernelH * g.KernelW + plane, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (p0, p1) =>
        {
            Array.Clear(gradInput, (int)(p0 * plane), (int)((p1 - p0) * plane));
            for (long p = p0; p < p1; p++)
            {
                long xb = p * plane, yb = p * g.OutPlane;
                for (int oh = 0; oh < g.OutH; oh++)
                    for (int ow = 0; ow < g.OutW; ow++)
                    {
                        var (h0, h1, w0, w1, d) = AvgWindow(g, oh, ow, countIncludePad);
                        T share = gradOutput[yb + (long)oh * g.OutW + ow] / T.CreateTruncating(d);
                        for (int h = h0; h < h1; h++)
                            for (int w = w0; w < w1; w++)
                                gradInput[xb + (long)h * g.W + w] += share;
                    }
            }
        });
    }

    // PyTorch's adaptive window along one dim: [floor(i * n / out), ceil((i + 1) * n / out)).
    private static int AdaptiveStart(int i, int n, int outLen) => (int)((long)i * n / outLen);
    private static int AdaptiveEnd(int i, int n, int outLen) => (int)(((long)(i + 1) * n + outLen - 1) / outLen);

    /// <summary>Adaptive average pooling to <c>OutH x OutW</c> (kernel, stride and padding of <paramref name="g"/> are ignored).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AdaptiveAvgPool2d<T>(T[] x, PoolWindow g, T[] y) where T : unmanaged, INumber<T>
    {
        g.CheckLengths(nameof(AdaptiveAvgPool2d), x.Length, y.Length);
        if (g.OutH == 0 || g.OutW == 0) return;
        g.ForPlanes(g.InPlane + g.OutPlane, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (p0, p1) =>
        {
            for (long p = p0; p < p1; p++)
            {
                long xb = p * g.InPlane, yb = p * g.OutPlane;
                for (int oh = 0; oh < g.OutH; oh++)
                {
                    int h0 = AdaptiveStart(oh, g.H, g.OutH), h1 = AdaptiveEnd(oh, g.H, g.OutH);
                    for (int ow = 0; ow < g.OutW; ow++)
                    {
                        int w0 = AdaptiveStart(ow, g.W, g.OutW), w1 = AdaptiveEnd(ow, g.W, g.OutW);
                        T s = T.Zero;
                        for (int h = h0; h < h1; h++)
                            for (int w = w0; w < w1; w++)
                                s += x[xb + (long)h * g.W + w];
                        y[yb + (long)oh * g.OutW + ow] = s / T.CreateTruncating((h1 - h0) * (w1 - w0));
                    }
                }
            }
        });
    }

    /// <summary>The adjoint of <see cref="AdaptiveAvgPool2d{T}"/> (windows may overlap, so contributions add).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AdaptiveAvgPool2dBackward<T>(T[] gradOutput, PoolWindow g, T[] gradInput) where T : unmanaged, INumber<T>
    {
        g.CheckLengths(nameof(AdaptiveAvgPool2dBackward), gradInput.Length, gradOutput.Length);
        long plane = g.InPlane;
        g.ForPlanes(g.InPlane + g.OutPlane, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (p0, p1) =>
        {
            Array.Clear(gradInput, (int)(p0 * plane), (int)((p1 - p0) * plane));
            if (g.OutH == 0 || g.OutW == 0) return;
            for (long p = p0; p < p1; p++)
            {
                long xb = p * plane, yb = p * g.OutPlane;
                for (int oh = 0; oh < g.OutH; oh++)
                {
                    int h0 = AdaptiveStart(oh, g.H, g.OutH), h1 = AdaptiveEnd(oh, g.H, g.OutH);
                    for (int ow = 0; ow < g.OutW; ow++)
                    {
                        int w0 = AdaptiveStart(ow, g.W, g.OutW), w1 = AdaptiveEnd(ow, g.W, g.OutW);
                        T share = gradOutput[yb + (long)oh * g.OutW + ow] / T.CreateTruncating((h1 - h0) * (w1 - w0));
                        for (int h = h0; h < h1; h++)
                            for (int w = w0; w < w1; w++)
                                gradInput[xb + (long)h * g.W + w] += share;
                    }
                }
            }
        });
    }
}
