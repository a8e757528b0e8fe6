using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FunctionalNets.Kernels.GemmImpl;

namespace FunctionalNets.Kernels;

/// <summary>
/// 2-D convolution (cross-correlation, as PyTorch) and its two gradients on NCHW data, by im2col + GEMM. Float32 and
/// Float64. Work is split by image: each worker thread unfolds one image at a time into its own column buffer
/// (C * KH * KW x OH * OW, a few hundred KiB at MNIST/CIFAR sizes, so it stays in the core's L2 between the unfold and
/// the product that reads it) and runs single-threaded GEMMs that write straight into the image's NCHW output. A
/// single image (or one thread) instead threads its GEMMs and unfolds. Output planes under 144 pixels go by blocks of
/// images instead, with one threaded GEMM per block (see the blocked path at the end).
/// Every result is bit-identical whatever the thread count: threads only ever split outputs, and the one sum across
/// images (the weight gradient) is cut and combined by the shape alone.
/// </summary>
public static unsafe class ConvKernels
{
    /// <summary>y [N, O, OH, OW] = conv(x [N, C, H, W], w [O, C/groups, KH, KW]); y is fully overwritten.</summary>
    /// <exception cref="ArgumentException">A span is shorter than its shape requires.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward<T>(in ConvGeometry g, ReadOnlySpan<T> x, ReadOnlySpan<T> w, Span<T> y)
        where T : unmanaged, INumber<T>
    {
        CheckLength("conv2d", "input", x.Length, (long)g.N * g.C * g.H * g.W);
        CheckLength("conv2d", "weight", w.Length, (long)g.O * g.R);
        CheckLength("conv2d", "output", y.Length, (long)g.N * g.O * g.L);
        if (g.N == 0 || g.O == 0 || g.L == 0) return;
        if (g.R == 0)
        {
            y[..(int)((long)g.N * g.O * g.L)].Clear();
            return;
        }
        if (typeof(T) == typeof(float) && ConvAlgorithms.Choose(g, ConvPass.Forward) is var algorithm && algorithm != ConvAlgorithm.Im2Col)
        {
            fixed (T* px = x)
            fixed (T* pw = w)
            fixed (T* py = y)
                if (algorithm == ConvAlgorithm.Winograd)
                    Winograd.Forward(g, (float*)px, (float*)pw, (float*)py);
                else
                    DirectConv.Forward(g, (float*)px, (float*)pw, (float*)py);
            return;
        }
        if (!PerImage(g))
        {
            ForwardBlocked(g, x, w, y);
            return;
        }
        var geo = g;
        var isa = GemmIsaSelector.Current;
        fixed (T* px = x)
        fixed (T* pw = w)
        fixed (T* py = y)
        {
            nint ax = (nint)px, aw = (nint)pw, ay = (nint)py;
            ForImages<T>(g, (_, n, col, inner) =>
            {
                Im2Col.UnfoldImage(geo, (T*)ax, n, col, inner);
                for (int gr = 0; gr < geo.Groups; gr++)
                    GemmLocal.Run(isa, inner, false, false, geo.OG, geo.L, geo.R,
                        (T*)aw + (long)gr * geo.OG * geo.R, geo.R,
                        col + (long)gr * geo.R * geo.L, geo.L,
                        T.Zero,
                        (T*)ay + ((long)n * geo.O + (long)gr * geo.OG) * geo.L, geo.L);
            });
        }
    }

