using System.Collections.Concurrent;
using ILGPU;
using ILGPU.Runtime;

namespace FunctionalNets.Cuda.Kernels;

/// <summary>
/// Loads (once per accelerator) and launches the device kernels on the accelerator's default stream. Storage is
/// passed as untyped byte views; dtype codes are 0 float32, 1 float64, 2 int32, 3 int64, 4 bool (one byte).
/// Launches are asynchronous; shape metadata buffers are cached by content so a training loop allocates none
/// after its first step.
/// </summary>
public sealed class KernelLauncher : IDisposable
{
    private readonly Accelerator acc;
    private readonly ConcurrentDictionary<string, Delegate> kernels = new();
    private readonly ConcurrentDictionary<string, MemoryBuffer1D<int, Stride1D.Dense>> metas = new();
    private readonly ConcurrentDictionary<string, MemoryBuffer1D<double, Stride1D.Dense>> doubles = new();

    /// <summary>A launcher over an accelerator (a CudaAccelerator or the CPU accelerator).</summary>
    public KernelLauncher(Accelerator accelerator) => acc = accelerator;

    /// <summary>The accelerator the kernels run on.</summary>
    public Accelerator Accelerator => acc;


    private TDelegate K<TDelegate>(string key, Func<Accelerator, TDelegate> load) where TDelegate : Delegate =>
        (TDelegate)kernels.GetOrAdd(key, _ =>
        {
            try
            {
                return load(acc);
            }
            catch (Exception e)
            {
                throw new InvalidOperationException(
                    $"FunctionalNets.Cuda: the kernel '{key}' failed to compile for {acc.Name} ({acc.AcceleratorType}): {e.Message} " +
                    "Tensors on Device.Cpu are unaffected; Cuda.describe () shows the device and libraries in use.", e);
            }
        });

    /// <summary>A device copy of small int metadata, cached by content.</summary>
    public ArrayView<int> Meta(int[] data)
    {
        var key = string.Join(",", data);
        if (metas.Count > 8192) ClearCaches();
        return metas.GetOrAdd(key, _ => acc.Allocate1D(data)).View;
    }

    private ArrayView<double> Doubles(double[] data)
    {
        var key = string.Join(",", data.Select(d => BitConverter.DoubleToInt64Bits(d)));
        if (doubles.Count > 8192) ClearCaches();
        return doubles.GetOrAdd(key, _ => acc.Allocate1D(data)).View;
    }

    private void ClearCaches()
    {
        acc.Synchronize();
        foreach (var b in metas.Values) b.Dispose();
        metas.Clear();
        foreach (var b in doubles.Values) b.Dispose();
        doubles.Clear();
    }

    private MemoryBuffer1D<int, Stride1D.Dense>? errors;

    private ArrayView<int> ErrorView
    {
        get
        {
            if (errors is null)
            {
                errors = acc.Allocate1D<int>(3);
                errors.MemSetToZero();
            }
            return errors.View;
        }
    }

    private static readonly string[] IndexOps = ["", "gather", "scatterAdd", "indexSelect", "indexAdd"];

    /// <summary>
    /// Waits for the stream and returns the first out-of-range index a kernel met since the last call, as
    /// (op name, value, dim size), clearing it; null when there was none.
    /// </summary>
    public (string Op, int Value, int Bound)? TakeIndexError()
    {
        if (errors is null) return null;
        acc.Synchronize();
        var e = errors.GetAsArray1D();
        if (e[0] == 0) return null;
        errors.MemSetToZero();
        acc.Synchronize();
        return (IndexOps[Math.Clamp(e[0], 0, 4)], e[1], e[2]);
    }

    /// <summary>Waits for every launched kernel.</summary>
    public void Synchronize() => acc.Synchronize();

    /// <inheritdoc/>
    public void Dispose()
    {
        ClearCaches();
    }

    private static string Tn(int dtype) => dtype switch { 0 => "f32", 1 => "f64", 2 => "i32", 3 => "i64", 4 => "bool", _ => throw new ArgumentException($"unknown dtype code {dtype}") };

    /// <summary>Dispatches a generic action over the element type and its operations.</summary>
    private interface ITyped { void Run<T, O>() where T : unmanaged where O : struct, INumOps<T>; }

