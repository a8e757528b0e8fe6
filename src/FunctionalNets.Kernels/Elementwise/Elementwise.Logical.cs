using System.Numerics;
using System.Runtime.Intrinsics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.CompilerServices;

namespace FunctionalNets.Kernels;

public static partial class Elementwise
{
    /// <summary>y = a AND b with broadcasting.</summary>
    public static void LogicalAnd(ReadOnlySpan<bool> a, ReadOnlySpan<int> aStrides, ReadOnlySpan<bool> b, ReadOnlySpan<int> bStrides, Span<bool> y, ReadOnlySpan<int> shape) =>
        Logical(0, "Elementwise.LogicalAnd", a, aStrides, b, bStrides, y, shape);

    /// <summary>y = a OR b with broadcasting.</summary>
    public static void LogicalOr(ReadOnlySpan<bool> a, ReadOnlySpan<int> aStrides, ReadOnlySpan<bool> b, ReadOnlySpan<int> bStrides, Span<bool> y, ReadOnlySpan<int> shape) =>
        Logical(1, "Elementwise.LogicalOr", a, aStrides, b, bStrides, y, shape);

    /// <summary>y = a XOR b with broadcasting.</summary>
    public static void LogicalXor(ReadOnlySpan<bool> a, ReadOnlySpan<int> aStrides, ReadOnlySpan<bool> b, ReadOnlySpan<int> bStrides, Span<bool> y, ReadOnlySpan<int> shape) =>
        Logical(2, "Elementwise.LogicalXor", a, aStrides, b, bStrides, y, shape);

    /// <summary>y = NOT x over same-length spans (may alias).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LogicalNot(ReadOnlySpan<bool> x, Span<bool> y)
    {
        if (x.Length != y.Length)
            throw new ArgumentException($"Elementwise.LogicalNot: x has {x.Length} elements but y has {y.Length}.");
        // Normalise through != 0 rather than XOR 1 so non-canonical bools (any non-zero byte) still negate correctly.
        var xb = MemoryMarshal.Cast<bool, byte>(x);
        var yb = MemoryMarshal.Cast<bool, byte>(y);
        for (int i = 0; i < xb.Length; i++) yb[i] = xb[i] == 0 ? (byte)1 : (byte)0;
    }

    private static unsafe void Logical(int kind, string name, ReadOnlySpan<bool> a, ReadOnlySpan<int> aStrides, ReadOnlySpan<bool> b, ReadOnlySpan<int> bStrides, Span<bool> y, ReadOnlySpan<int> shape)
    {
        long total = ShapeChecks.Count(name, shape);
        ShapeChecks.Length(name, "y", y.Length, total, shape);
        ShapeChecks.Extent(name, "a", 0, aStrides, shape, a.Length);
        ShapeChecks.Extent(name, "b", 0, bStrides, shape, b.Length);
        if (total == 0) return;
        var plan = StridedPlan.Create(name, shape, aStrides, bStrides, default);
        fixed (bool* pa = a, pb = b, py = y)
        {
            StridedRunner.Run(in plan, new LogicalBody { Kind = kind, A = (byte*)pa, B = (byte*)pb, Y = (byte*)py }, true);
        }
    }
}

/// <summary>Row body for the boolean ops; bools are bytes 0/1, so contiguous runs use byte-wise vector ops.</summary>
internal unsafe struct LogicalBody : IRowBody
{
    public int Kind; // 0 and, 1 or, 2 xor
    public byte* A, B, Y;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public readonly void Row(long linear, long o0, long o1, long o2, long s0, long s1, long s2, int len)
    {
        byte* a = A + o0, b = B + o1, y = Y + linear;
        if (s0 == 1 && s1 == 1)
        {
            var sa = new ReadOnlySpan<byte>(a, len);
            var sb = new ReadOnlySpan<byte>(b, len);
            var sy = new Span<byte>(y, len);
            if (Kind == 0) TensorPrimitives.BitwiseAnd(sa, sb, sy);
            else if (Kind == 1) TensorPrimitives.BitwiseOr(sa, sb, sy);
            else TensorPrimitives.Xor(sa, sb, sy);
            return;
        }
        for (int i = 0; i < len; i++)
        {
            bool x = a[i * s0] != 0, z = b[i * s1] != 0;
            bool r = Kind == 0 ? x & z : Kind == 1 ? x | z : x ^ z;
            y[i] = r ? (byte)1 : (byte)0;
        }
    }
}
