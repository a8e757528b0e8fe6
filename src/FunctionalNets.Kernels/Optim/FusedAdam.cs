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

    /// <summary>
    /// One Adam step applied to the parameters in a single pass: m' and v' as in <see cref="Adam{T}"/>, and
    /// p' = p + update * scale (scale is the negated, already rounded learning rate). Per element the same operations
    /// in the same order as <see cref="Adam{T}"/> followed by a multiply and an add, so the result is bit for bit
    /// that of the three passes; it reads g, m, v, p once and writes m', v', p' once (no update buffer). Large
    /// tensors are split across the kernel threads; each element depends on its own inputs only, so any split gives
    /// the same bits.
    /// </summary>
    public static void AdamApply<T>(T[] g, T[] m, T[] v, T[] p, T[] mOut, T[] vOut, T[] pOut,
        T b1, T b2, T eps, T bc1, T bc2, T scale) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = g.Length;
        if (m.Length != n || v.Length != n || p.Length != n || mOut.Length != n || vOut.Length != n || pOut.Length != n)
            throw new ArgumentException($"OptimizerKernels.AdamApply: all buffers must have {n} elements (got m {m.Length}, v {v.Length}, p {p.Length}, outputs {mOut.Length}, {vOut.Length}, {pOut.Length}).");
        int chunks = KernelParallel.ChunkCount(n);
        if (chunks <= 1)
        {
            AdamApplyRange(g, m, v, p, mOut, vOut, pOut, 0, n, b1, b2, eps, bc1, bc2, scale);
            return;
        }
        KernelParallel.For(chunks, n, (start, end) =>
            AdamApplyRange(g, m, v, p, mOut, vOut, pOut, (int)start, (int)end, b1, b2, eps, bc1, bc2, scale));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AdamApplyRange<T>(T[] g, T[] m, T[] v, T[] p, T[] mOut, T[] vOut, T[] pOut, int start, int end,
        T b1, T b2, T eps, T bc1, T bc2, T scale) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T c1 = T.One - b1, c2 = T.One - b2;
        int i = start;
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
        {
            int w = Vector512<T>.Count;
            var vb1 = Vector512.Create(b1); var vb2 = Vector512.Create(b2);
            var vc1 = Vector512.Create(c1); var vc2 = Vector512.Create(c2);
            var veps = Vector512.Create(eps); var vbc1 = Vector512.Create(bc1); var vbc2 = Vector512.Create(bc2);
            var vs = Vector512.Create(scale);
            for (; i + w <= end; i += w)
            {
                var gi = Vector512.LoadUnsafe(ref g[0], (nuint)i);
                var mi = vb1 * Vector512.LoadUnsafe(ref m[0], (nuint)i) + vc1 * gi;
                var vi = vb2 * Vector512.LoadUnsafe(ref v[0], (nuint)i) + vc2 * (gi * gi);
                mi.StoreUnsafe(ref mOut[0], (nuint)i);
                vi.StoreUnsafe(ref vOut[0], (nuint)i);
                var u = (mi / vbc1) / (Vector512.Sqrt(vi / vbc2) + veps);
                (Vector512.LoadUnsafe(ref p[0], (nuint)i) + u * vs).StoreUnsafe(ref pOut[0], (nuint)i);
            }
        }
        else if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            int w = Vector256<T>.Count;
            var vb1 = Vector256.Create(b1); var vb2 = Vector256.Create(b2);
            var vc1 = Vector256.Create(c1); var vc2 = Vector256.Create(c2);
            var veps = Vector256.Create(eps); var vbc1 = Vector256.Create(bc1); var vbc2 = Vector256.Create(bc2);
            var vs = Vector256.Create(scale);
            for (; i + w <= end; i += w)
            {
                var gi = Vector256.LoadUnsafe(ref g[0], (nuint)i);
                var mi = vb1 * Vector256.LoadUnsafe(ref m[0], (nuint)i) + vc1 * gi;
                var vi = vb2 * Vector256.LoadUnsafe(ref v[0], (nuint)i) + vc2 * (gi * gi);
                mi.StoreUnsafe(ref mOut[0], (nuint)i);
                vi.StoreUnsafe(ref vOut[0], (nuint)i);
                var u = (mi / vbc1) / (Vector256.Sqrt(vi / vbc2) + veps);
                (Vector256.LoadUnsafe(ref p[0], (nuint)i) + u * vs).StoreUnsafe(ref pOut[0], (nuint)i);
            }
        }
        for (; i < end; i++)
        {
            T mi = b1 * m[i] + c1 * g[i];
            T vi = b2 * v[i] + c2 * (g[i] * g[i]);
            mOut[i] = mi;
            vOut[i] = vi;
            T u = (mi / bc1) / (T.Sqrt(vi / bc2) + eps);
            pOut[i] = p[i] + u * scale;
        }
    }
}
