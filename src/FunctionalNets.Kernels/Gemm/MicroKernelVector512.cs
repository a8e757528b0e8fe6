// The unrolled steps below were written out by a small script because C# has no macros; edit them all alike.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FunctionalNets.Kernels.GemmImpl;

/// <summary>12x32 float tile for AVX-512: 24 zmm accumulators, 2 for B and 1 broadcast, leaving spares of the 32 registers. AVX-512 parts have 1-2 MB of L2 per core, so the A block (MC x KC) is twice the AVX2 one.</summary>
internal readonly unsafe struct Vector512SgemmKernel : IMicroKernel<float>
{
    public static int MR => 12;
    public static int NR => 32;
    public static int KC => 256;
    public static int MC => 240;
    public static int NC => 2048;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(nint kc, float* a, float* b, float* c, nint ldc, float alpha, float beta)
    {
        Vector512<float> c00 = default; Vector512<float> c01 = default;
        Vector512<float> c10 = default; Vector512<float> c11 = default;
        Vector512<float> c20 = default; Vector512<float> c21 = default;
        Vector512<float> c30 = default; Vector512<float> c31 = default;
        Vector512<float> c40 = default; Vector512<float> c41 = default;
        Vector512<float> c50 = default; Vector512<float> c51 = default;
        Vector512<float> c60 = default; Vector512<float> c61 = default;
        Vector512<float> c70 = default; Vector512<float> c71 = default;
        Vector512<float> c80 = default; Vector512<float> c81 = default;
        Vector512<float> c90 = default; Vector512<float> c91 = default;
        Vector512<float> c100 = default; Vector512<float> c101 = default;
        Vector512<float> c110 = default; Vector512<float> c111 = default;
        PrefetchC(c, ldc);
        // Unrolled by 4 so the loop counter and pointer bumps cost little next to 24 FMAs a step.
        for (; kc >= 4; kc -= 4)
        {
            {
                var b0 = Vector512.Load(b + 0); var b1 = Vector512.Load(b + 16);
                var a0 = Vector512.Create(a[0]);
                c00 = Vector512.FusedMultiplyAdd(a0, b0, c00);
                c01 = Vector512.FusedMultiplyAdd(a0, b1, c01);
                var a1 = Vector512.Create(a[1]);
                c10 = Vector512.FusedMultiplyAdd(a1, b0, c10);
                c11 = Vector512.FusedMultiplyAdd(a1, b1, c11);
                var a2 = Vector512.Create(a[2]);
                c20 = Vector512.FusedMultiplyAdd(a2, b0, c20);
                c21 = Vector512.FusedMultiplyAdd(a2, b1, c21);
                var a3 = Vector512.Create(a[3]);
                c30 = Vector512.FusedMultiplyAdd(a3, b0, c30);
                c31 = Vector512.FusedMultiplyAdd(a3, b1, c31);
                var a4 = Vector512.Create(a[4]);
                c40 = Vector512.FusedMultiplyAdd(a4, b0, c40);
                c41 = Vector512.FusedMultiplyAdd(a4, b1, c41);
                var a5 = Vector512.Create(a[5]);
                c50 = Vector512.FusedMultiplyAdd(a5, b0, c50);
                c51 = Vector512.FusedMultiplyAdd(a5, b1, c51);
                var a6 = Vector512.Create(a[6]);
                c60 = Vector512.FusedMultiplyAdd(a6, b0, c60);
                c61 = Vector512.FusedMultiplyAdd(a6, b1, c61);
                var a7 = Vector512.Create(a[7]);
                c70 = Vector512.FusedMultiplyAdd(a7, b0, c70);
                c71 = Vector512.FusedMultiplyAdd(a7, b1, c71);
                var a8 = Vector512.Create(a[8]);
                c80 = Vector512.FusedMultiplyAdd(a8, b0, c80);
                c81 = Vector512.FusedMultiplyAdd(a8, b1, c81);
                var a9 = Vector512.Create(a[9]);
                c90 = Vector512.FusedMultiplyAdd(a9, b0, c90);
                c91 = Vector512.FusedMultiplyAdd(a9, b1, c91);
                var a10 = Vector512.Create(a[10]);
                c100 = Vector512.FusedMultiplyAdd(a10, b0, c100);
                c101 = Vector512.FusedMultiplyAdd(a10, b1, c101);
                var a11 = Vector512.Create(a[11]);
                c110 = Vector512.FusedMultiplyAdd(a11, b0, c110);
                c111 = Vector512.FusedMultiplyAdd(a11, b1, c111);
            }
            {
                var b0 = Vector512.Load(b + 32); var b1 = Vector512.Load(b + 48);
                var a0 = Vector512.Create(a[12]);
                c00 = Vector512.FusedMultiplyAdd(a0, b0, c00);
                c01 = Vector512.FusedMultiplyAdd(a0, b1, c01);
                var a1 = Vector512.Create(a[13]);
                c10 = Vector512.FusedMultiplyAdd(a1, b0, c10);
                c11 = Vector512.FusedMultiplyAdd(a1, b1, c11);
                var a2 = Vector512.Create(a[14]);
                c20 = Vector512.FusedMultiplyAdd(a2, b0, c20);
                c21 = Vector512.FusedMultiplyAdd(a2, b1, c21);
                var a3 = Vector512.Create(a[15]);
                c30 = Vector512.FusedMultiplyAdd(a3, b0, c30);
                c31 = Vector512.FusedMultiplyAdd(a3, b1, c31);
                var a4 = Vector512.Create(a[16]);
                c40 = Vector512.FusedMultiplyAdd(a4, b0, c40);
                c41 = Vector512.FusedMultiplyAdd(a4, b1, c41);
                var a5 = Vector512.Create(a[17]);
                c50 = Vector512.FusedMultiplyAdd(a5, b0, c50);
                c51 = Vector512.FusedMultiplyAdd(a5, b1, c51);
                var a6 = Vector512.Create(a[18]);
                c60 = Vector512.FusedMultiplyAdd(a6, b0, c60);
                c61 = Vector512.FusedMultiplyAdd(a6, b1, c61);
                var a7 = Vector512.Create(a[19]);
                c70 = Vector512.FusedMultiplyAdd(a7, b0, c70);
                c71 = Vector512.FusedMultiplyAdd(a7, b1, c71);
                var a8 = Vector512.Create(a[20]);
                c80 = Vector512.FusedMultiplyAdd(a8, b0, c80);
                c81 = Vector512.FusedMultiplyAdd(a8, b1, c81);
                var a9 = Vector512.Create(a[21]);
                c90 = Vector512.FusedMultiplyAdd(a9, b0, c90);
                c91 = Vector512.FusedMultiplyAdd(a9, b1, c91);
                var a10 = Vector512.Create(a[22]);
                c100 = Vector512.FusedMultiplyAdd(a10, b0, c100);
                c101 = Vector512.FusedMultiplyAdd(a10, b1, c101);
                var a11 = Vector512.Create(a[23]);
                c110 = Vector512.FusedMultiplyAdd(a11, b0, c110);
                c111 = Vector512.FusedMultiplyAdd(a11, b1, c111);
            }
            {
                var b0 = Vector512.Load(b + 64); var b1 = Vector512.Load(b + 80);
                var a0 = Vector512.Create(a[24]);
                c00 = Vector512.FusedMultiplyAdd(a0, b0, c00);
                c01 = Vector512.FusedMultiplyAdd(a0, b1, c01);
                var a1 = Vector512.Create(a[25]);
                c10 = Vector512.FusedMultiplyAdd(a1, b0, c10);
                c11 = Vector512.FusedMultiplyAdd(a1, b1, c11);
                var a2 = Vector512.Create(a[26]);
                c20 = Vector512.FusedMultiplyAdd(a2, b0, c20);
                c21 = Vector512.FusedMultiplyAdd(a2, b1, c21);
                var a3 = Vector512.Create(a[27]);
                c30 = Vector512.FusedMultiplyAdd(a3, b0, c30);
                c31 = Vector512.FusedMultiplyAdd(a3, b1, c31);
                var a4 = Vector512.Create(a[28]);
                c40 = Vector512.FusedMultiplyAdd(a4, b0, c40);
                c41 = Vector512.FusedMultiplyAdd(a4, b1, c41);
                var a5 = Vector512.Create(a[29]);
                c50 = Vector512.FusedMultiplyAdd(a5, b0, c50);
                c51 = Vector512.FusedMultiplyAdd(a5, b1, c51);
                var a6 = Vector512.Create(a[30]);
                c60 = Vector512.FusedMultiplyAdd(a6, b0, c60);
                c61 = Vector512.FusedMultiplyAdd(a6, b1, c61);
                var a7 = Vector512.Create(a[31]);
                c70 = Vector512.FusedMultiplyAdd(a7, b0, c70);
                c71 = Vector512.FusedMultiplyAdd(a7, b1, c71);
                var a8 = Vector512.Create(a[32]);
                c80 = Vector512.FusedMultiplyAdd(a8, b0, c80);
                c81 = Vector512.FusedMultiplyAdd(a8, b1, c81);
                var a9 = Vector512.Create(a[33]);
                c90 = Vector512.FusedMultiplyAdd(a9, b0, c90);
                c91 = Vector512.FusedMultiplyAdd(a9, b1, c91);
                var a10 = Vector512.Create(a[34]);
                c100 = Vector512.FusedMultiplyAdd(a10, b0, c100);
                c101 = Vector512.FusedMultiplyAdd(a10, b1, c101);
                var a11 = Vector512.Create(a[35]);
                c110 = Vector512.FusedMultiplyAdd(a11, b0, c110);
                c111 = Vector512.FusedMultiplyAdd(a11, b1, c111);
            }
            {
                var b0 = Vector512.Load(b + 96); var b1 = Vector512.Load(b + 112);
                var a0 = Vector512.Create(a[36]);
                c00 = Vector512.FusedMultiplyAdd(a0, b0, c00);
                c01 = Vector512.FusedMultiplyAdd(a0, b1, c01);
                var a1 = Vector512.Create(a[37]);
                c10 = Vector512.FusedMultiplyAdd(a1, b0, c10);
                c11 = Vector512.FusedMultiplyAdd(a1, b1, c11);
                var a2 = Vector512.Create(a[38]);
                c20 = Vector512.FusedMultiplyAdd(a2, b0, c20);
                c21 = Vector512.FusedMultiplyAdd(a2, b1, c21);
                var a3 = Vector512.Create(a[39]);
                c30 = Vector512.FusedMultiplyAdd(a3, b0, c30);
                c31 = Vector512.FusedMultiplyAdd(a3, b1, c31);
                var a4 = Vector512.Create(a[40]);
                c40 = Vector512.FusedMultiplyAdd(a4, b0, c40);
                c41 = Vector512.FusedMultiplyAdd(a4, b1, c41);
                var a5 = Vector512.Create(a[41]);
                c50 = Vector512.FusedMultiplyAdd(a5, b0, c50);
                c51 = Vector512.FusedMultiplyAdd(a5, b1, c51);
                var a6 = Vector512.Create(a[42]);
                c60 = Vector512.FusedMultiplyAdd(a6, b0, c60);
                c61 = Vector512.FusedMultiplyAdd(a6, b1, c61);
                var a7 = Vector512.Create(a[43]);
                c70 = Vector512.FusedMultiplyAdd(a7, b0, c70);
                c71 = Vector512.FusedMultiplyAdd(a7, b1, c71);
                var a8 = Vector512.Create(a[44]);
                c80 = Vector512.FusedMultiplyAdd(a8, b0, c80);
                c81 = Vector512.FusedMultiplyAdd(a8, b1, c81);
                var a9 = Vector512.Create(a[45]);
                c90 = Vector512.FusedMultiplyAdd(a9, b0, c90);
                c91 = Vector512.FusedMultiplyAdd(a9, b1, c91);
                var a10 = Vector512.Create(a[46]);
                c100 = Vector512.FusedMultiplyAdd(a10, b0, c100);
                c101 = Vector512.FusedMultiplyAdd(a10, b1, c101);
                var a11 = Vector512.Create(a[47]);
                c110 = Vector512.FusedMultiplyAdd(a11, b0, c110);
                c111 = Vector512.FusedMultiplyAdd(a11, b1, c111);
            }
            a += 48;
            b += 128;
        }
        for (; kc > 0; kc--)
        {
            {
                var b0 = Vector512.Load(b + 0); var b1 = Vector512.Load(b + 16);
                var a0 = Vector512.Create(a[0]);
                c00 = Vector512.FusedMultiplyAdd(a0, b0, c00);
                c01 = Vector512.FusedMultiplyAdd(a0, b1, c01);
                var a1 = Vector512.Create(a[1]);
                c10 = Vector512.FusedMultiplyAdd(a1, b0, c10);
                c11 = Vector512.FusedMultiplyAdd(a1, b1, c11);
                var a2 = Vector512.Create(a[2]);
                c20 = Vector512.FusedMultiplyAdd(a2, b0, c20);
                c21 = Vector512.FusedMultiplyAdd(a2, b1, c21);
                var a3 = Vector512.Create(a[3]);
                c30 = Vector512.FusedMultiplyAdd(a3, b0, c30);
                c31 = Vector512.FusedMultiplyAdd(a3, b1, c31);
                var a4 = Vector512.Create(a[4]);
                c40 = Vector512.FusedMultiplyAdd(a4, b0, c40);
                c41 = Vector512.FusedMultiplyAdd(a4, b1, c41);
                var a5 = Vector512.Create(a[5]);
                c50 = Vector512.FusedMultiplyAdd(a5, b0, c50);
                c51 = Vector512.FusedMultiplyAdd(a5, b1, c51);
                var a6 = Vector512.Create(a[6]);
                c60 = Vector512.FusedMultiplyAdd(a6, b0, c60);
                c61 = Vector512.FusedMultiplyAdd(a6, b1, c61);
                var a7 = Vector512.Create(a[7]);
                c70 = Vector512.FusedMultiplyAdd(a7, b0, c70);
                c71 = Vector512.FusedMultiplyAdd(a7, b1, c71);
                var a8 = Vector512.Create(a[8]);
                c80 = Vector512.FusedMultiplyAdd(a8, b0, c80);
                c81 = Vector512.FusedMultiplyAdd(a8, b1, c81);
                var a9 = Vector512.Create(a[9]);
                c90 = Vector512.FusedMultiplyAdd(a9, b0, c90);
                c91 = Vector512.FusedMultiplyAdd(a9, b1, c91);
                var a10 = Vector512.Create(a[10]);
                c100 = Vector512.FusedMultiplyAdd(a10, b0, c100);
                c101 = Vector512.FusedMultiplyAdd(a10, b1, c101);
                var a11 = Vector512.Create(a[11]);
                c110 = Vector512.FusedMultiplyAdd(a11, b0, c110);
                c111 = Vector512.FusedMultiplyAdd(a11, b1, c111);
            }
            a += 12;
            b += 32;
        }
        var va = Vector512.Create(alpha);
        if (beta == 0)
        {
            // beta == 0 must not read C: its old contents may be NaN.
            Vector512.Store(c00 * va, c + 0 * ldc + 0);
            Vector512.Store(c01 * va, c + 0 * ldc + 16);
            Vector512.Store(c10 * va, c + 1 * ldc + 0);
            Vector512.Store(c11 * va, c + 1 * ldc + 16);
            Vector512.Store(c20 * va, c + 2 * ldc + 0);
            Vector512.Store(c21 * va, c + 2 * ldc + 16);
            Vector512.Store(c30 * va, c + 3 * ldc + 0);
            Vector512.Store(c31 * va, c + 3 * ldc + 16);
            Vector512.Store(c40 * va, c + 4 * ldc + 0);
            Vector512.Store(c41 * va, c + 4 * ldc + 16);
            Vector512.Store(c50 * va, c + 5 * ldc + 0);
            Vector512.Store(c51 * va, c + 5 * ldc + 16);
            Vector512.Store(c60 * va, c + 6 * ldc + 0);
            Vector512.Store(c61 * va, c + 6 * ldc + 16);
            Vector512.Store(c70 * va, c + 7 * ldc + 0);
            Vector512.Store(c71 * va, c + 7 * ldc + 16);
            Vector512.Store(c80 * va, c + 8 * ldc + 0);
            Vector512.Store(c81 * va, c + 8 * ldc + 16);
            Vector512.Store(c90 * va, c + 9 * ldc + 0);
            Vector512.Store(c91 * va, c + 9 * ldc + 16);
            Vector512.Store(c100 * va, c + 10 * ldc + 0);
            Vector512.Store(c101 * va, c + 10 * ldc + 16);
            Vector512.Store(c110 * va, c + 11 * ldc + 0);
            Vector512.Store(c111 * va, c + 11 * ldc + 16);
        }
        else
        {
            var vb = Vector512.Create(beta);
            Vector512.Store(Vector512.FusedMultiplyAdd(c00, va, Vector512.Load(c + 0 * ldc + 0) * vb), c + 0 * ldc + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(c01, va, Vector512.Load(c + 0 * ldc + 16) * vb), c + 0 * ldc + 16);
            Vector512.Store(Vector512.FusedMultiplyAdd(c10, va, Vector512.Load(c + 1 * ldc + 0) * vb), c + 1 * ldc + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(c11, va, Vector512.Load(c + 1 * ldc + 16) * vb), c + 1 * ldc + 16);
            Vector512.Store(Vector512.FusedMultiplyAdd(c20, va, Vector512.Load(c + 2 * ldc + 0) * vb), c + 2 * ldc + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(c21, va, Vector512.Load(c + 2 * ldc + 16) * vb), c + 2 * ldc + 16);
            Vector512.Store(Vector512.FusedMultiplyAdd(c30, va, Vector512.Load(c + 3 * ldc + 0) * vb), c + 3 * ldc + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(c31, va, Vector512.Load(c + 3 * ldc + 16) * vb), c + 3 * ldc + 16);
            Vector512.Store(Vector512.FusedMultiplyAdd(c40, va, Vector512.Load(c + 4 * ldc + 0) * vb), c + 4 * ldc + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(c41, va, Vector512.Load(c + 4 * ldc + 16) * vb), c + 4 * ldc + 16);
            Vector512.Store(Vector512.FusedMultiplyAdd(c50, va, Vector512.Load(c + 5 * ldc + 0) * vb), c + 5 * ldc + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(c51, va, Vector512.Load(c + 5 * ldc + 16) * vb), c + 5 * ldc + 16);
            Vector512.Store(Vector512.FusedMultiplyAdd(c60, va, Vector512.Load(c + 6 * ldc + 0) * vb), c + 6 * ldc + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(c61, va, Vector512.Load(c + 6 * ldc + 16) * vb), c + 6 * ldc + 16);
            Vector512.Store(Vector512.FusedMultiplyAdd(c70, va, Vector512.Load(c + 7 * ldc + 0) * vb), c + 7 * ldc + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(c71, va, Vector512.Load(c + 7 * ldc + 16) * vb), c + 7 * ldc + 16);
            Vector512.Store(Vector512.FusedMultiplyAdd(c80, va, Vector512.Load(c + 8 * ldc + 0) * vb), c + 8 * ldc + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(c81, va, Vector512.Load(c + 8 * ldc + 16) * vb), c + 8 * ldc + 16);
            Vector512.Store(Vector512.FusedMultiplyAdd(c90, va, Vector512.Load(c + 9 * ldc + 0) * vb), c + 9 * ldc + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(c91, va, Vector512.Load(c + 9 * ldc + 16) * vb), c + 9 * ldc + 16);
            Vector512.Store(Vector512.FusedMultiplyAdd(c100, va, Vector512.Load(c + 10 * ldc + 0) * vb), c + 10 * ldc + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(c101, va, Vector512.Load(c + 10 * ldc + 16) * vb), c + 10 * ldc + 16);
            Vector512.Store(Vector512.FusedMultiplyAdd(c110, va, Vector512.Load(c + 11 * ldc + 0) * vb), c + 11 * ldc + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(c111, va, Vector512.Load(c + 11 * ldc + 16) * vb), c + 11 * ldc + 16);
        }
    }

    /// <summary>Starts loading the 12 rows of the C tile; C's rows are far apart (often a power-of-two stride)
    /// and rarely cached, and the loads after the k loop would otherwise stall on them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchC(float* c, nint ldc)
    {
        if (!Sse.IsSupported)
            return;
        for (int i = 0; i < 12; i++)
        {
            Sse.Prefetch0((byte*)(c + i * ldc));
            Sse.Prefetch0((byte*)(c + i * ldc) + 127);
        }
    }
}

