using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FunctionalNets.Kernels;

/// <summary>
/// Threefry-2x32 with 20 rounds (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3"), eight counters
/// at a time. Counter c yields two words; word 2c and 2c+1 of a key's stream come from counter c. The F# Key
/// module holds the scalar reference these must match bit for bit (the same key gives the same numbers on
/// every backend).
/// </summary>
public static class Threefry
{
    private const uint Parity = 0x1BD11BDA;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Rotl(Vector256<uint> x, [ConstantExpected] byte r) =>
        Vector256.ShiftLeft(x, r) | Vector256.ShiftRightLogical(x, (byte)(32 - r));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Round(ref Vector256<uint> x0, ref Vector256<uint> x1, [ConstantExpected] byte r)
    {
        x0 += x1;
        x1 = Rotl(x1, r);
        x1 ^= x0;
    }

    /// <summary>The block function for one counter (scalar; the reference for the vector path).</summary>
    public static (uint, uint) Block(uint k0, uint k1, uint c0, uint c1)
    {
        Span<uint> a = stackalloc uint[2];
        BlockScalar(k0, k1, c0, c1, out a[0], out a[1]);
        return (a[0], a[1]);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BlockScalar(uint k0, uint k1, uint c0, uint c1, out uint y0, out uint y1)
    {
        uint k2 = Parity ^ k0 ^ k1;
        Span<uint> ks = stackalloc uint[] { k0, k1, k2 };
        ReadOnlySpan<int> rot = [13, 15, 26, 6, 17, 29, 16, 24];
        uint x0 = c0 + k0, x1 = c1 + k1;
        for (int r = 0; r < 20; r++)
        {
            x0 += x1;
            x1 = (x1 << rot[r % 8]) | (x1 >> (32 - rot[r % 8]));
            x1 ^= x0;
            if (r % 4 == 3)
            {
                int s = (r + 1) / 4;
                x0 += ks[s % 3];
                x1 += ks[(s + 1) % 3] + (uint)s;
            }
        }
        y0 = x0;
        y1 = x1;
    }

    /// <summary>Words [2 * firstCounter, 2 * (firstCounter + count)) of the key's stream into <paramref name="words"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Words(uint k0, uint k1, long firstCounter, Span<uint> words)
    {
        if ((words.Length & 1) != 0)
            throw new ArgumentException($"Threefry.Words: the buffer length {words.Length} must be even (two words per counter).", nameof(words));
        int counters = words.Length / 2;
        uint k2 = Parity ^ k0 ^ k1;
        var vk0 = Vector256.Create(k0);
        var vk1 = Vector256.Create(k1);
        var vk2 = Vector256.Create(k2);
        var lane = Vector256.Create(0u, 1, 2, 3, 4, 5, 6, 7);
        Span<uint> y0 = stackalloc uint[8];
        Span<uint> y1 = stackalloc uint[8];
        int i = 0;
        for (; i + 8 <= counters; i += 8)
        {
            long c = firstCounter + i;
            // Counters are 64-bit (high word, low word); eight consecutive ones share the high word unless the
            // low word wraps inside the group, which the scalar tail below handles.
            uint lo = (uint)c, hi = (uint)((ulong)c >> 32);
            if (lo > uint.MaxValue - 7) break;
            var x0 = Vector256.Create(hi) + vk0;
            var x1 = Vector256.Create(lo) + lane + vk1;
            Round(ref x0, ref x1, 13); Round(ref x0, ref x1, 15); Round(ref x0, ref x1, 26); Round(ref x0, ref x1, 6);
            x0 += vk1; x1 += vk2 + Vector256.Create(1u);
            Round(ref x0, ref x1, 17); Round(ref x0, ref x1, 29); Round(ref x0, ref x1, 16); Round(ref x0, ref x1, 24);
            x0 += vk2; x1 += vk0 + Vector256.Create(2u);
            Round(ref x0, ref x1, 13); Round(ref x0, ref x1, 15); Round(ref x0, ref x1, 26); Round(ref x0, ref x1, 6);
            x0 += vk0; x1 += vk1 + Vector256.Create(3u);
            Round(ref x0, ref x1, 17); Round(ref x0, ref x1, 29); Round(ref x0, ref x1, 16); Round(ref x0, ref x1, 24);
            x0 += vk1; x1 += vk2 + Vector256.Create(4u);
            Round(ref x0, ref x1, 13); Round(ref x0, ref x1, 15); Round(ref x0, ref x1, 26); Round(ref x0, ref x1, 6);
            x0 += vk2; x1 += vk0 + Vector256.Create(5u);
            x0.CopyTo(y0);
            x1.CopyTo(y1);
            for (int j = 0; j < 8; j++)
            {
                words[2 * (i + j)] = y0[j];
                words[2 * (i + j) + 1] = y1[j];
            }
        }
        for (; i < counters; i++)
        {
            ulong c = (ulong)(firstCounter + i);
            BlockScalar(k0, k1, (uint)(c >> 32), (uint)c, out words[2 * i], out words[2 * i + 1]);
        }
    }

    /// <summary>Uniform [0, 1) floats: element i is word i, with 24 random mantissa bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void FillUniform(uint k0, uint k1, Span<float> dst)
    {
        const int chunk = 4096;
        Span<uint> words = stackalloc uint[chunk];
        for (int start = 0; start < dst.Length; start += chunk)
        {
            int n = Math.Min(chunk, dst.Length - start);
            var w = words[..((n + 1) & ~1)];
            Words(k0, k1, start / 2, w);
            var d = dst.Slice(start, n);
            for (int i = 0; i < d.Length; i++) d[i] = (w[i] >> 8) * (1.0f / 16777216.0f);
        }
    }

    /// <summary>Uniform [0, 1) doubles: element i uses both words of counter i (53 random bits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void FillUniform(uint k0, uint k1, Span<double> dst)
    {
        const int chunk = 2048;
        Span<uint> words = stackalloc uint[2 * chunk];
        for (int start = 0; start < dst.Length; start += chunk)
        {
            int n = Math.Min(chunk, dst.Length - start);
            Words(k0, k1, start, words[..(2 * n)]);
            for (int i = 0; i < n; i++) dst[start + i] = Uniform53(words[2 * i], words[2 * i + 1]);
        }
    }

    internal static double Uniform53(uint hi, uint lo) =>
        (((ulong)(hi >> 5) << 26) | (lo >> 6)) * (1.0 / 9007199254740992.0);

    /// <summary>Standard normal floats (Box-Muller in double): elements 2p and 2p+1 come from counter p.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void FillNormal(uint k0, uint k1, Span<float> dst)
    {
        const int chunk = 4096;
        Span<uint> words = stackalloc uint[chunk];
        for (int start = 0; start < dst.Length; start += chunk)
        {
            int n = Math.Min(chunk, dst.Length - start);
            var w = words[..((n + 1) & ~1)];
            Words(k0, k1, start / 2, w);
            for (int p = 0; 2 * p < n; p++)
            {
                double u1 = 1.0 - (w[2 * p] >> 8) * (1.0f / 16777216.0f);
                double u2 = (w[2 * p + 1] >> 8) * (1.0f / 16777216.0f);
                double r = Math.Sqrt(-2.0 * Math.Log(u1));
                double t = 2.0 * Math.PI * u2;
                dst[start + 2 * p] = (float)(r * Math.Cos(t));
                if (2 * p + 1 < n) dst[start + 2 * p + 1] = (float)(r * Math.Sin(t));
            }
        }
    }

    /// <summary>Standard normal doubles: elements 2p and 2p+1 come from counters 2p and 2p+1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void FillNormal(uint k0, uint k1, Span<double> dst)
    {
        const int chunk = 2048;
        Span<uint> words = stackalloc uint[2 * chunk];
        for (int start = 0; start < dst.Length; start += chunk)
        {
            int n = Math.Min(chunk, dst.Length - start);
            int counters = (n + 1) & ~1;
            Words(k0, k1, start, words[..(2 * counters)]);
            for (int p = 0; 2 * p < n; p++)
            {
                double u1 = 1.0 - Uniform53(words[4 * p], words[4 * p + 1]);
                double u2 = Uniform53(words[4 * p + 2], words[4 * p + 3]);
                double r = Math.Sqrt(-2.0 * Math.Log(u1));
                double t = 2.0 * Math.PI * u2;
                dst[start + 2 * p] = r * Math.Cos(t);
                if (2 * p + 1 < n) dst[start + 2 * p + 1] = r * Math.Sin(t);
            }
        }
    }
}
