using System.Runtime.CompilerServices;
namespace FunctionalNets.Kernels;

/// <summary>
/// StridedCopy special case where the output's innermost dim is strided in x but the next dim is contiguous
/// in x (a transpose, possibly batched). A plain row loop would touch a new cache line of x per element;
/// copying in square tiles keeps both the read and the write lines resident in L1.
/// </summary>
internal static unsafe class TiledTranspose
{
    private const int Tile = 32;

    /// <summary>True when the collapsed plan is a (batched) 2D transpose worth tiling.</summary>
    public static bool Applies(in StridedPlan p) =>
        p.Rank >= 2 && p.S0[p.Rank - 2] == 1 && p.S0[p.Rank - 1] != 1 && p.S0[p.Rank - 1] != 0
        && p.Shape[p.Rank - 1] >= 4 && p.Shape[p.Rank - 2] >= 4;

    public static void Run<T>(in StridedPlan plan, T* x, T* y) where T : unmanaged
    {
        int last = plan.Rank - 1;
        long rows = plan.Shape[last - 1], cols = plan.Shape[last];
        long rowTiles = (rows + Tile - 1) / Tile;
        long batches = plan.Total / (rows * cols);
        long units = batches * rowTiles;
        int chunks = KernelParallel.ChunkCount(plan.Total);
        var p = plan;
        if (chunks <= 1) RunUnits(in p, x, y, 0, units);
        else KernelParallel.For(chunks, units, (s, e) => RunUnits(in p, x, y, s, e));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunUnits<T>(in StridedPlan p, T* x, T* y, long unitStart, long unitEnd) where T : unmanaged
    {
        int last = p.Rank - 1;
        long rows = p.Shape[last - 1], cols = p.Shape[last];
        long cs = p.S0[last]; // x stride along output columns; x stride along output rows is 1
        long rowTiles = (rows + Tile - 1) / Tile;
        for (long u = unitStart; u < unitEnd; u++)
        {
            long batch = u / rowTiles, r0 = (u % rowTiles) * Tile;
            long r1 = Math.Min(r0 + Tile, rows);
            // x offset of this batch from the outer (batch) dims.
            long xb = p.Base0, rem = batch;
            for (int d = last - 2; d >= 0; d--)
            {
                long n = p.Shape[d];
                xb += (rem % n) * p.S0[d];
                rem /= n;
            }
            T* yb = y + batch * rows * cols;
            for (long c0 = 0; c0 < cols; c0 += Tile)
            {
                long c1 = Math.Min(c0 + Tile, cols);
                for (long c = c0; c < c1; c++)
                {
                    T* src = x + xb + c * cs;
                    T* dst = yb + c;
                    for (long r = r0; r < r1; r++) dst[r * cols] = src[r]; // contiguous reads down x's rows
                }
            }
        }
    }
}
