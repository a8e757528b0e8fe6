using System.Buffers;
using System.Numerics;
using System.Runtime.ExceptionServices;
using FunctionalNets.Kernels.GemmImpl;

namespace FunctionalNets.Kernels;

/// <summary>
/// 2-D convolution (cross-correlation, as PyTorch) and its two gradients on NCHW data, by im2col + GEMM. Float32 and
/// Float64. Work is split by image: each worker thread unfolds one image at a time into its own column buffer
/// (C * KH * KW x OH * OW, a few hundred KiB at MNIST/CIFAR sizes, so it stays in the core's L2 between the unfold and
/// the product that reads it) and runs single-threaded GEMMs that write straight into the image's NCHW output. A
/// single image (or one thread) instead threads its GEMMs and unfolds.
/// </summary>
public static unsafe class ConvKernels
{
    /// <summary>y [N, O, OH, OW] = conv(x [N, C, H, W], w [O, C/groups, KH, KW]); y is fully overwritten.</summary>
    /// <exception cref="ArgumentException">A span is shorter than its shape requires.</exception>
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
    public static void WeightGrad<T>(in ConvGeometry g, ReadOnlySpan<T> dy, ReadOnlySpan<T> x, Span<T> dw)
        where T : unmanaged, INumber<T>
    {
        CheckLength("conv2d weight gradient", "output gradient", dy.Length, (long)g.N * g.O * g.L);
        CheckLength("conv2d weight gradient", "input", x.Length, (long)g.N * g.C * g.H * g.W);
        CheckLength("conv2d weight gradient", "weight gradient", dw.Length, (long)g.O * g.R);
        dw[..(g.O * g.R)].Clear();
        if (g.N == 0 || g.O == 0 || g.L == 0 || g.R == 0) return;
        var geo = g;
        var isa = GemmIsaSelector.Current;
        int workers = Workers(g);
        int size = g.O * g.R;
        // Each worker sums its images into its own transposed partial, group gr's [R, OG] block at gr * R * OG:
        // with R = C KH KW a multiple of the 6-row register tile far more often than O is (288 vs 64, 9 vs 32), the
        // product R x OG wastes fewer padded lanes than OG x R.
        T[] parts = ArrayPool<T>.Shared.Rent(workers * size);
        var used = new bool[workers];
        try
        {
            fixed (T* pdy = dy)
            fixed (T* px = x)
            fixed (T* pp = parts)
            {
                nint ady = (nint)pdy, ax = (nint)px, ap = (nint)pp;
                ForImages<T>(g, (worker, n, col, inner) =>
                {
                    Im2Col.UnfoldImage(geo, (T*)ax, n, col, inner);
                    T beta = used[worker] ? T.One : T.Zero;
                    used[worker] = true;
                    for (int gr = 0; gr < geo.Groups; gr++)
                        GemmLocal.Run(isa, inner, false, true, geo.R, geo.OG, geo.L,
                            col + (long)gr * geo.R * geo.L, geo.L,
                            (T*)ady + ((long)n * geo.O + (long)gr * geo.OG) * geo.L, geo.L,
                            beta,
                            (T*)ap + (long)worker * size + (long)gr * geo.R * geo.OG, geo.OG);
                });
                for (int wk = 0; wk < workers; wk++)
                {
                    if (!used[wk]) continue;
                    T* part = pp + (long)wk * size;
                    for (int gr = 0; gr < g.Groups; gr++)
                    for (int o = 0; o < g.OG; o++)
                    {
                        Span<T> row = dw.Slice((gr * g.OG + o) * g.R, g.R);
                        T* src = part + (long)gr * g.R * g.OG + o;
                        for (int r = 0; r < g.R; r++)
                            row[r] += src[(long)r * g.OG];
                    }
                }
            }
        }
        finally
        {
            ArrayPool<T>.Shared.Return(parts);
        }
    }

    /// <summary>One image's work: the worker's index, the image, its column buffer, and whether it may use threads.</summary>
    private delegate void ImageBody<T>(int worker, int n, T* col, bool inner) where T : unmanaged;

    private static int Workers(in ConvGeometry g) =>
        Math.Max(1, Math.Min(Math.Min(KernelSettings.MaxThreads, Environment.ProcessorCount), g.N));

    /// <summary>
    /// Runs <paramref name="body"/> once per image. Images are handed out one at a time from a shared counter, so on a
    /// shared machine a worker slowed by other processes simply takes fewer images.
    /// </summary>
    private static void ForImages<T>(in ConvGeometry g, ImageBody<T> body) where T : unmanaged
    {
        int workers = Workers(g), count = g.N;
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
        try
        {
            Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, worker =>
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
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
            throw;
        }
    }

    private static void CheckLength(string op, string what, int length, long needed)
    {
        if (length < needed)
            throw new ArgumentException($"{op}: the {what} buffer holds {length} elements but the shape needs {needed}.");
    }
}
