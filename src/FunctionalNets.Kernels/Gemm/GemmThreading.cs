using System.Numerics;
using System.Runtime.CompilerServices;

namespace FunctionalNets.Kernels.GemmImpl;

/// <summary>
/// Splits one GEMM (or a batch) across up to <see cref="KernelSettings.MaxThreads"/> threads. Each thread gets a
/// rectangle of C with its own packing buffers, so the threads never synchronise inside the call.
/// </summary>
internal static class GemmThreading
{
    /// <summary>
    /// Multiply-adds a thread must get before a hand-off pays: starting pool work costs a few microseconds,
    /// and 2^17 FMAs take about that long on one core with 256-bit SIMD.
    /// </summary>
    private const long MinMacsPerThread = 1L << 17;

    /// <summary>Fewest rows or columns of C per chunk of a threaded product (see <see cref="Run{T, TK}"/>).</summary>
    private const int MinChunkExtent = 192;

    private static int MaxThreads => Math.Min(KernelSettings.MaxThreads, Environment.ProcessorCount);

    /// <summary>How many threads <paramref name="macs"/> multiply-adds, in at most <paramref name="pieces"/> parts, deserve.</summary>
    public static int ThreadsFor(long macs, long pieces)
    {
        long t = Math.Min(Math.Min(MaxThreads, macs / MinMacsPerThread), pieces);
        return (int)Math.Max(1, t);
    }

    /// <summary>Runs one problem (k &gt; 0, m, n &gt; 0), threaded when it is big enough.</summary>
    public static void Run<T, TK>(in GemmProblem<T> p, bool allowThreads = true)
        where T : unmanaged, INumber<T> where TK : struct, IMicroKernel<T>
    {
        long tilesM = (p.M + TK.MR - 1) / TK.MR, tilesN = (p.N + TK.NR - 1) / TK.NR;
        long macs = (long)p.M * p.N * p.K;
        // Every chunk of columns re-packs all of A, every chunk of rows all of B; gathers (A not transposed, B
        // transposed) cost about twice a straight copy. Split the dimension whose re-packing is cheaper, unless it
        // has too few register tiles to go round.
        long repackN = (long)p.M * (p.TransA ? 1 : 2), repackM = (long)p.N * (p.TransB ? 2 : 1);
        bool splitN = tilesN >= 2L * MaxThreads && (repackN <= repackM || tilesM < 2L * MaxThreads) || tilesN > tilesM && tilesM < 2L * MaxThreads;
        long tiles = splitN ? tilesN : tilesM;
        int threads = allowThreads ? ThreadsFor(macs, tiles) : 1;
        if (threads == 1)
        {
            GemmDriver<T, TK>.Run(p, 0, p.M, 0, p.N);
            return;
        }
        // More chunks than threads, handed out on demand: on a shared machine one core is often slowed by other
        // work, and fixed halves would leave the call waiting on it. But each chunk re-packs the other operand, so a
        // chunk must stay at least MinChunkExtent rows (or columns) wide for that to remain a few percent, and the
        // count stays a multiple of the thread count so an unloaded machine still gets an even split.
        long extent = splitN ? p.N : p.M;
        int perThread = (int)Math.Clamp(extent / ((long)MinChunkExtent * threads), 1, 4);
        int chunks = threads * perThread;
        var job = new SliceJob<T, TK>(p, chunks, splitN);
        KernelPool.Run(threads, threads, job.Run);
    }

    /// <summary>Runs a batch; small matrices are spread over threads whole, big ones are each threaded inside.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void RunBatched<T, TK>(GemmProblem<T> first, int batch, long strideA, long strideB, long strideC)
        where T : unmanaged, INumber<T> where TK : struct, IMicroKernel<T>
    {
        long macs = (long)first.M * first.N * first.K;
        if (batch == 1 || ThreadsFor(macs, long.MaxValue) > 1)
        {
            for (int i = 0; i < batch; i++)
                Run<T, TK>(Shift(first, i, strideA, strideB, strideC));
            return;
        }
        int threads = ThreadsFor(macs * batch, batch);
        if (threads == 1)
        {
            for (int i = 0; i < batch; i++)
                Run<T, TK>(Shift(first, i, strideA, strideB, strideC), allowThreads: false);
            return;
        }
        var job = new BatchJob<T, TK>(first, batch, threads, strideA, strideB, strideC);
        KernelPool.Run(threads, threads, job.Run);
    }

    private static unsafe GemmProblem<T> Shift<T>(in GemmProblem<T> p, int i, long sa, long sb, long sc) where T : unmanaged =>
        new(p.TransA, p.TransB, p.M, p.N, p.K, p.Alpha, p.A + i * sa, p.Lda, p.B + i * sb, p.Ldb, p.Beta, p.C + i * sc, p.Ldc);

    /// <summary>Part <c>part</c> of <paramref name="tiles"/> tiles of <paramref name="unit"/>, clipped to <paramref name="size"/>.</summary>
    private static int Bound(int part, int parts, long tiles, int unit, int size) =>
        (int)Math.Min(size, tiles * part / parts * unit);

    private sealed class SliceJob<T, TK>(GemmProblem<T> p, int chunks, bool splitN)
        where T : unmanaged, INumber<T> where TK : struct, IMicroKernel<T>
    {
        private int next = -1;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int worker)
        {
            int part;
            while ((part = Interlocked.Increment(ref next)) < chunks)
            {
                if (splitN)
                {
                    long tiles = (p.N + TK.NR - 1) / TK.NR;
                    GemmDriver<T, TK>.Run(p, 0, p.M, Bound(part, chunks, tiles, TK.NR, p.N), Bound(part + 1, chunks, tiles, TK.NR, p.N));
                }
                else
                {
                    long tiles = (p.M + TK.MR - 1) / TK.MR;
                    GemmDriver<T, TK>.Run(p, Bound(part, chunks, tiles, TK.MR, p.M), Bound(part + 1, chunks, tiles, TK.MR, p.M), 0, p.N);
                }
            }
        }
    }

    private sealed class BatchJob<T, TK>(GemmProblem<T> first, int batch, int parts, long sa, long sb, long sc)
        where T : unmanaged, INumber<T> where TK : struct, IMicroKernel<T>
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int part)
        {
            int lo = (int)((long)batch * part / parts), hi = (int)((long)batch * (part + 1) / parts);
            for (int i = lo; i < hi; i++)
                GemmDriver<T, TK>.Run(Shift(first, i, sa, sb, sc), 0, first.M, 0, first.N);
        }
    }
}