    /// <summary>
    /// dx [N, C, H, W] = the gradient of sum(conv(x, w) * dy) with respect to x, for dy [N, O, OH, OW]: the transposed
    /// convolution. Input positions no output reads (the remainder of a stride) get zero; dx is fully overwritten.
    /// </summary>
    /// <exception cref="ArgumentException">A span is shorter than its shape requires.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void InputGrad<T>(in ConvGeometry g, ReadOnlySpan<T> dy, ReadOnlySpan<T> w, Span<T> dx)
        where T : unmanaged, INumber<T>
    {
        CheckLength("conv2d input gradient", "output gradient", dy.Length, (long)g.N * g.O * g.L);
        CheckLength("conv2d input gradient", "weight", w.Length, (long)g.O * g.R);
        CheckLength("conv2d input gradient", "input gradient", dx.Length, (long)g.N * g.C * g.H * g.W);
        if (g.N == 0 || g.O == 0 || g.L == 0 || g.C == 0)
        {
            dx[..(int)((long)g.N * g.C * g.H * g.W)].Clear();
            return;
        }
        if (typeof(T) == typeof(float) && ConvAlgorithms.Choose(g, ConvPass.InputGrad) == ConvAlgorithm.Winograd)
        {
            fixed (T* pdy = dy)
            fixed (T* pw = w)
            fixed (T* pdx = dx)
                Winograd.InputGrad(g, (float*)pdy, (float*)pw, (float*)pdx);
            return;
        }
        if (!PerImage(g))
        {
            InputGradBlocked(g, dy, w, dx);
            return;
        }
        var geo = g;
        var isa = GemmIsaSelector.Current;
        fixed (T* pdy = dy)
        fixed (T* pw = w)
        fixed (T* pdx = dx)
        {
            nint ady = (nint)pdy, aw = (nint)pw, adx = (nint)pdx;
            ForImages<T>(g, (_, n, col, inner) =>
            {
                // dcol_g [R, L] = w_g^T [R, OG] dy_g [OG, L], then every column entry is added back where im2col read it.
                for (int gr = 0; gr < geo.Groups; gr++)
                    GemmLocal.Run(isa, inner, true, false, geo.R, geo.L, geo.OG,
                        (T*)aw + (long)gr * geo.OG * geo.R, geo.R,
                        (T*)ady + ((long)n * geo.O + (long)gr * geo.OG) * geo.L, geo.L,
                        T.Zero,
                        col + (long)gr * geo.R * geo.L, geo.L);
                long image = (long)geo.C * geo.H * geo.W;
                new Span<T>((T*)adx + n * image, (int)image).Clear();
                Im2Col.FoldImage(geo, col, n, (T*)adx, inner);
            });
        }
    }

    /// <summary>
    /// dw [O, C/groups, KH, KW] = the gradient of sum(conv(x, w) * dy) with respect to w, summed over the batch;
    /// dw is fully overwritten.
    /// </summary>
    /// <exception cref="ArgumentException">A span is shorter than its shape requires.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WeightGrad<T>(in ConvGeometry g, ReadOnlySpan<T> dy, ReadOnlySpan<T> x, Span<T> dw)
        where T : unmanaged, INumber<T>
    {
        CheckLength("conv2d weight gradient", "output gradient", dy.Length, (long)g.N * g.O * g.L);
        CheckLength("conv2d weight gradient", "input", x.Length, (long)g.N * g.C * g.H * g.W);
        CheckLength("conv2d weight gradient", "weight gradient", dw.Length, (long)g.O * g.R);
        dw[..(g.O * g.R)].Clear();
        if (g.N == 0 || g.O == 0 || g.L == 0 || g.R == 0) return;
        if (typeof(T) == typeof(float) && ConvAlgorithms.Choose(g, ConvPass.WeightGrad) is var algorithm && algorithm != ConvAlgorithm.Im2Col)
        {
            fixed (T* pdy = dy)
            fixed (T* px = x)
            fixed (T* pdw = dw)
                if (algorithm == ConvAlgorithm.Winograd)
                    Winograd.WeightGrad(g, (float*)pdy, (float*)px, (float*)pdw);
                else
                    DirectConv.WeightGrad(g, (float*)pdy, (float*)px, (float*)pdw);
            return;
        }
        if (!PerImage(g))
        {
            WeightGradBlocked(g, dy, x, dw);
            return;
        }
        var geo = g;
        var isa = GemmIsaSelector.Current;
        int slots = WeightGradSlots(g);
        int size = g.O * g.R;
        // The batch is cut into a fixed number of runs of consecutive images (a function of the shape only); each run
        // is summed in image order into its own partial, and the partials are added in run order. Which worker takes
        // which run does not matter, so the result is bit-identical for any thread count or scheduling.
        // A partial holds group gr's transposed [R, OG] block at gr * R * OG: with R = C KH KW a multiple of the
        // 6-row register tile far more often than O is (288 vs 64, 9 vs 32), the product R x OG wastes fewer padded
        // lanes than OG x R.
        T[] parts = ArrayPool<T>.Shared.Rent(slots * size);
        try
        {
            fixed (T* pdy = dy)
            fixed (T* px = x)
            fixed (T* pp = parts)
            {
                nint ady = (nint)pdy, ax = (nint)px, ap = (nint)pp;
                ForUnits<T>(g, slots, (_, slot, col, inner) =>
                {
                    int n0 = (int)((long)geo.N * slot / slots), n1 = (int)((long)geo.N * (slot + 1) / slots);
                    T* part = (T*)ap + (long)slot * size;
                    for (int n = n0; n < n1; n++)
                    {
                        Im2Col.UnfoldImage(geo, (T*)ax, n, col, inner);
                        T beta = n == n0 ? T.Zero : T.One;
                        for (int gr = 0; gr < geo.Groups; gr++)
                            GemmLocal.Run(isa, inner, false, true, geo.R, geo.OG, geo.L,
                                col + (long)gr * geo.R * geo.L, geo.L,
                                (T*)ady + ((long)n * geo.O + (long)gr * geo.OG) * geo.L, geo.L,
                                beta,
                                part + (long)gr * geo.R * geo.OG, geo.OG);
                    }
                });
                var total = new Span<T>(pp, size);
                for (int s = 1; s < slots; s++)
                    TensorPrimitives.Add(total, new ReadOnlySpan<T>(pp + (long)s * size, size), total);
                for (int gr = 0; gr < g.Groups; gr++)
                for (int o = 0; o < g.OG; o++)
                {
                    Span<T> row = dw.Slice((gr * g.OG + o) * g.R, g.R);
                    T* src = pp + (long)gr * g.R * g.OG + o;
                    for (int r = 0; r < g.R; r++)
                        row[r] = src[(long)r * g.OG];
                }
            }
        }
        finally
        {
            ArrayPool<T>.Shared.Return(parts);
        }
    }