    private static void Dispatch<V>(int dtype, V v) where V : ITyped
    {
        switch (dtype)
        {
            case 0: v.Run<float, F32Ops>(); break;
            case 1: v.Run<double, F64Ops>(); break;
            case 2: v.Run<int, I32Ops>(); break;
            case 3: v.Run<long, I64Ops>(); break;
            case 4: v.Run<byte, BoolOps>(); break;
            default: throw new ArgumentException($"unknown dtype code {dtype}");
        }
    }

    // ---- elementwise ----

    private readonly struct UnaryR(KernelLauncher l, ArrayView<byte> x, ArrayView<byte> y, int op, int n) : ITyped
    {
        public void Run<T, O>() where T : unmanaged where O : struct, INumOps<T> =>
            l.K("unary" + typeof(T).Name, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, int>(DeviceKernels.Unary<T, O>))
                (n, x.Cast<T>(), y.Cast<T>(), op);
    }

    /// <summary>y = f(x) for a UnaryKind code.</summary>
    public void Unary(int dtype, ArrayView<byte> x, ArrayView<byte> y, int op, int n)
    {
        if (n > 0) Dispatch(dtype, new UnaryR(this, x, y, op, n));
    }

    private readonly struct BinaryR(KernelLauncher l, ArrayView<byte> a, ArrayView<byte> b, ArrayView<byte> y, ArrayView<int> meta, int op, int n, bool compare) : ITyped
    {
        public void Run<T, O>() where T : unmanaged where O : struct, INumOps<T>
        {
            if (compare)
                l.K("compare" + typeof(T).Name, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<byte>, ArrayView<int>, int>(DeviceKernels.Compare<T, O>))
                    (n, a.Cast<T>(), b.Cast<T>(), y, meta, op);
            else
                l.K("binary" + typeof(T).Name, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<int>, int>(DeviceKernels.Binary<T, O>))
                    (n, a.Cast<T>(), b.Cast<T>(), y.Cast<T>(), meta, op);
        }
    }

    /// <summary>y = a op b with broadcasting (meta: rank, out dims, a strides, b strides).</summary>
    public void Binary(int dtype, ArrayView<byte> a, ArrayView<byte> b, ArrayView<byte> y, int[] meta, int op, int n)
    {
        if (n > 0) Dispatch(dtype, new BinaryR(this, a, b, y, Meta(meta), op, n, false));
    }

    /// <summary>y (bool) = a cmp b with broadcasting.</summary>
    public void Compare(int dtype, ArrayView<byte> a, ArrayView<byte> b, ArrayView<byte> y, int[] meta, int op, int n)
    {
        if (n > 0) Dispatch(dtype, new BinaryR(this, a, b, y, Meta(meta), op, n, true));
    }

    /// <summary>Logical and/or/xor (op 0/1/2) over bools with broadcasting.</summary>
    public void Logical(ArrayView<byte> a, ArrayView<byte> b, ArrayView<byte> y, int[] meta, int op, int n)
    {
        if (n > 0)
            K("logical", a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<int>, int>(DeviceKernels.Logical))
                (n, a, b, y, Meta(meta), op);
    }

    /// <summary>Logical not.</summary>
    public void Not(ArrayView<byte> x, ArrayView<byte> y, int n)
    {
        if (n > 0)
            K("not", a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<byte>, ArrayView<byte>>(DeviceKernels.Not))(n, x, y);
    }

    private readonly struct WhereR(KernelLauncher l, ArrayView<byte> c, ArrayView<byte> a, ArrayView<byte> b, ArrayView<byte> y, ArrayView<int> meta, int n) : ITyped
    {
        public void Run<T, O>() where T : unmanaged where O : struct, INumOps<T> =>
            l.K("where" + typeof(T).Name, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<byte>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<int>>(DeviceKernels.Where<T>))
                (n, c, a.Cast<T>(), b.Cast<T>(), y.Cast<T>(), meta);
    }

    /// <summary>y = c ? a : b with broadcasting (meta: rank, dims, c, a, b strides).</summary>
    public void Where(int dtype, ArrayView<byte> c, ArrayView<byte> a, ArrayView<byte> b, ArrayView<byte> y, int[] meta, int n)
    {
        if (n > 0) Dispatch(dtype, new WhereR(this, c, a, b, y, Meta(meta), n));
    }

