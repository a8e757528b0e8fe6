using System.Numerics;
using System.Runtime.CompilerServices;

namespace FunctionalNets.Kernels.GemmImpl;

/// <summary>
/// The blocked loops around a micro-kernel (the Goto/BLIS order): columns in NC blocks, depth in KC blocks with B
/// packed once per block, rows in MC blocks with A packed, then NR x MR register tiles. Generic over the kernel so the
/// JIT specialises the loops and calls the kernel directly. One call computes one rectangle of C on the calling thread.
/// </summary>
internal static unsafe class GemmDriver<T, TK> where T : unmanaged, INumber<T> where TK : struct, IMicroKernel<T>
{
    /// <summary>Computes rows [i0, i1) x columns [j0, j1) of C for problem <paramref name="p"/> (k &gt; 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(in GemmProblem<T> p, int i0, int i1, int j0, int j1)
    {
        int mr = TK.MR, nr = TK.NR;
        int m = i1 - i0, n = j1 - j0, k = p.K;
        if (m <= 0 || n <= 0)
            return;
        // Even block sizes: k = 784 as 4 x 196 rather than 3 x 256 + 16 keeps every block's pack-to-FMA ratio alike.
        int kc = Balanced(k, TK.KC, 1);
        int mc = Balanced(m, TK.MC, mr);
        int nc = Balanced(n, TK.NC, nr);

        nuint aBytes = (nuint)(((long)mc * kc + GemmPacking.PackSlack) * sizeof(T));
        nuint bBytes = (nuint)((long)nc * kc * sizeof(T));
        nuint tileBytes = (nuint)(mr * nr * sizeof(T));
        byte* ws = GemmWorkspace.Get(Align(aBytes) + Align(bBytes) + Align(tileBytes));
        T* packA = (T*)ws;
        T* packB = (T*)(ws + Align(aBytes));
        T* tile = (T*)(ws + Align(aBytes) + Align(bBytes));

        for (int jc = j0; jc < j1; jc += nc)
        {
            int ncur = Math.Min(nc, j1 - jc);
            for (int pc = 0; pc < k; pc += kc)
            {
                int kcur = Math.Min(kc, k - pc);
                // Later depth blocks accumulate onto what the first one wrote.
                T beta = pc == 0 ? p.Beta : T.One;
                GemmPacking.PackB(p, nr, pc, kcur, jc, ncur, packB);
                for (int ic = i0; ic < i1; ic += mc)
                {
                    int mcur = Math.Min(mc, i1 - ic);
                    GemmPacking.PackA(p, mr, ic, mcur, pc, kcur, packA);
                    MacroKernel(kcur, mcur, ncur, packA, packB, p.C + (nint)ic * p.Ldc + jc, p.Ldc, p.Alpha, beta, tile);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MacroKernel(int kc, int mc, int nc, T* packA, T* packB, T* c, nint ldc, T alpha, T beta, T* tile)
    {
        int mr = TK.MR, nr = TK.NR;
        // Column panels outside, row panels inside: one B panel (kc x nr) stays in L1 while the A block streams from L2.
        for (int jr = 0; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr);
            T* pb = packB + (nint)jr * kc;
            for (int ir = 0; ir < mc; ir += mr)
            {
                int rows = Math.Min(mr, mc - ir);
                T* pa = packA + (nint)ir * kc;
                T* cij = c + (nint)ir * ldc + jr;
                if (rows == mr && cols == nr)
                {
                    TK.Run(kc, pa, pb, cij, ldc, alpha, beta);
                }
                else
                {
                    // Ragged edge: the kernel fills a private full tile and only the valid part is merged into C.
                    TK.Run(kc, pa, pb, tile, nr, alpha, T.Zero);
                    for (int i = 0; i < rows; i++)
                    {
                        T* src = tile + i * nr;
                        T* dst = cij + i * ldc;
                        if (beta == T.Zero)
                            for (int j = 0; j < cols; j++) dst[j] = src[j];
                        else
                            for (int j = 0; j < cols; j++) dst[j] = src[j] + beta * dst[j];
                    }
                }
            }
        }
    }

    /// <summary>The smallest block size (a multiple of <paramref name="unit"/>) that covers <paramref name="size"/>
    /// in as few blocks as <paramref name="max"/> allows.</summary>
    private static int Balanced(int size, int max, int unit)
    {
        int blocks = (size + max - 1) / max;
        int per = (size + blocks - 1) / blocks;
        return (per + unit - 1) / unit * unit;
    }

    private static nuint Align(nuint bytes) => (bytes + 63) & ~(nuint)63;
}
