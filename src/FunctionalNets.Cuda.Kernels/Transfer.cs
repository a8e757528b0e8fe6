using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;

namespace FunctionalNets.Cuda.Kernels;

/// <summary>Host/device copies of typed arrays (float32[], float[], int[], long[], bool[]) through byte views.</summary>
public static class Transfer
{
    internal static Span<byte> Bytes(Array a) => a switch
    {
        float[] f => MemoryMarshal.AsBytes(f.AsSpan()),
        double[] d => MemoryMarshal.AsBytes(d.AsSpan()),
        int[] i => MemoryMarshal.AsBytes(i.AsSpan()),
        long[] l => MemoryMarshal.AsBytes(l.AsSpan()),
        bool[] b => MemoryMarshal.AsBytes(b.AsSpan()),
        byte[] b => b.AsSpan(),
        _ => throw new ArgumentException($"Tensor data must be float32[], float[], int[], int64[] or bool[], got {a.GetType().Name}."),
    };

    /// <summary>Copies the array's bytes to the start of dst (synchronous).</summary>
    public static void ToDevice(Array src, ArrayView<byte> dst)
    {
        var s = Bytes(src);
        if (s.Length == 0) return;
        ReadOnlySpan<byte> r = s;
        dst.SubView(0, s.Length).CopyFromCPU(r);
    }

    /// <summary>Copies the start of src into the array's bytes (waits for pending kernels).</summary>
    public static void ToHost(ArrayView<byte> src, Array dst)
    {
        var s = Bytes(dst);
        if (s.Length == 0) return;
        src.SubView(0, s.Length).CopyToCPU(s);
    }

    /// <summary>Device-to-device copy of n bytes.</summary>
    public static void DeviceCopy(ArrayView<byte> src, ArrayView<byte> dst, long n)
    {
        if (n > 0) src.SubView(0, n).CopyTo(dst.SubView(0, n));
    }

    /// <summary>The raw device address of a view (for cuBLAS/cuDNN calls).</summary>
    public static IntPtr Address(ArrayView<byte> v) => v.LoadEffectiveAddressAsPtr();
}
