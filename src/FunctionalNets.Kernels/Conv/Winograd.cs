using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using FunctionalNets.Kernels.GemmImpl;

namespace FunctionalNets.Kernels;

/// <summary>
/// Winograd F(2x2, 3x3) for float32 3x3 stride-1 convolutions (Lavin and Gray, 2015): every 2x2 block of outputs is
/// A^T [(G g G^T) .* (B^T d B)] A for the 4x4 input patch d, so the 36 multiplications of a direct 2x2 block become
/// 16, and the channel sums become 16 independent GEMMs [Cout, Cin] x [Cin, tiles], one per transformed position.
/// The transforms only add and halve, so results stay within a few float32 ulps of the direct sum (the tests bound it).
/// <para>
/// Work is cut into chunks of whole tile rows (a function of the shape alone): a worker transforms a chunk's input,
/// runs the 16 products single-threaded and transforms the result back into the output, so every output element is
/// computed by the same instructions whatever the thread count, and a chunk's buffers stay in the core's L2.
/// </para>
/// The input gradient of a stride-1 convolution is itself one: the output gradient convolved with the kernel rotated
/// by 180 degrees and its channel axes swapped, with padding 2 - P (see <see cref="InputGrad"/>).
/// </summary>
internal static unsafe class Winograd
{
    /// <summary>Tiles transformed together: the lanes of one Vector256, consecutive tiles along a tile row.</summary>
    private const int Lanes = 8;

    /// <summary>Floats of slack after every plane of the chunk buffers, so a partial group of lanes can be stored
    /// and loaded whole (the extra lanes land in values written later or never read).</summary>
    private const int Slack = Lanes;

