using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FunctionalNets.Kernels;

/// <summary>
/// Optimizer steps fused into one pass over the data. Written as separate tensor ops, an Adam step reads and
/// writes the parameter-sized buffers a dozen times; here it reads g, m, v once and writes m', v' and the
/// update once, which is what makes it memory-bandwidth cheap.
/// </summary>
public static class OptimizerKernels
{
    /// <summary>
    /// m' = b1 m + (1 - b1) g; v' = b2 v + (1 - b2) g^2; update = (m' / bc1) / (sqrt(v' / bc2) + eps), with
    /// bc1 = 1 - b1^t and bc2 = 1 - b2^t passed in. All spans have the same length.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Adam<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> m, ReadOnlySpan<T> v, Span<T> mOut, Span<T> vOut, Span<T> update,
        T b1, T b2, T eps, T bc1, T bc2) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = g.Length;
        if (m.Length != n || v.Length != n || mOut.Length != n || vOut.Length != n || update.Length != n)
            throw new ArgumentException($"OptimizerKernels.Adam: all buffers must have {n} elements (got m {m.Length}, v {v.Length}, outputs {mOut.Length}, {vOut.Length}, {update.Length}).");
        T c1 = T.One - b1, c2 = T.One - b2;
        int i = 0;
        if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            var vb1 = Vector256.Create(b1); var vb2 = Vector256.Create(b2);
            var vc1 = Vector256.Create(c1); var vc2 = Vector256.Create(c2);
            var veps = Vector256.Create(eps); var vbc1 = Vector256.Create(bc1); var vbc2 = Vector256.Create(bc2);
            int w = Vector256<T>.Count;
            for (; i + w <= n; i += w)
            {
                var gi = Vector256.Create(g.Slice(i, w));
                var mi = vb1 * Vector256.Create(m.Slice(i, w)) + vc1 * gi;
                var vi = vb2 * Vector256.Create(v.Slice(i, w)) + vc2 * (gi * gi);
                mi.CopyTo(mOut.Slice(i, w));
                vi.CopyTo(vOut.Slice(i, w));
                ((mi / vbc1) / (Vector256.Sqrt(vi / vbc2) + veps)).CopyTo(update.Slice(i, w));
            }
        }
        for (; i < n; i++)
        {
            T mi = b1 * m[i] + c1 * g[i];
            T vi = b2 * v[i] + c2 * (g[i] * g[i]);
            mOut[i] = mi;
            vOut[i] = vi;
            update[i] = (mi / bc1) / (T.Sqrt(vi / bc2) + eps);
        }
    }
}
