using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.CompilerServices;

namespace FunctionalNets.Kernels;

/// <summary>Fixed-size inline storage for per-dimension values, so plans never allocate.</summary>
[InlineArray(StridedPlan.MaxRank)]
internal struct RankLongs
{
    private long element0;
}

/// <summary>
/// An iteration plan over a row-major "linear" index space (the contiguous operand, usually the output)
/// plus up to three strided operands. Dimensions of size 1 are dropped and adjacent dimensions that are
/// contiguous for every operand are merged, so the common cases become a single long inner run.
/// </summary>
internal struct StridedPlan
{
    /// <summary>Largest rank left after collapsing; collapsed ranks are small in practice.</summary>
    public const int MaxRank = 16;

    public int Rank;
    public long Total;
    public RankLongs Shape;
    public RankLongs S0;
    public RankLongs S1;
    public RankLongs S2;
    /// <summary>Starting element offset of operand 0 (the others start at 0).</summary>
    public long Base0;

    public readonly long Inner => Shape[Rank - 1];
    public readonly long Rows => Inner == 0 ? 0 : Total / Inner;

    /// <summary>Builds a collapsed plan. Unused operand strides may be empty spans (treated as all zero).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static StridedPlan Create(string op, ReadOnlySpan<int> shape, ReadOnlySpan<int> s0, ReadOnlySpan<int> s1, ReadOnlySpan<int> s2)
    {
        var p = new StridedPlan();
        long total = 1;
        foreach (int d in shape) total *= d;
        p.Total = total;
        // Build the collapsed dims from the innermost outward (merging needs the inner neighbour), then reverse.
        int rank = 0;
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            long size = shape[d];
            if (size == 1) continue;
            long a = s0.IsEmpty ? 0 : s0[d], b = s1.IsEmpty ? 0 : s1[d], c = s2.IsEmpty ? 0 : s2[d];
            if (rank > 0)
            {
                int t = rank - 1;
                long n = p.Shape[t];
                if (a == p.S0[t] * n && b == p.S1[t] * n && c == p.S2[t] * n)
                {
                    p.Shape[t] = n * size;
                    continue;
                }
            }
            if (rank == MaxRank)
                throw new NotSupportedException($"{op}: more than {MaxRank} non-collapsible dimensions (shape {ShapeText.Format(shape)}).");
            p.Shape[rank] = size; p.S0[rank] = a; p.S1[rank] = b; p.S2[rank] = c;
            rank++;
        }
        if (rank == 0)
        {
            p.Shape[0] = 1;
            rank = 1;
        }
        else
        {
            for (int i = 0, j = rank - 1; i < j; i++, j--)
            {
                (p.Shape[i], p.Shape[j]) = (p.Shape[j], p.Shape[i]);
                (p.S0[i], p.S0[j]) = (p.S0[j], p.S0[i]);
                (p.S1[i], p.S1[j]) = (p.S1[j], p.S1[i]);
                (p.S2[i], p.S2[j]) = (p.S2[j], p.S2[i]);
            }
        }
        p.Rank = rank;
        return p;
    }
}

/// <summary>Callback for one inner run of a <see cref="StridedPlan"/>; implemented by structs so calls inline.</summary>
internal interface IRowBody
{
    /// <summary>Process <paramref name="len"/> elements starting at linear offset <paramref name="linear"/>;
    /// operand k starts at element offset ok and advances by sk.</summary>
    void Row(long linear, long o0, long o1, long o2, long s0, long s1, long s2, int len);
}

/// <summary>Drives an <see cref="IRowBody"/> over a plan, optionally split across threads.</summary>
internal static class StridedRunner
{
    public static void Run<TBody>(in StridedPlan plan, TBody body, bool allowParallel) where TBody : struct, IRowBody
    {
        if (plan.Total == 0) return;
        long rows = plan.Rows, inner = plan.Inner;
        int chunks = allowParallel ? KernelParallel.ChunkCount(plan.Total) : 1;
        if (chunks <= 1)
        {
            RunRange(in plan, ref body, 0, rows, 0, inner);
            return;
        }
        var p = plan;
        if (rows >= chunks)
        {
            // Enough rows: give each thread a band of whole rows.
            KernelParallel.For(chunks, rows, (r0, r1) => { var b = body; RunRange(in p, ref b, r0, r1, 0, inner); });
        }
        else
        {
            // Few long rows (e.g. a single contiguous run): split the columns instead.
            KernelParallel.For(chunks, inner, (c0, c1) => { var b = body; RunRange(in p, ref b, 0, rows, c0, c1); });
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunRange<TBody>(in StridedPlan p, ref TBody body, long rowStart, long rowEnd, long c0, long c1) where TBody : struct, IRowBody
    {
        int last = p.Rank - 1;
        long inner = p.Inner;
        long s0 = p.S0[last], s1 = p.S1[last], s2 = p.S2[last];
        int len = checked((int)(c1 - c0));
        if (len == 0) return;
        // Decompose the first row index into a multi-index over the outer dims.
        RankLongs idx = default;
        long o0 = p.Base0, o1 = 0, o2 = 0;
        long r = rowStart;
        for (int d = last - 1; d >= 0; d--)
        {
            long n = p.Shape[d];
            long i = r % n;
            r /= n;
            idx[d] = i;
            o0 += i * p.S0[d]; o1 += i * p.S1[d]; o2 += i * p.S2[d];
        }
        for (long row = rowStart; row < rowEnd; row++)
        {
            body.Row(row * inner + c0, o0 + c0 * s0, o1 + c0 * s1, o2 + c0 * s2, s0, s1, s2, len);
            // Odometer step over the outer dims.
            for (int d = last - 1; d >= 0; d--)
            {
                long i = idx[d] + 1;
                o0 += p.S0[d]; o1 += p.S1[d]; o2 += p.S2[d];
                if (i < p.Shape[d]) { idx[d] = i; break; }
                idx[d] = 0;
                o0 -= i * p.S0[d]; o1 -= i * p.S1[d]; o2 -= i * p.S2[d];
            }
        }
    }
}