    /// <summary>y = conv(x, w) for a geometry <see cref="ConvAlgorithms"/> accepted (3x3, stride 1, dilation 1, one group).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(in ConvGeometry g, float* x, float* w, float* y)
    {
        float[] u = ArrayPool<float>.Shared.Rent(16 * g.O * g.C);
        try
        {
            fixed (float* pu = u)
            {
                TransformWeights(w, g.O, g.C, flip: false, pu);
                var plan = new Plan(g.N, g.C, g.H, g.W, g.O, g.OH, g.OW, g.PH, g.PW);
                Run(plan, x, pu, transU: false, y);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(u);
        }
    }

    /// <summary>
    /// dx = the transposed convolution of dy: for stride 1, dx[c] = sum over o of conv(dy[o], rot180(w[o, c])) with
    /// padding 2 - P, which is a forward pass with O input channels and C output channels. Needs P &lt;= 2.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void InputGrad(in ConvGeometry g, float* dy, float* w, float* dx)
    {
        float[] u = ArrayPool<float>.Shared.Rent(16 * g.O * g.C);
        try
        {
            fixed (float* pu = u)
            {
                TransformWeights(w, g.O, g.C, flip: true, pu);
                var plan = new Plan(g.N, g.O, g.OH, g.OW, g.C, g.H, g.W, 2 - g.PH, 2 - g.PW);
                // The transformed kernel is stored [O, C] per position; here O is the product's k, so it is read transposed.
                Run(plan, dy, pu, transU: true, dx);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(u);
        }
    }

    /// <summary>Most runs of chunks the weight gradient sums separately (each into its own partial).</summary>
    private const int MaxWeightGradSlots = 16;

    /// <summary>Most floats all the weight gradient's partials may hold together (8 Mi: 32 MiB).</summary>
    private const long MaxWeightGradPartials = 1L << 23;

    /// <summary>
    /// dw = the gradient of sum(conv(x, w) * dy) with respect to w. With dM = A dY A^T the transformed output gradient
    /// of a tile (A = [[1, 0], [1, 1], [1, -1], [0, -1]], zero where a tile overhangs the output) and V = B^T d B the
    /// transformed input, the gradient of the transformed kernel is dU[xi] = sum over tiles of dM[xi] V[xi]^T, 16
    /// products whose k is the number of tiles, and dw = G^T dU G. The chunks are cut into a fixed number of runs
    /// (a function of the shape only), each summed in chunk order into its own partial; the partials are added in run
    /// order, so the result is bit-identical for any thread count.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WeightGrad(in ConvGeometry g, float* dy, float* x, float* dw)
    {
        var p = new Plan(g.N, g.C, g.H, g.W, g.O, g.OH, g.OW, g.PH, g.PW);
        long size = 16L * g.O * g.C;
        int slots = (int)Math.Max(1, Math.Min(Math.Min(MaxWeightGradSlots, p.Chunks), MaxWeightGradPartials / size));
        float[] parts = ArrayPool<float>.Shared.Rent(checked((int)(slots * size)));
        try
        {
            fixed (float* pp = parts)
            {
                var isa = GemmIsaSelector.Current;
                nint ady = (nint)dy, ax = (nint)x, ap = (nint)pp;
                ForUnits(p, slots, (slot, v, m, scratch) =>
                {
                    int c0 = (int)((long)p.Chunks * slot / slots), c1 = (int)((long)p.Chunks * (slot + 1) / slots);
                    float* part = (float*)ap + slot * size;
                    for (int chunk = c0; chunk < c1; chunk++)
                    {
                        var (row0, rows) = ChunkRows(p, chunk);
                        int tiles = rows * p.TilesW;
                        TransformInputChunk(p, row0, rows, (float*)ax, v, scratch);
                        TransformOutputGradChunk(p, row0, rows, (float*)ady, m, scratch);
                        for (int xi = 0; xi < 16; xi++)
                            GemmLocal.Run(isa, false, false, true, p.Cout, p.Cin, tiles, m + xi * p.MPlane, tiles,
                                v + xi * p.VPlane, tiles, chunk == c0 ? 0f : 1f, part + xi * p.Cout * p.Cin, p.Cin);
                    }
                });
                var total = new Span<float>(pp, (int)size);
                for (int sl = 1; sl < slots; sl++)
                    System.Numerics.Tensors.TensorPrimitives.Add(total, new ReadOnlySpan<float>(pp + sl * size, (int)size), total);
                TransformWeightGrad(pp, g.O * g.C, dw);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(parts);
        }
    }

    /// <summary>
    /// dM = A dY A^T for every tile of the chunk's tile rows and every output channel, into m[xi * MPlane + o * tiles + t]:
    /// the transpose of the output transform, with the output rows and columns past the edge read as zeros.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransformOutputGradChunk(in Plan p, long row0, int rows, float* dy, float* m, float* scratch)
    {
        int tiles = rows * p.TilesW, stripe = p.Stripe;
        float* padded = scratch + 8L * stripe, top = scratch, bottom = scratch + 2L * stripe;
        for (int o = 0; o < p.Cout; o++)
        for (int r = 0; r < rows; r++)
        {
            long row = row0 + r;
            int n = (int)(row / p.TilesH), th = (int)(row % p.TilesH);
            float* plane = dy + ((long)n * p.Cout + o) * p.OH * p.OW;
            Deinterleave(plane + 2L * th * p.OW, p.OW, 0, padded, top, stripe);
            if (2 * th + 1 < p.OH)
                Deinterleave(plane + (2L * th + 1) * p.OW, p.OW, 0, padded, bottom, stripe);
            else
                new Span<float>(bottom, 2 * stripe).Clear();
            float* dst = m + (long)o * tiles + (long)r * p.TilesW;
            for (int gi = 0; gi < p.Groups; gi++)
            {
                int j = gi * Lanes;
                // Each dy row [y0, y1] times A^T is [y0, y0 + y1, y0 - y1, -y1]; then the same down each column.
                var a0 = Vector256.Load(top + j);
                var a1 = Vector256.Load(top + stripe + j);
                var b0 = Vector256.Load(bottom + j);
                var b1 = Vector256.Load(bottom + stripe + j);
                float* at = dst + j;
                Expand(a0, b0, at, p.MPlane);
                Expand(a0 + a1, b0 + b1, at + p.MPlane, p.MPlane);
                Expand(a0 - a1, b0 - b1, at + 2 * p.MPlane, p.MPlane);
                Expand(-a1, -b1, at + 3 * p.MPlane, p.MPlane);
            }
        }
    }

    /// <summary>A times one column [r0, r1]: [r0, r0 + r1, r0 - r1, -r1] at positions col, 4 + col, 8 + col, 12 + col.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Expand(Vector256<float> r0, Vector256<float> r1, float* dst, long planeStride)
    {
        Vector256.Store(r0, dst);
        Vector256.Store(r0 + r1, dst + 4 * planeStride);
        Vector256.Store(r0 - r1, dst + 8 * planeStride);
        Vector256.Store(-r1, dst + 12 * planeStride);
    }

    /// <summary>
    /// dw[oc] = G^T dU[., oc] G for the 16 planes of dU (plane apart), G^T = [[1, 1/2, 1/2, 0], [0, 1/2, -1/2, 0],
    /// [0, 1/2, 1/2, 1]]: the transpose of the kernel transform.
    /// </summary>
    private static void TransformWeightGrad(float* du, int plane, float* dw)
    {
        Span<float> t = stackalloc float[12];
        for (int oc = 0; oc < plane; oc++)
        {
            float* d = du + oc;
            // G^T D: three rows of four.
            for (int j = 0; j < 4; j++)
            {
                float d0 = d[j * plane], d1 = d[(4 + j) * plane], d2 = d[(8 + j) * plane], d3 = d[(12 + j) * plane];
                t[j] = d0 + 0.5f * (d1 + d2);
                t[4 + j] = 0.5f * (d1 - d2);
                t[8 + j] = 0.5f * (d1 + d2) + d3;
            }
            // (G^T D) G: each row of four becomes three taps.
            float* k = dw + (long)oc * 9;
            for (int i = 0; i < 3; i++)
            {
                float t0 = t[4 * i], t1 = t[4 * i + 1], t2 = t[4 * i + 2], t3 = t[4 * i + 3];
                k[3 * i] = t0 + 0.5f * (t1 + t2);
                k[3 * i + 1] = 0.5f * (t1 - t2);
                k[3 * i + 2] = 0.5f * (t1 + t2) + t3;
            }
        }
    }

    /// <summary>
    /// u[xi, o, c] = (G k G^T)[xi] for k = w[o, c] (rotated by 180 degrees when <paramref name="flip"/>), with
    /// G = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransformWeights(float* w, int o, int c, bool flip, float* u)
    {
        long plane = (long)o * c;
        for (long oc = 0; oc < plane; oc++)
        {
            float* k = w + oc * 9;
            // Rotating by 180 degrees reverses the nine taps.
            float k0 = k[0], k1 = k[1], k2 = k[2], k3 = k[3], k4 = k[4], k5 = k[5], k6 = k[6], k7 = k[7], k8 = k[8];
            if (flip)
            {
                (k0, k8) = (k8, k0);
                (k1, k7) = (k7, k1);
                (k2, k6) = (k6, k2);
                (k3, k5) = (k5, k3);
            }
            float* at = u + oc;
            // Rows of G k, each then multiplied by G^T into four positions.
            RowTimesGt(k0, k1, k2, at, plane);
            RowTimesGt(0.5f * (k0 + k3 + k6), 0.5f * (k1 + k4 + k7), 0.5f * (k2 + k5 + k8), at + 4 * plane, plane);
            RowTimesGt(0.5f * (k0 - k3 + k6), 0.5f * (k1 - k4 + k7), 0.5f * (k2 - k5 + k8), at + 8 * plane, plane);
            RowTimesGt(k6, k7, k8, at + 12 * plane, plane);
        }
    }

    /// <summary>[a, b, d] G^T = [a, (a + b + d) / 2, (a - b + d) / 2, d], stored plane apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RowTimesGt(float a, float b, float d, float* dst, long plane)
    {
        dst[0] = a;
        dst[plane] = 0.5f * (a + b + d);
        dst[2 * plane] = 0.5f * (a - b + d);
        dst[3 * plane] = d;
    }

    /// <summary>A stride-1 3x3 convolution as the transforms see it: input [N, Cin, H, W] padded by (PH, PW) into
    /// output [N, Cout, OH, OW] = [N, Cout, H + 2 PH - 2, W + 2 PW - 2].</summary>
    private readonly struct Plan
    {
        public readonly int N, Cin, H, W, Cout, OH, OW, PH, PW;
        public readonly int TilesH, TilesW, Groups, RowsPerChunk, Chunks, ChunkTiles;

        public Plan(int n, int cin, int h, int w, int cout, int oh, int ow, int ph, int pw)
        {
            N = n; Cin = cin; H = h; W = w; Cout = cout; OH = oh; OW = ow; PH = ph; PW = pw;
            TilesH = (oh + 1) / 2;
            TilesW = (ow + 1) / 2;
            Groups = (TilesW + Lanes - 1) / Lanes;
            // About 160 tiles per chunk: the 16 products are then wide enough to run near the GEMM's peak, while the
            // chunk's transformed input and product (16 (Cin + Cout) floats a tile) mostly stay in a 1 MiB L2.
            int target = (int)Math.Clamp(196_608L / Math.Max(1, cin + cout), 48, 160);
            long rows = (long)n * TilesH;
            // At least four chunks where the batch allows, so that both cores get work on small planes.
            RowsPerChunk = (int)Math.Max(1, Math.Min(target / TilesW, (rows + 3) / 4));
            Chunks = (int)((rows + RowsPerChunk - 1) / RowsPerChunk);
            ChunkTiles = RowsPerChunk * TilesW;
        }

        /// <summary>Columns of one deinterleaved input row: a whole number of lane groups covering Groups * Lanes + 1.</summary>
        public int Stripe => (Groups + 1) * Lanes;

        public long VPlane => (long)Cin * ChunkTiles + Slack;
        public long MPlane => (long)Cout * ChunkTiles + Slack;
    }

    /// <summary>
    /// A worker's scratch: four input rows split into even and odd columns (slots rotated as tile rows advance), one
    /// zero-padded input row, and the two output rows of a tile row.
    /// </summary>
    private static long ScratchLength(in Plan p) => 8L * p.Stripe + 2L * p.Stripe + Lanes + 4L * Lanes;

    /// <summary>One unit of work with the worker's chunk buffers: transformed input, product and scratch.</summary>
    private delegate void ChunkBody(int unit, float* v, float* m, float* scratch);

    /// <summary>
    /// Runs body once per unit in [0, units) on up to MaxThreads workers, each with its own chunk buffers; units are
    /// claimed one at a time, so a unit's result must not depend on which worker runs it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForUnits(Plan p, int units, ChunkBody body)
    {
        int workers = Math.Max(1, Math.Min(Math.Min(KernelSettings.MaxThreads, Environment.ProcessorCount), units));
        long vLength = 16 * p.VPlane, mLength = 16 * p.MPlane;
        long scratch = ScratchLength(p);
        int next = -1;
        KernelPool.Run(workers, workers, _ =>
        {
            float[] buffer = ArrayPool<float>.Shared.Rent(checked((int)(vLength + mLength + scratch)));
            try
            {
                fixed (float* pb = buffer)
                {
                    int unit;
                    while ((unit = Interlocked.Increment(ref next)) < units)
                        body(unit, pb, pb + vLength, pb + vLength + mLength);
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(buffer);
            }
        });
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run(Plan p, float* x, float* u, bool transU, float* y)
    {
        var isa = GemmIsaSelector.Current;
        nint ax = (nint)x, au = (nint)u, ay = (nint)y;
        ForUnits(p, p.Chunks, (chunk, v, m, s) => RunChunk(p, chunk, isa, (float*)ax, (float*)au, transU, (float*)ay, v, m, s));
    }

    /// <summary>The tile rows [row0, row0 + rows) of chunk: its first row and count.</summary>
    private static (long Row0, int Rows) ChunkRows(in Plan p, int chunk)
    {
        long row0 = (long)chunk * p.RowsPerChunk;
        return (row0, (int)Math.Min(p.RowsPerChunk, (long)p.N * p.TilesH - row0));
    }

    /// <summary>
    /// B^T d B of every tile of the chunk's tile rows, into v[xi * VPlane + c * tiles + t]. Within a chunk tile row
    /// r's tiles sit at r * TilesW, densely, so the products waste no columns.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransformInputChunk(in Plan p, long row0, int rows, float* x, float* v, float* scratch)
    {
        int tiles = rows * p.TilesW;
        int* slots = stackalloc int[4];
        for (int c = 0; c < p.Cin; c++)
        for (int r = 0; r < rows; r++)
        {
            long row = row0 + r;
            int n = (int)(row / p.TilesH), th = (int)(row % p.TilesH);
            // Tile rows overlap by two input rows: the next tile row of the same image reuses them.
            bool reuse = r > 0 && th > 0;
            if (!reuse)
                for (int k = 0; k < 4; k++)
                    slots[k] = k;
            InputTransformRow(p, x + ((long)n * p.Cin + c) * p.H * p.W, th, reuse, slots,
                v + (long)c * tiles + (long)r * p.TilesW, p.VPlane, scratch);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunChunk(in Plan p, int chunk, GemmIsa isa, float* x, float* u, bool transU, float* y,
        float* v, float* m, float* scratch)
    {
        var (row0, rows) = ChunkRows(p, chunk);
        int tiles = rows * p.TilesW;
        TransformInputChunk(p, row0, rows, x, v, scratch);
        int lda = transU ? p.Cout : p.Cin;
        long uPlane = (long)p.Cout * p.Cin;
        for (int xi = 0; xi < 16; xi++)
            GemmLocal.Run(isa, false, transU, false, p.Cout, tiles, p.Cin, u + xi * uPlane, lda,
                v + xi * p.VPlane, tiles, 0f, m + xi * p.MPlane, tiles);
        for (int o = 0; o < p.Cout; o++)
        for (int r = 0; r < rows; r++)
        {
            long row = row0 + r;
            int n = (int)(row / p.TilesH), th = (int)(row % p.TilesH);
            OutputTransformRow(p, m + (long)o * tiles + (long)r * p.TilesW, p.MPlane,
                y + ((long)n * p.Cout + o) * p.OH * p.OW, th, scratch);
        }
    }

    /// <summary>
    /// B^T d B for the tiles of tile row th of one input plane, stored at dst[xi * plane + t]. B^T = [[1, 0, -1, 0],
    /// [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]. The four input rows are first split into even and odd columns
    /// (padding as zeros), so the four columns of Lanes consecutive tiles are four plain vector loads. With
    /// <paramref name="reuse"/> the slots hold the previous tile row's rows, whose last two are this one's first two.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void InputTransformRow(in Plan p, float* plane, int th, bool reuse, int* slots, float* dst,
        long planeStride, float* scratch)
    {
        int stripe = p.Stripe;
        float* padded = scratch + 8L * stripe;
        if (reuse)
        {
            (slots[0], slots[2]) = (slots[2], slots[0]);
            (slots[1], slots[3]) = (slots[3], slots[1]);
        }
        for (int k = reuse ? 2 : 0; k < 4; k++)
        {
            float* even = scratch + 2L * slots[k] * stripe;
            int ih = 2 * th - p.PH + k;
            if ((uint)ih >= (uint)p.H)
                new Span<float>(even, 2 * stripe).Clear();
            else
                Deinterleave(plane + (long)ih * p.W, p.W, p.PW, padded, even, stripe);
        }
        float* r0 = scratch + 2L * slots[0] * stripe, r1 = scratch + 2L * slots[1] * stripe;
        float* r2 = scratch + 2L * slots[2] * stripe, r3 = scratch + 2L * slots[3] * stripe;
        for (int gi = 0; gi < p.Groups; gi++)
        {
            int j = gi * Lanes;
            Horizontal(r0 + j, stripe, out var a0, out var a1, out var a2, out var a3);
            Horizontal(r1 + j, stripe, out var b0, out var b1, out var b2, out var b3);
            Horizontal(r2 + j, stripe, out var c0, out var c1, out var c2, out var c3);
            Horizontal(r3 + j, stripe, out var d0, out var d1, out var d2, out var d3);
            // Vertical pass per column: the same combination of the four rows' results.
            float* at = dst + j;
            Vertical(a0, b0, c0, d0, at, planeStride);
            Vertical(a1, b1, c1, d1, at + planeStride, planeStride);
            Vertical(a2, b2, c2, d2, at + 2 * planeStride, planeStride);
            Vertical(a3, b3, c3, d3, at + 3 * planeStride, planeStride);
        }
    }

    /// <summary>One input row of Lanes tiles, d0..d3 its four columns: h0 = d0 - d2, h1 = d1 + d2, h2 = d2 - d1,
    /// h3 = d1 - d3 (the row times B).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Horizontal(float* even, int stripe, out Vector256<float> h0, out Vector256<float> h1,
        out Vector256<float> h2, out Vector256<float> h3)
    {
        var d0 = Vector256.Load(even);
        var d1 = Vector256.Load(even + stripe);
        var d2 = Vector256.Load(even + 1);
        var d3 = Vector256.Load(even + stripe + 1);
        h0 = d0 - d2;
        h1 = d1 + d2;
        h2 = d2 - d1;
        h3 = d1 - d3;
    }

    /// <summary>B^T times one column (r0..r3 its four rows), stored at positions col, 4 + col, 8 + col, 12 + col
    /// (dst already points at position col).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Vertical(Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3,
        float* dst, long planeStride)
    {
        Vector256.Store(r0 - r2, dst);
        Vector256.Store(r1 + r2, dst + 4 * planeStride);
        Vector256.Store(r2 - r1, dst + 8 * planeStride);
        Vector256.Store(r1 - r3, dst + 12 * planeStride);
    }

    /// <summary>
    /// even[j] = row[2 j - pad], odd[j] = row[2 j + 1 - pad] (odd at even + stripe) for j in [0, stripe), zero outside
    /// the row: the row is first copied with its zero padding into <paramref name="padded"/> (2 stripe values), then
    /// split a vector pair at a time.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Deinterleave(float* row, int width, int pad, float* padded, float* even, int stripe)
    {
        // Rows are short (14 to 32 values at MNIST and CIFAR sizes): vector stores beat calls to Clear and CopyTo.
        // The tail's zero vectors may run up to Lanes values past 2 stripe, which the scratch leaves room for.
        int length = 2 * stripe, copy = Math.Min(width, length - pad);
        Vector256.Store(Vector256<float>.Zero, padded);
        CopyShort(row, padded + pad, copy);
        for (int i = pad + copy; i < length; i += Lanes)
            Vector256.Store(Vector256<float>.Zero, padded + i);
        float* odd = even + stripe;
        if (Avx2.IsSupported)
        {
            for (int j = 0; j < stripe; j += Lanes)
            {
                var a = Avx.LoadVector256(padded + 2 * j);
                var b = Avx.LoadVector256(padded + 2 * j + Lanes);
                // Within each 128-bit half the shuffle takes lanes 0, 2 (or 1, 3) of a then of b; the permute then
                // orders the four 64-bit pairs a-low, a-high, b-low, b-high.
                var e = Avx.Shuffle(a, b, 0b10_00_10_00).AsDouble();
                var o = Avx.Shuffle(a, b, 0b11_01_11_01).AsDouble();
                Avx.Store(even + j, Avx2.Permute4x64(e, 0b11_01_10_00).AsSingle());
                Avx.Store(odd + j, Avx2.Permute4x64(o, 0b11_01_10_00).AsSingle());
            }
            return;
        }
        for (int j = 0; j < stripe; j++)
        {
            even[j] = padded[2 * j];
            odd[j] = padded[2 * j + 1];
        }
    }

    /// <summary>
    /// A^T m A for the tiles of tile row th, read from src[xi * plane + t], written as the 2x2 output blocks of rows
    /// 2 th and 2 th + 1 of one output plane. A^T = [[1, 1, 1, 0], [0, 1, -1, -1]].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void OutputTransformRow(in Plan p, float* src, long planeStride, float* outPlane, int th, float* scratch)
    {
        // A group of Lanes tiles covers 2 Lanes output columns; whole groups inside the row are stored in place, the
        // last one (partial when OW is not a multiple of 2 Lanes) through the scratch rows.
        float* top = scratch + 10L * p.Stripe + Lanes, bottom = top + 2 * Lanes;
        int oh = 2 * th;
        bool second = oh + 1 < p.OH;
        float* row0 = outPlane + (long)oh * p.OW, row1 = row0 + p.OW;
        for (int gi = 0; gi < p.Groups; gi++)
        {
            float* at = src + gi * Lanes;
            // Vertical pass: s0 = m0 + m1 + m2, s1 = m1 - m2 - m3 for each of the four columns.
            Collapse(at, planeStride, out var s00, out var s10);
            Collapse(at + planeStride, planeStride, out var s01, out var s11);
            Collapse(at + 2 * planeStride, planeStride, out var s02, out var s12);
            Collapse(at + 3 * planeStride, planeStride, out var s03, out var s13);
            var y00 = s00 + s01 + s02;
            var y01 = s01 - s02 - s03;
            var y10 = s10 + s11 + s12;
            var y11 = s11 - s12 - s13;
            int col = 2 * gi * Lanes, count = Math.Min(2 * Lanes, p.OW - col);
            if (count == 2 * Lanes)
            {
                Interleave(y00, y01, row0 + col);
                if (second)
                    Interleave(y10, y11, row1 + col);
                continue;
            }
            Interleave(y00, y01, top);
            CopyShort(top, row0 + col, count);
            if (second)
            {
                Interleave(y10, y11, bottom);
                CopyShort(bottom, row1 + col, count);
            }
        }
    }

    /// <summary>A^T times one column of the product (rows at src, src + 4 plane, ...): s0 = m0 + m1 + m2,
    /// s1 = m1 - m2 - m3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Collapse(float* src, long planeStride, out Vector256<float> s0, out Vector256<float> s1)
    {
        var m0 = Vector256.Load(src);
        var m1 = Vector256.Load(src + 4 * planeStride);
        var m2 = Vector256.Load(src + 8 * planeStride);
        var m3 = Vector256.Load(src + 12 * planeStride);
        s0 = m0 + m1 + m2;
        s1 = m1 - m2 - m3;
    }

    /// <summary>Copies count values between buffers that do not overlap, by vectors (the last one overlapping the one
    /// before) and never touching a value outside either range.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyShort(float* src, float* dst, int count)
    {
        if (count < Lanes)
        {
            for (int i = 0; i < count; i++)
                dst[i] = src[i];
            return;
        }
        int j = 0;
        for (; j + Lanes <= count; j += Lanes)
            Vector256.Store(Vector256.Load(src + j), dst + j);
        if (j != count)
            Vector256.Store(Vector256.Load(src + count - Lanes), dst + count - Lanes);
    }

    /// <summary>dst[2 i] = a[i], dst[2 i + 1] = b[i] for the 8 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Interleave(Vector256<float> a, Vector256<float> b, float* dst)
    {
        if (Avx.IsSupported)
        {
            var lo = Avx.UnpackLow(a, b);   // a0 b0 a1 b1 | a4 b4 a5 b5
            var hi = Avx.UnpackHigh(a, b);  // a2 b2 a3 b3 | a6 b6 a7 b7
            Avx.Store(dst, Avx.Permute2x128(lo, hi, 0x20));
            Avx.Store(dst + Lanes, Avx.Permute2x128(lo, hi, 0x31));
            return;
        }
        for (int i = 0; i < Lanes; i++)
        {
            dst[2 * i] = a.GetElement(i);
            dst[2 * i + 1] = b.GetElement(i);
        }
    }
}
