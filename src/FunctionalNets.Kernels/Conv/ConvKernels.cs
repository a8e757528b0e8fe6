using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FunctionalNets.Kernels;

/// <summary>
/// 2-D convolution (cross-correlation, as PyTorch) and its two gradients on NCHW data, by im2col + GEMM. Float32 and
/// Float64. The batch is processed in blocks so the unfolded matrix stays bounded (<see cref="MaxColumnElements"/>);
/// parallelism comes from the threaded GEMM and from unfolding channel planes concurrently.
/// </summary>
public static unsafe class ConvKernels
{
    /// <summary>Upper bound on the elements of one im2col block (32 Mi: 128 MiB of float32).</summary>
    public const long MaxColumnElements = 1L << 25;

    /// <summary>Images per block: as many as fit the bound, at least one.</summary>
    private static int BlockImages(in ConvGeometry g) =>
        (int)Math.Clamp(MaxColumnElements / Math.Max(1L, (long)g.C * g.KH * g.KW * g.L), 1, Math.Max(1, g.N));

    /// <summary>y [N, O, OH, OW] = conv(x [N, C, H, W], w [O, C/groups, KH, KW]); y is fully overwritten.</summary>
    /// <exception cref="ArgumentException">A span is shorter than its shape requires.</exception>
    public static void Forward<T>(in ConvGeometry g, ReadOnlySpan<T> x, ReadOnlySpan<T> w, Span<T> y)
        where T : unmanaged, INumber<T>
    {
        CheckLength("conv2d", "input", x.Length, (long)g.N * g.C * g.H * g.W);
        CheckLength("conv2d", "weight", w.Length, (long)g.O * g.R);
        CheckLength("conv2d", "output", y.Length, (long)g.N * g.O * g.L);
        if (g.N == 0 || g.O == 0 || g.L == 0) return;
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
    public static void InputGrad<T>(in ConvGeometry g, ReadOnlySpan<T> dy, ReadOnlySpan<T> w, Span<T> dx)
        where T : unmanaged, INumber<T>
    {
        CheckLength("conv2d input gradient", "output gradient", dy.Length, (long)g.N * g.O * g.L);
        CheckLength("conv2d input gradient", "weight", w.Length, (long)g.O * g.R);
        CheckLength("conv2d input gradient", "input gradient", dx.Length, (long)g.N * g.C * g.H * g.W);
        dx[..(int)((long)g.N * g.C * g.H * g.W)].Clear();
        if (g.N == 0 || g.O == 0 || g.L == 0 || g.C == 0) return;
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
    public static void WeightGrad<T>(in ConvGeometry g, ReadOnlySpan<T> dy, ReadOnlySpan<T> x, Span<T> dw)
        where T : unmanaged, INumber<T>
    {
        CheckLength("conv2d weight gradient", "output gradient", dy.Length, (long)g.N * g.O * g.L);
        CheckLength("conv2d weight gradient", "input", x.Length, (long)g.N * g.C * g.H * g.W);
        CheckLength("conv2d weight gradient", "weight gradient", dw.Length, (long)g.O * g.R);
        dw[..(g.O * g.R)].Clear();
        if (g.N == 0 || g.O == 0 || g.L == 0 || g.R == 0) return;
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
