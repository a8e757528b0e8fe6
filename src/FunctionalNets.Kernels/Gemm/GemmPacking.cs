using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FunctionalNets.Kernels.GemmImpl;

/// <summary>
/// Copies blocks of op(A) and op(B) into the contiguous, zero-padded panel layout the micro-kernels stream through.
/// Transposes are resolved here, so every kernel sees the same layout: an A panel is kc steps of MR row values,
/// a B panel kc steps of NR column values. Padding ragged edges with zeros lets the kernel always run full tiles.
/// </summary>
internal static unsafe class GemmPacking
{
    /// <summary>Packs rows [ic, ic+mc) x depth [pc, pc+kc) of op(A) into ceil(mc/mr) panels of kc*mr values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackA<T>(in GemmProblem<T> p, int mr, int ic, int mc, int pc, int kc, T* dst) where T : unmanaged
    {
        for (int ir = 0; ir < mc; ir += mr, dst += (nint)kc * mr)
        {
            int rows = Math.Min(mr, mc - ir);
            if (p.TransA)
                CopyStrips(p.A + (nint)pc * p.Lda + ic + ir, p.Lda, rows, kc, mr, dst);
            else
                GatherStrips(p.A + (nint)(ic + ir) * p.Lda + pc, p.Lda, rows, kc, mr, dst);
        }
    }

    /// <summary>Packs depth [pc, pc+kc) x columns [jc, jc+nc) of op(B) into ceil(nc/nr) panels of kc*nr values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackB<T>(in GemmProblem<T> p, int nr, int pc, int kc, int jc, int nc, T* dst) where T : unmanaged
    {
        for (int jr = 0; jr < nc; jr += nr, dst += (nint)kc * nr)
        {
            int cols = Math.Min(nr, nc - jr);
            if (p.TransB)
                GatherStrips(p.B + (nint)(jc + jr) * p.Ldb + pc, p.Ldb, cols, kc, nr, dst);
            else
                CopyStrips(p.B + (nint)pc * p.Ldb + jc + jr, p.Ldb, cols, kc, nr, dst);
        }
    }

    /// <summary>dst[q*width + i] = src[q*ld + i] for i &lt; count, zero up to width: the operand is already laid out by depth.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CopyStrips<T>(T* src, nint ld, int count, int kc, int width, T* dst) where T : unmanaged
    {
        nuint bytes = (nuint)(count * sizeof(T));
        uint padBytes = (uint)((width - count) * sizeof(T));
        for (int q = 0; q < kc; q++, src += ld, dst += width)
        {
            CopyRow((byte*)dst, (byte*)src, bytes);
            if (padBytes != 0)
                Unsafe.InitBlockUnaligned(dst + count, 0, padBytes);
        }
    }

    /// <summary>
    /// Copies a panel row of at most a few hundred bytes. A memmove call per 24-64 byte row costs more than the copy,
    /// and with skinny products (m = 64) packing B is a sizeable share of the work, so rows go through overlapping
    /// vector moves that never touch a byte outside [src, src + bytes).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRow(byte* dst, byte* src, nuint bytes)
    {
        if (bytes >= 32)
        {
            nuint i = 0;
            for (; i + 32 <= bytes; i += 32)
                Vector256.Store(Vector256.Load(src + i), dst + i);
            if (i != bytes)
                Vector256.Store(Vector256.Load(src + bytes - 32), dst + bytes - 32);
        }
        else if (bytes >= 16)
        {
            var head = Vector128.Load(src);
            var tail = Vector128.Load(src + bytes - 16);
            head.Store(dst);
            tail.Store(dst + bytes - 16);
        }
        else
        {
            for (nuint i = 0; i < bytes; i++)
                dst[i] = src[i];
        }
    }

