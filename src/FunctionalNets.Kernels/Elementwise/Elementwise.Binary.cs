using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.CompilerServices;
namespace FunctionalNets.Kernels;

/// <summary>CPU elementwise kernels over contiguous row-major buffers with stride-based broadcasting.</summary>
public static partial class Elementwise
{
    /// <summary>
    /// y = op(a, b) with broadcasting. <paramref name="shape"/> is the output shape; the stride spans give each
    /// operand's element stride along each output dim (0 where broadcast). y is contiguous.
    /// </summary>
    /// <exception cref="ArgumentException">Ranks or lengths do not match; integer Pow with a negative exponent.</exception>
    /// <exception cref="DivideByZeroException">Integer Div by zero.</exception>
    public static void Binary<T>(BinaryOp op, ReadOnlySpan<T> a, ReadOnlySpan<int> aStrides, ReadOnlySpan<T> b, ReadOnlySpan<int> bStrides, Span<T> y, ReadOnlySpan<int> shape)
        where T : unmanaged, INumber<T>
    {
        switch (op)
        {
            case BinaryOp.Add: BinaryKernel.Run<T, AddOp<T>>(op, a, aStrides, b, bStrides, y, shape); break;
            case BinaryOp.Sub: BinaryKernel.Run<T, SubOp<T>>(op, a, aStrides, b, bStrides, y, shape); break;
            case BinaryOp.Mul: BinaryKernel.Run<T, MulOp<T>>(op, a, aStrides, b, bStrides, y, shape); break;
            case BinaryOp.Div: BinaryKernel.Run<T, DivOp<T>>(op, a, aStrides, b, bStrides, y, shape); break;
            case BinaryOp.Pow: BinaryKernel.Run<T, PowOp<T>>(op, a, aStrides, b, bStrides, y, shape); break;
            case BinaryOp.Max: BinaryKernel.Run<T, MaxOp<T>>(op, a, aStrides, b, bStrides, y, shape); break;
            case BinaryOp.Min: BinaryKernel.Run<T, MinOp<T>>(op, a, aStrides, b, bStrides, y, shape); break;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, "Elementwise.Binary: unknown op.");
        }
    }
}

/// <summary>Broadcast driver for <see cref="IBinaryOp{T}"/>: validates, collapses dims, runs rows.</summary>
internal static unsafe class BinaryKernel
{
    public static void Run<T, TOp>(BinaryOp op, ReadOnlySpan<T> a, ReadOnlySpan<int> aStrides, ReadOnlySpan<T> b, ReadOnlySpan<int> bStrides, Span<T> y, ReadOnlySpan<int> shape)
        where T : unmanaged, INumber<T> where TOp : struct, IBinaryOp<T>
    {
        string name = op switch
        {
            BinaryOp.Add => "Elementwise.Binary(Add)", BinaryOp.Sub => "Elementwise.Binary(Sub)",
            BinaryOp.Mul => "Elementwise.Binary(Mul)", BinaryOp.Div => "Elementwise.Binary(Div)",
            BinaryOp.Pow => "Elementwise.Binary(Pow)", BinaryOp.Max => "Elementwise.Binary(Max)",
            _ => "Elementwise.Binary(Min)",
        };
        long total = ShapeChecks.Count(name, shape);
        ShapeChecks.Length(name, "y", y.Length, total, shape);
        ShapeChecks.Extent(name, "a", 0, aStrides, shape, a.Length);
        ShapeChecks.Extent(name, "b", 0, bStrides, shape, b.Length);
        if (total == 0) return;
        var plan = StridedPlan.Create(name, shape, aStrides, bStrides, default);
        fixed (T* pa = a, pb = b, py = y)
        {
            StridedRunner.Run(in plan, new Body<T, TOp> { A = pa, B = pb, Y = py }, allowParallel: true);
        }
    }

    private struct Body<T, TOp> : IRowBody where T : unmanaged, INumber<T> where TOp : struct, IBinaryOp<T>
    {
        public T* A, B, Y;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Row(long linear, long o0, long o1, long o2, long s0, long s1, long s2, int len)
        {
            T* a = A + o0, b = B + o1;
            var y = new Span<T>(Y + linear, len);
            if (s0 == 1 && s1 == 1) TOp.Run(new ReadOnlySpan<T>(a, len), new ReadOnlySpan<T>(b, len), y);
            else if (s0 == 1 && s1 == 0) TOp.RunScalarB(new ReadOnlySpan<T>(a, len), *b, y);
            else if (s0 == 0 && s1 == 1) TOp.RunScalarA(*a, new ReadOnlySpan<T>(b, len), y);
            else if (s0 == 0 && s1 == 0) y.Fill(TOp.Scalar(*a, *b));
            else for (int i = 0; i < len; i++) y[i] = TOp.Scalar(a[i * s0], b[i * s1]);
        }
    }
}
