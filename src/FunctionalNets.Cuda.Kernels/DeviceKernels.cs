using ILGPU;

namespace FunctionalNets.Cuda.Kernels;

/// <summary>
/// The ILGPU kernels, one thread per output element (Index1D). Shapes and strides travel in a small int "meta"
/// view: [rank, dims[rank], strides of operand 0[rank], strides of operand 1[rank], ...]; a broadcast dim has
/// stride 0. Element counts are int32 (tensors of up to 2^31 - 1 elements).
/// </summary>
public static class DeviceKernels
{
    /// <summary>The offset of linear element i of the meta's shape in operand k's strides.</summary>
    private static int Offset(ArrayView<int> meta, int operand, int i)
    {
        int rank = meta[0];
        int baseS = 1 + rank * (1 + operand);
        int rem = i, off = 0;
        for (int d = rank - 1; d >= 0; d--)
        {
            int n = meta[1 + d];
            int c = rem % n;
            rem /= n;
            off += c * meta[baseS + d];
        }
        return off;
    }

    // ---- elementwise ----

    public static void Unary<T, O>(Index1D i, ArrayView<T> x, ArrayView<T> y, int op)
        where T : unmanaged where O : struct, INumOps<T> =>
        y[i] = default(O).Unary(op, x[i]);

    public static void Binary<T, O>(Index1D i, ArrayView<T> a, ArrayView<T> b, ArrayView<T> y, ArrayView<int> meta, int op)
        where T : unmanaged where O : struct, INumOps<T> =>
        y[i] = default(O).Binary(op, a[Offset(meta, 0, i)], b[Offset(meta, 1, i)]);

    public static void Compare<T, O>(Index1D i, ArrayView<T> a, ArrayView<T> b, ArrayView<byte> y, ArrayView<int> meta, int op)
        where T : unmanaged where O : struct, INumOps<T> =>
        y[i] = default(O).Compare(op, a[Offset(meta, 0, i)], b[Offset(meta, 1, i)]) ? (byte)1 : (byte)0;

    public static void Logical(Index1D i, ArrayView<byte> a, ArrayView<byte> b, ArrayView<byte> y, ArrayView<int> meta, int op)
    {
        bool p = a[Offset(meta, 0, i)] != 0, q = b[Offset(meta, 1, i)] != 0;
        bool r = op == 0 ? p && q : op == 1 ? p || q : p != q;
        y[i] = r ? (byte)1 : (byte)0;
    }

    public static void Not(Index1D i, ArrayView<byte> x, ArrayView<byte> y) => y[i] = x[i] != 0 ? (byte)0 : (byte)1;

    public static void Where<T>(Index1D i, ArrayView<byte> c, ArrayView<T> a, ArrayView<T> b, ArrayView<T> y, ArrayView<int> meta)
        where T : unmanaged =>
        y[i] = c[Offset(meta, 0, i)] != 0 ? a[Offset(meta, 1, i)] : b[Offset(meta, 2, i)];

    public static void Cast<TI, OI, TO, OO>(Index1D i, ArrayView<TI> x, ArrayView<TO> y)
        where TI : unmanaged where OI : struct, INumOps<TI> where TO : unmanaged where OO : struct, INumOps<TO> =>
        y[i] = default(OO).FromDouble(default(OI).ToDouble(x[i]));

    /// <summary>int64 to int32 without a trip through double.</summary>
    public static void CastI64ToI32(Index1D i, ArrayView<long> x, ArrayView<int> y) => y[i] = (int)x[i];

    /// <summary>int32 to int64.</summary>
    public static void CastI32ToI64(Index1D i, ArrayView<int> x, ArrayView<long> y) => y[i] = x[i];

    public static void Fill<T, O>(Index1D i, ArrayView<T> y, double v) where T : unmanaged where O : struct, INumOps<T> =>
        y[i] = default(O).FromDouble(v);

    public static void Arange<T, O>(Index1D i, ArrayView<T> y, double start, double step)
        where T : unmanaged where O : struct, INumOps<T> =>
        y[i] = default(O).FromDouble(start + (double)(int)i * step);

    /// <summary>dst[dstOff + strided(i)] = src[srcOff + strided(i)] over the meta's shape (operands: src, dst).</summary>
    public static void Copy<T>(Index1D i, ArrayView<T> src, ArrayView<T> dst, ArrayView<int> meta, int srcOff, int dstOff)
        where T : unmanaged =>
        dst[dstOff + Offset(meta, 1, i)] = src[srcOff + Offset(meta, 0, i)];

    // ---- reductions over [outer, n, inner] ----

    public static void Sum<T, O>(Index1D i, ArrayView<T> x, ArrayView<T> y, int n, int inner)
        where T : unmanaged where O : struct, INumOps<T>
    {
        int o = i / inner, r = i % inner;
        T acc = default(O).FromDouble(0.0);
        int b = o * n * inner + r;
        for (int j = 0; j < n; j++) acc = default(O).Add(acc, x[b + j * inner]);
        y[i] = acc;
    }

