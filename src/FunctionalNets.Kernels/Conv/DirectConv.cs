using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FunctionalNets.Kernels;

/// <summary>
/// Direct float32 3x3 stride-1 convolution for inputs with few channels (a network's first layer: MNIST's one,
/// CIFAR's three), forward and weight gradient, on Vector512. With C * 9 = 9 or 27 rows the im2col matrix is as large
/// as the product that reads it, and the GEMM's packing of a 27-deep operand costs about what its arithmetic does; here
/// each image is copied once into a zero-padded plane and every output row is a sum of 9 C shifted rows.
/// <para>
/// Forward: four output channels by one vector of 16 output columns in registers, one load of a shifted input row and
/// four broadcast weights per tap. Weight gradient: four output channels by the three taps of one kernel row (12
/// accumulators) over every row of an image, so each of the 7 loads feeds 12 FMAs. Images are split into runs fixed
/// by the batch size (the weight gradient sums each run in image order and the runs in run order), so results are
/// bit-identical for any thread count.
/// </para>
/// </summary>
internal static unsafe class DirectConv
{
    private const int Lanes = 16;

    /// <summary>Output channels computed together (accumulators per input tap).</summary>
    private const int Block = 4;

    /// <summary>Whether this kernel can compute the pass: float32 3x3, stride 1, dilation 1, one group, Vector512.</summary>
    public static bool Applies(in ConvGeometry g, ConvPass pass) =>
        pass != ConvPass.InputGrad && Vector512.IsHardwareAccelerated
        && g.KH == 3 && g.KW == 3 && g.SH == 1 && g.SW == 1 && g.DH == 1 && g.DW == 1 && g.Groups == 1;

    /// <summary>The padded layout of one image: C planes of (H + 2 PH) rows by a row stride that holds
    /// OWv + 2 columns, OWv = OW rounded up to whole vectors.</summary>
    private readonly struct Layout
    {
        public readonly int Rows, Stride, Vectors, Plane;

        public Layout(in ConvGeometry g)
        {
            Vectors = (g.OW + Lanes - 1) / Lanes;
            Rows = g.H + 2 * g.PH;
            Stride = Vectors * Lanes + 2;
            Plane = Rows * Stride;
        }
    }

    /// <summary>Image n of x into <paramref name="dst"/> with PH zero rows above and below, PW zero columns left and
    /// zeros to the end of every row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PadImage(in ConvGeometry g, in Layout p, float* x, int n, float* dst)
    {
        new Span<float>(dst, g.C * p.Plane).Clear();
        for (int c = 0; c < g.C; c++)
        {
            float* src = x + ((long)n * g.C + c) * g.H * g.W;
            float* plane = dst + (long)c * p.Plane;
            for (int i = 0; i < g.H; i++)
                new ReadOnlySpan<float>(src + (long)i * g.W, g.W).CopyTo(new Span<float>(plane + (long)(i + g.PH) * p.Stride + g.PW, g.W));
        }
    }

    private static int Workers(int units) =>
        Math.Max(1, Math.Min(Math.Min(KernelSettings.MaxThreads, Environment.ProcessorCount), units));

