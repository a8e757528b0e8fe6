using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace FunctionalNets.Kernels;

/// <summary>Inclusive prefix sums along one dim of a contiguous tensor viewed as [outer; length; inner].</summary>
public static class Scan
{
    /// <summary>
    /// y[o, j, i] = sum over k &lt;= j of x[o, k, i] (or k &gt;= j when <paramref name="reverse"/>). Rows of the
    /// inner dims are added as whole vectors, so a scan over a leading dim is as fast as a copy.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void CumSum<T>(T[] x, long outer, int length, int inner, bool reverse, T[] y)
        where T : unmanaged, INumber<T>
    {
        long plane = (long)length * inner;
        if (outer < 0 || length < 0 || inner < 0 || x.Length < outer * plane || y.Length < outer * plane)
            throw new ArgumentException(
                $"Scan.CumSum: [{outer}; {length}; {inner}] needs buffers of {outer * plane}, got {x.Length} and {y.Length}.");
        if (plane == 0) return;
        KernelParallel.For(KernelParallel.ChunkCount(outer * plane), outer, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (o0, o1) =>
        {
            for (long o = o0; o < o1; o++)
            {
                long b = o * plane;
                if (inner == 1)
                {
                    T s = T.Zero;
                    if (!reverse)
                        for (long j = b; j < b + length; j++) { s += x[j]; y[j] = s; }
                    else
                        for (long j = b + length - 1; j >= b; j--) { s += x[j]; y[j] = s; }
                }
                else
                {
                    int first = reverse ? length - 1 : 0, step = reverse ? -1 : 1;
                    Array.Copy(x, b + (long)first * inner, y, b + (long)first * inner, inner);
                    for (int j = first + step, k = 1; k < length; j += step, k++)
                    {
                        var prev = new ReadOnlySpan<T>(y, (int)(b + (long)(j - step) * inner), inner);
                        var cur = new ReadOnlySpan<T>(x, (int)(b + (long)j * inner), inner);
                        TensorPrimitives.Add(prev, cur, new Span<T>(y, (int)(b + (long)j * inner), inner));
                    }
                }
            }
        });
    }
}