    /// <summary>Values and indices of the first maximum (isMax) or minimum; a NaN wins, as in PyTorch.</summary>
    public static void Extreme<T, O>(Index1D i, ArrayView<T> x, ArrayView<T> y, ArrayView<long> idx, int n, int inner, int isMax)
        where T : unmanaged where O : struct, INumOps<T>
    {
        int o = i / inner, r = i % inner;
        int b = o * n * inner + r;
        T best = x[b];
        int bi = 0;
        if (!default(O).IsNaN(best))
        {
            for (int j = 1; j < n; j++)
            {
                T v = x[b + j * inner];
                if (default(O).IsNaN(v)) { best = v; bi = j; break; }
                bool better = isMax != 0 ? default(O).Greater(v, best) : default(O).Greater(best, v);
                if (better) { best = v; bi = j; }
            }
        }
        y[i] = best;
        idx[i] = bi;
    }

    /// <summary>Inclusive prefix sums along the middle dim of [outer, n, inner].</summary>
    public static void CumSum<T, O>(Index1D i, ArrayView<T> x, ArrayView<T> y, int n, int inner, int reverse)
        where T : unmanaged where O : struct, INumOps<T>
    {
        int o = i / inner, r = i % inner;
        int b = o * n * inner + r;
        T acc = default(O).FromDouble(0.0);
        for (int j = 0; j < n; j++)
        {
            int jj = reverse != 0 ? n - 1 - j : j;
            acc = default(O).Add(acc, x[b + jj * inner]);
            y[b + jj * inner] = acc;
        }
    }

    // ---- GEMM with cuBLAS's contract ----

    /// <summary>
    /// Exactly cublasGemmStridedBatched's contract in column-major storage (p = [transa, transb, m, n, k, lda, ldb,
    /// ldc, strideA, strideB, strideC, offA, offB, offC]; C is read only when beta is not 0), tiled: each group of tile x tile threads computes a tile of C,
    /// staging tile-wide slices of op(A) and op(B) in shared memory (dynamic, 2 tile^2 elements) so each element
    /// of A and B is read from global memory once per tile instead of once per output. Grid: (ceil(m / tile),
    /// ceil(n / tile) * batch); tilesN = ceil(n / tile).
    /// </summary>
    public static void GemmTiled<T, O>(ArrayView<T> a, ArrayView<T> b, ArrayView<T> c, ArrayView<int> p, double alpha, double beta, int tilesN)
        where T : unmanaged where O : struct, INumOps<T>
    {
        var sh = SharedMemory.GetDynamic<T>();
        int tile = Group.DimX, tx = Group.IdxX, ty = Group.IdxY;
        int transa = p[0], transb = p[1], m = p[2], n = p[3], k = p[4];
        int lda = p[5], ldb = p[6], ldc = p[7];
        int bi = Grid.IdxY / tilesN;
        int row = Grid.IdxX * tile + tx, col = Grid.IdxY % tilesN * tile + ty;
        int aBase = p[11] + bi * p[8], bBase = p[12] + bi * p[9];
        int sb = tile * tile;
        T zero = default(O).FromDouble(0.0);
        T acc = zero;
        for (int l0 = 0; l0 < k; l0 += tile)
        {
            // Thread (tx, ty) stages op(A)[row, l0 + ty] and op(B)[l0 + tx, col].
            int la = l0 + ty, lb = l0 + tx;
            sh[tx * tile + ty] = row < m && la < k
                ? (transa != 0 ? a[aBase + la + row * lda] : a[aBase + row + la * lda])
                : zero;
            sh[sb + tx * tile + ty] = col < n && lb < k
                ? (transb != 0 ? b[bBase + col + lb * ldb] : b[bBase + lb + col * ldb])
                : zero;
            Group.Barrier();
            for (int q = 0; q < tile; q++)
                acc = default(O).Add(acc, default(O).Mul(sh[tx * tile + q], sh[sb + q * tile + ty]));
            Group.Barrier();
        }
        if (row >= m || col >= n) return;
        int cIdx = p[13] + bi * p[10] + row + col * ldc;
        double r = alpha * default(O).ToDouble(acc);
        if (beta != 0.0) r += beta * default(O).ToDouble(c[cIdx]);
        c[cIdx] = alpha == 1.0 && beta == 0.0 ? acc : default(O).FromDouble(r);
    }

    // ---- indexing ----