/// <summary>12x16 double tile for AVX-512: the same register budget as the float tile, with 8 lanes.</summary>
internal readonly unsafe struct Vector512DgemmKernel : IMicroKernel<double>
{
    public static int MR => 12;
    public static int NR => 16;
    public static int KC => 256;
    public static int MC => 120;
    public static int NC => 1024;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(nint kc, double* a, double* b, double* c, nint ldc, double alpha, double beta)
    {
        Vector512<double> c00 = default; Vector512<double> c01 = default;
        Vector512<double> c10 = default; Vector512<double> c11 = default;
        Vector512<double> c20 = default; Vector512<double> c21 = default;
        Vector512<double> c30 = default; Vector512<double> c31 = default;
        Vector512<double> c40 = default; Vector512<double> c41 = default;
        Vector512<double> c50 = default; Vector512<double> c51 = default;
        Vector512<double> c60 = default; Vector512<double> c61 = default;
        Vector512<double> c70 = default; Vector512<double> c71 = default;
        Vector512<double> c80 = default; Vector512<double> c81 = default;
        Vector512<double> c90 = default; Vector512<double> c91 = default;
        Vector512<double> c100 = default; Vector512<double> c101 = default;
        Vector512<double> c110 = default; Vector512<double> c111 = default;
        PrefetchC(c, ldc);
        // Unrolled by 4 so the loop counter and pointer bumps cost little next to 24 FMAs a step.
        for (; kc >= 4; kc -= 4)
        {
            {
                var b0 = Vector512.Load(b + 0); var b1 = Vector512.Load(b + 8);
                var a0 = Vector512.Create(a[0]);
                c00 = Vector512.FusedMultiplyAdd(a0, b0, c00);
                c01 = Vector512.FusedMultiplyAdd(a0, b1, c01);
                var a1 = Vector512.Create(a[1]);
                c10 = Vector512.FusedMultiplyAdd(a1, b0, c10);
                c11 = Vector512.FusedMultiplyAdd(a1, b1, c11);
                var a2 = Vector512.Create(a[2]);
                c20 = Vector512.FusedMultiplyAdd(a2, b0, c20);
                c21 = Vector512.FusedMultiplyAdd(a2, b1, c21);
                var a3 = Vector512.Create(a[3]);
                c30 = Vector512.FusedMultiplyAdd(a3, b0, c30);
                c31 = Vector512.FusedMultiplyAdd(a3, b1, c31);
                var a4 = Vector512.Create(a[4]);
                c40 = Vector512.FusedMultiplyAdd(a4, b0, c40);
                c41 = Vector512.FusedMultiplyAdd(a4, b1, c41);
                var a5 = Vector512.Create(a[5]);
                c50 = Vector512.FusedMultiplyAdd(a5, b0, c50);
                c51 = Vector512.FusedMultiplyAdd(a5, b1, c51);
                var a6 = Vector512.Create(a[6]);
                c60 = Vector512.FusedMultiplyAdd(a6, b0, c60);
                c61 = Vector512.FusedMultiplyAdd(a6, b1, c61);
                var a7 = Vector512.Create(a[7]);
                c70 = Vector512.FusedMultiplyAdd(a7, b0, c70);
                c71 = Vector512.FusedMultiplyAdd(a7, b1, c71);
                var a8 = Vector512.Create(a[8]);
                c80 = Vector512.FusedMultiplyAdd(a8, b0, c80);
                c81 = Vector512.FusedMultiplyAdd(a8, b1, c81);
                var a9 = Vector512.Create(a[9]);
                c90 = Vector512.FusedMultiplyAdd(a9, b0, c90);
                c91 = Vector512.FusedMultiplyAdd(a9, b1, c91);
                var a10 = Vector512.Create(a[10]);
                c100 = Vector512.FusedMultiplyAdd(a10, b0, c100);
                c101 = Vector512.FusedMultiplyAdd(a10, b1, c101);
                var a11 = Vector512.Create(a[11]);
                c110 = Vector512.FusedMultiplyAdd(a11, b0, c110);
                c111 = Vector512.FusedMultiplyAdd(a11, b1, c111);
            }
            {
                var b0 = Vector512.Load(b + 16); var b1 = Vector512.Load(b + 24);
                var a0 = Vector512.Create(a[12]);
                c00 = Vector512.FusedMultiplyAdd(a0, b0, c00);
                c01 = Vector512.FusedMultiplyAdd(a0, b1, c01);
                var a1 = Vector512.Create(a[13]);
                c10 = Vector512.FusedMultiplyAdd(a1, b0, c10);
                c11 = Vector512.FusedMultiplyAdd(a1, b1, c11);
                var a2 = Vector512.Create(a[14]);
                c20 = Vector512.FusedMultiplyAdd(a2, b0, c20);
                c21 = Vector512.FusedMultiplyAdd(a2, b1, c21);
                var a3 = Vector512.Create(a[15]);
                c30 = Vector512.FusedMultiplyAdd(a3, b0, c30);
                c31 = Vector512.FusedMultiplyAdd(a3, b1, c31);
                var a4 = Vector512.Create(a[16]);
                c40 = Vector512.FusedMultiplyAdd(a4, b0, c40);
                c41 = Vector512.FusedMultiplyAdd(a4, b1, c41);
                var a5 = Vector512.Create(a[17]);
                c50 = Vector512.FusedMultiplyAdd(a5, b0, c50);
                c51 = Vector512.FusedMultiplyAdd(a5, b1, c51);
                var a6 = Vector512.Create(a[18]);
                c60 = Vector512.FusedMultiplyAdd(a6, b0, c60);
                c61 = Vector512.FusedMultiplyAdd(a6, b1, c61);
                var a7 = Vector512.Create(a[19]);
                c70 = Vector512.FusedMultiplyAdd(a7, b0, c70);
                c71 = Vector512.FusedMultiplyAdd(a7, b1, c71);
                var a8 = Vector512.Create(a[20]);
                c80 = Vector512.FusedMultiplyAdd(a8, b0, c80);
                c81 = Vector512.FusedMultiplyAdd(a8, b1, c81);
                var a9 = Vector512.Create(a[21]);
                c90 = Vector512.FusedMultiplyAdd(a9, b0, c90);
                c91 = Vector512.FusedMultiplyAdd(a9, b1, c91);
                var a10 = Vector512.Create(a[22]);
                c100 = Vector512.FusedMultiplyAdd(a10, b0, c100);
                c101 = Vector512.FusedMultiplyAdd(a10, b1, c101);
                var a11 = Vector512.Create(a[23]);
                c110 = Vector512.FusedMultiplyAdd(a11, b0, c110);
                c111 = Vector512.FusedMultiplyAdd(a11, b1, c111);
            }
            {
                var b0 = Vector512.Load(b + 32); var b1 = Vector512.Load(b + 40);
                var a0 = Vector512.Create(a[24]);
                c00 = Vector512.FusedMultiplyAdd(a0, b0, c00);
                c01 = Vector512.FusedMultiplyAdd(a0, b1, c01);
                var a1 = Vector512.Create(a[25]);
                c10 = Vector512.FusedMultiplyAdd(a1, b0, c10);
                c11 = Vector512.FusedMultiplyAdd(a1, b1, c11);
                var a2 = Vector512.Create(a[26]);
                c20 = Vector512.FusedMultiplyAdd(a2, b0, c20);
                c21 = Vector512.FusedMultiplyAdd(a2, b1, c21);
                var a3 = Vector512.Create(a[27]);
                c30 = Vector512.FusedMultiplyAdd(a3, b0, c30);
                c31 = Vector512.FusedMultiplyAdd(a3, b1, c31);
                var a4 = Vector512.Create(a[28]);
                c40 = Vector512.FusedMultiplyAdd(a4, b0, c40);
                c41 = Vector512.FusedMultiplyAdd(a4, b1, c41);
                var a5 = Vector512.Create(a[29]);
                c50 = Vector512.FusedMultiplyAdd(a5, b0, c50);
                c51 = Vector512.FusedMultiplyAdd(a5, b1, c51);
                var a6 = Vector512.Create(a[30]);
                c60 = Vector512.FusedMultiplyAdd(a6, b0, c60);
                c61 = Vector512.FusedMultiplyAdd(a6, b1, c61);
                var a7 = Vector512.Create(a[31]);
                c70 = Vector512.FusedMultiplyAdd(a7, b0, c70);
                c71 = Vector512.FusedMultiplyAdd(a7, b1, c71);
                var a8 = Vector512.Create(a[32]);
                c80 = Vector512.FusedMultiplyAdd(a8, b0, c80);
                c81 = Vector512.FusedMultiplyAdd(a8, b1, c81);
                var a9 = Vector512.Create(a[33]);
                c90 = Vector512.FusedMultiplyAdd(a9, b0, c90);
                c91 = Vector512.FusedMultiplyAdd(a9, b1, c91);
                var a10 = Vector512.Create(a[34]);
                c100 = Vector512.FusedMultiplyAdd(a10, b0, c100);
                c101 = Vector512.FusedMultiplyAdd(a10, b1, c101);
                var a11 = Vector512.Create(a[35]);
                c110 = Vector512.FusedMultiplyAdd(a11, b0, c110);
                c111 = Vector512.FusedMultiplyAdd(a11, b1, c111);
            }
            {
                var b0 = Vector512.Load(b + 48); var b1 = Vector512.Load(b + 56);
                var a0 = Vector512.Create(a[36]);
                c00 = Vector512.FusedMultiplyAdd(a0, b0, c00);
                c01 = Vector512.FusedMultiplyAdd(a0, b1, c01);
                var a1 = Vector512.Create(a[37]);
                c10 = Vector512.FusedMultiplyAdd(a1, b0, c10);
                c11 = Vector512.FusedMultiplyAdd(a1, b1, c11);
                var a2 = Vector512.Create(a[38]);
                c20 = Vector512.FusedMultiplyAdd(a2, b0, c20);
                c21 = Vector512.FusedMultiplyAdd(a2, b1, c21);
                var a3 = Vector512.Create(a[39]);
                c30 = Vector512.FusedMultiplyAdd(a3, b0, c30);
                c31 = Vector512.FusedMultiplyAdd(a3, b1, c31);
                var a4 = Vector512.Create(a[40]);
                c40 = Vector512.FusedMultiplyAdd(a4, b0, c40);
                c41 = Vector512.FusedMultiplyAdd(a4, b1, c41);
                var a5 = Vector512.Create(a[41]);
                c50 = Vector512.FusedMultiplyAdd(a5, b0, c50);
                c51 = Vector512.FusedMultiplyAdd(a5, b1, c51);
                var a6 = Vector512.Create(a[42]);
                c60 = Vector512.FusedMultiplyAdd(a6, b0, c60);
                c61 = Vector512.FusedMultiplyAdd(a6, b1, c61);
                var a7 = Vector512.Create(a[43]);
                c70 = Vector512.FusedMultiplyAdd(a7, b0, c70);
                c71 = Vector512.FusedMultiplyAdd(a7, b1, c71);
                var a8 = Vector512.Create(a[44]);
                c80 = Vector512.FusedMultiplyAdd(a8, b0, c80);
                c81 = Vector512.FusedMultiplyAdd(a8, b1, c81);
                var a9 = Vector512.Create(a[45]);
                c90 = Vector512.FusedMultiplyAdd(a9, b0, c90);
                c91 = Vector512.FusedMultiplyAdd(a9, b1, c91);
                var a10 = Vector512.Create(a[46]);
                c100 = Vector512.FusedMultiplyAdd(a10, b0, c100);
                c101 = Vector512.FusedMultiplyAdd(a10, b1, c101);
                var a11 = Vector512.Create(a[47]);
                c110 = Vector512.FusedMultiplyAdd(a11, b0, c110);
                c111 = Vector512.FusedMultiplyAdd(a11, b1, c111);
            }
            a += 48;
            b += 64;
        }
        for (; kc > 0; kc--)
        {
            {
                var b0 = Vector512.Load(b + 0); var b1 = Vector512.Load(b + 8);
                var a0 = Vector512.Create(a[0]);
                c00 = Vector512.FusedMultiplyAdd(a0, b0, c00);
                c01 = Vector512.FusedMultiplyAdd(a0, b1, c01);
                var a1 = Vector512.Create(a[1]);
                c10 = Vector512.FusedMultiplyAdd(a1, b0, c10);
                c11 = Vector512.FusedMultiplyAdd(a1, b1, c11);
                var a2 = Vector512.Create(a[2]);
                c20 = Vector512.FusedMultiplyAdd(a2, b0, c20);
                c21 = Vector512.FusedMultiplyAdd(a2, b1, c21);
                var a3 = Vector512.Create(a[3]);
                c30 = Vector512.FusedMultiplyAdd(a3, b0, c30);
                c31 = Vector512.FusedMultiplyAdd(a3, b1, c31);
                var a4 = Vector512.Create(a[4]);
                c40 = Vector512.FusedMultiplyAdd(a4, b0, c40);
                c41 = Vector512.FusedMultiplyAdd(a4, b1, c41);
                var a5 = Vector512.Create(a[5]);
                c50 = Vector512.FusedMultiplyAdd(a5, b0, c50);
                c51 = Vector512.FusedMultiplyAdd(a5, b1, c51);
                var a6 = Vector512.Create(a[6]);
                c60 = Vector512.FusedMultiplyAdd(a6, b0, c60);
                c61 = Vector512.FusedMultiplyAdd(a6, b1, c61);
                var a7 = Vector512.Create(a[7]);
                c70 = Vector512.FusedMultiplyAdd(a7, b0, c70);
                c71 = Vector512.FusedMultiplyAdd(a7, b1, c71);
                var a8 = Vector512.Create(a[8]);
                c80 = Vector512.FusedMultiplyAdd(a8, b0, c80);
                c81 = Vector512.FusedMultiplyAdd(a8, b1, c81);
                var a9 = Vector512.Create(a[9]);
                c90 = Vector512.FusedMultiplyAdd(a9, b0, c90);
                c91 = Vector512.FusedMultiplyAdd(a9, b1, c91);
                var a10 = Vector512.Create(a[10]);
                c100 = Vector512.FusedMultiplyAdd(a10, b0, c100);
                c101 = Vector512.FusedMultiplyAdd(a10, b1, c101);
                var a11 = Vector512.Create(a[11]);
                c110 = Vector512.FusedMultiplyAdd(a11, b0, c110);
                c111 = Vector512.FusedMultiplyAdd(a11, b1, c111);
            }
            a += 12;
            b += 16;
        }
        var va = Vector512.Create(alpha);
        if (beta == 0)
        {
            // beta == 0 must not read C: its old contents may be NaN.
            Vector512.Store(c00 * va, c + 0 * ldc + 0);
            Vector512.Store(c01 * va, c + 0 * ldc + 8);
            Vector512.Store(c10 * va, c + 1 * ldc + 0);
            Vector512.Store(c11 * va, c + 1 * ldc + 8);
            Vector512.Store(c20 * va, c + 2 * ldc + 0);
            Vector512.Store(c21 * va, c + 2 * ldc + 8);
            Vector512.Store(c30 * va, c + 3 * ldc + 0);
            Vector512.Store(c31 * va, c + 3 * ldc + 8);
            Vector512.Store(c40 * va, c + 4 * ldc + 0);
            Vector512.Store(c41 * va, c + 4 * ldc + 8);
            Vector512.Store(c50 * va, c + 5 * ldc + 0);
            Vector512.Store(c51 * va, c + 5 * ldc + 8);
            Vector512.Store(c60 * va, c + 6 * ldc + 0);
            Vector512.Store(c61 * va, c + 6 * ldc + 8);
            Vector512.Store(c70 * va, c + 7 * ldc + 0);
            Vector512.Store(c71 * va, c + 7 * ldc + 8);
            Vector512.Store(c80 * va, c + 8 * ldc + 0);
            Vector512.Store(c81 * va, c + 8 * ldc + 8);
            Vector512.Store(c90 * va, c + 9 * ldc + 0);
            Vector512.Store(c91 * va, c + 9 * ldc + 8);
            Vector512.Store(c100 * va, c + 10 * ldc + 0);
            Vector512.Store(c101 * va, c + 10 * ldc + 8);
            Vector512.Store(c110 * va, c + 11 * ldc + 0);
            Vector512.Store(c111 * va, c + 11 * ldc + 8);
        }
        else
        {
            var vb = Vector512.Create(beta);
            Vector512.Store(Vector512.FusedMultiplyAdd(c00, va, Vector512.Load(c + 0 * ldc + 0) * vb), c + 0 * ldc + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(c01, va, Vector512.Load(c + 0 * ldc + 8) * vb), c + 0 * ldc + 8);
            Vector512.Store(Vector512.FusedMultiplyAdd(c10, va, Vector512.Load(c + 1 * ldc + 0) * vb), c + 1 * ldc + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(c11, va, Vector512.Load(c + 1 * ldc + 8) * vb), c + 1 * ldc + 8);
            Vector512.Store(Vector512.FusedMultiplyAdd(c20, va, Vector512.Load(c + 2 * ldc + 0) * vb), c + 2 * ldc + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(c21, va, Vector512.Load(c + 2 * ldc + 8) * vb), c + 2 * ldc + 8);
            Vector512.Store(Vector512.FusedMultiplyAdd(c30, va, Vector512.Load(c + 3 * ldc + 0) * vb), c + 3 * ldc + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(c31, va, Vector512.Load(c + 3 * ldc + 8) * vb), c + 3 * ldc + 8);
            Vector512.Store(Vector512.FusedMultiplyAdd(c40, va, Vector512.Load(c + 4 * ldc + 0) * vb), c + 4 * ldc + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(c41, va, Vector512.Load(c + 4 * ldc + 8) * vb), c + 4 * ldc + 8);
            Vector512.Store(Vector512.FusedMultiplyAdd(c50, va, Vector512.Load(c + 5 * ldc + 0) * vb), c + 5 * ldc + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(c51, va, Vector512.Load(c + 5 * ldc + 8) * vb), c + 5 * ldc + 8);
            Vector512.Store(Vector512.FusedMultiplyAdd(c60, va, Vector512.Load(c + 6 * ldc + 0) * vb), c + 6 * ldc + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(c61, va, Vector512.Load(c + 6 * ldc + 8) * vb), c + 6 * ldc + 8);
            Vector512.Store(Vector512.FusedMultiplyAdd(c70, va, Vector512.Load(c + 7 * ldc + 0) * vb), c + 7 * ldc + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(c71, va, Vector512.Load(c + 7 * ldc + 8) * vb), c + 7 * ldc + 8);
            Vector512.Store(Vector512.FusedMultiplyAdd(c80, va, Vector512.Load(c + 8 * ldc + 0) * vb), c + 8 * ldc + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(c81, va, Vector512.Load(c + 8 * ldc + 8) * vb), c + 8 * ldc + 8);
            Vector512.Store(Vector512.FusedMultiplyAdd(c90, va, Vector512.Load(c + 9 * ldc + 0) * vb), c + 9 * ldc + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(c91, va, Vector512.Load(c + 9 * ldc + 8) * vb), c + 9 * ldc + 8);
            Vector512.Store(Vector512.FusedMultiplyAdd(c100, va, Vector512.Load(c + 10 * ldc + 0) * vb), c + 10 * ldc + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(c101, va, Vector512.Load(c + 10 * ldc + 8) * vb), c + 10 * ldc + 8);
            Vector512.Store(Vector512.FusedMultiplyAdd(c110, va, Vector512.Load(c + 11 * ldc + 0) * vb), c + 11 * ldc + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(c111, va, Vector512.Load(c + 11 * ldc + 8) * vb), c + 11 * ldc + 8);
        }
    }

    /// <summary>Starts loading the 12 rows of the C tile; C's rows are far apart (often a power-of-two stride)
    /// and rarely cached, and the loads after the k loop would otherwise stall on them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchC(double* c, nint ldc)
    {
        if (!Sse.IsSupported)
            return;
        for (int i = 0; i < 12; i++)
        {
            Sse.Prefetch0((byte*)(c + i * ldc));
            Sse.Prefetch0((byte*)(c + i * ldc) + 127);
        }
    }
}
