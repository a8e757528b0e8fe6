namespace FunctionalNets.Kernels;

/// <summary>Process-wide settings shared by every CPU kernel.</summary>
public static class KernelSettings
{
    private static int maxThreads = Environment.ProcessorCount;

    /// <summary>
    /// The most threads one kernel call may use. Defaults to the number of logical processors;
    /// set it to 1 to make every kernel run on the calling thread.
    /// </summary>
    public static int MaxThreads
    {
        get => Volatile.Read(ref maxThreads);
        set
        {
            if (value < 1)
                throw new ArgumentOutOfRangeException(nameof(value), value, "KernelSettings.MaxThreads must be at least 1.");
            Volatile.Write(ref maxThreads, value);
        }
    }

    private static long helperSpinTicks = System.Diagnostics.Stopwatch.Frequency / 4_000;

    /// <summary>
    /// How long, in microseconds, a kernel helper thread keeps polling for the next job after its last one before it
    /// sleeps (default 250). Polling lets a helper join a kernel issued microseconds later instead of waiting to be
    /// scheduled again; it burns CPU time that other processes on a busy machine could use. 0 sleeps at once.
    /// </summary>
    public static int HelperSpinMicroseconds
    {
        get => (int)(Volatile.Read(ref helperSpinTicks) * 1_000_000 / System.Diagnostics.Stopwatch.Frequency);
        set
        {
            if (value < 0 || value > 1_000_000)
                throw new ArgumentOutOfRangeException(nameof(value), value, "KernelSettings.HelperSpinMicroseconds must be in [0, 1000000].");
            Volatile.Write(ref helperSpinTicks, value * System.Diagnostics.Stopwatch.Frequency / 1_000_000);
        }
    }

    /// <summary><see cref="HelperSpinMicroseconds"/> in Stopwatch ticks, for the pool's hot loop.</summary>
    internal static long HelperSpinTicks => Volatile.Read(ref helperSpinTicks);
}
