using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace FunctionalNets.Kernels;

public static partial class Indexing
{
    /// <summary>torch.index_select: y has x's shape with shape[dim] = index.Length; y[.., j, ..] = x[.., index[j], ..].</summary>
    /// <exception cref="ArgumentException">Shape or length mismatch.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An index value outside [0, xShape[dim]).</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void IndexSelect<T>(ReadOnlySpan<T> x, ReadOnlySpan<int> xShape, int dim, ReadOnlySpan<long> index, Span<T> y) where T : unmanaged
    {
        const string op = "IndexSelect";
        IndexChecks.Dim(op, dim, xShape);
        ShapeChecks.Length(op, "x", x.Length, ShapeChecks.Count(op, xShape), xShape);
        var (outer, size, inner) = Split(xShape, dim);
        long expected = (long)outer * index.Length * inner;
        if (y.Length != expected)
            throw new ArgumentException($"{op}: y has {y.Length} elements but x shape {ShapeText.Format(xShape)} with {index.Length} indices along dim {dim} needs {expected}.");
        // Pre-pass: index is short relative to the data, and checking first means nothing is half-written on error.
        foreach (long k in index) IndexChecks.Index(op, k, dim, size);
        int n = index.Length;
        for (int o = 0; o < outer; o++)
        {
            var xo = x.Slice(o * size * inner, size * inner);
            var yo = y.Slice(o * n * inner, n * inner);
            if (inner == 1)
            {
                for (int j = 0; j < n; j++) yo[j] = xo[(int)index[j]];
                continue;
            }
            for (int j = 0; j < n; j++)
                xo.Slice((int)index[j] * inner, inner).CopyTo(yo.Slice(j * inner, inner));
        }
    }

    /// <summary>torch.index_add_: y[.., index[j], ..] += src[.., j, ..]; src has y's shape with shape[dim] = index.Length.</summary>
    /// <exception cref="ArgumentException">Shape or length mismatch.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An index value outside [0, yShape[dim]).</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void IndexAdd<T>(Span<T> y, ReadOnlySpan<int> yShape, int dim, ReadOnlySpan<long> index, ReadOnlySpan<T> src) where T : unmanaged, INumber<T>
    {
        const string op = "IndexAdd";
        IndexChecks.Dim(op, dim, yShape);
        ShapeChecks.Length(op, "y", y.Length, ShapeChecks.Count(op, yShape), yShape);
        var (outer, size, inner) = Split(yShape, dim);
        long expected = (long)outer * index.Length * inner;
        if (src.Length != expected)
            throw new ArgumentException($"{op}: src has {src.Length} elements but y shape {ShapeText.Format(yShape)} with {index.Length} indices along dim {dim} needs {expected}.");
        foreach (long k in index) IndexChecks.Index(op, k, dim, size);
        int n = index.Length;
        for (int o = 0; o < outer; o++)
        {
            var yo = y.Slice(o * size * inner, size * inner);
            var so = src.Slice(o * n * inner, n * inner);
            if (inner == 1)
            {
                for (int j = 0; j < n; j++) yo[(int)index[j]] += so[j];
                continue;
            }
            for (int j = 0; j < n; j++)
            {
                var target = yo.Slice((int)index[j] * inner, inner);
                TensorPrimitives.Add(target, so.Slice(j * inner, inner), target);
            }
        }
    }

    /// <summary>Views a shape as [outer, shape[dim], inner].</summary>
    private static (int Outer, int Size, int Inner) Split(ReadOnlySpan<int> shape, int dim)
    {
        int outer = 1, inner = 1;
        for (int d = 0; d < dim; d++) outer *= shape[d];
        for (int d = dim + 1; d < shape.Length; d++) inner *= shape[d];
        return (outer, shape[dim], inner);
    }
}
