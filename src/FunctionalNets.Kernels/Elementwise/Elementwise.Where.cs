using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.CompilerServices;
namespace FunctionalNets.Kernels;

public static partial class Elementwise
{
    /// <summary>y = cond ? a : b with broadcasting of all three inputs to <paramref name="shape"/>.</summary>
    /// <exception cref="ArgumentException">Ranks or lengths do not match.</exception>
    public static unsafe void Where<T>(ReadOnlySpan<bool> cond, ReadOnlySpan<int> condStrides, ReadOnlySpan<T> a, ReadOnlySpan<int> aStrides, ReadOnlySpan<T> b, ReadOnlySpan<int> bStrides, Span<T> y, ReadOnlySpan<int> shape)
        where T : unmanaged
    {
        const string name = "Elementwise.Where";
        long total = ShapeChecks.Count(name, shape);
        ShapeChecks.Length(name, "y", y.Length, total, shape);
        ShapeChecks.Extent(name, "cond", 0, condStrides, shape, cond.Length);
        ShapeChecks.Extent(name, "a", 0, aStrides, shape, a.Length);
        ShapeChecks.Extent(name, "b", 0, bStrides, shape, b.Length);
        if (total == 0) return;
        var plan = StridedPlan.Create(name, shape, condStrides, aStrides, bStrides);
        fixed (bool* pc = cond)
        fixed (T* pa = a, pb = b, py = y)
        {
            StridedRunner.Run(in plan, new WhereBody<T> { C = pc, A = pa, B = pb, Y = py }, true);
        }
    }
}

internal unsafe struct WhereBody<T> : IRowBody where T : unmanaged
{
    public bool* C;
    public T* A, B, Y;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public readonly void Row(long linear, long o0, long o1, long o2, long s0, long s1, long s2, int len)
    {
        bool* c = C + o0;
        T* a = A + o1, b = B + o2, y = Y + linear;
        if (s0 == 1 && s1 == 1 && s2 == 1) for (int i = 0; i < len; i++) y[i] = c[i] ? a[i] : b[i];
        else for (int i = 0; i < len; i++) y[i] = c[i * s0] ? a[i * s1] : b[i * s2];
    }
}
