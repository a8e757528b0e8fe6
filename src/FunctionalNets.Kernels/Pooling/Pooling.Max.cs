using System.Numerics;
using System.Runtime.CompilerServices;

namespace FunctionalNets.Kernels;

/// <summary>2-D pooling and upsampling kernels over contiguous planes (NCHW layout).</summary>
public static partial class Pooling
{
    /// <summary>
    /// Max pooling with PyTorch's semantics: padding counts as -infinity, the index is the flat position
    /// <c>h * W + w</c> within the plane of the first maximum in window order, and NaN wins (propagates).
    /// </summary>
    /// <exception cref="ArgumentException">Buffers shorter than the geometry needs.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MaxPool2d<T>(T[] x, PoolWindow g, T[] y, long[] indices) where T : unmanaged, INumber<T>
    {
        g.CheckLengths(nameof(MaxPool2d), x.Length, Math.Min(y.Length, indices.Length));
        // Ceil mode can let the last window hang over the edge of an odd-sized plane; the fast path needs
        // every window inside.
        bool fast2x2 = g is { KernelH: 2, KernelW: 2, StrideH: 2, StrideW: 2, PadH: 0, PadW: 0, DilationH: 1, DilationW: 1 }
            && 2 * g.OutH <= g.H && 2 * g.OutW <= g.W;
        bool vector2x2 = fast2x2 && typeof(T) == typeof(float) && Vector2x2Supported && g.OutH > 0 && g.OutW > 0;
        g.ForPlanes(g.OutPlane * g.KernelH * g.KernelW, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (p0, p1) =>
        {
            for (long p = p0; p < p1; p++)
            {
                if (vector2x2) MaxPlane2x2Float(Unsafe.As<float[]>(x), g, Unsafe.As<float[]>(y), indices, p);
                else if (fast2x2) MaxPlane2x2(x, g, y, indices, p);
                else MaxPlane(x, g, y, indices, p);
            }
        });
    }

    // v replaces the running maximum m when larger, or when it is the first NaN (NaN propagates as in
    // PyTorch; the first one keeps the index, matching the strict > used for ordinary ties).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Better<T>(T v, T m) where T : unmanaged, INumber<T> => v > m || (T.IsNaN(v) && !T.IsNaN(m));

    // The MNIST-CNN case: every window lies inside the plane, so the taps are read without bounds checks
    // (the geometry guarantees 2 * OutH <= H and 2 * OutW <= W).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MaxPlane2x2<T>(T[] x, PoolWindow g, T[] y, long[] indices, long p) where T : unmanaged, INumber<T>
    {
        int w = g.W, outW = g.OutW;
        ref T xp = ref x[p * g.InPlane];
        ref T yp = ref y[p * g.OutPlane];
        ref long ip = ref indices[p * g.OutPlane];
        for (int oh = 0; oh < g.OutH; oh++)
        {
            int r0 = 2 * oh * w, r1 = r0 + w, o = oh * outW;
            for (int ow = 0; ow < outW; ow++)
            {
                int c = 2 * ow;
                int best = r0 + c;
                T m = Unsafe.Add(ref xp, best);
                T v = Unsafe.Add(ref xp, r0 + c + 1);
                if (Better(v, m)) { best = r0 + c + 1; m = v; }
                v = Unsafe.Add(ref xp, r1 + c);
                if (Better(v, m)) { best = r1 + c; m = v; }
                v = Unsafe.Add(ref xp, r1 + c + 1);
                if (Better(v, m)) { best = r1 + c + 1; m = v; }
                Unsafe.Add(ref yp, o + ow) = m;
                Unsafe.Add(ref ip, o + ow) = best;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MaxPlane<T>(T[] x, PoolWindow g, T[] y, long[] indices, long p) where T : unmanaged, INumber<T>
    {
        // One plane as spans: indices stay int and in range, and the taps inside the plane are found per
        // window row/column once (TapRange) instead of testing every tap against the edges.
        ReadOnlySpan<T> xp = new(x, checked((int)(p * g.InPlane)), checked((int)g.InPlane));
        Span<T> yp = new(y, checked((int)(p * g.OutPlane)), checked((int)g.OutPlane));
        Span<long> ip = new(indices, checked((int)(p * g.OutPlane)), checked((int)g.OutPlane));
        for (int oh = 0; oh < g.OutH; oh++)
        {
            int h0 = oh * g.StrideH - g.PadH;
            var (iLo, iHi) = TapRange(h0, g.KernelH, g.DilationH, g.H);
            for (int ow = 0; ow < g.OutW; ow++)
            {
                int w0 = ow * g.StrideW - g.PadW;
                var (jLo, jHi) = TapRange(w0, g.KernelW, g.DilationW, g.W);
                // Output sizes are chosen so every window meets the plane; an empty one only follows from a
                // geometry the caller did not validate, and is reported rather than written.
                if (iLo >= iHi || jLo >= jHi)
                    throw new ArgumentException($"{nameof(MaxPool2d)}: window ({oh}, {ow}) lies entirely in the padding of {g}.");
                int best = (h0 + iLo * g.DilationH) * g.W + w0 + jLo * g.DilationW;
                T m = xp[best];
                for (int i = iLo; i < iHi; i++)
                {
                    int row = (h0 + i * g.DilationH) * g.W + w0;
                    for (int j = jLo; j < jHi; j++)
                    {
                        int at = row + j * g.DilationW;
                        T v = xp[at];
                        if (Better(v, m)) { best = at; m = v; }
                    }
                }
                yp[oh * g.OutW + ow] = m;
                ip[oh * g.OutW + ow] = best;
            }
        }
    }

    // The taps t in [lo, hi) of a window starting at start (step dilation, k taps) with 0 <= start + t d < size.
    private static (int lo, int hi) TapRange(int start, int k, int dilation, int size)
    {
        int lo = start < 0 ? (-start + dilation - 1) / dilation : 0;
        int last = size - 1 - start;
        int hi = last < 0 ? 0 : Math.Min(k, last / dilation + 1);
        return (lo, Math.Max(lo, hi));
    }

    /// <summary>
    /// The adjoint of max pooling: <paramref name="gradInput"/> (overwritten) is zero except that each output
    /// gradient is added at the plane position its index names. Planes are independent, so no atomics.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An index outside the plane.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MaxPool2dBackward<T>(T[] gradOutput, long[] indices, PoolWindow g, T[] gradInput) where T : unmanaged, INumber<T>
    {
        g.CheckLengths(nameof(MaxPool2dBackward), gradInput.Length, Math.Min(gradOutput.Length, indices.Length));
        long plane = g.InPlane;
        g.ForPlanes(g.OutPlane + g.InPlane, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (p0, p1) =>
        {
            Array.Clear(gradInput, (int)(p0 * plane), (int)((p1 - p0) * plane));
            for (long p = p0; p < p1; p++)
            {
                long xb = p * plane, yb = p * g.OutPlane;
                for (long o = 0; o < g.OutPlane; o++)
                {
                    long at = indices[yb + o];
                    if ((ulong)at >= (ulong)plane)
                        throw new ArgumentOutOfRangeException(nameof(indices),
                            $"{nameof(MaxPool2dBackward)}: index {at} at output {yb + o} is outside a plane of {g.H}x{g.W}.");
                    gradInput[xb + at] += gradOutput[yb + o];
                }
            }
        });
    }
}
