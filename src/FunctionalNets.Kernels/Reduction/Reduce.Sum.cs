using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace FunctionalNets.Kernels;

/// <summary>Reductions over the middle axis of a contiguous [outer, n, inner] view.</summary>
public static partial class Reduce
{
    /// <summary>y[o, i] = sum_j x[o, j, i]. n may be 0 (y = 0).</summary>
    /// <exception cref="ArgumentException">Negative sizes or span lengths that do not match the view.</exception>
    public static unsafe void Sum<T>(ReadOnlySpan<T> x, int outer, int n, int inner, Span<T> y) where T : unmanaged, INumber<T>
    {
        CheckView("Reduce.Sum", x.Length, outer, n, inner, y.Length);
        if (y.IsEmpty) return;
        if (n == 0) { y.Clear(); return; }
        long work = (long)outer * n * inner;
        int chunks = KernelParallel.ChunkCount(work);
        fixed (T* px = x, py = y)
        {
            T* cx = px, cy = py;
            if (chunks <= 1) SumBlock(cx, cy, 0, outer, n, inner, 0, inner);
            else if (outer >= chunks) KernelParallel.For(chunks, outer, (s, e) => SumBlock(cx, cy, (int)s, (int)e, n, inner, 0, inner));
            else if (inner >= chunks * 64) KernelParallel.For(chunks, inner, (s, e) => SumBlock(cx, cy, 0, outer, n, inner, (int)s, (int)e));
            else SumBlock(cx, cy, 0, outer, n, inner, 0, inner);
        }
    }

    /// <summary>Sums outers [o0, o1) restricted to inner columns [c0, c1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void SumBlock<T>(T* x, T* y, int o0, int o1, int n, int inner, int c0, int c1) where T : unmanaged, INumber<T>
    {
        int width = c1 - c0;
        for (int o = o0; o < o1; o++)
        {
            T* xo = x + (long)o * n * inner;
            if (inner == 1)
            {
                // Reducing the last axis: each output is one contiguous vectorised sum.
                y[o] = TensorPrimitives.Sum(new ReadOnlySpan<T>(xo, n));
                continue;
            }
            // Reducing a leading/middle axis: accumulate whole rows with vector adds (streams x once, cache friendly).
            var acc = new Span<T>(y + (long)o * inner + c0, width);
            new ReadOnlySpan<T>(xo + c0, width).CopyTo(acc);
            for (int j = 1; j < n; j++)
                Lanes.Apply<T, LaneAdd<T>>(acc, new ReadOnlySpan<T>(xo + (long)j * inner + c0, width), acc);
        }
    }

    /// <summary>Sum of all elements (0 for an empty span); the same bits for any thread count.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe T SumAll<T>(ReadOnlySpan<T> x) where T : unmanaged, INumber<T>
    {
        int parts = KernelParallel.PartCount(x.Length, x.Length);
        if (parts <= 1) return TensorPrimitives.Sum(x);
        // Per-part partial sums over a split fixed by the length alone, combined in part order.
        var partial = new T[parts];
        fixed (T* px = x)
        {
            T* cx = px;
            long len = x.Length;
            KernelParallel.ForParts(parts, c =>
            {
                long a = len * c / parts, b = len * (c + 1) / parts;
                partial[c] = TensorPrimitives.Sum(new ReadOnlySpan<T>(cx + a, (int)(b - a)));
            });
        }
        T total = T.Zero;
        foreach (T p in partial) total += p;
        return total;
    }

    private static void CheckView(string op, int xLength, int outer, int n, int inner, int yLength)
    {
        if (outer < 0 || n < 0 || inner < 0)
            throw new ArgumentException($"{op}: negative view size [outer={outer}, n={n}, inner={inner}].");
        if (xLength != (long)outer * n * inner || yLength != (long)outer * inner)
            throw new ArgumentException(
                $"{op}: x has {xLength} elements and y has {yLength}, but the view [outer={outer}, n={n}, inner={inner}] needs {(long)outer * n * inner} and {(long)outer * inner}.");
    }
}
