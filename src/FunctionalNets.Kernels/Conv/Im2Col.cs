using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FunctionalNets.Kernels;

/// <summary>
/// Unfolding of image patches into matrix rows (im2col) and its adjoint (col2im), for a block of images.
/// Row c * KH * KW + ki * KW + kj of image n holds input channel c sampled at kernel tap (ki, kj) for every output
/// pixel (OH * OW values). Where the rows of image n live is a parameter, so one routine serves both layouts the
/// convolution kernels use: image-major (rows of one image together, for a batch of per-image GEMMs) and row-major
/// (row r of every image side by side, so a single GEMM sums over the whole batch).
/// </summary>
internal static unsafe class Im2Col
{
    /// <summary>
    /// Writes the rows of images [n0, n0 + count) of <paramref name="x"/> (NCHW) into <paramref name="col"/>: row r of
    /// image n0 + i starts at i * imageStride + r * rowStride. Padding taps become zeros.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Unfold<T>(in ConvGeometry g, T* x, int n0, int count, T* col, long imageStride, long rowStride)
        where T : unmanaged, INumber<T>
    {
        var geo = g;
        nint px = (nint)x, pc = (nint)col;
        long units = (long)count * g.C;
        // One unit is one (image, channel) plane: its rows are disjoint from every other unit's.
        KernelParallel.For(KernelParallel.ChunkCount(units * g.KH * g.KW * g.L), units, (start, end) =>
        {
            for (long u = start; u < end; u++)
            {
                int i = (int)(u / geo.C), c = (int)(u % geo.C);
                T* plane = (T*)px + ((long)(n0 + i) * geo.C + c) * geo.H * geo.W;
                T* dst = (T*)pc + i * imageStride + (long)c * geo.KH * geo.KW * rowStride;
                UnfoldPlane(geo, plane, dst, rowStride);
            }
        });
    }

    /// <summary>
    /// Image n of <paramref name="x"/> unfolded into <paramref name="col"/> as [C * KH * KW, OH * OW] (row r at r * L).
    /// With <paramref name="threaded"/> the channel planes are spread over threads; otherwise the caller's thread does it all.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void UnfoldImage<T>(in ConvGeometry g, T* x, int n, T* col, bool threaded) where T : unmanaged, INumber<T>
    {
        if (threaded)
        {
            Unfold(g, x, n, 1, col, 0, g.L);
            return;
        }
        long plane = (long)g.H * g.W, rows = (long)g.KH * g.KW * g.L;
        T* image = x + (long)n * g.C * plane;
        for (int c = 0; c < g.C; c++)
            UnfoldPlane(g, image + c * plane, col + c * rows, g.L);
    }

    /// <summary>
    /// The adjoint of <see cref="UnfoldImage"/>: adds <paramref name="col"/> ([C * KH * KW, OH * OW]) onto image n of
    /// <paramref name="dx"/>, which is not cleared first.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void FoldImage<T>(in ConvGeometry g, T* col, int n, T* dx, bool threaded) where T : unmanaged, INumber<T>
    {
        if (threaded)
        {
            Fold(g, col, n, 1, dx, 0, g.L);
            return;
        }
        long plane = (long)g.H * g.W, rows = (long)g.KH * g.KW * g.L;
        T* image = dx + (long)n * g.C * plane;
        for (int c = 0; c < g.C; c++)
            FoldPlane(g, col + c * rows, image + c * plane, g.L);
    }

    /// <summary>The KH * KW rows of one channel plane, the first at <paramref name="dst"/>.</summary>
    // Hot loops: compiled optimised from the first call (tier-0 generic span code is several times slower).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void UnfoldPlane<T>(in ConvGeometry g, T* plane, T* dst, long rowStride) where T : unmanaged, INumber<T>
    {
        for (int ki = 0; ki < g.KH; ki++)
        for (int kj = 0; kj < g.KW; kj++)
        {
            T* row = dst + (ki * g.KW + kj) * rowStride;
            int iw0 = kj * g.DW - g.PW;
            ColumnRange(g, iw0, out int lo, out int hi);
            for (int oh = 0; oh < g.OH; oh++)
            {
                T* outRow = row + (long)oh * g.OW;
                int ih = oh * g.SH - g.PH + ki * g.DH;
                if ((uint)ih >= (uint)g.H)
                {
                    new Span<T>(outRow, g.OW).Clear();
                    continue;
                }
                T* src = plane + (long)ih * g.W + iw0;
                // Padding columns are one or two per row at the usual sizes: plain stores beat a Clear call.
                for (int ow = 0; ow < lo; ow++)
                    outRow[ow] = T.Zero;
                for (int ow = hi; ow < g.OW; ow++)
                    outRow[ow] = T.Zero;
                if (g.SW == 1)
                    CopyShort(src + lo, outRow + lo, hi - lo);
                else
                    for (int ow = lo; ow < hi; ow++)
                        outRow[ow] = src[(long)ow * g.SW];
            }
        }
    }

