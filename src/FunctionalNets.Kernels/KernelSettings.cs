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
}