    /// <summary>Most runs of images the weight gradient's batch is cut into (see <see cref="WeightGradSlots"/>).</summary>
    private const int MaxWeightGradSlots = 16;

    /// <summary>Most elements all the weight gradient's partial sums may hold together (16 Mi).</summary>
    private const long MaxWeightGradPartials = 1L << 24;

    /// <summary>
    /// How many runs of images the weight gradient sums separately: enough for the workers to share them out on a
    /// busy machine, bounded by the batch and by the partials' memory; never dependent on the thread count.
    /// </summary>
    private static int WeightGradSlots(in ConvGeometry g) =>
        (int)Math.Max(1, Math.Min(Math.Min(MaxWeightGradSlots, g.N), MaxWeightGradPartials / Math.Max(1L, (long)g.O * g.R)));

    /// <summary>One unit of work (an image, or a run of images): the worker's index, the unit, the worker's column
    /// buffer, and whether the unit may use threads itself.</summary>
    private delegate void ImageBody<T>(int worker, int unit, T* col, bool inner) where T : unmanaged;

    /// <summary>
    /// Output planes of at least this many pixels go image by image; smaller ones by blocks of images (see the
    /// blocked path below). MNIST's 28 x 28 and 14 x 14 and CIFAR's 32 x 32 and 16 x 16 are above it.
    /// </summary>
    private const int PerImageMinPixels = 144;

    private static bool PerImage(in ConvGeometry g) => g.L >= PerImageMinPixels;

    private static int Workers(int units) =>
        Math.Max(1, Math.Min(Math.Min(KernelSettings.MaxThreads, Environment.ProcessorCount), units));

    /// <summary>Runs <paramref name="body"/> once per image (see <see cref="ForUnits"/>).</summary>
    private static void ForImages<T>(in ConvGeometry g, ImageBody<T> body) where T : unmanaged => ForUnits(g, g.N, body);

    /// <summary>
    /// Runs <paramref name="body"/> once per unit in [0, <paramref name="count"/>). Units are handed out one at a time
    /// from a shared counter, so on a shared machine a worker slowed by other processes simply takes fewer; a unit's
    /// result must therefore not depend on which worker runs it (each writes only its own outputs).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForUnits<T>(in ConvGeometry g, int count, ImageBody<T> body) where T : unmanaged
    {
        int workers = Workers(count);
        int colLength = checked(g.C * g.KH * g.KW * g.L);
        if (workers == 1)
        {
            T[] col = ArrayPool<T>.Shared.Rent(colLength);
            try
            {
                fixed (T* pc = col)
                    for (int n = 0; n < count; n++)
                        body(0, n, pc, true);
            }
            finally
            {
                ArrayPool<T>.Shared.Return(col);
            }
            return;
        }
        int next = -1;
        KernelPool.Run(workers, workers, worker =>
        {
            T[] col = ArrayPool<T>.Shared.Rent(colLength);
            try
            {
                fixed (T* pc = col)
                {
                    int n;
                    while ((n = Interlocked.Increment(ref next)) < count)
                        body(worker, n, pc, false);
                }
            }
            finally
            {
                ArrayPool<T>.Shared.Return(col);
            }
        });
    }

