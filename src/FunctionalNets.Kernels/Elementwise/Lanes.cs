using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace FunctionalNets.Kernels;

/// <summary>An exact lane-wise operator (each result lane is the IEEE result of its two inputs).</summary>
internal interface ILaneOp<T> where T : unmanaged, INumber<T>
{
    static abstract T Apply(T a, T b);
    static abstract Vector512<T> Apply(Vector512<T> a, Vector512<T> b);
    static abstract Vector256<T> Apply(Vector256<T> a, Vector256<T> b);
    static abstract Vector128<T> Apply(Vector128<T> a, Vector128<T> b);
}

internal struct LaneAdd<T> : ILaneOp<T> where T : unmanaged, INumber<T>
{
    public static T Apply(T a, T b) => a + b;
    public static Vector512<T> Apply(Vector512<T> a, Vector512<T> b) => a + b;
    public static Vector256<T> Apply(Vector256<T> a, Vector256<T> b) => a + b;
    public static Vector128<T> Apply(Vector128<T> a, Vector128<T> b) => a + b;
}

internal struct LaneSub<T> : ILaneOp<T> where T : unmanaged, INumber<T>
{
    public static T Apply(T a, T b) => a - b;
    public static Vector512<T> Apply(Vector512<T> a, Vector512<T> b) => a - b;
    public static Vector256<T> Apply(Vector256<T> a, Vector256<T> b) => a - b;
    public static Vector128<T> Apply(Vector128<T> a, Vector128<T> b) => a - b;
}

internal struct LaneMul<T> : ILaneOp<T> where T : unmanaged, INumber<T>
{
    public static T Apply(T a, T b) => a * b;
    public static Vector512<T> Apply(Vector512<T> a, Vector512<T> b) => a * b;
    public static Vector256<T> Apply(Vector256<T> a, Vector256<T> b) => a * b;
    public static Vector128<T> Apply(Vector128<T> a, Vector128<T> b) => a * b;
}

/// <summary>Floating-point division only: integer lanes would need the zero check and truncation rules.</summary>
internal struct LaneDiv<T> : ILaneOp<T> where T : unmanaged, INumber<T>
{
    public static T Apply(T a, T b) => a / b;
    public static Vector512<T> Apply(Vector512<T> a, Vector512<T> b) => a / b;
    public static Vector256<T> Apply(Vector256<T> a, Vector256<T> b) => a / b;
    public static Vector128<T> Apply(Vector128<T> a, Vector128<T> b) => a / b;
}

/// <summary>IEEE maximum: NaN if either input is NaN, and +0 above -0 (as T.Max and TensorPrimitives.Max).</summary>
internal struct LaneMax<T> : ILaneOp<T> where T : unmanaged, INumber<T>
{
    public static T Apply(T a, T b) => T.Max(a, b);
    public static Vector512<T> Apply(Vector512<T> a, Vector512<T> b) => Vector512.Max(a, b);
    public static Vector256<T> Apply(Vector256<T> a, Vector256<T> b) => Vector256.Max(a, b);
    public static Vector128<T> Apply(Vector128<T> a, Vector128<T> b) => Vector128.Max(a, b);
}

/// <summary>IEEE minimum: NaN if either input is NaN, and -0 below +0 (as T.Min and TensorPrimitives.Min).</summary>
internal struct LaneMin<T> : ILaneOp<T> where T : unmanaged, INumber<T>
{
    public static T Apply(T a, T b) => T.Min(a, b);
    public static Vector512<T> Apply(Vector512<T> a, Vector512<T> b) => Vector512.Min(a, b);
    public static Vector256<T> Apply(Vector256<T> a, Vector256<T> b) => Vector256.Min(a, b);
    public static Vector128<T> Apply(Vector128<T> a, Vector128<T> b) => Vector128.Min(a, b);
}

