using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.ExceptionServices;

namespace FunctionalNets.Kernels;

/// <summary>Splits large kernels across up to <see cref="KernelSettings.MaxThreads"/> threads.</summary>
internal static class KernelParallel
{
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

    /// <summary>Runs body(start, end) over <paramref name="chunks"/> near-equal parts of [0, units).</summary>
    public static void For(int chunks, long units, Action<long, long> body)
    {
        if (chunks > units) chunks = (int)Math.Max(1, units);
        if (chunks <= 1) { body(0, units); return; }
        try
        {
            Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = chunks }, i =>
            {
                long start = units * i / chunks, end = units * (i + 1) / chunks;
                body(start, end);
            });
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            // Callers expect the kernel's own exception type (e.g. DivideByZeroException), not a wrapper.
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
            throw;
        }
    }
}