    /// <summary>dst[q*width + i] = src[i*ld + q] for i &lt; count, zero up to width: the operand must be transposed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GatherStrips<T>(T* src, nint ld, int count, int kc, int width, T* dst) where T : unmanaged
    {
        int q0 = 0;
        // A scalar gather costs about a cycle per value; with skinny products (m = 64) that would be a quarter of the
        // multiply time, so full float panels go through 8x8 register transposes instead. A panel whose width is not
        // a multiple of 8 (6 or 12 rows of A) ends in a partial block whose 8-wide stores overhang into the next
        // depth step; writing the blocks from the last to the first, and depth upwards, lets the correct values
        // overwrite every overhang, and the final one lands in PackSlack.
        if (typeof(T) == typeof(float) && Avx.IsSupported && count == width)
        {
            float* s = (float*)src, d = (float*)dst;
            int lastBlock = (width - 1) & ~7;
            for (; q0 + 8 <= kc; q0 += 8)
                for (int i = lastBlock; i >= 0; i -= 8)
                    Transpose8x8(s + i * ld + q0, ld, d + (nint)q0 * width + i, width, Math.Min(8, width - i));
        }
        for (int i = 0; i < count; i++)
        {
            T* row = src + i * ld;
            for (int q = q0; q < kc; q++)
                dst[(nint)q * width + i] = row[q];
        }
        if (count < width)
        {
            for (int q = 0; q < kc; q++)
                for (int i = count; i < width; i++)
                    dst[(nint)q * width + i] = default;
        }
    }

    /// <summary>Extra values a packed A buffer needs past its panels for the overhanging stores of the narrow gather.</summary>
    public const int PackSlack = 8;

    /// <summary>Writes the transpose of the 8x8 block at src (row stride ld) to dst (row stride dstLd); rows from
    /// <paramref name="rows"/> on are taken as zero and not read.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* src, nint ld, float* dst, nint dstLd, int rows)
    {
        var r0 = rows > 0 ? Avx.LoadVector256(src) : Vector256<float>.Zero;
        var r1 = rows > 1 ? Avx.LoadVector256(src + ld) : Vector256<float>.Zero;
        var r2 = rows > 2 ? Avx.LoadVector256(src + 2 * ld) : Vector256<float>.Zero;
        var r3 = rows > 3 ? Avx.LoadVector256(src + 3 * ld) : Vector256<float>.Zero;
        var r4 = rows > 4 ? Avx.LoadVector256(src + 4 * ld) : Vector256<float>.Zero;
        var r5 = rows > 5 ? Avx.LoadVector256(src + 5 * ld) : Vector256<float>.Zero;
        var r6 = rows > 6 ? Avx.LoadVector256(src + 6 * ld) : Vector256<float>.Zero;
        var r7 = rows > 7 ? Avx.LoadVector256(src + 7 * ld) : Vector256<float>.Zero;
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var s0 = Avx.Shuffle(t0, t2, 0x44); var s1 = Avx.Shuffle(t0, t2, 0xEE);
        var s2 = Avx.Shuffle(t1, t3, 0x44); var s3 = Avx.Shuffle(t1, t3, 0xEE);
        var s4 = Avx.Shuffle(t4, t6, 0x44); var s5 = Avx.Shuffle(t4, t6, 0xEE);
        var s6 = Avx.Shuffle(t5, t7, 0x44); var s7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(s0, s4, 0x20));
        Avx.Store(dst + dstLd, Avx.Permute2x128(s1, s5, 0x20));
        Avx.Store(dst + 2 * dstLd, Avx.Permute2x128(s2, s6, 0x20));
        Avx.Store(dst + 3 * dstLd, Avx.Permute2x128(s3, s7, 0x20));
        Avx.Store(dst + 4 * dstLd, Avx.Permute2x128(s0, s4, 0x31));
        Avx.Store(dst + 5 * dstLd, Avx.Permute2x128(s1, s5, 0x31));
        Avx.Store(dst + 6 * dstLd, Avx.Permute2x128(s2, s6, 0x31));
        Avx.Store(dst + 7 * dstLd, Avx.Permute2x128(s3, s7, 0x31));
    }
}