    private readonly struct CastOut<TI, OI>(KernelLauncher l, ArrayView<byte> x, ArrayView<byte> y, int n) : ITyped
        where TI : unmanaged where OI : struct, INumOps<TI>
    {
        public void Run<T, O>() where T : unmanaged where O : struct, INumOps<T> =>
            l.K("cast" + typeof(TI).Name + typeof(T).Name, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<TI>, ArrayView<T>>(DeviceKernels.Cast<TI, OI, T, O>))
                (n, x.Cast<TI>(), y.Cast<T>());
    }

    private readonly struct CastIn(KernelLauncher l, ArrayView<byte> x, ArrayView<byte> y, int target, int n) : ITyped
    {
        public void Run<T, O>() where T : unmanaged where O : struct, INumOps<T> => Dispatch(target, new CastOut<T, O>(l, x, y, n));
    }

    /// <summary>y = x converted from one dtype to another (floats to ints truncate toward zero).</summary>
    public void Cast(int from, int to, ArrayView<byte> x, ArrayView<byte> y, int n)
    {
        if (n == 0) return;
        if (from == 3 && to == 2)
            K("i64i32", a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<long>, ArrayView<int>>(DeviceKernels.CastI64ToI32))(n, x.Cast<long>(), y.Cast<int>());
        else if (from == 2 && to == 3)
            K("i32i64", a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<long>>(DeviceKernels.CastI32ToI64))(n, x.Cast<int>(), y.Cast<long>());
        else Dispatch(from, new CastIn(this, x, y, to, n));
    }

    private readonly struct FillR(KernelLauncher l, ArrayView<byte> y, double v, double step, bool arange, int n) : ITyped
    {
        public void Run<T, O>() where T : unmanaged where O : struct, INumOps<T>
        {
            if (arange)
                l.K("arange" + typeof(T).Name, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, double, double>(DeviceKernels.Arange<T, O>))
                    (n, y.Cast<T>(), v, step);
            else
                l.K("fill" + typeof(T).Name, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, double>(DeviceKernels.Fill<T, O>))
                    (n, y.Cast<T>(), v);
        }
    }

    /// <summary>Every element of y set to v.</summary>
    public void Fill(int dtype, ArrayView<byte> y, double v, int n)
    {
        if (n > 0) Dispatch(dtype, new FillR(this, y, v, 0, false, n));
    }

    /// <summary>y[i] = start + i step.</summary>
    public void Arange(int dtype, ArrayView<byte> y, double start, double step, int n)
    {
        if (n > 0) Dispatch(dtype, new FillR(this, y, start, step, true, n));
    }

    /// <summary>Strided copy over the meta's shape (operands src, dst), by element size.</summary>
    public void Copy(int elemSize, ArrayView<byte> src, ArrayView<byte> dst, int[] meta, int srcOff, int dstOff, int n)
    {
        if (n == 0) return;
        var m = Meta(meta);
        switch (elemSize)
        {
            case 1:
                K("copy1", a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<byte>, ArrayView<byte>, ArrayView<int>, int, int>(DeviceKernels.Copy<byte>))(n, src, dst, m, srcOff, dstOff);
                break;
            case 4:
                K("copy4", a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<int>, int, int>(DeviceKernels.Copy<int>))(n, src.Cast<int>(), dst.Cast<int>(), m, srcOff, dstOff);
                break;
            default:
                K("copy8", a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<long>, ArrayView<long>, ArrayView<int>, int, int>(DeviceKernels.Copy<long>))(n, src.Cast<long>(), dst.Cast<long>(), m, srcOff, dstOff);
                break;
        }
    }

    // ---- reductions ----

    private readonly struct ReduceR(KernelLauncher l, int kind, ArrayView<byte> x, ArrayView<byte> y, ArrayView<long> idx, int n, int inner, int flag, int count) : ITyped
    {
        public void Run<T, O>() where T : unmanaged where O : struct, INumOps<T>
        {
            switch (kind)
            {
                case 0:
                    l.K("sum" + typeof(T).Name, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, int, int>(DeviceKernels.Sum<T, O>))
                        (count, x.Cast<T>(), y.Cast<T>(), n, inner);
                    break;
                case 1:
                    l.K("extreme" + typeof(T).Name, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<long>, int, int, int>(DeviceKernels.Extreme<T, O>))
                        (count, x.Cast<T>(), y.Cast<T>(), idx, n, inner, flag);
                    break;
                default:
                    l.K("cumsum" + typeof(T).Name, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, int, int, int>(DeviceKernels.CumSum<T, O>))
                        (count, x.Cast<T>(), y.Cast<T>(), n, inner, flag);
                    break;
            }
        }
    }