    /// <summary>y = conv(x, w) for a geometry <see cref="Applies"/> accepts; y is fully overwritten.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(in ConvGeometry g, float* x, float* w, float* y)
    {
        var p = new Layout(g);
        var geo = g;
        int blocks = (g.O + Block - 1) / Block;
        // The weights regrouped per block of output channels and tap ([block][c][tap][Block]), zeros past O, so the
        // inner loop reads four consecutive floats per tap.
        float[] wb = new float[blocks * g.C * 9 * Block];
        for (int o = 0; o < g.O; o++)
        for (int c = 0; c < g.C; c++)
        for (int t = 0; t < 9; t++)
            wb[((o / Block * g.C + c) * 9 + t) * Block + o % Block] = w[((long)o * g.C + c) * 9 + t];
        nint ax = (nint)x, ay = (nint)y;
        fixed (float* pwb = wb)
        {
            nint aw = (nint)pwb;
            int next = -1;
            KernelPool.Run(Workers(g.N), Workers(g.N), _ =>
            {
                float[] buffer = ArrayPool<float>.Shared.Rent(geo.C * p.Plane + Lanes);
                try
                {
                    fixed (float* pad = buffer)
                    {
                        int n;
                        while ((n = Interlocked.Increment(ref next)) < geo.N)
                        {
                            PadImage(geo, p, (float*)ax, n, pad);
                            for (int b = 0; b < blocks; b++)
                                ForwardBlock(geo, p, pad, (float*)aw + (long)b * geo.C * 9 * Block, b * Block,
                                    (float*)ay + (long)n * geo.O * geo.L);
                        }
                    }
                }
                finally
                {
                    ArrayPool<float>.Shared.Return(buffer);
                }
            });
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardBlock(in ConvGeometry g, in Layout p, float* pad, float* wb, int o0, float* y)
    {
        int count = Math.Min(Block, g.O - o0);
        float* tail = stackalloc float[Block * Lanes];
        for (int i = 0; i < g.OH; i++)
        for (int v = 0; v < p.Vectors; v++)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            float* wt = wb;
            for (int c = 0; c < g.C; c++)
            {
                float* row = pad + (long)c * p.Plane + (long)i * p.Stride + v * Lanes;
                for (int ki = 0; ki < 3; ki++, row += p.Stride)
                for (int kj = 0; kj < 3; kj++, wt += Block)
                {
                    var xv = Vector512.Load(row + kj);
                    a0 = Vector512.FusedMultiplyAdd(xv, Vector512.Create(wt[0]), a0);
                    a1 = Vector512.FusedMultiplyAdd(xv, Vector512.Create(wt[1]), a1);
                    a2 = Vector512.FusedMultiplyAdd(xv, Vector512.Create(wt[2]), a2);
                    a3 = Vector512.FusedMultiplyAdd(xv, Vector512.Create(wt[3]), a3);
                }
            }
            int j0 = v * Lanes, width = Math.Min(Lanes, g.OW - j0);
            float* dst = y + (long)o0 * g.L + (long)i * g.OW + j0;
            if (width == Lanes && count == Block)
            {
                a0.Store(dst);
                a1.Store(dst + g.L);
                a2.Store(dst + 2L * g.L);
                a3.Store(dst + 3L * g.L);
                continue;
            }
            a0.Store(tail);
            a1.Store(tail + Lanes);
            a2.Store(tail + 2 * Lanes);
            a3.Store(tail + 3 * Lanes);
            for (int b = 0; b < count; b++)
                new ReadOnlySpan<float>(tail + b * Lanes, width).CopyTo(new Span<float>(dst + (long)b * g.L, width));
        }
    }

    /// <summary>Most runs of images the weight gradient sums separately (a function of the batch size only).</summary>
    private const int MaxSlots = 16;

    /// <summary>dw = the gradient of sum(conv(x, w) * dy) with respect to w, summed over the batch; fully overwritten.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WeightGrad(in ConvGeometry g, float* dy, float* x, float* dw)
    {
        var p = new Layout(g);
        var geo = g;
        int blocks = (g.O + Block - 1) / Block;
        int slots = Math.Max(1, Math.Min(MaxSlots, g.N));
        // A slot's partial: [block][c][ki][kj][Block], the layout the accumulators leave.
        int size = blocks * g.C * 9 * Block;
        float[] parts = new float[slots * size];
        // An image's output gradient with every row padded to whole vectors (zeros past OW, and past O up to a block).
        int dyRow = p.Vectors * Lanes, dyPlane = g.OH * dyRow;
        nint ax = (nint)x, ady = (nint)dy;
        fixed (float* pp = parts)
        {
            nint ap = (nint)pp;
            int next = -1;
            KernelPool.Run(slots, Workers(slots), _ =>
            {
                float[] buffer = ArrayPool<float>.Shared.Rent(geo.C * p.Plane + blocks * Block * dyPlane + Lanes);
                try
                {
                    fixed (float* pad = buffer)
                    {
                        float* dyp = pad + geo.C * p.Plane;
                        new Span<float>(dyp, blocks * Block * dyPlane).Clear();
                        int slot;
                        while ((slot = Interlocked.Increment(ref next)) < slots)
                        {
                            int n0 = (int)((long)geo.N * slot / slots), n1 = (int)((long)geo.N * (slot + 1) / slots);
                            float* part = (float*)ap + (long)slot * size;
                            for (int n = n0; n < n1; n++)
                            {
                                PadImage(geo, p, (float*)ax, n, pad);
                                for (int o = 0; o < geo.O; o++)
                                {
                                    float* src = (float*)ady + ((long)n * geo.O + o) * geo.L;
                                    for (int i = 0; i < geo.OH; i++)
                                        new ReadOnlySpan<float>(src + (long)i * geo.OW, geo.OW)
                                            .CopyTo(new Span<float>(dyp + (long)o * dyPlane + (long)i * dyRow, geo.OW));
                                }
                                for (int b = 0; b < blocks; b++)
                                for (int c = 0; c < geo.C; c++)
                                for (int ki = 0; ki < 3; ki++)
                                    WeightGradRow(geo, p, pad + (long)c * p.Plane + (long)ki * p.Stride,
                                        dyp + (long)b * Block * dyPlane, dyRow, dyPlane,
                                        part + ((b * geo.C + c) * 9 + ki * 3) * Block);
                            }
                        }
                    }
                }
                finally
                {
                    ArrayPool<float>.Shared.Return(buffer);
                }
            });
            for (int s = 1; s < slots; s++)
                System.Numerics.Tensors.TensorPrimitives.Add(new ReadOnlySpan<float>(pp, size),
                    new ReadOnlySpan<float>(pp + (long)s * size, size), new Span<float>(pp, size));
            for (int o = 0; o < g.O; o++)
            for (int c = 0; c < g.C; c++)
            for (int t = 0; t < 9; t++)
                dw[((long)o * g.C + c) * 9 + t] = pp[((o / Block * g.C + c) * 9 + t) * Block + o % Block];
        }
    }

    /// <summary>
    /// For one input channel and kernel row ki: part[kj * Block + b] += sum over the image's output pixels of
    /// dy[o0 + b] times the input shifted by (ki, kj), for kj = 0..2 and the block's four output channels.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WeightGradRow(in ConvGeometry g, in Layout p, float* xrow, float* dyp, int dyRow, int dyPlane, float* part)
    {
        Vector512<float> s00 = default, s01 = default, s02 = default, s10 = default, s11 = default, s12 = default;
        Vector512<float> s20 = default, s21 = default, s22 = default, s30 = default, s31 = default, s32 = default;
        for (int i = 0; i < g.OH; i++)
        {
            float* xr = xrow + (long)i * p.Stride;
            float* d = dyp + (long)i * dyRow;
            for (int v = 0; v < p.Vectors; v++, xr += Lanes, d += Lanes)
            {
                var x0 = Vector512.Load(xr);
                var x1 = Vector512.Load(xr + 1);
                var x2 = Vector512.Load(xr + 2);
                var d0 = Vector512.Load(d);
                s00 = Vector512.FusedMultiplyAdd(d0, x0, s00);
                s01 = Vector512.FusedMultiplyAdd(d0, x1, s01);
                s02 = Vector512.FusedMultiplyAdd(d0, x2, s02);
                var d1 = Vector512.Load(d + dyPlane);
                s10 = Vector512.FusedMultiplyAdd(d1, x0, s10);
                s11 = Vector512.FusedMultiplyAdd(d1, x1, s11);
                s12 = Vector512.FusedMultiplyAdd(d1, x2, s12);
                var d2 = Vector512.Load(d + 2L * dyPlane);
                s20 = Vector512.FusedMultiplyAdd(d2, x0, s20);
                s21 = Vector512.FusedMultiplyAdd(d2, x1, s21);
                s22 = Vector512.FusedMultiplyAdd(d2, x2, s22);
                var d3 = Vector512.Load(d + 3L * dyPlane);
                s30 = Vector512.FusedMultiplyAdd(d3, x0, s30);
                s31 = Vector512.FusedMultiplyAdd(d3, x1, s31);
                s32 = Vector512.FusedMultiplyAdd(d3, x2, s32);
            }
        }
        part[0] += Vector512.Sum(s00); part[1] += Vector512.Sum(s10); part[2] += Vector512.Sum(s20); part[3] += Vector512.Sum(s30);
        part[4] += Vector512.Sum(s01); part[5] += Vector512.Sum(s11); part[6] += Vector512.Sum(s21); part[7] += Vector512.Sum(s31);
        part[8] += Vector512.Sum(s02); part[9] += Vector512.Sum(s12); part[10] += Vector512.Sum(s22); part[11] += Vector512.Sum(s32);
    }
}