    // ---- The blocked path, for small output planes ----
    // With few output pixels per image (8 x 8 or 4 x 4 in a ResNet's last stages) a GEMM per image is a thin product
    // that re-packs the whole weight (up to 512 x 4608 values) for a handful of columns; there one GEMM per block of
    // images, with the images side by side as columns and threaded inside, measures faster (ResNet-18 CIFAR shapes
    // at batch 32: 512x4x4 forward+backward about 200 vs 430 ms, 256x8x8 about 130 vs 200 ms).

    /// <summary>Upper bound on the elements of one im2col block (32 Mi: 128 MiB of float32).</summary>
    private const long MaxColumnElements = 1L << 25;

    /// <summary>Images per block: as many as fit the bound, at least one.</summary>
    private static int BlockImages(in ConvGeometry g) =>
        (int)Math.Clamp(MaxColumnElements / Math.Max(1L, (long)g.C * g.KH * g.KW * g.L), 1, Math.Max(1, g.N));

    /// <summary>y [N, O, OH, OW] = conv(x [N, C, H, W], w [O, C/groups, KH, KW]); y is fully overwritten.</summary>
    /// <exception cref="ArgumentException">A span is shorter than its shape requires.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardBlocked<T>(in ConvGeometry g, ReadOnlySpan<T> x, ReadOnlySpan<T> w, Span<T> y)
        where T : unmanaged, INumber<T>
    {
        int block = BlockImages(g);
        long imageCol = (long)g.C * g.KH * g.KW * g.L;
        T[] col = ArrayPool<T>.Shared.Rent((int)(block * imageCol));
        T[] yT = ArrayPool<T>.Shared.Rent((int)((long)block * g.O * g.L));
        try
        {
            fixed (T* px = x)
            fixed (T* pc = col)
            fixed (T* py = y)
            fixed (T* pt = yT)
            {
                for (int n0 = 0; n0 < g.N; n0 += block)
                {
                    int nb = Math.Min(block, g.N - n0);
                    long cols = (long)nb * g.L;
                    // Row-major layout (row r of every image side by side): one GEMM per group of
                    // [OG, R] x [R, nb * L] keeps both cores busy with large tiles, where a GEMM per image
                    // (M = OG, N = L, often 64 x 196) spends its time packing; the result [O, nb, L] is then
                    // regrouped into NCHW by whole L-runs.
                    Im2Col.Unfold(g, px, n0, nb, pc, g.L, cols);
                    for (int gr = 0; gr < g.Groups; gr++)
                        GemmSingle(false, false, g.OG, (int)cols, g.R,
                            w[(gr * g.OG * g.R)..], g.R,
                            col.AsSpan((int)((long)gr * g.R * cols)), (int)cols,
                            T.Zero,
                            yT.AsSpan((int)((long)gr * g.OG * cols)), (int)cols);
                    Regroup(pt, py + (long)n0 * g.O * g.L, g.O, nb, g.L);
                }
            }
        }
        finally
        {
            ArrayPool<T>.Shared.Return(col);
            ArrayPool<T>.Shared.Return(yT);
        }
    }

    /// <summary>
    /// dx [N, C, H, W] = the gradient of sum(conv(x, w) * dy) with respect to x, for dy [N, O, OH, OW]: the transposed
    /// convolution. Input positions no output reads (the remainder of a stride) get zero; dx is fully overwritten.
    /// </summary>
    /// <exception cref="ArgumentException">A span is shorter than its shape requires.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void InputGradBlocked<T>(in ConvGeometry g, ReadOnlySpan<T> dy, ReadOnlySpan<T> w, Span<T> dx)
        where T : unmanaged, INumber<T>
    {
        dx[..(int)((long)g.N * g.C * g.H * g.W)].Clear();
        int block = BlockImages(g);
        long imageCol = (long)g.C * g.KH * g.KW * g.L;
        T[] col = ArrayPool<T>.Shared.Rent((int)(block * imageCol));
        T[] dyT = ArrayPool<T>.Shared.Rent((int)((long)block * g.O * g.L));
        try
        {
            fixed (T* pdx = dx)
            fixed (T* pc = col)
            fixed (T* pdy = dy)
            fixed (T* pt = dyT)
            {
                for (int n0 = 0; n0 < g.N; n0 += block)
                {
                    int nb = Math.Min(block, g.N - n0);
                    long cols = (long)nb * g.L;
                    // dcol_g = w_g^T dy_g as one GEMM over the block (dy regrouped to [O, nb * L], as in Forward),
                    // then every column entry is added back where im2col read it.
                    Regroup(pdy + (long)n0 * g.O * g.L, pt, nb, g.O, g.L);
                    for (int gr = 0; gr < g.Groups; gr++)
                        GemmSingle(true, false, g.R, (int)cols, g.OG,
                            w[(gr * g.OG * g.R)..], g.R,
                            dyT.AsSpan((int)((long)gr * g.OG * cols)), (int)cols,
                            T.Zero,
                            col.AsSpan((int)((long)gr * g.R * cols)), (int)cols);
                    Im2Col.Fold(g, pc, n0, nb, pdx, g.L, cols);
                }
            }
        }
        finally
        {
            ArrayPool<T>.Shared.Return(col);
            ArrayPool<T>.Shared.Return(dyT);
        }
    }

