using System.Runtime.CompilerServices;
namespace FunctionalNets.Kernels;

/// <summary>Strided gathers/scatters between a contiguous buffer and a strided view (permute, slice, expand, cat, pad).</summary>
public static partial class Layout
{
    /// <summary>
    /// y (contiguous, <paramref name="shape"/>) at multi-index i = x[xOffset + sum_k i_k * xStrides[k]].
    /// Strides may be zero (expand) or negative (reversed slices).
    /// </summary>
    /// <exception cref="ArgumentException">A rank or length mismatch, or a view reaching outside x.</exception>
    public static unsafe void StridedCopy<T>(ReadOnlySpan<T> x, long xOffset, ReadOnlySpan<int> xStrides, Span<T> y, ReadOnlySpan<int> shape) where T : unmanaged
    {
        const string name = "Layout.StridedCopy";
        long total = ShapeChecks.Count(name, shape);
        ShapeChecks.Length(name, "y", y.Length, total, shape);
        ShapeChecks.Extent(name, "x", xOffset, xStrides, shape, x.Length);
        if (total == 0) return;
        var plan = StridedPlan.Create(name, shape, xStrides, default, default);
        plan.Base0 = xOffset;
        fixed (T* px = x, py = y)
        {
            if (TiledTranspose.Applies(in plan)) { TiledTranspose.Run(in plan, px, py); return; }
            StridedRunner.Run(in plan, new CopyBody<T> { X = px, Y = py }, allowParallel: true);
        }
    }
}

internal unsafe struct CopyBody<T> : IRowBody where T : unmanaged
{
    public T* X, Y;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public readonly void Row(long linear, long o0, long o1, long o2, long s0, long s1, long s2, int len)
    {
        T* x = X + o0, y = Y + linear;
        if (s0 == 1) new ReadOnlySpan<T>(x, len).CopyTo(new Span<T>(y, len));
        else if (s0 == 0) new Span<T>(y, len).Fill(*x);
        else for (int i = 0; i < len; i++) y[i] = x[i * s0];
    }
}