    /// <summary>y[o, i] = sum_j x[o, j, i] over a [outer, n, inner] layout.</summary>
    public void Sum(int dtype, ArrayView<byte> x, ArrayView<byte> y, int outer, int n, int inner)
    {
        if (outer * inner > 0) Dispatch(dtype, new ReduceR(this, 0, x, y, default, n, inner, 0, outer * inner));
    }

    /// <summary>Max (isMax) or min values and int64 indices along the middle dim of [outer, n, inner].</summary>
    public void Extreme(int dtype, ArrayView<byte> x, ArrayView<byte> y, ArrayView<byte> idx, int outer, int n, int inner, bool isMax)
    {
        if (outer * inner > 0) Dispatch(dtype, new ReduceR(this, 1, x, y, idx.Cast<long>(), n, inner, isMax ? 1 : 0, outer * inner));
    }

    /// <summary>Inclusive prefix sums along the middle dim of [outer, n, inner].</summary>
    public void CumSum(int dtype, ArrayView<byte> x, ArrayView<byte> y, int outer, int n, int inner, bool reverse)
    {
        if (outer * inner > 0 && n > 0) Dispatch(dtype, new ReduceR(this, 2, x, y, default, n, inner, reverse ? 1 : 0, outer * inner));
    }

    // ---- GEMM ----

    private readonly struct GemmTiledR(KernelLauncher l, ArrayView<byte> a, ArrayView<byte> b, ArrayView<byte> c, ArrayView<int> p, double alpha, double beta, int tilesM, int tilesN, int batch) : ITyped
    {
        public void Run<T, O>() where T : unmanaged where O : struct, INumOps<T>
        {
            int tile = l.GemmTile;
            var config = new KernelConfig(new Index2D(tilesM, tilesN * batch), new Index2D(tile, tile), SharedMemoryConfig.RequestDynamic<T>(2 * tile * tile));
            l.K("gemmTiled" + typeof(T).Name, a => a.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<int>, double, double, int>(DeviceKernels.GemmTiled<T, O>))
                (config, a.Cast<T>(), b.Cast<T>(), c.Cast<T>(), p, alpha, beta, tilesN);
        }
    }

    /// <summary>The GEMM tile side: 16 on a GPU, less where a group holds fewer threads (the CPU accelerator: 4).</summary>
    public int GemmTile => Math.Min(16, (int)Math.Sqrt(acc.MaxNumThreadsPerGroup));

    /// <summary>
    /// The cuBLAS strided-batched GEMM contract (column-major) on device views, tiled through shared memory:
    /// p = [transa, transb, m, n, k, lda, ldb, ldc, strideA, strideB, strideC, offA, offB, offC], batch calls.
    /// </summary>
    public void GemmStridedBatched(int dtype, ArrayView<byte> a, ArrayView<byte> b, ArrayView<byte> c, int[] p, double alpha, double beta, int batch)
    {
        if (p[2] * p[3] * batch == 0) return;
        int tile = GemmTile;
        Dispatch(dtype, new GemmTiledR(this, a, b, c, Meta(p), alpha, beta, (p[2] + tile - 1) / tile, (p[3] + tile - 1) / tile, batch));
    }

    // ---- indexing ----