    /// <summary>Records an out-of-range index (op code, the value clamped to int, the bound) in the error view; the
    /// host reads it at its next synchronisation instead of stopping the stream for a check.</summary>
    private static void Report(ArrayView<int> err, int op, long value, int bound)
    {
        Atomic.Exchange(ref err[0], op);
        err[1] = value > int.MaxValue ? int.MaxValue : value < int.MinValue ? int.MinValue : (int)value;
        err[2] = bound;
    }

    /// <summary>torch.gather: meta = [rank, index dims, x strides]; y has the index's shape.</summary>
    public static void Gather<T>(Index1D i, ArrayView<T> x, ArrayView<long> index, ArrayView<T> y, ArrayView<int> meta, int dim, ArrayView<int> err, int bound)
        where T : unmanaged
    {
        long v = index[i];
        if (v < 0 || v >= bound) { Report(err, 1, v, bound); y[i] = default; return; }
        int rank = meta[0];
        int rem = i, off = 0;
        for (int d = rank - 1; d >= 0; d--)
        {
            int n = meta[1 + d];
            int c = rem % n;
            rem /= n;
            if (d == dim) c = (int)index[i];
            off += c * meta[1 + rank + d];
        }
        y[i] = x[off];
    }

    /// <summary>torch.scatter_add into y (already a copy of the input): meta = [rank, index dims, y strides, src strides].</summary>
    public static void ScatterAdd<T, O>(Index1D i, ArrayView<T> y, ArrayView<long> index, ArrayView<T> src, ArrayView<int> meta, int dim, ArrayView<int> err, int bound)
        where T : unmanaged where O : struct, INumOps<T>
    {
        long v = index[i];
        if (v < 0 || v >= bound) { Report(err, 2, v, bound); return; }
        int rank = meta[0];
        int rem = i, offY = 0, offS = 0;
        for (int d = rank - 1; d >= 0; d--)
        {
            int n = meta[1 + d];
            int c = rem % n;
            rem /= n;
            offS += c * meta[1 + 2 * rank + d];
            if (d == dim) c = (int)index[i];
            offY += c * meta[1 + rank + d];
        }
        default(O).AtomicAdd(ref y[offY], src[offS]);
    }

    /// <summary>torch.index_select over [outer, n, inner] with k indices: y is [outer, k, inner].</summary>
    public static void IndexSelect<T>(Index1D i, ArrayView<T> x, ArrayView<long> index, ArrayView<T> y, int n, int k, int inner, ArrayView<int> err)
        where T : unmanaged
    {
        int o = i / (k * inner), r = i % (k * inner);
        int j = r / inner, q = r % inner;
        long v = index[j];
        if (v < 0 || v >= n) { Report(err, 3, v, n); y[i] = default; return; }
        y[i] = x[(o * n + (int)v) * inner + q];
    }

    /// <summary>torch.index_add into y (a copy of the input [outer, n, inner]) of src [outer, k, inner].</summary>
    public static void IndexAdd<T, O>(Index1D i, ArrayView<T> y, ArrayView<long> index, ArrayView<T> src, int n, int k, int inner, ArrayView<int> err)
        where T : unmanaged where O : struct, INumOps<T>
    {
        int o = i / (k * inner), r = i % (k * inner);
        int j = r / inner, q = r % inner;
        long v = index[j];
        if (v < 0 || v >= n) { Report(err, 4, v, n); return; }
        default(O).AtomicAdd(ref y[(o * n + (int)v) * inner + q], src[i]);
    }

    /// <summary>Adds x into y elementwise (same shape).</summary>
    public static void AddInto<T, O>(Index1D i, ArrayView<T> y, ArrayView<T> x) where T : unmanaged where O : struct, INumOps<T> =>
        y[i] = default(O).Add(y[i], x[i]);

    // ---- fused ----

    /// <summary>One Adam step with g as the gradient: m' = b1 m + (1-b1) g, v' = b2 v + (1-b2) g^2, u = (m'/bc1)/(sqrt(v'/bc2)+eps).</summary>
    public static void AdamStep<T, O>(Index1D i, ArrayView<T> g, ArrayView<T> m, ArrayView<T> v, ArrayView<T> m2, ArrayView<T> v2, ArrayView<T> u, ArrayView<double> h)
        where T : unmanaged where O : struct, INumOps<T>
    {
        double b1 = h[0], b2 = h[1], eps = h[2], bc1 = h[3], bc2 = h[4];
        double gi = default(O).ToDouble(g[i]);
        T mt = default(O).FromDouble(b1 * default(O).ToDouble(m[i]) + (1.0 - b1) * gi);
        T vt = default(O).FromDouble(b2 * default(O).ToDouble(v[i]) + (1.0 - b2) * gi * gi);
        m2[i] = mt;
        v2[i] = vt;
        u[i] = default(O).FromDouble((default(O).ToDouble(mt) / bc1) / (Math.Sqrt(default(O).ToDouble(vt) / bc2) + eps));
    }

    private const double GeluC = 0.7978845608028654; // sqrt(2 / pi)

