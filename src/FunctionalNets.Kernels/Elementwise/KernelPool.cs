using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace FunctionalNets.Kernels;

/// <summary>
/// The kernels' own worker threads, kept apart from the .NET ThreadPool as OpenMP runtimes keep theirs: a kernel
/// call must get its second core whatever else the process has queued on the pool (a data loader, a host's tasks),
/// and the pool, which starts with one thread per core and grows slowly, gave it none in whole epochs. The caller
/// always works too; helpers join as they wake, claiming items one at a time, so an item's result must never depend
/// on which thread runs it or on how many threads there are.
/// </summary>
internal static class KernelPool
{
    // How long a helper keeps polling for the next job after its last one before it sleeps:
    // KernelSettings.HelperSpinMicroseconds (250 us by default). A training step issues its threaded kernels tens to
    // hundreds of microseconds apart, and a sleeping thread on a busy machine may wait longer than a whole kernel to be
    // scheduled again, so the caller would do all of it alone (measured: epochs whose helpers did no work). OpenMP
    // runtimes spin for a similar while by default.

    private static readonly object Gate = new();
    private static readonly List<Helper> Helpers = [];

    /// <summary>True on helper threads, and on a caller while it runs its share of a job: nested calls run inline.</summary>
    [ThreadStatic] private static bool inside;

    /// <summary>
    /// Runs body(i) once for every i in [0, <paramref name="count"/>) on the caller and up to
    /// <paramref name="threads"/> - 1 helpers, and returns when all have finished. The first exception an item
    /// throws is rethrown on the caller (as itself, not wrapped) after every item has finished.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int count, int threads, Action<int> body)
    {
        threads = Math.Min(threads, count);
        if (threads <= 1 || inside)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        if (!Monitor.TryEnter(Gate))
        {
            // Another thread of the process is running a kernel on the helpers; running this one inline keeps both
            // going without oversubscribing the cores, and the results are the same on any number of threads.
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        try
        {
            var job = new Job(body, count);
            while (Helpers.Count < threads - 1) Helpers.Add(new Helper());
            for (int h = 0; h < threads - 1; h++) Helpers[h].Post(job);
            inside = true;
            try
            {
                job.Work();
            }
            finally
            {
                inside = false;
            }
            job.WaitAll();
            job.Error?.Throw();
        }
        finally
        {
            Monitor.Exit(Gate);
        }
    }

    private sealed class Job(Action<int> body, int count)
    {
        private int next = -1;
        private int finished;
        public ExceptionDispatchInfo? Error;

        /// <summary>Claims and runs items until none are left.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Work()
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                try
                {
                    body(i);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref Error, ExceptionDispatchInfo.Capture(e), null);
                }
                finally
                {
                    Interlocked.Increment(ref finished);
                }
            }
        }

        /// <summary>Waits (spinning, yielding the core when it is contended, never sleeping) for items still in flight.</summary>
        public void WaitAll()
        {
            var spin = new SpinWait();
            while (Volatile.Read(ref finished) < count) spin.SpinOnce(sleep1Threshold: -1);
        }
    }

    /// <summary>One dedicated background thread with a one-job mailbox.</summary>
    private sealed class Helper
    {
        private Job? mailbox;
        private int sleeping;
        private readonly SemaphoreSlim wake = new(0);

        public Helper()
        {
            var thread = new Thread(Loop) { IsBackground = true, Name = "fn-kernel" };
            thread.Start();
        }

        public void Post(Job job)
        {
            Interlocked.Exchange(ref mailbox, job);
            // Release exactly when this call takes the helper from sleeping to awake (see Loop).
            if (Interlocked.CompareExchange(ref sleeping, 0, 1) == 1) wake.Release();
        }

        private void Loop()
        {
            inside = true;
            while (true)
            {
                Job? job = Take();
                if (job is null)
                {
                    Interlocked.Exchange(ref sleeping, 1);
                    job = Interlocked.Exchange(ref mailbox, null);
                    // If Post already cleared the flag it has released (or will release) once: consume that.
                    if (job is null || Interlocked.CompareExchange(ref sleeping, 0, 1) != 1) wake.Wait();
                    if (job is null) continue;
                }
                job.Work();
            }
        }

        /// <summary>The posted job, polled for <see cref="KernelSettings.HelperSpinMicroseconds"/>; null if none came.</summary>
        private Job? Take()
        {
            long until = Stopwatch.GetTimestamp() + KernelSettings.HelperSpinTicks;
            Job? job;
            while ((job = Interlocked.Exchange(ref mailbox, null)) is null && Stopwatch.GetTimestamp() < until)
                Thread.SpinWait(20);
            return job;
        }
    }
}