    private readonly struct IndexR(KernelLauncher l, int kind, ArrayView<byte> x, ArrayView<long> index, ArrayView<byte> y, ArrayView<int> meta, int dim, int n, int k, int inner, int count, ArrayView<int> err) : ITyped
    {
        public void Run<T, O>() where T : unmanaged where O : struct, INumOps<T>
        {
            switch (kind)
            {
                case 0:
                    l.K("gather" + typeof(T).Name, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<long>, ArrayView<T>, ArrayView<int>, int, ArrayView<int>, int>(DeviceKernels.Gather<T>))
                        (count, x.Cast<T>(), index, y.Cast<T>(), meta, dim, err, n);
                    break;
                case 1: // x is the destination y, y is src
                    l.K("scatteradd" + typeof(T).Name, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<long>, ArrayView<T>, ArrayView<int>, int, ArrayView<int>, int>(DeviceKernels.ScatterAdd<T, O>))
                        (count, x.Cast<T>(), index, y.Cast<T>(), meta, dim, err, n);
                    break;
                case 2:
                    l.K("indexselect" + typeof(T).Name, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<long>, ArrayView<T>, int, int, int, ArrayView<int>>(DeviceKernels.IndexSelect<T>))
                        (count, x.Cast<T>(), index, y.Cast<T>(), n, k, inner, err);
                    break;
                default:
                    l.K("indexadd" + typeof(T).Name, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<long>, ArrayView<T>, int, int, int, ArrayView<int>>(DeviceKernels.IndexAdd<T, O>))
                        (count, x.Cast<T>(), index, y.Cast<T>(), n, k, inner, err);
                    break;
            }
        }
    }

    /// <summary>torch.gather (meta: rank, index dims, x strides) along a dim of size bound.</summary>
    public void Gather(int dtype, ArrayView<byte> x, ArrayView<byte> index, ArrayView<byte> y, int[] meta, int dim, int bound, int count)
    {
        if (count > 0) Dispatch(dtype, new IndexR(this, 0, x, index.Cast<long>(), y, Meta(meta), dim, bound, 0, 0, count, ErrorView));
    }

    /// <summary>torch.scatter_add into y (meta: rank, index dims, y strides, src strides) along a dim of size bound.</summary>
    public void ScatterAdd(int dtype, ArrayView<byte> y, ArrayView<byte> index, ArrayView<byte> src, int[] meta, int dim, int bound, int count)
    {
        if (count > 0) Dispatch(dtype, new IndexR(this, 1, y, index.Cast<long>(), src, Meta(meta), dim, bound, 0, 0, count, ErrorView));
    }

    /// <summary>torch.index_select over [outer, n, inner] with k indices.</summary>
    public void IndexSelect(int dtype, ArrayView<byte> x, ArrayView<byte> index, ArrayView<byte> y, int outer, int n, int k, int inner)
    {
        if (outer * k * inner > 0) Dispatch(dtype, new IndexR(this, 2, x, index.Cast<long>(), y, default, 0, n, k, inner, outer * k * inner, ErrorView));
    }

    /// <summary>torch.index_add into y [outer, n, inner] of src [outer, k, inner].</summary>
    public void IndexAdd(int dtype, ArrayView<byte> y, ArrayView<byte> index, ArrayView<byte> src, int outer, int n, int k, int inner)
    {
        if (outer * k * inner > 0) Dispatch(dtype, new IndexR(this, 3, y, index.Cast<long>(), src, default, 0, n, k, inner, outer * k * inner, ErrorView));
    }

    // ---- fused ----

    private readonly struct FusedR(KernelLauncher l, int kind, ArrayView<byte> a, ArrayView<byte> b, ArrayView<byte> c, ArrayView<byte> d, ArrayView<byte> e, ArrayView<byte> f, ArrayView<double> h, int count) : ITyped
    {
        public void Run<T, O>() where T : unmanaged where O : struct, INumOps<T>
        {
            switch (kind)
            {
                case 0:
                    l.K("adam" + typeof(T).Name, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<double>>(DeviceKernels.AdamStep<T, O>))
                        (count, a.Cast<T>(), b.Cast<T>(), c.Cast<T>(), d.Cast<T>(), e.Cast<T>(), f.Cast<T>(), h);
                    break;
                case 1:
                    l.K("gelu" + typeof(T).Name, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>>(DeviceKernels.GeluTanh<T, O>))
                        (count, a.Cast<T>(), b.Cast<T>());
                    break;
                case 2:
                    l.K("gelub" + typeof(T).Name, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>>(DeviceKernels.GeluTanhBackward<T, O>))
                        (count, a.Cast<T>(), b.Cast<T>(), c.Cast<T>());
                    break;
                default:
                    l.K("addinto" + typeof(T).Name, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>>(DeviceKernels.AddInto<T, O>))
                        (count, a.Cast<T>(), b.Cast<T>());
                    break;
            }
        }
    }