    /// <summary>
    /// dw [O, C/groups, KH, KW] = the gradient of sum(conv(x, w) * dy) with respect to w, summed over the batch;
    /// dw is fully overwritten.
    /// </summary>
    /// <exception cref="ArgumentException">A span is shorter than its shape requires.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WeightGradBlocked<T>(in ConvGeometry g, ReadOnlySpan<T> dy, ReadOnlySpan<T> x, Span<T> dw)
        where T : unmanaged, INumber<T>
    {
        int block = BlockImages(g);
        T[] col = ArrayPool<T>.Shared.Rent((int)(block * (long)g.C * g.KH * g.KW * g.L));
        T[] dyT = ArrayPool<T>.Shared.Rent((int)((long)block * g.O * g.L));
        try
        {
            fixed (T* px = x)
            fixed (T* pc = col)
            fixed (T* pdy = dy)
            fixed (T* pt = dyT)
            {
                for (int n0 = 0; n0 < g.N; n0 += block)
                {
                    int nb = Math.Min(block, g.N - n0);
                    long cols = (long)nb * g.L;
                    // Row-major layout: image i's part of row r at r * cols + i * L, and dy regrouped as [O, nb * L],
                    // so the sum over the batch is the k dimension of one large GEMM per group (which threads well)
                    // instead of nb small products plus a reduction.
                    Im2Col.Unfold(g, px, n0, nb, pc, g.L, cols);
                    Regroup(pdy + (long)n0 * g.O * g.L, pt, nb, g.O, g.L);
                    for (int gr = 0; gr < g.Groups; gr++)
                        GemmSingle(false, true, g.OG, g.R, (int)cols,
                            dyT.AsSpan((int)((long)gr * g.OG * cols)), (int)cols,
                            col.AsSpan((int)((long)gr * g.R * cols)), (int)cols,
                            n0 == 0 ? T.Zero : T.One,
                            dw[(gr * g.OG * g.R)..], g.R);
                }
            }
        }
        finally
        {
            ArrayPool<T>.Shared.Return(col);
            ArrayPool<T>.Shared.Return(dyT);
        }
    }

    /// <summary>[a, b, L] to [b, a, L]: whole L-runs are copied, so this is a cheap regrouping.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Regroup<T>(T* src, T* dst, int a, int b, int l) where T : unmanaged
    {
        nint ps = (nint)src, pd = (nint)dst;
        KernelParallel.For(KernelParallel.ChunkCount((long)a * b * l), b, (start, end) =>
        {
            for (long c = start; c < end; c++)
            for (int i = 0; i < a; i++)
                new ReadOnlySpan<T>((T*)ps + ((long)i * b + c) * l, l).CopyTo(new Span<T>((T*)pd + (c * a + i) * l, l));
        });
    }

    private static void CheckLength(string op, string what, int length, long needed)
    {
        if (length < needed)
            throw new ArgumentException($"{op}: the {what} buffer holds {length} elements but the shape needs {needed}.");
    }

    /// <summary>C = op(A) op(B) + beta C with explicit leading dimensions, on the GEMM of T's precision.</summary>
    private static void GemmSingle<T>(bool ta, bool tb, int m, int n, int k, ReadOnlySpan<T> a, int lda,
        ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc) where T : unmanaged, INumber<T>
    {
        if (typeof(T) == typeof(float))
            Gemm.Sgemm(ta, tb, m, n, k, 1f, MemoryMarshal.Cast<T, float>(a), lda, MemoryMarshal.Cast<T, float>(b), ldb,
                float.CreateTruncating(beta), MemoryMarshal.Cast<T, float>(c), ldc);
        else if (typeof(T) == typeof(double))
            Gemm.Dgemm(ta, tb, m, n, k, 1.0, MemoryMarshal.Cast<T, double>(a), lda, MemoryMarshal.Cast<T, double>(b), ldb,
                double.CreateTruncating(beta), MemoryMarshal.Cast<T, double>(c), ldc);
        else
            throw new NotSupportedException($"convolution is defined for float32 and float64, got {typeof(T).Name}.");
    }
}
