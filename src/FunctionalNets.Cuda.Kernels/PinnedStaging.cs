using ILGPU;
using ILGPU.Runtime;

namespace FunctionalNets.Cuda.Kernels;

/// <summary>
/// Host/device copies through page-locked (pinned) host buffers on one accelerator's stream. An upload copies the
/// array into a pinned slot and enqueues an asynchronous copy, so the host does not wait for the device; a slot is
/// reused only after the copy that last used it has completed (a marker recorded on the stream after it), and a
/// ring of slots keeps that wait rare. A download waits for the stream (the caller asked for the values).
/// Arrays above <see cref="MaxPinnedBytes"/> are copied directly instead of pinning that much host memory.
/// </summary>
public sealed class PinnedStaging : IDisposable
{
    /// <summary>The largest copy staged through a pinned buffer (64 MiB).</summary>
    public const long MaxPinnedBytes = 64L << 20;

    private readonly Accelerator acc;
    private readonly AcceleratorStream stream;
    private readonly PageLockedArray1D<byte>?[] slots;
    private readonly ProfilingMarker?[] marks;
    private PageLockedArray1D<byte>? download;
    private int next;
    private readonly object gate = new();
    private long uploads, downloads, slotWaits, pinnedBytes;

    /// <summary>A staging ring of <paramref name="slotCount"/> pinned buffers on the accelerator's default stream.</summary>
    public PinnedStaging(Accelerator accelerator, int slotCount = 4)
    {
        acc = accelerator;
        stream = accelerator.DefaultStream;
        slots = new PageLockedArray1D<byte>?[slotCount];
        marks = new ProfilingMarker?[slotCount];
    }

    /// <summary>Host-to-device copies made so far.</summary>
    public long Uploads => Interlocked.Read(ref uploads);

    /// <summary>Device-to-host copies made so far (each one waits for the stream).</summary>
    public long Downloads => Interlocked.Read(ref downloads);

    /// <summary>Uploads that had to wait for an earlier copy out of the same pinned slot.</summary>
    public long SlotWaits => Interlocked.Read(ref slotWaits);

    /// <summary>Bytes of page-locked host memory held.</summary>
    public long PinnedBytes => Interlocked.Read(ref pinnedBytes);

    private static long BucketOf(long bytes)
    {
        long b = 4096;
        while (b < bytes) b *= 2;
        return b;
    }

    private PageLockedArray1D<byte> Ensure(ref PageLockedArray1D<byte>? slot, long bytes)
    {
        if (slot is not null && slot.Length >= bytes) return slot;
        if (slot is not null)
        {
            Interlocked.Add(ref pinnedBytes, -slot.Length);
            slot.Dispose();
        }
        slot = acc.AllocatePageLocked1D<byte>(BucketOf(bytes));
        Interlocked.Add(ref pinnedBytes, slot.Length);
        return slot;
    }

    /// <summary>Copies the array's bytes to the start of dst without waiting for the device.</summary>
    public void ToDevice(Array src, ArrayView<byte> dst)
    {
        var s = Transfer.Bytes(src);
        if (s.Length == 0) return;
        Interlocked.Increment(ref uploads);
        if (s.Length > MaxPinnedBytes)
        {
            Transfer.ToDevice(src, dst);
            return;
        }
        lock (gate)
        {
            int i = next;
            next = (next + 1) % slots.Length;
            if (marks[i] is { } m)
            {
                // The copy that last read this slot may still be queued behind kernels.
                Interlocked.Increment(ref slotWaits);
                m.Synchronize();
                m.Dispose();
                marks[i] = null;
            }
            var slot = Ensure(ref slots[i], s.Length);
            s.CopyTo(slot.Span);
            dst.SubView(0, s.Length).CopyFrom(stream, slot.ArrayView.SubView(0, s.Length));
            marks[i] = stream.AddProfilingMarker();
        }
    }

    /// <summary>Copies the start of src into the array's bytes (waits for the stream).</summary>
    public void ToHost(ArrayView<byte> src, Array dst)
    {
        var s = Transfer.Bytes(dst);
        if (s.Length == 0) return;
        Interlocked.Increment(ref downloads);
        if (s.Length > MaxPinnedBytes)
        {
            Transfer.ToHost(src, dst);
            return;
        }
        lock (gate)
        {
            var d = Ensure(ref download, s.Length);
            src.SubView(0, s.Length).CopyTo(stream, d.ArrayView.SubView(0, s.Length));
            stream.Synchronize();
            d.Span[..s.Length].CopyTo(s);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (gate)
        {
            stream.Synchronize();
            for (int i = 0; i < slots.Length; i++)
            {
                marks[i]?.Dispose();
                slots[i]?.Dispose();
                marks[i] = null;
                slots[i] = null;
            }
            download?.Dispose();
            download = null;
            Interlocked.Exchange(ref pinnedBytes, 0);
        }
    }
}
