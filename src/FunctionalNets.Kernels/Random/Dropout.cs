using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FunctionalNets.Kernels;

/// <summary>
/// Inverted dropout in one pass: the uniform draw of <see cref="Threefry.FillUniform(uint, uint, Span{float})"/>, the
/// keep test u &gt;= p, the scale and the select, without the uniform, comparison and product buffers of the composed
/// op. Element i draws from its own counter, so the result is the same bits for any split; parts have a fixed size
/// (from the length only), so it is also the same for any thread count.
/// </summary>
public static class Dropout
{
    // Even, so a part never starts in the middle of a float32 counter's word pair.
    private const int PartSize = 1 << 15;
    private const int Block = 2048;

    private static void Check(int n, int other, int mask, string op)
    {
        if (other != n || mask != n)
            throw new ArgumentException($"Dropout.{op}: all buffers must have {n} elements, got {other} and mask {mask}.");
    }

    private static void Parts(int n, Action<int, int> body)
    {
        int parts = (n + PartSize - 1) / PartSize;
        if (parts <= 1 || n < KernelParallel.MinParallelWork) { body(0, n); return; }
        KernelParallel.ForParts(parts, i => body(i * PartSize, Math.Min(n, (i + 1) * PartSize)));
    }

    /// <summary>
    /// y[i] = u[i] &gt;= p ? x[i] * scale : 0 and keep[i] = u[i] &gt;= p, with u[i] the i-th uniform float of key
    /// (k0, k1) as <see cref="Threefry.FillUniform(uint, uint, Span{float})"/> draws it; p and scale already rounded to float.
    /// </summary>
    public static void Forward(uint k0, uint k1, float[] x, float[] y, bool[] keep, float p, float scale)
    {
        Check(x.Length, y.Length, keep.Length, "Forward");
        Parts(x.Length, (start, end) => ForwardRange(k0, k1, x, y, keep, p, scale, start, end));
    }

    /// <summary>The float64 form: u[i] as <see cref="Threefry.FillUniform(uint, uint, Span{double})"/> draws it.</summary>
    public static void Forward(uint k0, uint k1, double[] x, double[] y, bool[] keep, double p, double scale)
    {
        Check(x.Length, y.Length, keep.Length, "Forward");
        Parts(x.Length, (start, end) => ForwardRange(k0, k1, x, y, keep, p, scale, start, end));
    }

    /// <summary>dx[i] = keep[i] ? dy[i] * scale : 0, the adjoint of <see cref="Forward(uint, uint, float[], float[], bool[], float, float)"/>.</summary>
    public static void Backward(float[] dy, bool[] keep, float[] dx, float scale)
    {
        Check(dy.Length, dx.Length, keep.Length, "Backward");
        Parts(dy.Length, (start, end) => BackwardRange(dy, keep, dx, scale, start, end));
    }

    /// <summary>The float64 form of <see cref="Backward(float[], bool[], float[], float)"/>.</summary>
    public static void Backward(double[] dy, bool[] keep, double[] dx, double scale)
    {
        Check(dy.Length, dx.Length, keep.Length, "Backward");
        Parts(dy.Length, (start, end) => BackwardRange(dy, keep, dx, scale, start, end));
    }

    // A select, not dy * scale * keep: a dropped element's gradient is +0 even where dy is negative, infinite or NaN.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BackwardRange(float[] dy, bool[] keep, float[] dx, float scale, int start, int end)
    {
        var bytes = MemoryMarshal.Cast<bool, byte>(keep.AsSpan());
        int i = start;
        if (Avx2.IsSupported)
        {
            var vs = Vector256.Create(scale);
            for (; i + 16 <= end; i += 8)
            {
                // Zero-extend 8 mask bytes to 8 ints; a kept lane is non-zero.
                var k = ~Vector256.Equals(Avx2.ConvertToVector256Int32(Vector128.Create(bytes.Slice(i, 16))), Vector256<int>.Zero);
                Vector256.ConditionalSelect(k.AsSingle(), Vector256.Create(dy, i) * vs, Vector256<float>.Zero).CopyTo(dx, i);
            }
        }
        for (; i < end; i++) dx[i] = keep[i] ? dy[i] * scale : 0f;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BackwardRange(double[] dy, bool[] keep, double[] dx, double scale, int start, int end)
    {
        var bytes = MemoryMarshal.Cast<bool, byte>(keep.AsSpan());
        int i = start;
        if (Avx2.IsSupported)
        {
            var vs = Vector256.Create(scale);
            for (; i + 16 <= end; i += 4)
            {
                var k = ~Vector256.Equals(Avx2.ConvertToVector256Int64(Vector128.Create(bytes.Slice(i, 16))), Vector256<long>.Zero);
                Vector256.ConditionalSelect(k.AsDouble(), Vector256.Create(dy, i) * vs, Vector256<double>.Zero).CopyTo(dx, i);
            }
        }
        for (; i < end; i++) dx[i] = keep[i] ? dy[i] * scale : 0.0;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardRange(uint k0, uint k1, float[] x, float[] y, bool[] keep, float p, float scale, int start, int end)
    {
        Span<uint> words = stackalloc uint[Block];
        const float ulp = 1.0f / 16777216.0f;
        for (int b = start; b < end; b += Block)
        {
            int n = Math.Min(Block, end - b);
            var w = words[..((n + 1) & ~1)];
            Threefry.Words(k0, k1, b / 2, w);
            int i = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var vulp = Vector256.Create(ulp);
                var vp = Vector256.Create(p);
                var vs = Vector256.Create(scale);
                for (; i + 8 <= n; i += 8)
                {
                    // (w >> 8) < 2^24 converts exactly, as the scalar uint-to-float conversion does.
                    var u = Vector256.ConvertToSingle(Vector256.ShiftRightLogical(Vector256.Create(w.Slice(i, 8)), 8).AsInt32()) * vulp;
                    var k = Vector256.GreaterThanOrEqual(u, vp);
                    Vector256.ConditionalSelect(k, Vector256.Create(x, b + i) * vs, Vector256<float>.Zero).CopyTo(y, b + i);
                    uint bits = k.ExtractMostSignificantBits();
                    for (int j = 0; j < 8; j++) keep[b + i + j] = ((bits >> j) & 1) != 0;
                }
            }
            for (; i < n; i++)
            {
                bool k = (w[i] >> 8) * ulp >= p;
                keep[b + i] = k;
                y[b + i] = k ? x[b + i] * scale : 0f;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardRange(uint k0, uint k1, double[] x, double[] y, bool[] keep, double p, double scale, int start, int end)
    {
        Span<uint> words = stackalloc uint[2 * Block];
        for (int b = start; b < end; b += Block)
        {
            int n = Math.Min(Block, end - b);
            Threefry.Words(k0, k1, b, words[..(2 * n)]);
            for (int i = 0; i < n; i++)
            {
                bool k = Threefry.Uniform53(words[2 * i], words[2 * i + 1]) >= p;
                keep[b + i] = k;
                y[b + i] = k ? x[b + i] * scale : 0.0;
            }
        }
    }
}
