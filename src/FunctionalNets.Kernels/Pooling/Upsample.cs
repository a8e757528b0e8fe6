using System.Numerics;
using System.Runtime.CompilerServices;

namespace FunctionalNets.Kernels;

/// <summary>
/// 2-D upsampling (nearest and bilinear) over contiguous planes, with PyTorch's source-index formulas; the
/// scale is always input/output size (as PyTorch with an output size or recompute_scale_factor=True).
/// Kernel, stride and padding fields of the <see cref="PoolWindow"/> are ignored.
/// </summary>
public static class Upsample
{
    /// <summary>PyTorch's 'nearest' source index: floor(dst * in / out) in single precision, clamped to in - 1.</summary>
    public static int NearestSource(int dst, int inLen, int outLen)
    {
        if (outLen == inLen) return dst;
        if (outLen == 2 * inLen) return dst >> 1;
        float scale = (float)inLen / outLen;
        return Math.Min((int)MathF.Floor(dst * scale), inLen - 1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int[] NearestMap(int inLen, int outLen)
    {
        var map = new int[outLen];
        for (int i = 0; i < outLen; i++) map[i] = NearestSource(i, inLen, outLen);
        return map;
    }

    /// <summary>Nearest-neighbour upsampling (any sizes, downsampling included).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Nearest2d<T>(T[] x, PoolWindow g, T[] y) where T : unmanaged, INumber<T>
    {
        g.CheckLengths(nameof(Nearest2d), x.Length, y.Length);
        int[] mh = NearestMap(g.H, g.OutH), mw = NearestMap(g.W, g.OutW);
        g.ForPlanes(g.OutPlane, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (p0, p1) =>
        {
            for (long p = p0; p < p1; p++)
            {
                long xb = p * g.InPlane, yb = p * g.OutPlane;
                for (int oh = 0; oh < g.OutH; oh++)
                {
                    long xr = xb + (long)mh[oh] * g.W, yr = yb + (long)oh * g.OutW;
                    for (int ow = 0; ow < g.OutW; ow++) y[yr + ow] = x[xr + mw[ow]];
                }
            }
        });
    }

    /// <summary>The adjoint of <see cref="Nearest2d{T}"/>: each output gradient added at its source element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Nearest2dBackward<T>(T[] gradOutput, PoolWindow g, T[] gradInput) where T : unmanaged, INumber<T>
    {
        g.CheckLengths(nameof(Nearest2dBackward), gradInput.Length, gradOutput.Length);
        int[] mh = NearestMap(g.H, g.OutH), mw = NearestMap(g.W, g.OutW);
        long plane = g.InPlane;
        g.ForPlanes(g.OutPlane + plane, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (p0, p1) =>
        {
            Array.Clear(gradInput, (int)(p0 * plane), (int)((p1 - p0) * plane));
            for (long p = p0; p < p1; p++)
            {
                long xb = p * plane, yb = p * g.OutPlane;
                for (int oh = 0; oh < g.OutH; oh++)
                {
                    long xr = xb + (long)mh[oh] * g.W, yr = yb + (long)oh * g.OutW;
                    for (int ow = 0; ow < g.OutW; ow++) gradInput[xr + mw[ow]] += gradOutput[yr + ow];
                }
            }
        });
    }

    /// <summary>
    /// PyTorch's linear interpolation taps along one dim: source positions i0, i1 and weights l0, l1 of output
    /// position dst. alignCorners maps the corner pixels' centres onto each other (scale (in-1)/(out-1));
    /// otherwise pixel areas align (src = (dst + 0.5) * in/out - 0.5, clamped at 0).
    /// </summary>
    public static (int i0, int i1, double l0, double l1) LinearTaps(int dst, int inLen, int outLen, bool alignCorners)
    {
        double src;
        if (alignCorners)
            src = outLen > 1 ? (double)(inLen - 1) / (outLen - 1) * dst : 0.0;
        else
            src = Math.Max((double)inLen / outLen * (dst + 0.5) - 0.5, 0.0);
        int i0 = Math.Min((int)src, inLen - 1);
        int i1 = i0 < inLen - 1 ? i0 + 1 : i0;
        double l1 = Math.Min(src - i0, 1.0);
        return (i0, i1, 1.0 - l1, l1);
    }

    private readonly record struct Taps<T>(int[] I0, int[] I1, T[] L0, T[] L1);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Taps<T> TapsOf<T>(int inLen, int outLen, bool alignCorners) where T : unmanaged, INumber<T>
    {
        var t = new Taps<T>(new int[outLen], new int[outLen], new T[outLen], new T[outLen]);
        for (int i = 0; i < outLen; i++)
        {
            var (i0, i1, l0, l1) = LinearTaps(i, inLen, outLen, alignCorners);
            t.I0[i] = i0; t.I1[i] = i1; t.L0[i] = T.CreateTruncating(l0); t.L1[i] = T.CreateTruncating(l1);
        }
        return t;
    }

    /// <summary>Bilinear upsampling with PyTorch's formulas (see <see cref="LinearTaps"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Bilinear2d<T>(T[] x, PoolWindow g, bool alignCorners, T[] y) where T : unmanaged, INumber<T>
    {
        g.CheckLengths(nameof(Bilinear2d), x.Length, y.Length);
        if (g.H == 0 || g.W == 0) return;
        var th = TapsOf<T>(g.H, g.OutH, alignCorners);
        var tw = TapsOf<T>(g.W, g.OutW, alignCorners);
        g.ForPlanes(4 * g.OutPlane, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (p0, p1) =>
        {
            for (long p = p0; p < p1; p++)
            {
                long xb = p * g.InPlane, yb = p * g.OutPlane;
                for (int oh = 0; oh < g.OutH; oh++)
                {
                    long r0 = xb + (long)th.I0[oh] * g.W, r1 = xb + (long)th.I1[oh] * g.W;
                    T a0 = th.L0[oh], a1 = th.L1[oh];
                    long yr = yb + (long)oh * g.OutW;
                    for (int ow = 0; ow < g.OutW; ow++)
                    {
                        int c0 = tw.I0[ow], c1 = tw.I1[ow];
                        T b0 = tw.L0[ow], b1 = tw.L1[ow];
                        y[yr + ow] = a0 * (b0 * x[r0 + c0] + b1 * x[r0 + c1]) + a1 * (b0 * x[r1 + c0] + b1 * x[r1 + c1]);
                    }
                }
            }
        });
    }

    /// <summary>The adjoint of <see cref="Bilinear2d{T}"/>: each output gradient spread over its four taps by their weights.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Bilinear2dBackward<T>(T[] gradOutput, PoolWindow g, bool alignCorners, T[] gradInput) where T : unmanaged, INumber<T>
    {
        g.CheckLengths(nameof(Bilinear2dBackward), gradInput.Length, gradOutput.Length);
        long plane = g.InPlane;
        if (g.H == 0 || g.W == 0) return;
        var th = TapsOf<T>(g.H, g.OutH, alignCorners);
        var tw = TapsOf<T>(g.W, g.OutW, alignCorners);
        g.ForPlanes(4 * g.OutPlane + plane, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (p0, p1) =>
        {
            Array.Clear(gradInput, (int)(p0 * plane), (int)((p1 - p0) * plane));
            for (long p = p0; p < p1; p++)
            {
                long xb = p * plane, yb = p * g.OutPlane;
                for (int oh = 0; oh < g.OutH; oh++)
                {
                    long r0 = xb + (long)th.I0[oh] * g.W, r1 = xb + (long)th.I1[oh] * g.W;
                    T a0 = th.L0[oh], a1 = th.L1[oh];
                    long yr = yb + (long)oh * g.OutW;
                    for (int ow = 0; ow < g.OutW; ow++)
                    {
                        int c0 = tw.I0[ow], c1 = tw.I1[ow];
                        T b0 = tw.L0[ow], b1 = tw.L1[ow], go = gradOutput[yr + ow];
                        gradInput[r0 + c0] += a0 * b0 * go;
                        gradInput[r0 + c1] += a0 * b1 * go;
                        gradInput[r1 + c0] += a1 * b0 * go;
                        gradInput[r1 + c1] += a1 * b1 * go;
                    }
                }
            }
        });
    }
}
