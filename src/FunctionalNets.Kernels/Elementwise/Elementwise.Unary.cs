using System.Numerics;
using System.Runtime.Intrinsics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FunctionalNets.Kernels;

public static partial class Elementwise
{
    /// <summary>y = op(x) over same-length contiguous spans; x and y may be the same buffer.</summary>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    public static unsafe void Unary<T>(UnaryOp op, ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (x.Length != y.Length)
            throw new ArgumentException($"Elementwise.Unary({op}): x has {x.Length} elements but y has {y.Length}.");
        int chunks = KernelParallel.ChunkCount(x.Length);
        if (chunks <= 1) { UnaryRange(op, x, y); return; }
        fixed (T* px = x, py = y)
        {
            T* cx = px, cy = py;
            KernelParallel.For(chunks, x.Length, (s, e) =>
                UnaryRange(op, new ReadOnlySpan<T>(cx + s, (int)(e - s)), new Span<T>(cy + s, (int)(e - s))));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void UnaryRange<T>(UnaryOp op, ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (op)
        {
            case UnaryOp.Neg: TensorPrimitives.Negate(x, y); break;
            case UnaryOp.Abs: TensorPrimitives.Abs(x, y); break;
            case UnaryOp.Sign:
                for (int i = 0; i < x.Length; i++)
                {
                    T v = x[i];
                    y[i] = v > T.Zero ? T.One : v < T.Zero ? -T.One : v; // keeps NaN and the zero's sign
                }
                break;
            case UnaryOp.Exp: TensorPrimitives.Exp(x, y); break;
            case UnaryOp.Log: TensorPrimitives.Log(x, y); break;
            case UnaryOp.Sqrt: TensorPrimitives.Sqrt(x, y); break;
            case UnaryOp.Rsqrt: TensorPrimitives.ReciprocalSqrt(x, y); break;
            case UnaryOp.Sin: TensorPrimitives.Sin(x, y); break;
            case UnaryOp.Cos: TensorPrimitives.Cos(x, y); break;
            case UnaryOp.Tanh: TensorPrimitives.Tanh(x, y); break;
            case UnaryOp.Sigmoid: TensorPrimitives.Sigmoid(x, y); break;
            case UnaryOp.Relu: Lanes.ApplyScalarB<T, LaneMax<T>>(x, T.Zero, y); break;
            case UnaryOp.Step: StepRange(x, y); break;
            case UnaryOp.Reciprocal: TensorPrimitives.Reciprocal(x, y); break;
            case UnaryOp.Square: TensorPrimitives.Multiply(x, x, y); break;
            case UnaryOp.Softplus: for (int i = 0; i < x.Length; i++) y[i] = SpecialMath.Softplus(x[i]); break;
            case UnaryOp.Erf when typeof(T) == typeof(float):
                ErfFloat.Apply(MemoryMarshal.Cast<T, float>(x), MemoryMarshal.Cast<T, float>(y));
                break;
            case UnaryOp.Erf: for (int i = 0; i < x.Length; i++) y[i] = T.CreateTruncating(SpecialMath.Erf(double.CreateTruncating(x[i]))); break;
            case UnaryOp.Floor: TensorPrimitives.Floor(x, y); break;
            case UnaryOp.Ceil: TensorPrimitives.Ceiling(x, y); break;
            case UnaryOp.Round: TensorPrimitives.Round(x, MidpointRounding.ToEven, y); break;
            // TensorPrimitives.LogP1/ExpM1 evaluate log(x + 1) / exp(x) - 1 directly and lose all precision for tiny x.
            case UnaryOp.Log1p: for (int i = 0; i < x.Length; i++) y[i] = SpecialMath.Log1p(x[i]); break;
            case UnaryOp.Expm1: for (int i = 0; i < x.Length; i++) y[i] = SpecialMath.Expm1(x[i]); break;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, "Elementwise.Unary: unknown op.");
        }
    }

    /// <summary>Step(x) = 1 if x &gt; 0 else 0, vectorised as a compare mask ANDed with ones.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void StepRange<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
        {
            var one = Vector512<T>.One;
            for (; i <= x.Length - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                var v = Vector512.Create(x.Slice(i, Vector512<T>.Count));
                (Vector512.GreaterThan(v, Vector512<T>.Zero) & one).CopyTo(y.Slice(i));
            }
        }
        else if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            var one = Vector256<T>.One;
            for (; i <= x.Length - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                var v = Vector256.Create(x.Slice(i, Vector256<T>.Count));
                (Vector256.GreaterThan(v, Vector256<T>.Zero) & one).CopyTo(y.Slice(i));
            }
        }
        for (; i < x.Length; i++) y[i] = x[i] > T.Zero ? T.One : T.Zero;
    }
}