    /// <summary>One fused Adam step: (m', v', update) from the gradient g and the moments m, v.</summary>
    public void AdamStep(int dtype, ArrayView<byte> g, ArrayView<byte> m, ArrayView<byte> v, ArrayView<byte> m2, ArrayView<byte> v2, ArrayView<byte> u, double b1, double b2, double eps, double bc1, double bc2, int n)
    {
        if (n > 0) Dispatch(dtype, new FusedR(this, 0, g, m, v, m2, v2, u, Doubles([b1, b2, eps, bc1, bc2]), n));
    }

    /// <summary>y = gelu_tanh(x).</summary>
    public void GeluTanh(int dtype, ArrayView<byte> x, ArrayView<byte> y, int n)
    {
        if (n > 0) Dispatch(dtype, new FusedR(this, 1, x, y, default, default, default, default, default, n));
    }

    /// <summary>y = g * gelu_tanh'(x).</summary>
    public void GeluTanhBackward(int dtype, ArrayView<byte> x, ArrayView<byte> g, ArrayView<byte> y, int n)
    {
        if (n > 0) Dispatch(dtype, new FusedR(this, 2, x, g, y, default, default, default, default, n));
    }

    /// <summary>y += x elementwise.</summary>
    public void AddInto(int dtype, ArrayView<byte> y, ArrayView<byte> x, int n)
    {
        if (n > 0) Dispatch(dtype, new FusedR(this, 3, y, x, default, default, default, default, default, n));
    }

    // ---- convolution lowering and pooling (g: C, H, W, KH, KW, OH, OW, sh, sw, ph, pw, dh, dw) ----

    private readonly struct ConvPoolR(KernelLauncher l, int kind, ArrayView<byte> a, ArrayView<byte> b, ArrayView<byte> c, ArrayView<int> g, int flag, int p1, int p2, int count) : ITyped
    {
        public void Run<T, O>() where T : unmanaged where O : struct, INumOps<T>
        {
            switch (kind)
            {
                case 0:
                    l.K("im2col" + typeof(T).Name, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<int>>(ConvPoolKernels.Im2col<T>))
                        (count, a.Cast<T>(), b.Cast<T>(), g);
                    break;
                case 1:
                    l.K("col2im" + typeof(T).Name, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<int>>(ConvPoolKernels.Col2im<T, O>))
                        (count, a.Cast<T>(), b.Cast<T>(), g);
                    break;
                case 2:
                    l.K("maxpool" + typeof(T).Name, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<long>, ArrayView<int>>(ConvPoolKernels.MaxPool<T, O>))
                        (count, a.Cast<T>(), b.Cast<T>(), c.Cast<long>(), g);
                    break;
                case 3:
                    l.K("maxpoolb" + typeof(T).Name, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<long>, ArrayView<T>, int, int>(ConvPoolKernels.MaxPoolBackward<T, O>))
                        (count, a.Cast<T>(), b.Cast<long>(), c.Cast<T>(), p1, p2);
                    break;
                case 4:
                    l.K("avgpool" + typeof(T).Name, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<int>, int>(ConvPoolKernels.AvgPool<T, O>))
                        (count, a.Cast<T>(), b.Cast<T>(), g, flag);
                    break;
                default:
                    l.K("avgpoolb" + typeof(T).Name, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<int>, int>(ConvPoolKernels.AvgPoolBackward<T, O>))
                        (count, a.Cast<T>(), b.Cast<T>(), g, flag);
                    break;
            }
        }
    }

    /// <summary>cols [N, C KH KW, OH OW] from x [N, C, H, W].</summary>
    public void Im2col(int dtype, ArrayView<byte> x, ArrayView<byte> cols, int[] g, int n)
    {
        int count = n * g[0] * g[3] * g[4] * g[5] * g[6];
        if (count > 0) Dispatch(dtype, new ConvPoolR(this, 0, x, cols, default, Meta(g), 0, 0, 0, count));
    }

    /// <summary>dx [N, C, H, W] from cols (the adjoint of Im2col).</summary>
    public void Col2im(int dtype, ArrayView<byte> cols, ArrayView<byte> dx, int[] g, int n)
    {
        int count = n * g[0] * g[1] * g[2];
        if (count > 0) Dispatch(dtype, new ConvPoolR(this, 1, cols, dx, default, Meta(g), 0, 0, 0, count));
    }

