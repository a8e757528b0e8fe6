namespace FunctionalNets.Kernels;

/// <summary>
/// The geometry of a 2-D pooling window sliding over planes of <c>H x W</c> elements (the last two dims of an
/// NCHW or CHW tensor; every leading dim is folded into <see cref="Planes"/>).
/// </summary>
public readonly record struct PoolWindow(
    int Planes, int H, int W, int OutH, int OutW,
    int KernelH, int KernelW, int StrideH, int StrideW, int PadH, int PadW, int DilationH, int DilationW)
{
    /// <summary>
    /// PyTorch's pooling output length along one dim. Ceil mode lets the last window hang over the end, but
    /// never start inside the right padding only (so every window sees at least one real element).
    /// </summary>
    public static int OutputLength(int size, int kernel, int stride, int pad, int dilation, bool ceilMode)
    {
        long span = (long)size + 2L * pad - (long)dilation * (kernel - 1) - 1;
        if (span < 0) return 0;
        long outLen = (ceilMode ? span + stride - 1 : span) / stride + 1;
        if (ceilMode && (outLen - 1) * stride >= size + pad) outLen--;
        return (int)outLen;
    }

    internal long InPlane => (long)H * W;
    internal long OutPlane => (long)OutH * OutW;

    /// <summary>Throws unless the buffers hold at least the elements the geometry names.</summary>
    internal void CheckLengths(string op, long inLength, long outLength)
    {
        if (Planes < 0 || H < 0 || W < 0 || OutH < 0 || OutW < 0)
            throw new ArgumentException($"{op}: negative size in {this}.");
        if (inLength < Planes * InPlane)
            throw new ArgumentException($"{op}: the input buffer holds {inLength} elements, {Planes} planes of {H}x{W} need {Planes * InPlane}.");
        if (outLength < Planes * OutPlane)
            throw new ArgumentException($"{op}: the output buffer holds {outLength} elements, {Planes} planes of {OutH}x{OutW} need {Planes * OutPlane}.");
    }

    /// <summary>Splits the planes over the kernel threads; plane-local work never races.</summary>
    internal void ForPlanes(long workPerPlane, Action<long, long> body) =>
        KernelParallel.For(KernelParallel.ChunkCount(Planes * workPerPlane), Planes, body);
}
