using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using FunctionalNets.Kernels.GemmImpl;

namespace FunctionalNets.Kernels;

/// <summary>
/// Scaled dot-product attention without the [L, S] score matrix (Dao et al., FlashAttention and FlashAttention-2):
/// each block of queries meets the keys a block at a time, keeping a running row maximum and sum (the online softmax),
/// so only a Br x Bc tile of scores ever exists. The backward pass recomputes the tiles from the saved log-sum-exp of
/// each row. Float32, row-major slices: q [BH, L, E], k [BH, S, E], v [BH, S, Ev], o [BH, L, Ev].
/// <para>
/// Masks: <c>causal</c> lets query i see keys j &lt;= i (top-left aligned, PyTorch's is_causal); key lengths (one per
/// slice, or none) let slice b see keys j &lt; keyLengths[b] only (a padded batch). A query that sees no key gives NaN,
/// as the composed definition does, and contributes nothing to the gradients.
/// </para>
/// Work is split by slice, and a slice's blocks are visited in a fixed order on one thread, so results are
/// bit-identical for any thread count.
/// </summary>
public static unsafe class FlashAttention
{
    /// <summary>Queries per block.</summary>
    private const int Br = 64;

    /// <summary>Keys per block.</summary>
    private const int Bc = 64;

    /// <summary>
    /// o = softmax(scale q k^T + mask) v per slice, and lse = the log-sum-exp of each query's scaled, masked scores
    /// (what <see cref="Backward"/> needs instead of the weights).
    /// </summary>
    /// <exception cref="ArgumentException">A size is negative, a buffer is too short, or a key length is outside [0, S].</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, int bh, int l, int s,
        int e, int ev, float scale, bool causal, ReadOnlySpan<int> keyLengths, Span<float> o, Span<float> lse)
    {
        const string op = "FlashAttention.Forward";
        Check(op, bh, l, s, e, ev, keyLengths);
        CheckLength(op, "q", q.Length, (long)bh * l * e);
        CheckLength(op, "k", k.Length, (long)bh * s * e);
        CheckLength(op, "v", v.Length, (long)bh * s * ev);
        CheckLength(op, "o", o.Length, (long)bh * l * ev);
        CheckLength(op, "lse", lse.Length, (long)bh * l);
        if (bh == 0 || l == 0 || ev == 0) return;
        int[] lengths = Lengths(keyLengths, bh, s);
        var isa = GemmIsaSelector.Current;
        fixed (float* pq = q, pk = k, pv = v, po = o, pl = lse)
        {
            nint aq = (nint)pq, ak = (nint)pk, av = (nint)pv, ao = (nint)po, al = (nint)pl;
            ForSlices(bh, Br * Bc + Br * ev + 2 * Br, (b, buffer) =>
            {
                float* scores = buffer, acc = buffer + Br * Bc, max = acc + Br * ev, sum = max + Br;
                for (int i0 = 0; i0 < l; i0 += Br)
                {
                    int rows = Math.Min(Br, l - i0);
                    new Span<float>(max, rows).Fill(float.NegativeInfinity);
                    new Span<float>(sum, rows).Clear();
                    new Span<float>(acc, rows * ev).Clear();
                    float* qi = (float*)aq + ((long)b * l + i0) * e;
                    int keyEnd = KeyEnd(lengths[b], causal, i0 + rows - 1);
                    for (int j0 = 0; j0 < keyEnd; j0 += Bc)
                    {
                        int cols = Math.Min(Bc, keyEnd - j0);
                        if (e > 0)
                            GemmLocal.Run(isa, false, false, true, rows, cols, e, qi, e,
                                (float*)ak + ((long)b * s + j0) * e, e, 0f, scores, cols);
                        else
                            new Span<float>(scores, rows * cols).Clear();
                        for (int r = 0; r < rows; r++)
                        {
                            var row = new Span<float>(scores + r * cols, cols);
                            int valid = Math.Min(cols, KeyEnd(lengths[b], causal, i0 + r) - j0);
                            float m = max[r];
                            if (valid <= 0)
                            {
                                row.Clear();
                                continue;
                            }
                            var live = row[..valid];
                            TensorPrimitives.Multiply(live, scale, live);
                            float mNew = Math.Max(m, TensorPrimitives.Max(live));
                            TensorPrimitives.Subtract(live, mNew, live);
                            TensorPrimitives.Exp(live, live);
                            row[valid..].Clear();
                            // Rescale what the earlier key blocks contributed to the new maximum.
                            float alpha = float.IsNegativeInfinity(m) ? 0f : MathF.Exp(m - mNew);
                            sum[r] = sum[r] * alpha + TensorPrimitives.Sum(live);
                            max[r] = mNew;
                            if (alpha != 1f)
                            {
                                var a = new Span<float>(acc + r * ev, ev);
                                TensorPrimitives.Multiply(a, alpha, a);
                            }
                        }
                        GemmLocal.Run(isa, false, false, false, rows, ev, cols, scores, cols,
                            (float*)av + ((long)b * s + j0) * ev, ev, 1f, acc, ev);
                    }
                    for (int r = 0; r < rows; r++)
                    {
                        long at = (long)b * l + i0 + r;
                        var dst = new Span<float>((float*)ao + at * ev, ev);
                        // No visible key: 0 / 0, NaN as softmax over nothing but -inf gives.
                        TensorPrimitives.Multiply(new ReadOnlySpan<float>(acc + r * ev, ev), 1f / sum[r], dst);
                        if (sum[r] == 0f)
                            dst.Fill(float.NaN);
                        ((float*)al)[at] = max[r] + MathF.Log(sum[r]);
                    }
                }
            });
        }
    }

    /// <summary>
    /// The gradients of sum(o * dO) with respect to q, k and v, from the forward pass's o and lse: every tile of
    /// weights is recomputed as exp(scale q k^T - lse), then dV += P^T dO, dS = P (dO v^T - rowsum(dO o)),
    /// dQ += scale dS k and dK += scale dS^T q. dq, dk and dv are fully overwritten.
    /// </summary>
    /// <exception cref="ArgumentException">A size is negative, a buffer is too short, or a key length is outside [0, S].</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        ReadOnlySpan<float> o, ReadOnlySpan<float> lse, ReadOnlySpan<float> dO, int bh, int l, int s, int e, int ev,
        float scale, bool causal, ReadOnlySpan<int> keyLengths, Span<float> dq, Span<float> dk, Span<float> dv)
    {
        const string op = "FlashAttention.Backward";
        Check(op, bh, l, s, e, ev, keyLengths);
        CheckLength(op, "q", q.Length, (long)bh * l * e);
        CheckLength(op, "k", k.Length, (long)bh * s * e);
        CheckLength(op, "v", v.Length, (long)bh * s * ev);
        CheckLength(op, "o", o.Length, (long)bh * l * ev);
        CheckLength(op, "lse", lse.Length, (long)bh * l);
        CheckLength(op, "dO", dO.Length, (long)bh * l * ev);
        CheckLength(op, "dq", dq.Length, (long)bh * l * e);
        CheckLength(op, "dk", dk.Length, (long)bh * s * e);
        CheckLength(op, "dv", dv.Length, (long)bh * s * ev);
        dq[..(int)((long)bh * l * e)].Clear();
        dk[..(int)((long)bh * s * e)].Clear();
        dv[..(int)((long)bh * s * ev)].Clear();
        if (bh == 0 || l == 0 || s == 0) return;
        int[] lengths = Lengths(keyLengths, bh, s);
        var isa = GemmIsaSelector.Current;
        fixed (float* pq = q, pk = k, pv = v, po = o, pl = lse, pdo = dO, pdq = dq, pdk = dk, pdv = dv)
        {
            nint aq = (nint)pq, ak = (nint)pk, av = (nint)pv, ao = (nint)po, al = (nint)pl, ado = (nint)pdo;
            nint adq = (nint)pdq, adk = (nint)pdk, adv = (nint)pdv;
            ForSlices(bh, 2 * Br * Bc + l, (b, buffer) =>
            {
                float* p = buffer, dp = buffer + Br * Bc, d = dp + Br * Bc;
                float* qb = (float*)aq + (long)b * l * e, kb = (float*)ak + (long)b * s * e;
                float* vb = (float*)av + (long)b * s * ev, dob = (float*)ado + (long)b * l * ev;
                float* lseb = (float*)al + (long)b * l;
                // D = rowsum(dO * o): the weights' dot with their own gradient, shared by every key block.
                for (int r = 0; r < l; r++)
                    d[r] = ev == 0 ? 0f : TensorPrimitives.Dot(new ReadOnlySpan<float>(dob + (long)r * ev, ev),
                        new ReadOnlySpan<float>((float*)ao + ((long)b * l + r) * ev, ev));
                int keyLimit = lengths[b];
                for (int j0 = 0; j0 < keyLimit; j0 += Bc)
                {
                    int cols = Math.Min(Bc, keyLimit - j0);
                    // Under the causal mask query blocks that end before j0 see none of these keys.
                    for (int i0 = causal ? j0 / Br * Br : 0; i0 < l; i0 += Br)
                    {
                        int rows = Math.Min(Br, l - i0);
                        float* qi = qb + (long)i0 * e, doi = dob + (long)i0 * ev;
                        if (e > 0)
                            GemmLocal.Run(isa, false, false, true, rows, cols, e, qi, e, kb + (long)j0 * e, e, 0f, p, cols);
                        else
                            new Span<float>(p, rows * cols).Clear();
                        if (ev > 0)
                            GemmLocal.Run(isa, false, false, true, rows, cols, ev, doi, ev, vb + (long)j0 * ev, ev, 0f, dp, cols);
                        else
                            new Span<float>(dp, rows * cols).Clear();
                        bool any = false;
                        for (int r = 0; r < rows; r++)
                        {
                            var prow = new Span<float>(p + r * cols, cols);
                            var dprow = new Span<float>(dp + r * cols, cols);
                            int valid = Math.Min(cols, KeyEnd(keyLimit, causal, i0 + r) - j0);
                            float rowLse = lseb[i0 + r];
                            if (valid <= 0 || float.IsNegativeInfinity(rowLse))
                            {
                                prow.Clear();
                                dprow.Clear();
                                continue;
                            }
                            any = true;
                            var live = prow[..valid];
                            TensorPrimitives.Multiply(live, scale, live);
                            TensorPrimitives.Subtract(live, rowLse, live);
                            TensorPrimitives.Exp(live, live);
                            prow[valid..].Clear();
                            // dS = P (dP - D) scale, the scale of the scores folded in once here.
                            TensorPrimitives.Subtract(dprow, d[i0 + r], dprow);
                            TensorPrimitives.Multiply(dprow, prow, dprow);
                            TensorPrimitives.Multiply(dprow, scale, dprow);
                        }
                        if (!any)
                            continue;
                        if (ev > 0)
                            GemmLocal.Run(isa, false, true, false, cols, ev, rows, p, cols, doi, ev, 1f,
                                (float*)adv + ((long)b * s + j0) * ev, ev);
                        if (e > 0)
                        {
                            GemmLocal.Run(isa, false, false, false, rows, e, cols, dp, cols, kb + (long)j0 * e, e, 1f,
                                (float*)adq + ((long)b * l + i0) * e, e);
                            GemmLocal.Run(isa, false, true, false, cols, e, rows, dp, cols, qi, e, 1f,
                                (float*)adk + ((long)b * s + j0) * e, e);
                        }
                    }
                }
            });
        }
    }

    /// <summary>The end of the keys query i may see: its slice's key length, cut at i + 1 under the causal mask.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int KeyEnd(int keyLength, bool causal, int i) => causal ? Math.Min(keyLength, i + 1) : keyLength;

    private static int[] Lengths(ReadOnlySpan<int> keyLengths, int bh, int s)
    {
        var lengths = new int[bh];
        if (keyLengths.IsEmpty)
            Array.Fill(lengths, s);
        else
            keyLengths[..bh].CopyTo(lengths);
        return lengths;
    }

    private delegate void SliceBody(int slice, float* buffer);

    /// <summary>Runs body once per slice on up to MaxThreads workers, each with its own buffer of the given length.</summary>
    private static void ForSlices(int slices, int bufferLength, SliceBody body)
    {
        int workers = Math.Max(1, Math.Min(Math.Min(KernelSettings.MaxThreads, Environment.ProcessorCount), slices));
        int next = -1;
        KernelPool.Run(workers, workers, _ =>
        {
            float[] buffer = ArrayPool<float>.Shared.Rent(bufferLength);
            try
            {
                fixed (float* pb = buffer)
                {
                    int b;
                    while ((b = Interlocked.Increment(ref next)) < slices)
                        body(b, pb);
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(buffer);
            }
        });
    }

    private static void Check(string op, int bh, int l, int s, int e, int ev, ReadOnlySpan<int> keyLengths)
    {
        if (bh < 0 || l < 0 || s < 0 || e < 0 || ev < 0)
            throw new ArgumentException($"{op}: sizes must be non-negative, got BH {bh}, L {l}, S {s}, E {e}, Ev {ev}.");
        if (keyLengths.IsEmpty)
            return;
        if (keyLengths.Length < bh)
            throw new ArgumentException($"{op}: {keyLengths.Length} key lengths for {bh} slices; pass one per slice or none.");
        for (int b = 0; b < bh; b++)
            if ((uint)keyLengths[b] > (uint)s)
                throw new ArgumentException($"{op}: key length {keyLengths[b]} of slice {b} is outside [0, {s}] (S = {s} keys).");
    }

    private static void CheckLength(string op, string what, int length, long needed)
    {
        if (length < needed)
            throw new ArgumentException($"{op}: {what} holds {length} elements but the sizes need {needed}.");
    }
}
