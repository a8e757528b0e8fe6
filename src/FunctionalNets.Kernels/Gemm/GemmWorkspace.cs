using System.Runtime.InteropServices;

namespace FunctionalNets.Kernels.GemmImpl;

/// <summary>
/// Per-thread packing memory, kept between calls: a training loop calls GEMM thousands of times on the same shapes,
/// and re-allocating (and re-faulting) megabytes of packing space per call would cost more than small products take.
/// The memory lives as long as its thread (pool threads live for the process), which is the intended reuse.
/// 64-byte alignment keeps every packed panel on cache-line boundaries, so the kernel's vector loads never split lines.
/// </summary>
internal static unsafe class GemmWorkspace
{
    [ThreadStatic] private static byte* buffer;
    [ThreadStatic] private static nuint capacity;

    /// <summary>At least <paramref name="bytes"/> bytes of 64-byte aligned scratch owned by the calling thread.</summary>
    public static byte* Get(nuint bytes)
    {
        if (bytes > capacity)
        {
            // Grow with headroom so a sequence of slightly larger shapes does not reallocate every call.
            nuint size = Math.Max(bytes, capacity * 3 / 2);
            if (buffer != null)
                NativeMemory.AlignedFree(buffer);
            buffer = null;
            capacity = 0;
            buffer = (byte*)NativeMemory.AlignedAlloc(size, 64);
            capacity = size;
        }
        return buffer;
    }
}
