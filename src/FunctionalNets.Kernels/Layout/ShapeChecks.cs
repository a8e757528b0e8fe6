using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.CompilerServices;
namespace FunctionalNets.Kernels;

/// <summary>Formats shapes for error messages.</summary>
internal static class ShapeText
{
    public static string Format(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";
}

/// <summary>Up-front O(rank) argument validation shared by the kernels, so no kernel can index out of bounds.</summary>
internal static class ShapeChecks
{
    /// <summary>Number of elements in <paramref name="shape"/>; throws on negative dims.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static long Count(string op, ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"{op}: negative dimension in shape {ShapeText.Format(shape)}.");
            n *= d;
        }
        return n;
    }

    public static void Rank(string op, string name, ReadOnlySpan<int> strides, ReadOnlySpan<int> shape)
    {
        if (strides.Length != shape.Length)
            throw new ArgumentException($"{op}: {name} has {strides.Length} entries but the shape {ShapeText.Format(shape)} has rank {shape.Length}.");
    }

    public static void Length(string op, string name, int actual, long expected, ReadOnlySpan<int> shape)
    {
        if (actual != expected)
            throw new ArgumentException($"{op}: {name} has {actual} elements but shape {ShapeText.Format(shape)} needs {expected}.");
    }

    /// <summary>Checks that every position base + sum_k i_k * strides[k] lies inside a buffer of <paramref name="length"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Extent(string op, string name, long baseOffset, ReadOnlySpan<int> strides, ReadOnlySpan<int> shape, int length)
    {
        Rank(op, name + " strides", strides, shape);
        long lo = baseOffset, hi = baseOffset;
        for (int k = 0; k < shape.Length; k++)
        {
            if (shape[k] == 0) return; // empty: nothing is touched
            long span = (long)(shape[k] - 1) * strides[k];
            if (span < 0) lo += span; else hi += span;
        }
        if (lo < 0 || hi >= length)
            throw new ArgumentException(
                $"{op}: {name} (length {length}, offset {baseOffset}, strides {ShapeText.Format(strides)}) is too small for shape {ShapeText.Format(shape)}: positions span [{lo}, {hi}].");
    }
}
