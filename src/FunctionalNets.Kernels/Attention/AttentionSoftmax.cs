using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace FunctionalNets.Kernels;

/// <summary>
/// The softmax of attention scores in one pass per row: scaling, the causal mask and the normalization fused, so
/// the [.., L, S] weights are written once instead of by a chain of elementwise ops.
/// </summary>
public static class AttentionSoftmax
{
    private static void Check(string op, long rows, int s, long a, long b)
    {
        if (rows < 0 || s < 0 || a < rows * s || b < rows * s)
            throw new ArgumentException($"AttentionSoftmax.{op}: {rows} rows of {s} need buffers of {rows * s}, got {a} and {b}.");
    }

    /// <summary>
    /// y = softmax(scale * x) over each row of <paramref name="s"/> keys; rows are [batch, L] in row-major order.
    /// With <paramref name="causal"/> set, query row i (its index modulo <paramref name="l"/>) sees keys j &lt;= i
    /// only and the others get weight 0 (PyTorch's is_causal, aligned top-left). A row whose scores are all -inf
    /// gives NaN, as in PyTorch.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward<T>(T[] x, long rows, int l, int s, double scale, bool causal, T[] y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(nameof(Forward), rows, s, x.Length, y.Length);
        if (l < 1 && rows > 0) throw new ArgumentException($"AttentionSoftmax.Forward: L must be >= 1, got {l}.");
        T sc = T.CreateTruncating(scale);
        KernelParallel.For(KernelParallel.ChunkCount(rows * s * 8), rows, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (r0, r1) =>
        {
            for (long r = r0; r < r1; r++)
            {
                int valid = causal ? (int)Math.Min(r % l + 1, s) : s;
                var yr = new Span<T>(y, (int)(r * s), s);
                var live = yr[..valid];
                TensorPrimitives.Multiply(new ReadOnlySpan<T>(x, (int)(r * s), valid), sc, live);
                if (valid > 0)
                {
                    T m = TensorPrimitives.Max<T>(live);
                    TensorPrimitives.Subtract(live, m, live);
                    TensorPrimitives.Exp<T>(live, live);
                    T total = TensorPrimitives.Sum<T>(live);
                    TensorPrimitives.Multiply(live, T.One / total, live);
                }
                yr[valid..].Clear();
            }
        });
    }

    /// <summary>
    /// The adjoint of <see cref="Forward{T}"/> from its output y: dx = scale * y * (g - sum(g * y)) per row (masked
    /// positions have y = 0, so they get 0).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward<T>(T[] g, T[] y, long rows, int s, double scale, T[] dx)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(nameof(Backward), rows, s, g.Length, y.Length);
        if (dx.Length < rows * s) throw new ArgumentException($"AttentionSoftmax.Backward: dx holds {dx.Length}, need {rows * s}.");
        T sc = T.CreateTruncating(scale);
        KernelParallel.For(KernelParallel.ChunkCount(rows * s * 4), rows, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (r0, r1) =>
        {
            for (long r = r0; r < r1; r++)
            {
                var gr = new ReadOnlySpan<T>(g, (int)(r * s), s);
                var yr = new ReadOnlySpan<T>(y, (int)(r * s), s);
                var dr = new Span<T>(dx, (int)(r * s), s);
                T dot = TensorPrimitives.Dot(gr, yr);
                TensorPrimitives.Subtract(gr, dot, dr);
                TensorPrimitives.Multiply(dr, yr, dr);
                TensorPrimitives.Multiply(dr, sc, dr);
            }
        });
    }
}
