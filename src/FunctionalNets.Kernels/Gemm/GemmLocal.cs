using System.Numerics;
using System.Runtime.CompilerServices;

namespace FunctionalNets.Kernels.GemmImpl;

/// <summary>
/// GEMM entry for kernels that already split their work across threads (convolution runs one image per worker):
/// pointers instead of spans, no argument checks (the caller's geometry guarantees the sizes), and a choice of
/// whether the product may itself fan out to more threads. The instruction-set family is passed in, so a family a
/// test forced on the calling thread is the one the workers use too.
/// </summary>
internal static unsafe class GemmLocal
{
    /// <summary>C = op(A) op(B) + beta C with alpha 1; m, n, k &gt; 0.</summary>
    public static void Run<T>(GemmIsa isa, bool allowThreads, bool transA, bool transB, int m, int n, int k,
        T* a, nint lda, T* b, nint ldb, T beta, T* c, nint ldc) where T : unmanaged, INumber<T>
    {
        var p = new GemmProblem<T>(transA, transB, m, n, k, T.One, a, lda, b, ldb, beta, c, ldc);
        if (typeof(T) == typeof(float))
        {
            ref readonly var pf = ref Unsafe.As<GemmProblem<T>, GemmProblem<float>>(ref p);
            switch (isa)
            {
                case GemmIsa.Vector512: GemmThreading.Run<float, Vector512SgemmKernel>(pf, allowThreads); break;
                case GemmIsa.Vector256: GemmThreading.Run<float, Vector256SgemmKernel>(pf, allowThreads); break;
                default: GemmThreading.Run<float, ScalarKernel<float>>(pf, allowThreads); break;
            }
        }
        else if (typeof(T) == typeof(double))
        {
            ref readonly var pd = ref Unsafe.As<GemmProblem<T>, GemmProblem<double>>(ref p);
            switch (isa)
            {
                case GemmIsa.Vector512: GemmThreading.Run<double, Vector512DgemmKernel>(pd, allowThreads); break;
                case GemmIsa.Vector256: GemmThreading.Run<double, Vector256DgemmKernel>(pd, allowThreads); break;
                default: GemmThreading.Run<double, ScalarKernel<double>>(pd, allowThreads); break;
            }
        }
        else
            throw new NotSupportedException($"GEMM is defined for float32 and float64, got {typeof(T).Name}.");
    }
}