/// <summary>
/// Vector loops for the hottest elementwise operations (bias adds, gradient sums, ReLU and its mask). They do what
/// the matching TensorPrimitives calls do, lane for lane, but are this assembly's own methods compiled optimised from
/// their first call: TensorPrimitives' loops start as tier-0 (with dynamic PGO, instrumented) code in any application
/// that keeps the default JIT settings, and stayed several times slower for the first part of a training run.
/// y may be the same buffer as an input (not a shifted overlap).
/// </summary>
internal static class Lanes
{
    /// <summary>y[i] = op(a[i], b[i]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Apply<T, TOp>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y)
        where T : unmanaged, INumber<T> where TOp : struct, ILaneOp<T>
    {
        int n = y.Length;
        if (a.Length != n || b.Length != n)
            throw new ArgumentException($"Lanes.Apply: spans of {a.Length}, {b.Length} and {n} elements.");
        ref T ra = ref MemoryMarshal.GetReference(a);
        ref T rb = ref MemoryMarshal.GetReference(b);
        ref T ry = ref MemoryMarshal.GetReference(y);
        nuint i = 0, len = (nuint)n;
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
        {
            nuint w = (nuint)Vector512<T>.Count;
            for (; i + 2 * w <= len; i += 2 * w)
            {
                var y0 = TOp.Apply(Vector512.LoadUnsafe(ref ra, i), Vector512.LoadUnsafe(ref rb, i));
                var y1 = TOp.Apply(Vector512.LoadUnsafe(ref ra, i + w), Vector512.LoadUnsafe(ref rb, i + w));
                y0.StoreUnsafe(ref ry, i);
                y1.StoreUnsafe(ref ry, i + w);
            }
            for (; i + w <= len; i += w)
                TOp.Apply(Vector512.LoadUnsafe(ref ra, i), Vector512.LoadUnsafe(ref rb, i)).StoreUnsafe(ref ry, i);
        }
        else if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            nuint w = (nuint)Vector256<T>.Count;
            for (; i + 2 * w <= len; i += 2 * w)
            {
                var y0 = TOp.Apply(Vector256.LoadUnsafe(ref ra, i), Vector256.LoadUnsafe(ref rb, i));
                var y1 = TOp.Apply(Vector256.LoadUnsafe(ref ra, i + w), Vector256.LoadUnsafe(ref rb, i + w));
                y0.StoreUnsafe(ref ry, i);
                y1.StoreUnsafe(ref ry, i + w);
            }
            for (; i + w <= len; i += w)
                TOp.Apply(Vector256.LoadUnsafe(ref ra, i), Vector256.LoadUnsafe(ref rb, i)).StoreUnsafe(ref ry, i);
        }
        else if (Vector128.IsHardwareAccelerated && Vector128<T>.IsSupported)
        {
            nuint w = (nuint)Vector128<T>.Count;
            for (; i + w <= len; i += w)
                TOp.Apply(Vector128.LoadUnsafe(ref ra, i), Vector128.LoadUnsafe(ref rb, i)).StoreUnsafe(ref ry, i);
        }
        for (; i < len; i++)
            Unsafe.Add(ref ry, i) = TOp.Apply(Unsafe.Add(ref ra, i), Unsafe.Add(ref rb, i));
    }

    /// <summary>y[i] = op(a[i], b).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ApplyScalarB<T, TOp>(ReadOnlySpan<T> a, T b, Span<T> y)
        where T : unmanaged, INumber<T> where TOp : struct, ILaneOp<T>
    {
        int n = y.Length;
        if (a.Length != n)
            throw new ArgumentException($"Lanes.ApplyScalarB: spans of {a.Length} and {n} elements.");
        ref T ra = ref MemoryMarshal.GetReference(a);
        ref T ry = ref MemoryMarshal.GetReference(y);
        nuint i = 0, len = (nuint)n;
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
        {
            nuint w = (nuint)Vector512<T>.Count;
            var vb = Vector512.Create(b);
            for (; i + 2 * w <= len; i += 2 * w)
            {
                var y0 = TOp.Apply(Vector512.LoadUnsafe(ref ra, i), vb);
                var y1 = TOp.Apply(Vector512.LoadUnsafe(ref ra, i + w), vb);
                y0.StoreUnsafe(ref ry, i);
                y1.StoreUnsafe(ref ry, i + w);
            }
            for (; i + w <= len; i += w)
                TOp.Apply(Vector512.LoadUnsafe(ref ra, i), vb).StoreUnsafe(ref ry, i);
        }
        else if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            nuint w = (nuint)Vector256<T>.Count;
            var vb = Vector256.Create(b);
            for (; i + 2 * w <= len; i += 2 * w)
            {
                var y0 = TOp.Apply(Vector256.LoadUnsafe(ref ra, i), vb);
                var y1 = TOp.Apply(Vector256.LoadUnsafe(ref ra, i + w), vb);
                y0.StoreUnsafe(ref ry, i);
                y1.StoreUnsafe(ref ry, i + w);
            }
            for (; i + w <= len; i += w)
                TOp.Apply(Vector256.LoadUnsafe(ref ra, i), vb).StoreUnsafe(ref ry, i);
        }
        else if (Vector128.IsHardwareAccelerated && Vector128<T>.IsSupported)
        {
            nuint w = (nuint)Vector128<T>.Count;
            var vb = Vector128.Create(b);
            for (; i + w <= len; i += w)
                TOp.Apply(Vector128.LoadUnsafe(ref ra, i), vb).StoreUnsafe(ref ry, i);
        }
        for (; i < len; i++)
            Unsafe.Add(ref ry, i) = TOp.Apply(Unsafe.Add(ref ra, i), b);
    }

    /// <summary>y[i] = op(a, b[i]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ApplyScalarA<T, TOp>(T a, ReadOnlySpan<T> b, Span<T> y)
        where T : unmanaged, INumber<T> where TOp : struct, ILaneOp<T>
    {
        int n = y.Length;
        if (b.Length != n)
            throw new ArgumentException($"Lanes.ApplyScalarA: spans of {b.Length} and {n} elements.");
        ref T rb = ref MemoryMarshal.GetReference(b);
        ref T ry = ref MemoryMarshal.GetReference(y);
        nuint i = 0, len = (nuint)n;
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
        {
            nuint w = (nuint)Vector512<T>.Count;
            var va = Vector512.Create(a);
            for (; i + w <= len; i += w)
                TOp.Apply(va, Vector512.LoadUnsafe(ref rb, i)).StoreUnsafe(ref ry, i);
        }
        else if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            nuint w = (nuint)Vector256<T>.Count;
            var va = Vector256.Create(a);
            for (; i + w <= len; i += w)
                TOp.Apply(va, Vector256.LoadUnsafe(ref rb, i)).StoreUnsafe(ref ry, i);
        }
        else if (Vector128.IsHardwareAccelerated && Vector128<T>.IsSupported)
        {
            nuint w = (nuint)Vector128<T>.Count;
            var va = Vector128.Create(a);
            for (; i + w <= len; i += w)
                TOp.Apply(va, Vector128.LoadUnsafe(ref rb, i)).StoreUnsafe(ref ry, i);
        }
        for (; i < len; i++)
            Unsafe.Add(ref ry, i) = TOp.Apply(a, Unsafe.Add(ref rb, i));
    }
}
