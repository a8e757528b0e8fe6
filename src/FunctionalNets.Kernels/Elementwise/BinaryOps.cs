using System.Numerics;
using System.Runtime.Intrinsics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.CompilerServices;

namespace FunctionalNets.Kernels;

/// <summary>A binary operator with vectorised forms for the three run shapes the broadcast driver meets.</summary>
internal interface IBinaryOp<T> where T : unmanaged, INumber<T>
{
    static abstract T Scalar(T a, T b);
    static abstract void Run(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y);
    static abstract void RunScalarB(ReadOnlySpan<T> a, T b, Span<T> y);
    static abstract void RunScalarA(T a, ReadOnlySpan<T> b, Span<T> y);
}

internal struct AddOp<T> : IBinaryOp<T> where T : unmanaged, INumber<T>
{
    public static T Scalar(T a, T b) => a + b;
    public static void Run(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) => Lanes.Apply<T, LaneAdd<T>>(a, b, y);
    public static void RunScalarB(ReadOnlySpan<T> a, T b, Span<T> y) => Lanes.ApplyScalarB<T, LaneAdd<T>>(a, b, y);
    public static void RunScalarA(T a, ReadOnlySpan<T> b, Span<T> y) => Lanes.ApplyScalarA<T, LaneAdd<T>>(a, b, y);
}

internal struct SubOp<T> : IBinaryOp<T> where T : unmanaged, INumber<T>
{
    public static T Scalar(T a, T b) => a - b;
    public static void Run(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) => Lanes.Apply<T, LaneSub<T>>(a, b, y);
    public static void RunScalarB(ReadOnlySpan<T> a, T b, Span<T> y) => Lanes.ApplyScalarB<T, LaneSub<T>>(a, b, y);
    public static void RunScalarA(T a, ReadOnlySpan<T> b, Span<T> y) => Lanes.ApplyScalarA<T, LaneSub<T>>(a, b, y);
}

internal struct MulOp<T> : IBinaryOp<T> where T : unmanaged, INumber<T>
{
    public static T Scalar(T a, T b) => a * b;
    public static void Run(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) => Lanes.Apply<T, LaneMul<T>>(a, b, y);
    public static void RunScalarB(ReadOnlySpan<T> a, T b, Span<T> y) => Lanes.ApplyScalarB<T, LaneMul<T>>(a, b, y);
    public static void RunScalarA(T a, ReadOnlySpan<T> b, Span<T> y) => Lanes.ApplyScalarA<T, LaneMul<T>>(a, b, y);
}

internal struct DivOp<T> : IBinaryOp<T> where T : unmanaged, INumber<T>
{
    // Integer division by zero is checked before dividing: vectorised integer division may not trap,
    // and callers need an exception that names the op.
    private static DivideByZeroException Zero() =>
        new($"Elementwise.Binary(Div): integer division by zero ({typeof(T).Name}).");

    public static T Scalar(T a, T b)
    {
        if (NumericTraits<T>.IsInteger && b == T.Zero) throw Zero();
        return a / b;
    }

    public static void Run(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y)
    {
        if (NumericTraits<T>.IsInteger)
        {
            if (b.Contains(T.Zero)) throw Zero();
            TensorPrimitives.Divide(a, b, y);
        }
        else Lanes.Apply<T, LaneDiv<T>>(a, b, y);
    }

    public static void RunScalarB(ReadOnlySpan<T> a, T b, Span<T> y)
    {
        if (NumericTraits<T>.IsInteger)
        {
            if (b == T.Zero) throw Zero();
            TensorPrimitives.Divide(a, b, y);
        }
        else Lanes.ApplyScalarB<T, LaneDiv<T>>(a, b, y);
    }

    public static void RunScalarA(T a, ReadOnlySpan<T> b, Span<T> y)
    {
        if (NumericTraits<T>.IsInteger)
        {
            if (b.Contains(T.Zero)) throw Zero();
            TensorPrimitives.Divide(a, b, y);
        }
        else Lanes.ApplyScalarA<T, LaneDiv<T>>(a, b, y);
    }
}

