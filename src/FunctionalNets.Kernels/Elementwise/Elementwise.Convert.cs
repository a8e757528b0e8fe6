using System.Numerics;
using System.Runtime.Intrinsics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.CompilerServices;

namespace FunctionalNets.Kernels;

public static partial class Elementwise
{
    /// <summary>y = (TTo)x elementwise; floating to integer truncates toward zero (saturating, NaN to 0).</summary>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    public static unsafe void Convert<TFrom, TTo>(ReadOnlySpan<TFrom> x, Span<TTo> y)
        where TFrom : unmanaged, INumber<TFrom> where TTo : unmanaged, INumber<TTo>
    {
        if (x.Length != y.Length)
            throw new ArgumentException($"Elementwise.Convert<{typeof(TFrom).Name}, {typeof(TTo).Name}>: x has {x.Length} elements but y has {y.Length}.");
        if (typeof(TFrom) == typeof(TTo))
        {
            MemoryMarshal.Cast<TFrom, TTo>(x).CopyTo(y);
            return;
        }
        int chunks = KernelParallel.ChunkCount(x.Length);
        if (chunks <= 1) { ConvertRange(x, y); return; }
        fixed (TFrom* px = x)
        fixed (TTo* py = y)
        {
            TFrom* cx = px; TTo* cy = py;
            KernelParallel.For(chunks, x.Length, (s, e) =>
                ConvertRange(new ReadOnlySpan<TFrom>(cx + s, (int)(e - s)), new Span<TTo>(cy + s, (int)(e - s))));
        }
    }

    private static void ConvertRange<TFrom, TTo>(ReadOnlySpan<TFrom> x, Span<TTo> y)
        where TFrom : unmanaged, INumber<TFrom> where TTo : unmanaged, INumber<TTo>
    {
        // Saturating (not wrapping) for float -> int: a truncated-toward-zero value that is also well defined
        // for out-of-range inputs and NaN (-> 0). Integer <-> integer and anything -> float use the plain conversion.
        if (NumericTraits<TTo>.IsInteger && !NumericTraits<TFrom>.IsInteger) TensorPrimitives.ConvertSaturating(x, y);
        else TensorPrimitives.ConvertTruncating(x, y);
    }

    /// <summary>y = x ? 1 : 0.</summary>
    public static void FromBool<T>(ReadOnlySpan<bool> x, Span<T> y) where T : unmanaged, INumber<T>
    {
        if (x.Length != y.Length)
            throw new ArgumentException($"Elementwise.FromBool: x has {x.Length} elements but y has {y.Length}.");
        // bool is a 0/1 byte, so the vectorised byte -> T conversion does the work.
        TensorPrimitives.ConvertTruncating(MemoryMarshal.Cast<bool, byte>(x), y);
    }

    /// <summary>y = x != 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ToBool<T>(ReadOnlySpan<T> x, Span<bool> y) where T : unmanaged, INumber<T>
    {
        if (x.Length != y.Length)
            throw new ArgumentException($"Elementwise.ToBool: x has {x.Length} elements but y has {y.Length}.");
        for (int i = 0; i < x.Length; i++) y[i] = x[i] != T.Zero;
    }
}
