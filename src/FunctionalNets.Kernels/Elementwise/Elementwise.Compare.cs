using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.CompilerServices;
namespace FunctionalNets.Kernels;

public static partial class Elementwise
{
    /// <summary>y = (a op b) as booleans, with the same broadcasting rules as <see cref="Binary{T}"/>.</summary>
    /// <exception cref="ArgumentException">Ranks or lengths do not match.</exception>
    public static unsafe void Compare<T>(CompareOp op, ReadOnlySpan<T> a, ReadOnlySpan<int> aStrides, ReadOnlySpan<T> b, ReadOnlySpan<int> bStrides, Span<bool> y, ReadOnlySpan<int> shape)
        where T : unmanaged, INumber<T>
    {
        const string name = "Elementwise.Compare";
        long total = ShapeChecks.Count(name, shape);
        ShapeChecks.Length(name, "y", y.Length, total, shape);
        ShapeChecks.Extent(name, "a", 0, aStrides, shape, a.Length);
        ShapeChecks.Extent(name, "b", 0, bStrides, shape, b.Length);
        if (total == 0) return;
        var plan = StridedPlan.Create(name, shape, aStrides, bStrides, default);
        fixed (T* pa = a, pb = b)
        fixed (bool* py = y)
        {
            switch (op)
            {
                case CompareOp.Eq: StridedRunner.Run(in plan, new CompareBody<T, EqCmp<T>> { A = pa, B = pb, Y = py }, true); break;
                case CompareOp.Ne: StridedRunner.Run(in plan, new CompareBody<T, NeCmp<T>> { A = pa, B = pb, Y = py }, true); break;
                case CompareOp.Lt: StridedRunner.Run(in plan, new CompareBody<T, LtCmp<T>> { A = pa, B = pb, Y = py }, true); break;
                case CompareOp.Le: StridedRunner.Run(in plan, new CompareBody<T, LeCmp<T>> { A = pa, B = pb, Y = py }, true); break;
                case CompareOp.Gt: StridedRunner.Run(in plan, new CompareBody<T, GtCmp<T>> { A = pa, B = pb, Y = py }, true); break;
                case CompareOp.Ge: StridedRunner.Run(in plan, new CompareBody<T, GeCmp<T>> { A = pa, B = pb, Y = py }, true); break;
                default: throw new ArgumentOutOfRangeException(nameof(op), op, "Elementwise.Compare: unknown op.");
            }
        }
    }
}

/// <summary>A comparison predicate; struct implementations let the JIT inline it into the row loop.</summary>
internal interface ICompare<T> where T : INumber<T>
{
    static abstract bool Test(T a, T b);
}

internal struct EqCmp<T> : ICompare<T> where T : INumber<T> { public static bool Test(T a, T b) => a == b; }
internal struct NeCmp<T> : ICompare<T> where T : INumber<T> { public static bool Test(T a, T b) => a != b; }
internal struct LtCmp<T> : ICompare<T> where T : INumber<T> { public static bool Test(T a, T b) => a < b; }
internal struct LeCmp<T> : ICompare<T> where T : INumber<T> { public static bool Test(T a, T b) => a <= b; }
internal struct GtCmp<T> : ICompare<T> where T : INumber<T> { public static bool Test(T a, T b) => a > b; }
internal struct GeCmp<T> : ICompare<T> where T : INumber<T> { public static bool Test(T a, T b) => a >= b; }

internal unsafe struct CompareBody<T, TCmp> : IRowBody where T : unmanaged, INumber<T> where TCmp : struct, ICompare<T>
{
    public T* A, B;
    public bool* Y;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public readonly void Row(long linear, long o0, long o1, long o2, long s0, long s1, long s2, int len)
    {
        T* a = A + o0, b = B + o1;
        bool* y = Y + linear;
        // Specialise the common contiguous / broadcast-scalar runs so the loop has no stride multiplies.
        if (s0 == 1 && s1 == 1) for (int i = 0; i < len; i++) y[i] = TCmp.Test(a[i], b[i]);
        else if (s0 == 1 && s1 == 0) { T bv = *b; for (int i = 0; i < len; i++) y[i] = TCmp.Test(a[i], bv); }
        else if (s0 == 0 && s1 == 1) { T av = *a; for (int i = 0; i < len; i++) y[i] = TCmp.Test(av, b[i]); }
        else for (int i = 0; i < len; i++) y[i] = TCmp.Test(a[i * s0], b[i * s1]);
    }
}