    /// <summary>Max pooling of planes: values and int64 in-plane indices.</summary>
    public void MaxPool(int dtype, ArrayView<byte> x, ArrayView<byte> y, ArrayView<byte> idx, int[] g, int planes)
    {
        int count = planes * g[5] * g[6];
        if (count > 0) Dispatch(dtype, new ConvPoolR(this, 2, x, y, idx, Meta(g), 0, 0, 0, count));
    }

    /// <summary>dx (zeroed by the caller) += dy at the pooled indices.</summary>
    public void MaxPoolBackward(int dtype, ArrayView<byte> dy, ArrayView<byte> idx, ArrayView<byte> dx, int outPlane, int inPlane, int count)
    {
        if (count > 0) Dispatch(dtype, new ConvPoolR(this, 3, dy, idx, dx, default, 0, outPlane, inPlane, count));
    }

    /// <summary>Average pooling of planes.</summary>
    public void AvgPool(int dtype, ArrayView<byte> x, ArrayView<byte> y, int[] g, int planes, bool countIncludePad)
    {
        int count = planes * g[5] * g[6];
        if (count > 0) Dispatch(dtype, new ConvPoolR(this, 4, x, y, default, Meta(g), countIncludePad ? 1 : 0, 0, 0, count));
    }

    /// <summary>dx (zeroed by the caller) += the adjoint of average pooling.</summary>
    public void AvgPoolBackward(int dtype, ArrayView<byte> dy, ArrayView<byte> dx, int[] g, int planes, bool countIncludePad)
    {
        int count = planes * g[5] * g[6];
        if (count > 0) Dispatch(dtype, new ConvPoolR(this, 5, dy, dx, default, Meta(g), countIncludePad ? 1 : 0, 0, 0, count));
    }

    private readonly struct ResampleR(KernelLauncher l, bool backward, ArrayView<byte> a, ArrayView<byte> b, ArrayView<int> g, int count) : ITyped
    {
        public void Run<T, O>() where T : unmanaged where O : struct, INumOps<T>
        {
            if (backward)
                l.K("resampleb" + typeof(T).Name, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<int>>(ResampleKernels.ResampleBackward<T, O>))
                    (count, a.Cast<T>(), b.Cast<T>(), g);
            else
                l.K("resample" + typeof(T).Name, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<int>>(ResampleKernels.Resample<T, O>))
                    (count, a.Cast<T>(), b.Cast<T>(), g);
        }
    }

    /// <summary>Adaptive average pooling (mode 0), nearest (1) or bilinear (2) resizing of planes; g = [H, W, OH, OW, mode, alignCorners].</summary>
    public void Resample(int dtype, ArrayView<byte> x, ArrayView<byte> y, int[] g, int planes)
    {
        int count = planes * g[2] * g[3];
        if (count > 0 && g[0] * g[1] > 0) Dispatch(dtype, new ResampleR(this, false, x, y, Meta(g), count));
    }

    /// <summary>dx (zeroed by the caller) += the adjoint of Resample.</summary>
    public void ResampleBackward(int dtype, ArrayView<byte> dy, ArrayView<byte> dx, int[] g, int planes)
    {
        int count = planes * g[2] * g[3];
        if (count > 0 && g[0] * g[1] > 0) Dispatch(dtype, new ResampleR(this, true, dy, dx, Meta(g), count));
    }

    // ---- fused row kernels ----

    private readonly struct RowR(KernelLauncher l, int kind, ArrayView<byte> a, ArrayView<byte> b, ArrayView<byte> c, ArrayView<byte> d, ArrayView<byte> e, ArrayView<byte> f, int i1, int i2, int i3, double d1, int count) : ITyped
    {
        public void Run<T, O>() where T : unmanaged where O : struct, INumOps<T>
        {
            switch (kind)
            {
                case 0:
                    l.K("ln" + typeof(T).Name, k => k.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, int, int, double>(RowKernels.LayerNorm<T, O>))
                        (count, a.Cast<T>(), b.Cast<T>(), c.Cast<T>(), d.Cast<T>(), e.Cast<T>(), f.Cast<T>(), i1, i2, d1);
                    break;
                case 1:
                    l.K("lnb" + typeof(T).Name, k => k.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, int, int>(RowKernels.LayerNormBackward<T, O>))
                        (count, a.Cast<T>(), b.Cast<T>(), c.Cast<T>(), d.Cast<T>(), e.Cast<T>(), f.Cast<T>(), i1, i2);
                    break;
                case 2:
                    l.K("lnp" + typeof(T).Name, k => k.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, int, int>(RowKernels.LayerNormParamGrads<T, O>))
                        (count, a.Cast<T>(), b.Cast<T>(), c.Cast<T>(), d.Cast<T>(), e.Cast<T>(), f.Cast<T>(), i1, i2);
                    break;
                case 3:
                    l.K("attn" + typeof(T).Name, k => k.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, int, int, double, int>(RowKernels.AttentionSoftmax<T, O>))
                        (count, a.Cast<T>(), b.Cast<T>(), i1, i2, d1, i3);
                    break;
                default:
                    l.K("attnb" + typeof(T).Name, k => k.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, int, double>(RowKernels.AttentionSoftmaxBackward<T, O>))
                        (count, a.Cast<T>(), b.Cast<T>(), c.Cast<T>(), i1, d1);
                    break;
            }
        }
    }