    /// <summary>
    /// Adds the rows of <paramref name="col"/> (laid out as in <see cref="Unfold"/>) back onto the input positions they
    /// were read from, into images [n0, n0 + count) of <paramref name="dx"/>; padding taps are dropped. dx is not
    /// cleared first.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Fold<T>(in ConvGeometry g, T* col, int n0, int count, T* dx, long imageStride, long rowStride)
        where T : unmanaged, INumber<T>
    {
        var geo = g;
        nint pdx = (nint)dx, pc = (nint)col;
        long units = (long)count * g.C;
        // Each unit owns one output plane of dx, so no two threads ever add to the same element.
        KernelParallel.For(KernelParallel.ChunkCount(units * g.KH * g.KW * g.L), units, (start, end) =>
        {
            for (long u = start; u < end; u++)
            {
                int i = (int)(u / geo.C), c = (int)(u % geo.C);
                T* plane = (T*)pdx + ((long)(n0 + i) * geo.C + c) * geo.H * geo.W;
                T* src = (T*)pc + i * imageStride + (long)c * geo.KH * geo.KW * rowStride;
                FoldPlane(geo, src, plane, rowStride);
            }
        });
    }

    // Hot loops: compiled optimised from the first call (tier-0 generic span code is several times slower).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FoldPlane<T>(in ConvGeometry g, T* src, T* plane, long rowStride) where T : unmanaged, INumber<T>
    {
        for (int ki = 0; ki < g.KH; ki++)
        for (int kj = 0; kj < g.KW; kj++)
        {
            T* row = src + (ki * g.KW + kj) * rowStride;
            int iw0 = kj * g.DW - g.PW;
            ColumnRange(g, iw0, out int lo, out int hi);
            for (int oh = 0; oh < g.OH; oh++)
            {
                int ih = oh * g.SH - g.PH + ki * g.DH;
                if ((uint)ih >= (uint)g.H)
                    continue;
                T* dst = plane + (long)ih * g.W + iw0;
                T* r = row + (long)oh * g.OW;
                if (g.SW == 1)
                    Accumulate(r + lo, dst + lo, hi - lo);
                else
                    for (int ow = lo; ow < hi; ow++)
                        dst[(long)ow * g.SW] += r[ow];
            }
        }
    }

    /// <summary>d[0..count) += s[0..count), vectorised; rows are short (14 or 28 values at MNIST sizes), so no call
    /// into a library routine and at most a few scalar steps at the end.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Accumulate<T>(T* s, T* d, int count) where T : unmanaged, INumber<T>
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + Vector256<T>.Count <= count; i += Vector256<T>.Count)
                Vector256.Store(Vector256.Load(d + i) + Vector256.Load(s + i), d + i);
        if (Vector128.IsHardwareAccelerated)
            for (; i + Vector128<T>.Count <= count; i += Vector128<T>.Count)
                Vector128.Store(Vector128.Load(d + i) + Vector128.Load(s + i), d + i);
        for (; i < count; i++)
            d[i] += s[i];
    }

    /// <summary>
    /// Copies count values that do not overlap: a memmove call per 14-value row costs more than the copy, so rows go
    /// through vector moves, the last one overlapping the previous (the same values land twice), never touching a
    /// byte outside either range.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyShort<T>(T* src, T* dst, int count) where T : unmanaged
    {
        nuint bytes = (nuint)count * (nuint)sizeof(T);
        byte* s = (byte*)src, d = (byte*)dst;
        if (bytes >= 32)
        {
            nuint i = 0;
            for (; i + 32 <= bytes; i += 32)
                Vector256.Store(Vector256.Load(s + i), d + i);
            if (i != bytes)
                Vector256.Store(Vector256.Load(s + bytes - 32), d + bytes - 32);
        }
        else if (bytes >= 16)
        {
            var head = Vector128.Load(s);
            var tail = Vector128.Load(s + bytes - 16);
            head.Store(d);
            tail.Store(d + bytes - 16);
        }
        else
        {
            for (nuint i = 0; i < bytes; i += 4)
                *(uint*)(d + i) = *(uint*)(s + i);
        }
    }

    /// <summary>
    /// The output columns [lo, hi) whose input column ow * SW + iw0 lies inside the image; the rest read padding.
    /// Computed once per kernel column so the inner loops carry no bounds tests.
    /// </summary>
    private static void ColumnRange(in ConvGeometry g, int iw0, out int lo, out int hi)
    {
        lo = iw0 >= 0 ? 0 : Math.Min(g.OW, (-iw0 + g.SW - 1) / g.SW);
        hi = iw0 >= g.W ? 0 : Math.Min(g.OW, (g.W - 1 - iw0) / g.SW + 1);
        if (hi < lo)
            hi = lo;
    }
}
