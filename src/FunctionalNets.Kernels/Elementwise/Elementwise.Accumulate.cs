using System.Numerics;
using System.Runtime.Intrinsics;
using System.Numerics.Tensors;

namespace FunctionalNets.Kernels;

public static partial class Elementwise
{
    /// <summary>acc += x over same-length spans (gradient accumulation).</summary>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    public static unsafe void AddInPlace<T>(Span<T> acc, ReadOnlySpan<T> x) where T : unmanaged, INumber<T>
    {
        if (acc.Length != x.Length)
            throw new ArgumentException($"Elementwise.AddInPlace: acc has {acc.Length} elements but x has {x.Length}.");
        int chunks = KernelParallel.ChunkCount(x.Length);
        if (chunks <= 1) { Lanes.Apply<T, LaneAdd<T>>(acc, x, acc); return; }
        fixed (T* pa = acc, px = x)
        {
            T* ca = pa, cx = px;
            KernelParallel.For(chunks, x.Length, (s, e) =>
            {
                var a = new Span<T>(ca + s, (int)(e - s));
                Lanes.Apply<T, LaneAdd<T>>(a, new ReadOnlySpan<T>(cx + s, (int)(e - s)), a);
            });
        }
    }

    /// <summary>Sets every element of y to <paramref name="value"/>.</summary>
    public static void Fill<T>(Span<T> y, T value) where T : unmanaged => y.Fill(value);
}
