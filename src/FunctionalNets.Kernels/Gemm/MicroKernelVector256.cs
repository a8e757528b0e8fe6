// The unrolled steps below were written out by a small script because C# has no macros; edit them all alike.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FunctionalNets.Kernels.GemmImpl;

/// <summary>6x16 float tile for AVX2+FMA: 12 ymm accumulators, 2 for B and 1 broadcast fill 15 of the 16 registers.</summary>
internal readonly unsafe struct Vector256SgemmKernel : IMicroKernel<float>
{
    public static int MR => 6;
    public static int NR => 16;
    public static int KC => 256;
    public static int MC => 144;
    public static int NC => 2048;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(nint kc, float* a, float* b, float* c, nint ldc, float alpha, float beta)
    {
        Vector256<float> c00 = default; Vector256<float> c01 = default;
        Vector256<float> c10 = default; Vector256<float> c11 = default;
        Vector256<float> c20 = default; Vector256<float> c21 = default;
        Vector256<float> c30 = default; Vector256<float> c31 = default;
        Vector256<float> c40 = default; Vector256<float> c41 = default;
        Vector256<float> c50 = default; Vector256<float> c51 = default;
        PrefetchC(c, ldc);
        // Unrolled by 4 so the loop counter and pointer bumps cost little next to 12 FMAs a step.
        for (; kc >= 4; kc -= 4)
        {
            {
                var b0 = Vector256.Load(b + 0); var b1 = Vector256.Load(b + 8);
                var a0 = Vector256.Create(a[0]);
                c00 = Vector256.FusedMultiplyAdd(a0, b0, c00);
                c01 = Vector256.FusedMultiplyAdd(a0, b1, c01);
                var a1 = Vector256.Create(a[1]);
                c10 = Vector256.FusedMultiplyAdd(a1, b0, c10);
                c11 = Vector256.FusedMultiplyAdd(a1, b1, c11);
                var a2 = Vector256.Create(a[2]);
                c20 = Vector256.FusedMultiplyAdd(a2, b0, c20);
                c21 = Vector256.FusedMultiplyAdd(a2, b1, c21);
                var a3 = Vector256.Create(a[3]);
                c30 = Vector256.FusedMultiplyAdd(a3, b0, c30);
                c31 = Vector256.FusedMultiplyAdd(a3, b1, c31);
                var a4 = Vector256.Create(a[4]);
                c40 = Vector256.FusedMultiplyAdd(a4, b0, c40);
                c41 = Vector256.FusedMultiplyAdd(a4, b1, c41);
                var a5 = Vector256.Create(a[5]);
                c50 = Vector256.FusedMultiplyAdd(a5, b0, c50);
                c51 = Vector256.FusedMultiplyAdd(a5, b1, c51);
            }
            {
                var b0 = Vector256.Load(b + 16); var b1 = Vector256.Load(b + 24);
                var a0 = Vector256.Create(a[6]);
                c00 = Vector256.FusedMultiplyAdd(a0, b0, c00);
                c01 = Vector256.FusedMultiplyAdd(a0, b1, c01);
                var a1 = Vector256.Create(a[7]);
                c10 = Vector256.FusedMultiplyAdd(a1, b0, c10);
                c11 = Vector256.FusedMultiplyAdd(a1, b1, c11);
                var a2 = Vector256.Create(a[8]);
                c20 = Vector256.FusedMultiplyAdd(a2, b0, c20);
                c21 = Vector256.FusedMultiplyAdd(a2, b1, c21);
                var a3 = Vector256.Create(a[9]);
                c30 = Vector256.FusedMultiplyAdd(a3, b0, c30);
                c31 = Vector256.FusedMultiplyAdd(a3, b1, c31);
                var a4 = Vector256.Create(a[10]);
                c40 = Vector256.FusedMultiplyAdd(a4, b0, c40);
                c41 = Vector256.FusedMultiplyAdd(a4, b1, c41);
                var a5 = Vector256.Create(a[11]);
                c50 = Vector256.FusedMultiplyAdd(a5, b0, c50);
                c51 = Vector256.FusedMultiplyAdd(a5, b1, c51);
            }
            {
                var b0 = Vector256.Load(b + 32); var b1 = Vector256.Load(b + 40);
                var a0 = Vector256.Create(a[12]);
                c00 = Vector256.FusedMultiplyAdd(a0, b0, c00);
                c01 = Vector256.FusedMultiplyAdd(a0, b1, c01);
                var a1 = Vector256.Create(a[13]);
                c10 = Vector256.FusedMultiplyAdd(a1, b0, c10);
                c11 = Vector256.FusedMultiplyAdd(a1, b1, c11);
                var a2 = Vector256.Create(a[14]);
                c20 = Vector256.FusedMultiplyAdd(a2, b0, c20);
                c21 = Vector256.FusedMultiplyAdd(a2, b1, c21);
                var a3 = Vector256.Create(a[15]);
                c30 = Vector256.FusedMultiplyAdd(a3, b0, c30);
                c31 = Vector256.FusedMultiplyAdd(a3, b1, c31);
                var a4 = Vector256.Create(a[16]);
                c40 = Vector256.FusedMultiplyAdd(a4, b0, c40);
                c41 = Vector256.FusedMultiplyAdd(a4, b1, c41);
                var a5 = Vector256.Create(a[17]);
                c50 = Vector256.FusedMultiplyAdd(a5, b0, c50);
                c51 = Vector256.FusedMultiplyAdd(a5, b1, c51);
            }
            {
                var b0 = Vector256.Load(b + 48); var b1 = Vector256.Load(b + 56);
                var a0 = Vector256.Create(a[18]);
                c00 = Vector256.FusedMultiplyAdd(a0, b0, c00);
                c01 = Vector256.FusedMultiplyAdd(a0, b1, c01);
                var a1 = Vector256.Create(a[19]);
                c10 = Vector256.FusedMultiplyAdd(a1, b0, c10);
                c11 = Vector256.FusedMultiplyAdd(a1, b1, c11);
                var a2 = Vector256.Create(a[20]);
                c20 = Vector256.FusedMultiplyAdd(a2, b0, c20);
                c21 = Vector256.FusedMultiplyAdd(a2, b1, c21);
                var a3 = Vector256.Create(a[21]);
                c30 = Vector256.FusedMultiplyAdd(a3, b0, c30);
                c31 = Vector256.FusedMultiplyAdd(a3, b1, c31);
                var a4 = Vector256.Create(a[22]);
                c40 = Vector256.FusedMultiplyAdd(a4, b0, c40);
                c41 = Vector256.FusedMultiplyAdd(a4, b1, c41);
                var a5 = Vector256.Create(a[23]);
                c50 = Vector256.FusedMultiplyAdd(a5, b0, c50);
                c51 = Vector256.FusedMultiplyAdd(a5, b1, c51);
            }
            a += 24;
            b += 64;
        }
        for (; kc > 0; kc--)
        {
            {
                var b0 = Vector256.Load(b + 0); var b1 = Vector256.Load(b + 8);
                var a0 = Vector256.Create(a[0]);
                c00 = Vector256.FusedMultiplyAdd(a0, b0, c00);
                c01 = Vector256.FusedMultiplyAdd(a0, b1, c01);
                var a1 = Vector256.Create(a[1]);
                c10 = Vector256.FusedMultiplyAdd(a1, b0, c10);
                c11 = Vector256.FusedMultiplyAdd(a1, b1, c11);
                var a2 = Vector256.Create(a[2]);
                c20 = Vector256.FusedMultiplyAdd(a2, b0, c20);
                c21 = Vector256.FusedMultiplyAdd(a2, b1, c21);
                var a3 = Vector256.Create(a[3]);
                c30 = Vector256.FusedMultiplyAdd(a3, b0, c30);
                c31 = Vector256.FusedMultiplyAdd(a3, b1, c31);
                var a4 = Vector256.Create(a[4]);
                c40 = Vector256.FusedMultiplyAdd(a4, b0, c40);
                c41 = Vector256.FusedMultiplyAdd(a4, b1, c41);
                var a5 = Vector256.Create(a[5]);
                c50 = Vector256.FusedMultiplyAdd(a5, b0, c50);
                c51 = Vector256.FusedMultiplyAdd(a5, b1, c51);
            }
            a += 6;
            b += 16;
        }
        var va = Vector256.Create(alpha);
        if (beta == 0)
        {
            // beta == 0 must not read C: its old contents may be NaN.
            Vector256.Store(c00 * va, c + 0 * ldc + 0);
            Vector256.Store(c01 * va, c + 0 * ldc + 8);
            Vector256.Store(c10 * va, c + 1 * ldc + 0);
            Vector256.Store(c11 * va, c + 1 * ldc + 8);
            Vector256.Store(c20 * va, c + 2 * ldc + 0);
            Vector256.Store(c21 * va, c + 2 * ldc + 8);
            Vector256.Store(c30 * va, c + 3 * ldc + 0);
            Vector256.Store(c31 * va, c + 3 * ldc + 8);
            Vector256.Store(c40 * va, c + 4 * ldc + 0);
            Vector256.Store(c41 * va, c + 4 * ldc + 8);
            Vector256.Store(c50 * va, c + 5 * ldc + 0);
            Vector256.Store(c51 * va, c + 5 * ldc + 8);
        }
        else
        {
            var vb = Vector256.Create(beta);
            Vector256.Store(Vector256.FusedMultiplyAdd(c00, va, Vector256.Load(c + 0 * ldc + 0) * vb), c + 0 * ldc + 0);
            Vector256.Store(Vector256.FusedMultiplyAdd(c01, va, Vector256.Load(c + 0 * ldc + 8) * vb), c + 0 * ldc + 8);
            Vector256.Store(Vector256.FusedMultiplyAdd(c10, va, Vector256.Load(c + 1 * ldc + 0) * vb), c + 1 * ldc + 0);
            Vector256.Store(Vector256.FusedMultiplyAdd(c11, va, Vector256.Load(c + 1 * ldc + 8) * vb), c + 1 * ldc + 8);
            Vector256.Store(Vector256.FusedMultiplyAdd(c20, va, Vector256.Load(c + 2 * ldc + 0) * vb), c + 2 * ldc + 0);
            Vector256.Store(Vector256.FusedMultiplyAdd(c21, va, Vector256.Load(c + 2 * ldc + 8) * vb), c + 2 * ldc + 8);
            Vector256.Store(Vector256.FusedMultiplyAdd(c30, va, Vector256.Load(c + 3 * ldc + 0) * vb), c + 3 * ldc + 0);
            Vector256.Store(Vector256.FusedMultiplyAdd(c31, va, Vector256.Load(c + 3 * ldc + 8) * vb), c + 3 * ldc + 8);
            Vector256.Store(Vector256.FusedMultiplyAdd(c40, va, Vector256.Load(c + 4 * ldc + 0) * vb), c + 4 * ldc + 0);
            Vector256.Store(Vector256.FusedMultiplyAdd(c41, va, Vector256.Load(c + 4 * ldc + 8) * vb), c + 4 * ldc + 8);
            Vector256.Store(Vector256.FusedMultiplyAdd(c50, va, Vector256.Load(c + 5 * ldc + 0) * vb), c + 5 * ldc + 0);
            Vector256.Store(Vector256.FusedMultiplyAdd(c51, va, Vector256.Load(c + 5 * ldc + 8) * vb), c + 5 * ldc + 8);
        }
    }

    /// <summary>Starts loading the 6 rows of the C tile; C's rows are far apart (often a power-of-two stride)
    /// and rarely cached, and the loads after the k loop would otherwise stall on them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchC(float* c, nint ldc)
    {
        if (!Sse.IsSupported)
            return;
        for (int i = 0; i < 6; i++)
        {
            Sse.Prefetch0((byte*)(c + i * ldc));
            Sse.Prefetch0((byte*)(c + i * ldc) + 63);
        }
    }
}

