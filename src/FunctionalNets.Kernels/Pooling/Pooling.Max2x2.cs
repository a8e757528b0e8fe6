using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FunctionalNets.Kernels;

public static partial class Pooling
{
    /// <summary>Whether the float32 2x2 stride-2 plane kernel below can run on this machine.</summary>
    private static bool Vector2x2Supported => Avx2.IsSupported;

    /// <summary>
    /// The 2x2 stride-2 max pool of one float plane (every window inside it), 8 or 4 outputs per step and no branches:
    /// on random data the scalar version's three compare-and-branch steps per window mispredict about half the time,
    /// which cost more than the loads. The even and odd columns of each input row pair are split with shuffles, the
    /// four taps are compared in window order with the same rule as <see cref="Better{T}"/> (strictly greater, or the
    /// first NaN), and the index of the winning tap is carried along in 32-bit lanes and widened on store. A row
    /// whose width is not a multiple of the step ends with one step that overlaps the previous one (the same values
    /// are written twice), so only rows narrower than 4 outputs go through the scalar loop.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void MaxPlane2x2Float(float[] x, PoolWindow g, float[] y, long[] indices, long p)
    {
        int w = g.W, outW = g.OutW;
        fixed (float* px0 = &x[p * g.InPlane])
        fixed (float* py0 = &y[p * g.OutPlane])
        fixed (long* pi0 = &indices[p * g.OutPlane])
        {
            var lane8 = Vector256.Create(0, 2, 4, 6, 8, 10, 12, 14);
            var lane4 = Vector128.Create(0, 2, 4, 6);
            for (int oh = 0; oh < g.OutH; oh++)
            {
                int r0 = 2 * oh * w;
                float* top = px0 + r0, bottom = top + w;
                float* yo = py0 + (long)oh * outW;
                long* io = pi0 + (long)oh * outW;
                if (outW >= 8)
                {
                    for (int ow = 0; ; ow += 8)
                    {
                        if (ow > outW - 8) ow = outW - 8;
                        Step8(top + 2 * ow, bottom + 2 * ow, Vector256.Create(r0 + 2 * ow) + lane8, w, yo + ow, io + ow);
                        if (ow == outW - 8) break;
                    }
                }
                else if (outW >= 4)
                {
                    for (int ow = 0; ; ow += 4)
                    {
                        if (ow > outW - 4) ow = outW - 4;
                        Step4(top + 2 * ow, bottom + 2 * ow, Vector128.Create(r0 + 2 * ow) + lane4, w, yo + ow, io + ow);
                        if (ow == outW - 4) break;
                    }
                }
                else
                {
                    for (int ow = 0; ow < outW; ow++)
                    {
                        int c = 2 * ow, best = r0 + c;
                        float m = top[c], v = top[c + 1];
                        if (Better(v, m)) { best = r0 + c + 1; m = v; }
                        v = bottom[c];
                        if (Better(v, m)) { best = r0 + w + c; m = v; }
                        v = bottom[c + 1];
                        if (Better(v, m)) { best = r0 + w + c + 1; m = v; }
                        yo[ow] = m;
                        io[ow] = best;
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Step8(float* top, float* bottom, Vector256<int> index, int w, float* y, long* ix)
    {
        var t0 = Avx.LoadVector256(top);
        var t1 = Avx.LoadVector256(top + 8);
        var b0 = Avx.LoadVector256(bottom);
        var b1 = Avx.LoadVector256(bottom + 8);
        // shuffle picks within 128-bit halves; the 64-bit permute puts the halves back in column order.
        var te = Avx2.Permute4x64(Avx.Shuffle(t0, t1, 0x88).AsDouble(), 0xD8).AsSingle();
        var to = Avx2.Permute4x64(Avx.Shuffle(t0, t1, 0xDD).AsDouble(), 0xD8).AsSingle();
        var be = Avx2.Permute4x64(Avx.Shuffle(b0, b1, 0x88).AsDouble(), 0xD8).AsSingle();
        var bo = Avx2.Permute4x64(Avx.Shuffle(b0, b1, 0xDD).AsDouble(), 0xD8).AsSingle();
        var m = te;
        var best = index;
        Take8(ref m, ref best, to, index + Vector256<int>.One);
        var down = index + Vector256.Create(w);
        Take8(ref m, ref best, be, down);
        Take8(ref m, ref best, bo, down + Vector256<int>.One);
        Avx.Store(y, m);
        Avx.Store(ix, Avx2.ConvertToVector256Int64(best.GetLower()));
        Avx.Store(ix + 4, Avx2.ConvertToVector256Int64(best.GetUpper()));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Take8(ref Vector256<float> m, ref Vector256<int> best, Vector256<float> v, Vector256<int> at)
    {
        // v > m, or v is NaN while m is not: Better, lane by lane.
        var take = Vector256.GreaterThan(v, m) | Vector256.AndNot(Vector256.Equals(m, m), Vector256.Equals(v, v));
        m = Vector256.ConditionalSelect(take, v, m);
        best = Vector256.ConditionalSelect(take.AsInt32(), at, best);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Step4(float* top, float* bottom, Vector128<int> index, int w, float* y, long* ix)
    {
        var t0 = Sse.LoadVector128(top);
        var t1 = Sse.LoadVector128(top + 4);
        var b0 = Sse.LoadVector128(bottom);
        var b1 = Sse.LoadVector128(bottom + 4);
        var m = Sse.Shuffle(t0, t1, 0x88);
        var best = index;
        Take4(ref m, ref best, Sse.Shuffle(t0, t1, 0xDD), index + Vector128<int>.One);
        var down = index + Vector128.Create(w);
        Take4(ref m, ref best, Sse.Shuffle(b0, b1, 0x88), down);
        Take4(ref m, ref best, Sse.Shuffle(b0, b1, 0xDD), down + Vector128<int>.One);
        Sse.Store(y, m);
        Avx.Store(ix, Avx2.ConvertToVector256Int64(best));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Take4(ref Vector128<float> m, ref Vector128<int> best, Vector128<float> v, Vector128<int> at)
    {
        var take = Vector128.GreaterThan(v, m) | Vector128.AndNot(Vector128.Equals(m, m), Vector128.Equals(v, v));
        m = Vector128.ConditionalSelect(take, v, m);
        best = Vector128.ConditionalSelect(take.AsInt32(), at, best);
    }
}
