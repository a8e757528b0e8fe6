using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace FunctionalNets.Kernels;

public static partial class Layout
{
    /// <summary>
    /// The inverse of <see cref="StridedCopy{T}"/>: y[yOffset + sum_k i_k * yStrides[k]] = x[i] for contiguous x of
    /// <paramref name="shape"/>. Used for cat, pad and stack. Positions hit twice keep the last write.
    /// </summary>
    /// <exception cref="ArgumentException">A rank or length mismatch, or a view reaching outside y.</exception>
    public static unsafe void StridedAssign<T>(ReadOnlySpan<T> x, Span<T> y, long yOffset, ReadOnlySpan<int> yStrides, ReadOnlySpan<int> shape) where T : unmanaged
    {
        const string name = "Layout.StridedAssign";
        long total = ShapeChecks.Count(name, shape);
        ShapeChecks.Length(name, "x", x.Length, total, shape);
        ShapeChecks.Extent(name, "y", yOffset, yStrides, shape, y.Length);
        if (total == 0) return;
        var plan = StridedPlan.Create(name, shape, yStrides, default, default);
        plan.Base0 = yOffset;
        fixed (T* px = x, py = y)
        {
            // Serial: with repeated positions (stride 0) "last write wins" must stay deterministic.
            StridedRunner.Run(in plan, new AssignBody<T> { X = px, Y = py }, allowParallel: false);
        }
    }

    /// <summary>
    /// y[yOffset + sum_k i_k * yStrides[k]] += x[i]: the backward of slicing and expand-by-view.
    /// Positions repeated by the strides (e.g. stride 0) accumulate.
    /// </summary>
    /// <exception cref="ArgumentException">A rank or length mismatch, or a view reaching outside y.</exception>
    public static unsafe void StridedAccumulate<T>(ReadOnlySpan<T> x, Span<T> y, long yOffset, ReadOnlySpan<int> yStrides, ReadOnlySpan<int> shape) where T : unmanaged, INumber<T>
    {
        const string name = "Layout.StridedAccumulate";
        long total = ShapeChecks.Count(name, shape);
        ShapeChecks.Length(name, "x", x.Length, total, shape);
        ShapeChecks.Extent(name, "y", yOffset, yStrides, shape, y.Length);
        if (total == 0) return;
        var plan = StridedPlan.Create(name, shape, yStrides, default, default);
        plan.Base0 = yOffset;
        fixed (T* px = x, py = y)
        {
            // Serial: overlapping targets would race across threads.
            StridedRunner.Run(in plan, new AccumulateBody<T> { X = px, Y = py }, allowParallel: false);
        }
    }
}

internal unsafe struct AssignBody<T> : IRowBody where T : unmanaged
{
    public T* X, Y;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public readonly void Row(long linear, long o0, long o1, long o2, long s0, long s1, long s2, int len)
    {
        T* x = X + linear, y = Y + o0;
        if (s0 == 1) new ReadOnlySpan<T>(x, len).CopyTo(new Span<T>(y, len));
        else if (s0 == 0) *y = x[len - 1];
        else for (int i = 0; i < len; i++) y[i * s0] = x[i];
    }
}

internal unsafe struct AccumulateBody<T> : IRowBody where T : unmanaged, INumber<T>
{
    public T* X, Y;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public readonly void Row(long linear, long o0, long o1, long o2, long s0, long s1, long s2, int len)
    {
        T* x = X + linear, y = Y + o0;
        if (s0 == 1)
        {
            var ys = new Span<T>(y, len);
            TensorPrimitives.Add(ys, new ReadOnlySpan<T>(x, len), ys);
        }
        else if (s0 == 0) *y += TensorPrimitives.Sum(new ReadOnlySpan<T>(x, len)); // a broadcast run collapses to one sum
        else for (int i = 0; i < len; i++) y[i * s0] += x[i];
    }
}
