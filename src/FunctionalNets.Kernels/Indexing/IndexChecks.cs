using System.Runtime.CompilerServices;
namespace FunctionalNets.Kernels;

/// <summary>Validation shared by the indexing kernels: shapes up front, index values as they are used.</summary>
internal static class IndexChecks
{
    public static ArgumentOutOfRangeException OutOfRange(string op, long value, int dim, int size) =>
        new("index", value, $"{op}: index {value} is out of range for dim {dim} of size {size}.");

    /// <summary>Throws unless 0 &lt;= value &lt; size.</summary>
    public static void Index(string op, long value, int dim, int size)
    {
        if ((ulong)value >= (ulong)size) throw OutOfRange(op, value, dim, size);
    }

    public static void Dim(string op, int dim, ReadOnlySpan<int> shape)
    {
        if (dim < 0 || dim >= shape.Length)
            throw new ArgumentException($"{op}: dim {dim} is out of range for shape {ShapeText.Format(shape)}.");
    }

    public static void SameRank(string op, string a, ReadOnlySpan<int> aShape, string b, ReadOnlySpan<int> bShape)
    {
        if (aShape.Length != bShape.Length)
            throw new ArgumentException($"{op}: {a} shape {ShapeText.Format(aShape)} and {b} shape {ShapeText.Format(bShape)} have different ranks.");
    }

    /// <summary>inner[d] &lt;= outer[d] for every d (skipping <paramref name="exceptDim"/> when it is &gt;= 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Fits(string op, string a, ReadOnlySpan<int> aShape, string b, ReadOnlySpan<int> bShape, int exceptDim)
    {
        for (int d = 0; d < aShape.Length; d++)
            if (d != exceptDim && aShape[d] > bShape[d])
                throw new ArgumentException($"{op}: {a} shape {ShapeText.Format(aShape)} exceeds {b} shape {ShapeText.Format(bShape)} at dim {d}.");
    }

    /// <summary>Row-major element strides of <paramref name="shape"/> written into <paramref name="strides"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ContiguousStrides(ReadOnlySpan<int> shape, Span<int> strides)
    {
        long s = 1;
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            strides[d] = (int)s;
            s *= shape[d];
        }
    }
}
