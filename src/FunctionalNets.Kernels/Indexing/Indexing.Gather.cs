using System.Numerics;
using System.Runtime.CompilerServices;

namespace FunctionalNets.Kernels;

/// <summary>Index-driven gathers and scatters (torch.gather, scatter_add_, index_select, index_add_).</summary>
public static partial class Indexing
{
    /// <summary>
    /// torch.gather: y (index's shape) at multi-index i = x[i with position <paramref name="dim"/> replaced by index[i]].
    /// Ranks are equal and indexShape[d] &lt;= xShape[d] for d != dim.
    /// </summary>
    /// <exception cref="ArgumentException">Shape, rank or length mismatch.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An index value outside [0, xShape[dim]).</exception>
    public static unsafe void Gather<T>(ReadOnlySpan<T> x, ReadOnlySpan<int> xShape, int dim, ReadOnlySpan<long> index, ReadOnlySpan<int> indexShape, Span<T> y) where T : unmanaged
    {
        const string op = "Gather";
        IndexChecks.SameRank(op, "index", indexShape, "x", xShape);
        IndexChecks.Dim(op, dim, xShape);
        ShapeChecks.Length(op, "x", x.Length, ShapeChecks.Count(op, xShape), xShape);
        long total = ShapeChecks.Count(op, indexShape);
        ShapeChecks.Length(op, "index", index.Length, total, indexShape);
        ShapeChecks.Length(op, "y", y.Length, total, indexShape);
        IndexChecks.Fits(op, "index", indexShape, "x", xShape, dim);
        if (total == 0) return;
        // Walk index's shape; x is addressed with its own strides except along dim, where the index value decides.
        Span<int> xs = stackalloc int[xShape.Length];
        IndexChecks.ContiguousStrides(xShape, xs);
        int dimStride = xs[dim];
        xs[dim] = 0;
        var plan = StridedPlan.Create(op, indexShape, xs, default, default);
        fixed (T* px = x, py = y)
        fixed (long* pi = index)
        {
            StridedRunner.Run(in plan, new GatherBody<T> { X = px, Y = py, I = pi, DimStride = dimStride, Dim = dim, Size = xShape[dim] }, allowParallel: true);
        }
    }

    /// <summary>
    /// torch.scatter_add_: y[i with position dim replaced by index[i]] += src[i], iterating over index's shape;
    /// src may be larger than index (its own shape gives its strides).
    /// </summary>
    /// <exception cref="ArgumentException">Shape, rank or length mismatch.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An index value outside [0, yShape[dim]).</exception>
    public static unsafe void ScatterAdd<T>(Span<T> y, ReadOnlySpan<int> yShape, int dim, ReadOnlySpan<long> index, ReadOnlySpan<int> indexShape, ReadOnlySpan<T> src, ReadOnlySpan<int> srcShape)
        where T : unmanaged, INumber<T>
    {
        const string op = "ScatterAdd";
        IndexChecks.SameRank(op, "index", indexShape, "y", yShape);
        IndexChecks.SameRank(op, "src", srcShape, "y", yShape);
        IndexChecks.Dim(op, dim, yShape);
        ShapeChecks.Length(op, "y", y.Length, ShapeChecks.Count(op, yShape), yShape);
        ShapeChecks.Length(op, "src", src.Length, ShapeChecks.Count(op, srcShape), srcShape);
        long total = ShapeChecks.Count(op, indexShape);
        ShapeChecks.Length(op, "index", index.Length, total, indexShape);
        IndexChecks.Fits(op, "index", indexShape, "y", yShape, dim);
        IndexChecks.Fits(op, "index", indexShape, "src", srcShape, -1);
        if (total == 0) return;
        Span<int> ys = stackalloc int[yShape.Length];
        Span<int> ss = stackalloc int[srcShape.Length];
        IndexChecks.ContiguousStrides(yShape, ys);
        IndexChecks.ContiguousStrides(srcShape, ss);
        int dimStride = ys[dim];
        ys[dim] = 0;
        var plan = StridedPlan.Create(op, indexShape, ys, ss, default);
        fixed (T* py = y, ps = src)
        fixed (long* pi = index)
        {
            // Serial: different index entries may target the same y element.
            StridedRunner.Run(in plan, new ScatterAddBody<T> { Y = py, S = ps, I = pi, DimStride = dimStride, Dim = dim, Size = yShape[dim] }, allowParallel: false);
        }
    }
}

internal unsafe struct GatherBody<T> : IRowBody where T : unmanaged
{
    public T* X, Y;
    public long* I;
    public long DimStride;
    public int Dim, Size;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public readonly void Row(long linear, long o0, long o1, long o2, long s0, long s1, long s2, int len)
    {
        T* x = X + o0, y = Y + linear;
        long* idx = I + linear;
        for (int i = 0; i < len; i++)
        {
            long k = idx[i];
            if ((ulong)k >= (ulong)Size) throw IndexChecks.OutOfRange("Gather", k, Dim, Size);
            y[i] = x[i * s0 + k * DimStride];
        }
    }
}

internal unsafe struct ScatterAddBody<T> : IRowBody where T : unmanaged, INumber<T>
{
    public T* Y, S;
    public long* I;
    public long DimStride;
    public int Dim, Size;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public readonly void Row(long linear, long o0, long o1, long o2, long s0, long s1, long s2, int len)
    {
        T* y = Y + o0, s = S + o1;
        long* idx = I + linear;
        for (int i = 0; i < len; i++)
        {
            long k = idx[i];
            if ((ulong)k >= (ulong)Size) throw IndexChecks.OutOfRange("ScatterAdd", k, Dim, Size);
            y[i * s0 + k * DimStride] += s[i * s1];
        }
    }
}
