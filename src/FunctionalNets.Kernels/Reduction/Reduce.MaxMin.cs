using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace FunctionalNets.Kernels;

public static partial class Reduce
{
    /// <summary>
    /// y[o, i] = max_j x[o, j, i], and optionally the arg-max in <paramref name="indices"/> (empty = not wanted).
    /// NaN propagates and its (first) index is reported; ties report the first index.
    /// </summary>
    /// <exception cref="ArgumentException">n = 0, or lengths do not match the view.</exception>
    public static void Max<T>(ReadOnlySpan<T> x, int outer, int n, int inner, Span<T> y, Span<long> indices) where T : unmanaged, INumber<T> =>
        Extreme<T, GreaterPick<T>>("Reduce.Max", x, outer, n, inner, y, indices);

    /// <summary>Like <see cref="Max{T}"/> but the minimum (NaN propagates, ties report the first index).</summary>
    /// <exception cref="ArgumentException">n = 0, or lengths do not match the view.</exception>
    public static void Min<T>(ReadOnlySpan<T> x, int outer, int n, int inner, Span<T> y, Span<long> indices) where T : unmanaged, INumber<T> =>
        Extreme<T, LessPick<T>>("Reduce.Min", x, outer, n, inner, y, indices);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Extreme<T, TPick>(string op, ReadOnlySpan<T> x, int outer, int n, int inner, Span<T> y, Span<long> indices)
        where T : unmanaged, INumber<T> where TPick : struct, IPick<T>
    {
        CheckView(op, x.Length, outer, n, inner, y.Length);
        bool wantIdx = !indices.IsEmpty;
        if (wantIdx && indices.Length != y.Length)
            throw new ArgumentException($"{op}: indices has {indices.Length} elements but y has {y.Length} (view [outer={outer}, n={n}, inner={inner}]).");
        if (y.IsEmpty) return;
        if (n == 0)
            throw new ArgumentException($"{op}: cannot reduce an empty axis (n = 0, view [outer={outer}, n={n}, inner={inner}]).");
        for (int o = 0; o < outer; o++)
        {
            var xo = x.Slice(o * n * inner, n * inner);
            if (inner == 1)
            {
                // Last axis: vectorised reduction, then locate the first occurrence only if asked.
                T v = TPick.Reduce(xo);
                y[o] = v;
                if (wantIdx) indices[o] = FirstIndexOf(xo, v);
                continue;
            }
            var acc = y.Slice(o * inner, inner);
            xo.Slice(0, inner).CopyTo(acc);
            if (!wantIdx)
            {
                // NaN-propagating elementwise max/min of rows; keeps the traversal row-major.
                for (int j = 1; j < n; j++) TPick.Combine(acc, xo.Slice(j * inner, inner), acc);
                continue;
            }
            var idx = indices.Slice(o * inner, inner);
            idx.Clear();
            for (int j = 1; j < n; j++)
            {
                var row = xo.Slice(j * inner, inner);
                for (int i = 0; i < inner; i++)
                {
                    T cur = acc[i], v = row[i];
                    // Replace only on a strict improvement, or when v is the first NaN seen: ties keep the first index.
                    if (TPick.Better(v, cur) || (T.IsNaN(v) && !T.IsNaN(cur)))
                    {
                        acc[i] = v;
                        idx[i] = j;
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static long FirstIndexOf<T>(ReadOnlySpan<T> row, T v) where T : unmanaged, INumber<T>
    {
        if (T.IsNaN(v))
        {
            for (int j = 0; j < row.Length; j++) if (T.IsNaN(row[j])) return j;
        }
        else
        {
            // == treats -0 and +0 as a tie, so the first of them is reported.
            for (int j = 0; j < row.Length; j++) if (row[j] == v) return j;
        }
        return 0;
    }
}

/// <summary>Direction of an extreme-value reduction.</summary>
internal interface IPick<T> where T : unmanaged, INumber<T>
{
    static abstract bool Better(T candidate, T current);
    static abstract T Reduce(ReadOnlySpan<T> x);
    static abstract void Combine(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y);
}

internal struct GreaterPick<T> : IPick<T> where T : unmanaged, INumber<T>
{
    public static bool Better(T candidate, T current) => candidate > current;
    public static T Reduce(ReadOnlySpan<T> x) => TensorPrimitives.Max(x);
    public static void Combine(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) => TensorPrimitives.Max(a, b, y);
}

internal struct LessPick<T> : IPick<T> where T : unmanaged, INumber<T>
{
    public static bool Better(T candidate, T current) => candidate < current;
    public static T Reduce(ReadOnlySpan<T> x) => TensorPrimitives.Min(x);
    public static void Combine(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) => TensorPrimitives.Min(a, b, y);
}