    /// <summary>Layer norm of runs x n (flags: 1 weight, 2 bias; absent ones may be any view).</summary>
    public void LayerNorm(int dtype, ArrayView<byte> x, ArrayView<byte> w, ArrayView<byte> b, ArrayView<byte> y, ArrayView<byte> mean, ArrayView<byte> rstd, int runs, int n, int flags, double eps)
    {
        if (runs > 0 && n > 0) Dispatch(dtype, new RowR(this, 0, x, w, b, y, mean, rstd, n, flags, 0, eps, runs));
    }

    /// <summary>LayerNorm's input gradient, and its weight and bias gradients summed over the runs.</summary>
    public void LayerNormBackward(int dtype, ArrayView<byte> dy, ArrayView<byte> x, ArrayView<byte> mean, ArrayView<byte> rstd, ArrayView<byte> w, bool hasWeight, ArrayView<byte> dx, ArrayView<byte> dw, ArrayView<byte> db, int runs, int n)
    {
        if (n == 0) return;
        // With no runs the column pass still writes zeros into dweight and dbias.
        if (runs > 0) Dispatch(dtype, new RowR(this, 1, dy, x, mean, rstd, w, dx, n, hasWeight ? 1 : 0, 0, 0, runs));
        Dispatch(dtype, new RowR(this, 2, dy, x, mean, rstd, dw, db, runs, n, 0, 0, n));
    }

    /// <summary>Scaled (optionally causal) softmax over rows of s.</summary>
    public void AttentionSoftmax(int dtype, ArrayView<byte> x, ArrayView<byte> y, int rows, int l, int s, double scale, bool causal)
    {
        if (rows > 0 && s > 0) Dispatch(dtype, new RowR(this, 3, x, y, default, default, default, default, l, s, causal ? 1 : 0, scale, rows));
    }

    /// <summary>The adjoint of AttentionSoftmax from its output y.</summary>
    public void AttentionSoftmaxBackward(int dtype, ArrayView<byte> g, ArrayView<byte> y, ArrayView<byte> dx, int rows, int s, double scale)
    {
        if (rows > 0 && s > 0) Dispatch(dtype, new RowR(this, 4, g, y, dx, default, default, default, s, 0, 0, scale, rows));
    }

    // ---- random ----

    /// <summary>Uniform [0, 1) fills, bit-identical with the CPU backend for the same key.</summary>
    public void RandomUniform(int dtype, ArrayView<byte> y, uint k0, uint k1, int n)
    {
        if (n == 0) return;
        if (dtype == 0)
            K("uf32", a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, uint, uint>(DeviceKernels.UniformF32))(n, y.Cast<float>(), k0, k1);
        else
            K("uf64", a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<double>, uint, uint>(DeviceKernels.UniformF64))(n, y.Cast<double>(), k0, k1);
    }

    /// <summary>Standard normal fills (Box-Muller), the CPU backend's numbers for the same key.</summary>
    public void RandomNormal(int dtype, ArrayView<byte> y, uint k0, uint k1, int n)
    {
        int pairs = (n + 1) / 2;
        if (n == 0) return;
        if (dtype == 0)
            K("nf32", a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, uint, uint, int>(DeviceKernels.NormalF32))(pairs, y.Cast<float>(), k0, k1, n);
        else
            K("nf64", a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<double>, uint, uint, int>(DeviceKernels.NormalF64))(pairs, y.Cast<double>(), k0, k1, n);
    }
}
