using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.CompilerServices;

namespace FunctionalNets.Kernels;

/// <summary>
/// Splits large kernels across up to <see cref="KernelSettings.MaxThreads"/> threads. Results never depend on the
/// thread count: <see cref="For"/> is only for bodies where every unit writes its own outputs (so any split gives the
/// same bits), and sums across units go through <see cref="PartCount"/> and <see cref="ForParts"/>, whose parts are
/// fixed by the shape alone and whose partial results the caller combines in part order.
/// </summary>
internal static class KernelParallel
{
    /// <summary>The most parts a reduction across units is cut into (see <see cref="PartCount"/>).</summary>
    public const int MaxParts = 16;

    /// <summary>
    /// How many parts to cut a reduction of <paramref name="work"/> elements over <paramref name="units"/> units into:
    /// a function of the sizes only (never of the thread count), so partial results combine the same way on any machine.
    /// </summary>
    public static int PartCount(long work, long units)
    {
        if (work < MinParallelWork || units <= 1) return 1;
        long byWork = work / (MinParallelWork / 2);
        return (int)Math.Max(1, Math.Min(Math.Min(byWork, MaxParts), units));
    }

    /// <summary>
    /// Runs body(part) for every part in [0, <paramref name="parts"/>) on up to <see cref="KernelSettings.MaxThreads"/>
    /// threads; parts are handed out on demand, so a part's result must not depend on which thread runs it.
    /// </summary>
    public static void ForParts(int parts, Action<int> body) => KernelPool.Run(parts, KernelSettings.MaxThreads, body);

    /// <summary>Below this many elements threading costs more than it saves.</summary>
    public const long MinParallelWork = 1 << 16;

    /// <summary>How many chunks to split <paramref name="work"/> elements into (1 = stay on the calling thread).</summary>
    public static int ChunkCount(long work)
    {
        int threads = KernelSettings.MaxThreads;
        if (threads <= 1 || work < MinParallelWork) return 1;
        // Keep every chunk at least half the threshold so tiny slivers are not scheduled.
        long byWork = work / (MinParallelWork / 2);
        return (int)Math.Min(threads, Math.Max(1, byWork));
    }

    /// <summary>
    /// Runs body(start, end) over <paramref name="chunks"/> near-equal parts of [0, units). Only for bodies whose units
    /// write disjoint outputs: the split follows the thread count.
    /// </summary>
    public static void For(int chunks, long units, Action<long, long> body)
    {
        if (chunks > units) chunks = (int)Math.Max(1, units);
        if (chunks <= 1) { body(0, units); return; }
        KernelPool.Run(chunks, chunks, i =>
        {
            long start = units * i / chunks, end = units * (i + 1) / chunks;
            body(start, end);
        });
    }
}