internal struct MaxOp<T> : IBinaryOp<T> where T : unmanaged, INumber<T>
{
    // T.Max on IEEE types returns NaN if either input is NaN (torch.maximum semantics), as does TensorPrimitives.Max.
    public static T Scalar(T a, T b) => T.Max(a, b);
    public static void Run(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) => Lanes.Apply<T, LaneMax<T>>(a, b, y);
    public static void RunScalarB(ReadOnlySpan<T> a, T b, Span<T> y) => Lanes.ApplyScalarB<T, LaneMax<T>>(a, b, y);
    public static void RunScalarA(T a, ReadOnlySpan<T> b, Span<T> y) => Lanes.ApplyScalarA<T, LaneMax<T>>(a, b, y);
}

internal struct MinOp<T> : IBinaryOp<T> where T : unmanaged, INumber<T>
{
    public static T Scalar(T a, T b) => T.Min(a, b);
    public static void Run(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) => Lanes.Apply<T, LaneMin<T>>(a, b, y);
    public static void RunScalarB(ReadOnlySpan<T> a, T b, Span<T> y) => Lanes.ApplyScalarB<T, LaneMin<T>>(a, b, y);
    public static void RunScalarA(T a, ReadOnlySpan<T> b, Span<T> y) => Lanes.ApplyScalarA<T, LaneMin<T>>(a, b, y);
}

internal struct PowOp<T> : IBinaryOp<T> where T : unmanaged, INumber<T>
{
    // INumber<T> has no Pow, so float/double are reinterpreted to call TensorPrimitives.Pow (Math.Pow semantics);
    // the typeof checks fold away per instantiation.
    public static T Scalar(T a, T b)
    {
        if (typeof(T) == typeof(float)) { float r = MathF.Pow((float)(object)a, (float)(object)b); return (T)(object)r; }
        if (typeof(T) == typeof(double)) { double r = Math.Pow((double)(object)a, (double)(object)b); return (T)(object)r; }
        if (NumericTraits<T>.IsInteger) return IntPow(a, b);
        return T.CreateChecked(Math.Pow(double.CreateChecked(a), double.CreateChecked(b)));
    }

    /// <summary>Integer power by repeated squaring (same wrap-around result as repeated multiplication).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static T IntPow(T a, T e)
    {
        if (e < T.Zero)
            throw new ArgumentException($"Elementwise.Binary(Pow): negative exponent {e} is not supported for integer type {typeof(T).Name}.");
        T result = T.One, b = a;
        T two = T.One + T.One;
        while (e != T.Zero)
        {
            if (T.IsOddInteger(e)) result *= b;
            e /= two;
            if (e != T.Zero) b *= b;
        }
        return result;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y)
    {
        if (typeof(T) == typeof(float)) TensorPrimitives.Pow(Cast<float>(a), Cast<float>(b), CastW<float>(y));
        else if (typeof(T) == typeof(double)) TensorPrimitives.Pow(Cast<double>(a), Cast<double>(b), CastW<double>(y));
        else for (int i = 0; i < y.Length; i++) y[i] = Scalar(a[i], b[i]);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RunScalarB(ReadOnlySpan<T> a, T b, Span<T> y)
    {
        if (typeof(T) == typeof(float)) TensorPrimitives.Pow(Cast<float>(a), (float)(object)b, CastW<float>(y));
        else if (typeof(T) == typeof(double)) TensorPrimitives.Pow(Cast<double>(a), (double)(object)b, CastW<double>(y));
        else for (int i = 0; i < y.Length; i++) y[i] = Scalar(a[i], b);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RunScalarA(T a, ReadOnlySpan<T> b, Span<T> y)
    {
        if (typeof(T) == typeof(float)) TensorPrimitives.Pow((float)(object)a, Cast<float>(b), CastW<float>(y));
        else if (typeof(T) == typeof(double)) TensorPrimitives.Pow((double)(object)a, Cast<double>(b), CastW<double>(y));
        else for (int i = 0; i < y.Length; i++) y[i] = Scalar(a, b[i]);
    }

    private static ReadOnlySpan<TTo> Cast<TTo>(ReadOnlySpan<T> s) where TTo : struct => MemoryMarshal.Cast<T, TTo>(s);
    private static Span<TTo> CastW<TTo>(Span<T> s) where TTo : struct => MemoryMarshal.Cast<T, TTo>(s);
}