    public static void GeluTanh<T, O>(Index1D i, ArrayView<T> x, ArrayView<T> y) where T : unmanaged where O : struct, INumOps<T>
    {
        double v = default(O).ToDouble(x[i]);
        y[i] = default(O).FromDouble(0.5 * v * (1.0 + Math.Tanh(GeluC * (v + 0.044715 * v * v * v))));
    }

    public static void GeluTanhBackward<T, O>(Index1D i, ArrayView<T> x, ArrayView<T> g, ArrayView<T> y)
        where T : unmanaged where O : struct, INumOps<T>
    {
        double v = default(O).ToDouble(x[i]);
        double t = Math.Tanh(GeluC * (v + 0.044715 * v * v * v));
        double d = 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * GeluC * (1.0 + 3.0 * 0.044715 * v * v);
        y[i] = default(O).FromDouble(default(O).ToDouble(g[i]) * d);
    }

    // ---- Threefry-2x32, 20 rounds: bit-identical with FunctionalNets.Key and the CPU kernels ----

    private static uint Rotl(uint x, int r) => (x << r) | (x >> (32 - r));

    private static int Rot(int r)
    {
        switch (r & 7)
        {
            case 0: return 13;
            case 1: return 15;
            case 2: return 26;
            case 3: return 6;
            case 4: return 17;
            case 5: return 29;
            case 6: return 16;
            default: return 24;
        }
    }

    /// <summary>The block function for counter (c0, c1): returns both words packed (word 0 low).</summary>
    public static ulong Threefry(uint k0, uint k1, uint c0, uint c1)
    {
        uint k2 = 0x1BD11BDAu ^ k0 ^ k1;
        uint x0 = c0 + k0, x1 = c1 + k1;
        for (int r = 0; r < 20; r++)
        {
            x0 += x1;
            x1 = Rotl(x1, Rot(r));
            x1 ^= x0;
            if ((r & 3) == 3)
            {
                int s = (r + 1) / 4;
                int s0 = s % 3, s1 = (s + 1) % 3;
                x0 += s0 == 0 ? k0 : s0 == 1 ? k1 : k2;
                x1 += (s1 == 0 ? k0 : s1 == 1 ? k1 : k2) + (uint)s;
            }
        }
        return x0 | ((ulong)x1 << 32);
    }

    private static ulong Counter(uint k0, uint k1, long c) => Threefry(k0, k1, (uint)((ulong)c >> 32), (uint)c);

    private static float U24(uint w) => (w >> 8) * (1.0f / 16777216.0f);

    private static double U53(uint hi, uint lo) => (((ulong)(hi >> 5) << 26) | (lo >> 6)) * (1.0 / 9007199254740992.0);

    /// <summary>Uniform float32: element i uses word i.</summary>
    public static void UniformF32(Index1D i, ArrayView<float> y, uint k0, uint k1)
    {
        ulong w = Counter(k0, k1, i >> 1);
        y[i] = U24((i & 1) == 0 ? (uint)w : (uint)(w >> 32));
    }

    /// <summary>Uniform float64: element i uses both words of counter i.</summary>
    public static void UniformF64(Index1D i, ArrayView<double> y, uint k0, uint k1)
    {
        ulong w = Counter(k0, k1, i);
        y[i] = U53((uint)w, (uint)(w >> 32));
    }

    /// <summary>Normal float32 (Box-Muller in double): thread p writes elements 2p and 2p+1 from counter p.</summary>
    public static void NormalF32(Index1D p, ArrayView<float> y, uint k0, uint k1, int n)
    {
        ulong w = Counter(k0, k1, p);
        double u1 = 1.0 - U24((uint)w);
        double u2 = U24((uint)(w >> 32));
        double r = Math.Sqrt(-2.0 * Math.Log(u1));
        double t = 2.0 * Math.PI * u2;
        y[2 * p] = (float)(r * Math.Cos(t));
        if (2 * p + 1 < n) y[2 * p + 1] = (float)(r * Math.Sin(t));
    }

    /// <summary>Normal float64: thread p writes elements 2p and 2p+1 from counters 2p and 2p+1.</summary>
    public static void NormalF64(Index1D p, ArrayView<double> y, uint k0, uint k1, int n)
    {
        ulong w0 = Counter(k0, k1, 2L * p), w1 = Counter(k0, k1, 2L * p + 1);
        double u1 = 1.0 - U53((uint)w0, (uint)(w0 >> 32));
        double u2 = U53((uint)w1, (uint)(w1 >> 32));
        double r = Math.Sqrt(-2.0 * Math.Log(u1));
        double t = 2.0 * Math.PI * u2;
        y[2 * p] = r * Math.Cos(t);
        if (2 * p + 1 < n) y[2 * p + 1] = r * Math.Sin(t);
    }
}