/// <summary>6x8 double tile for AVX2+FMA: the same register budget as the float tile, with 4 lanes.</summary>
internal readonly unsafe struct Vector256DgemmKernel : IMicroKernel<double>
{
    public static int MR => 6;
    public static int NR => 8;
    public static int KC => 256;
    public static int MC => 72;
    public static int NC => 1024;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(nint kc, double* a, double* b, double* c, nint ldc, double alpha, double beta)
    {
        Vector256<double> c00 = default; Vector256<double> c01 = default;
        Vector256<double> c10 = default; Vector256<double> c11 = default;
        Vector256<double> c20 = default; Vector256<double> c21 = default;
        Vector256<double> c30 = default; Vector256<double> c31 = default;
        Vector256<double> c40 = default; Vector256<double> c41 = default;
        Vector256<double> c50 = default; Vector256<double> c51 = default;
        PrefetchC(c, ldc);
        // Unrolled by 4 so the loop counter and pointer bumps cost little next to 12 FMAs a step.
        for (; kc >= 4; kc -= 4)
        {
            {
                var b0 = Vector256.Load(b + 0); var b1 = Vector256.Load(b + 4);
                var a0 = Vector256.Create(a[0]);
                c00 = Vector256.FusedMultiplyAdd(a0, b0, c00);
                c01 = Vector256.FusedMultiplyAdd(a0, b1, c01);
                var a1 = Vector256.Create(a[1]);
                c10 = Vector256.FusedMultiplyAdd(a1, b0, c10);
                c11 = Vector256.FusedMultiplyAdd(a1, b1, c11);
                var a2 = Vector256.Create(a[2]);
                c20 = Vector256.FusedMultiplyAdd(a2, b0, c20);
                c21 = Vector256.FusedMultiplyAdd(a2, b1, c21);
                var a3 = Vector256.Create(a[3]);
                c30 = Vector256.FusedMultiplyAdd(a3, b0, c30);
                c31 = Vector256.FusedMultiplyAdd(a3, b1, c31);
                var a4 = Vector256.Create(a[4]);
                c40 = Vector256.FusedMultiplyAdd(a4, b0, c40);
                c41 = Vector256.FusedMultiplyAdd(a4, b1, c41);
                var a5 = Vector256.Create(a[5]);
                c50 = Vector256.FusedMultiplyAdd(a5, b0, c50);
                c51 = Vector256.FusedMultiplyAdd(a5, b1, c51);
            }
            {
                var b0 = Vector256.Load(b + 8); var b1 = Vector256.Load(b + 12);
                var a0 = Vector256.Create(a[6]);
                c00 = Vector256.FusedMultiplyAdd(a0, b0, c00);
                c01 = Vector256.FusedMultiplyAdd(a0, b1, c01);
                var a1 = Vector256.Create(a[7]);
                c10 = Vector256.FusedMultiplyAdd(a1, b0, c10);
                c11 = Vector256.FusedMultiplyAdd(a1, b1, c11);
                var a2 = Vector256.Create(a[8]);
                c20 = Vector256.FusedMultiplyAdd(a2, b0, c20);
                c21 = Vector256.FusedMultiplyAdd(a2, b1, c21);
                var a3 = Vector256.Create(a[9]);
                c30 = Vector256.FusedMultiplyAdd(a3, b0, c30);
                c31 = Vector256.FusedMultiplyAdd(a3, b1, c31);
                var a4 = Vector256.Create(a[10]);
                c40 = Vector256.FusedMultiplyAdd(a4, b0, c40);
                c41 = Vector256.FusedMultiplyAdd(a4, b1, c41);
                var a5 = Vector256.Create(a[11]);
                c50 = Vector256.FusedMultiplyAdd(a5, b0, c50);
                c51 = Vector256.FusedMultiplyAdd(a5, b1, c51);
            }
            {
                var b0 = Vector256.Load(b + 16); var b1 = Vector256.Load(b + 20);
                var a0 = Vector256.Create(a[12]);
                c00 = Vector256.FusedMultiplyAdd(a0, b0, c00);
                c01 = Vector256.FusedMultiplyAdd(a0, b1, c01);
                var a1 = Vector256.Create(a[13]);
                c10 = Vector256.FusedMultiplyAdd(a1, b0, c10);
                c11 = Vector256.FusedMultiplyAdd(a1, b1, c11);
                var a2 = Vector256.Create(a[14]);
                c20 = Vector256.FusedMultiplyAdd(a2, b0, c20);
                c21 = Vector256.FusedMultiplyAdd(a2, b1, c21);
                var a3 = Vector256.Create(a[15]);
                c30 = Vector256.FusedMultiplyAdd(a3, b0, c30);
                c31 = Vector256.FusedMultiplyAdd(a3, b1, c31);
                var a4 = Vector256.Create(a[16]);
                c40 = Vector256.FusedMultiplyAdd(a4, b0, c40);
                c41 = Vector256.FusedMultiplyAdd(a4, b1, c41);
                var a5 = Vector256.Create(a[17]);
                c50 = Vector256.FusedMultiplyAdd(a5, b0, c50);
                c51 = Vector256.FusedMultiplyAdd(a5, b1, c51);
            }
            {
                var b0 = Vector256.Load(b + 24); var b1 = Vector256.Load(b + 28);
                var a0 = Vector256.Create(a[18]);
                c00 = Vector256.FusedMultiplyAdd(a0, b0, c00);
                c01 = Vector256.FusedMultiplyAdd(a0, b1, c01);
                var a1 = Vector256.Create(a[19]);
                c10 = Vector256.FusedMultiplyAdd(a1, b0, c10);
                c11 = Vector256.FusedMultiplyAdd(a1, b1, c11);
                var a2 = Vector256.Create(a[20]);
                c20 = Vector256.FusedMultiplyAdd(a2, b0, c20);
                c21 = Vector256.FusedMultiplyAdd(a2, b1, c21);
                var a3 = Vector256.Create(a[21]);
                c30 = Vector256.FusedMultiplyAdd(a3, b0, c30);
                c31 = Vector256.FusedMultiplyAdd(a3, b1, c31);
                var a4 = Vector256.Create(a[22]);
                c40 = Vector256.FusedMultiplyAdd(a4, b0, c40);
                c41 = Vector256.FusedMultiplyAdd(a4, b1, c41);
                var a5 = Vector256.Create(a[23]);
                c50 = Vector256.FusedMultiplyAdd(a5, b0, c50);
                c51 = Vector256.FusedMultiplyAdd(a5, b1, c51);
            }
            a += 24;
            b += 32;
        }
        for (; kc > 0; kc--)
        {
            {
                var b0 = Vector256.Load(b + 0); var b1 = Vector256.Load(b + 4);
                var a0 = Vector256.Create(a[0]);
                c00 = Vector256.FusedMultiplyAdd(a0, b0, c00);
                c01 = Vector256.FusedMultiplyAdd(a0, b1, c01);
                var a1 = Vector256.Create(a[1]);
                c10 = Vector256.FusedMultiplyAdd(a1, b0, c10);
                c11 = Vector256.FusedMultiplyAdd(a1, b1, c11);
                var a2 = Vector256.Create(a[2]);
                c20 = Vector256.FusedMultiplyAdd(a2, b0, c20);
                c21 = Vector256.FusedMultiplyAdd(a2, b1, c21);
                var a3 = Vector256.Create(a[3]);
                c30 = Vector256.FusedMultiplyAdd(a3, b0, c30);
                c31 = Vector256.FusedMultiplyAdd(a3, b1, c31);
                var a4 = Vector256.Create(a[4]);
                c40 = Vector256.FusedMultiplyAdd(a4, b0, c40);
                c41 = Vector256.FusedMultiplyAdd(a4, b1, c41);
                var a5 = Vector256.Create(a[5]);
                c50 = Vector256.FusedMultiplyAdd(a5, b0, c50);
                c51 = Vector256.FusedMultiplyAdd(a5, b1, c51);
            }
            a += 6;
            b += 8;
        }
        var va = Vector256.Create(alpha);
        if (beta == 0)
        {
            // beta == 0 must not read C: its old contents may be NaN.
            Vector256.Store(c00 * va, c + 0 * ldc + 0);
            Vector256.Store(c01 * va, c + 0 * ldc + 4);
            Vector256.Store(c10 * va, c + 1 * ldc + 0);
            Vector256.Store(c11 * va, c + 1 * ldc + 4);
            Vector256.Store(c20 * va, c + 2 * ldc + 0);
            Vector256.Store(c21 * va, c + 2 * ldc + 4);
            Vector256.Store(c30 * va, c + 3 * ldc + 0);
            Vector256.Store(c31 * va, c + 3 * ldc + 4);
            Vector256.Store(c40 * va, c + 4 * ldc + 0);
            Vector256.Store(c41 * va, c + 4 * ldc + 4);
            Vector256.Store(c50 * va, c + 5 * ldc + 0);
            Vector256.Store(c51 * va, c + 5 * ldc + 4);
        }
        else
        {
            var vb = Vector256.Create(beta);
            Vector256.Store(Vector256.FusedMultiplyAdd(c00, va, Vector256.Load(c + 0 * ldc + 0) * vb), c + 0 * ldc + 0);
            Vector256.Store(Vector256.FusedMultiplyAdd(c01, va, Vector256.Load(c + 0 * ldc + 4) * vb), c + 0 * ldc + 4);
            Vector256.Store(Vector256.FusedMultiplyAdd(c10, va, Vector256.Load(c + 1 * ldc + 0) * vb), c + 1 * ldc + 0);
            Vector256.Store(Vector256.FusedMultiplyAdd(c11, va, Vector256.Load(c + 1 * ldc + 4) * vb), c + 1 * ldc + 4);
            Vector256.Store(Vector256.FusedMultiplyAdd(c20, va, Vector256.Load(c + 2 * ldc + 0) * vb), c + 2 * ldc + 0);
            Vector256.Store(Vector256.FusedMultiplyAdd(c21, va, Vector256.Load(c + 2 * ldc + 4) * vb), c + 2 * ldc + 4);
            Vector256.Store(Vector256.FusedMultiplyAdd(c30, va, Vector256.Load(c + 3 * ldc + 0) * vb), c + 3 * ldc + 0);
            Vector256.Store(Vector256.FusedMultiplyAdd(c31, va, Vector256.Load(c + 3 * ldc + 4) * vb), c + 3 * ldc + 4);
            Vector256.Store(Vector256.FusedMultiplyAdd(c40, va, Vector256.Load(c + 4 * ldc + 0) * vb), c + 4 * ldc + 0);
            Vector256.Store(Vector256.FusedMultiplyAdd(c41, va, Vector256.Load(c + 4 * ldc + 4) * vb), c + 4 * ldc + 4);
            Vector256.Store(Vector256.FusedMultiplyAdd(c50, va, Vector256.Load(c + 5 * ldc + 0) * vb), c + 5 * ldc + 0);
            Vector256.Store(Vector256.FusedMultiplyAdd(c51, va, Vector256.Load(c + 5 * ldc + 4) * vb), c + 5 * ldc + 4);
        }
    }

    /// <summary>Starts loading the 6 rows of the C tile; C's rows are far apart (often a power-of-two stride)
    /// and rarely cached, and the loads after the k loop would otherwise stall on them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchC(double* c, nint ldc)
    {
        if (!Sse.IsSupported)
            return;
        for (int i = 0; i < 6; i++)
        {
            Sse.Prefetch0((byte*)(c + i * ldc));
            Sse.Prefetch0((byte*)(c + i * ldc) + 63);
        }
    }
}
