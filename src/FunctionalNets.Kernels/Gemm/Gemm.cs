using System.Numerics;
using System.Runtime.CompilerServices;
using FunctionalNets.Kernels.GemmImpl;

namespace FunctionalNets.Kernels;

/// <summary>
/// Dense matrix products on row-major data: C = alpha * op(A) * op(B) + beta * C, as BLAS's SGEMM/DGEMM but row-major.
/// Large products are split across up to <see cref="KernelSettings.MaxThreads"/> threads.
/// </summary>
public static class Gemm
{
    /// <summary>
    /// Single precision C[m,n] = alpha * op(A) * op(B) + beta * C (row-major). op(A) is m x k: A is stored m x k
    /// (lda &gt;= k) when <paramref name="transA"/> is false, k x m (lda &gt;= m) when true. op(B) is k x n: B is stored
    /// k x n (ldb &gt;= n) when <paramref name="transB"/> is false, n x k (ldb &gt;= k) when true. ldc &gt;= n.
    /// When beta is 0, C's old contents (even NaN) are ignored; when k is 0 or alpha is 0, C becomes beta * C.
    /// </summary>
    /// <exception cref="ArgumentException">A size is negative, a leading dimension is too small, or a span is too short.</exception>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc) =>
        Single<float>("Sgemm", transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    /// <summary>
    /// Double precision C[m,n] = alpha * op(A) * op(B) + beta * C (row-major), with the same layout rules as
    /// <see cref="Sgemm"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A size is negative, a leading dimension is too small, or a span is too short.</exception>
    public static void Dgemm(bool transA, bool transB, int m, int n, int k, double alpha,
        ReadOnlySpan<double> a, int lda, ReadOnlySpan<double> b, int ldb, double beta, Span<double> c, int ldc) =>
        Single<double>("Dgemm", transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    /// <summary>
    /// Batched single precision GEMM with tight leading dimensions (lda = transA ? m : k, ldb = transB ? k : n, ldc = n):
    /// for each i below <paramref name="batch"/>, matrix i of A starts at i * <paramref name="strideA"/>, and likewise
    /// for B and C. A stride of 0 for A or B reuses (broadcasts) one matrix; C's stride must keep the outputs apart.
    /// </summary>
    /// <exception cref="ArgumentException">A size or stride is negative, outputs overlap, or a span is too short.</exception>
    public static void SgemmBatched(bool transA, bool transB, int batch, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, long strideA, ReadOnlySpan<float> b, long strideB, float beta, Span<float> c, long strideC) =>
        Batched<float>("SgemmBatched", transA, transB, batch, m, n, k, alpha, a, strideA, b, strideB, beta, c, strideC);

    /// <summary>Batched double precision GEMM; see <see cref="SgemmBatched"/> for the layout.</summary>
    /// <exception cref="ArgumentException">A size or stride is negative, outputs overlap, or a span is too short.</exception>
    public static void DgemmBatched(bool transA, bool transB, int batch, int m, int n, int k, double alpha,
        ReadOnlySpan<double> a, long strideA, ReadOnlySpan<double> b, long strideB, double beta, Span<double> c, long strideC) =>
        Batched<double>("DgemmBatched", transA, transB, batch, m, n, k, alpha, a, strideA, b, strideB, beta, c, strideC);

    private static unsafe void Single<T>(string op, bool transA, bool transB, int m, int n, int k, T alpha,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, INumber<T>
    {
        CheckOperands(op, transA, transB, m, n, k, a.Length, lda, 0, b.Length, ldb, 0, c.Length, ldc, 0);
        if (m == 0 || n == 0)
            return;
        fixed (T* pa = a)
        fixed (T* pb = b)
        fixed (T* pc = c)
        {
            var p = new GemmProblem<T>(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
            if (k == 0 || alpha == T.Zero)
                Scale(p);
            else
                Dispatch(p, 1, 0, 0, 0);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Batched<T>(string op, bool transA, bool transB, int batch, int m, int n, int k, T alpha,
        ReadOnlySpan<T> a, long strideA, ReadOnlySpan<T> b, long strideB, T beta, Span<T> c, long strideC)
        where T : unmanaged, INumber<T>
    {
        GemmArguments.CheckSizes(op, m, n, k);
        GemmArguments.CheckBatch(op, batch, strideA, strideB, strideC, m, n, k);
        int lda = transA ? m : k, ldb = transB ? k : n, ldc = n;
        if (batch > 0)
        {
            CheckOperands(op, transA, transB, m, n, k, a.Length, lda, LastStart(batch, strideA), b.Length, ldb,
                LastStart(batch, strideB), c.Length, ldc, LastStart(batch, strideC));
        }
        if (batch == 0 || m == 0 || n == 0)
            return;
        fixed (T* pa = a)
        fixed (T* pb = b)
        fixed (T* pc = c)
        {
            var p = new GemmProblem<T>(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
            if (k == 0 || alpha == T.Zero)
            {
                for (int i = 0; i < batch; i++)
                    Scale(new GemmProblem<T>(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc + i * strideC, ldc));
            }
            else
            {
                Dispatch(p, batch, strideA, strideB, strideC);
            }
        }
    }

    /// <summary>Where the last matrix of a batch starts; strides no span could hold saturate instead of overflowing.</summary>
    private static long LastStart(int batch, long stride) =>
        batch <= 1 ? 0 : stride > int.MaxValue ? long.MaxValue / 4 : (batch - 1) * stride;

    private static void CheckOperands(string op, bool transA, bool transB, int m, int n, int k,
        int aLength, long lda, long aOffset, int bLength, long ldb, long bOffset, int cLength, long ldc, long cOffset)
    {
        GemmArguments.CheckSizes(op, m, n, k);
        if (transA)
            GemmArguments.CheckMatrix(op, "A", "k x m", k, m, lda, aOffset, aLength, m, n, k);
        else
            GemmArguments.CheckMatrix(op, "A", "m x k", m, k, lda, aOffset, aLength, m, n, k);
        if (transB)
            GemmArguments.CheckMatrix(op, "B", "n x k", n, k, ldb, bOffset, bLength, m, n, k);
        else
            GemmArguments.CheckMatrix(op, "B", "k x n", k, n, ldb, bOffset, bLength, m, n, k);
        GemmArguments.CheckMatrix(op, "C", "m x n", m, n, ldc, cOffset, cLength, m, n, k);
    }

    /// <summary>Runs a validated problem (m, n, k &gt; 0, alpha != 0) on the micro-kernel family this machine uses.</summary>
    private static void Dispatch<T>(in GemmProblem<T> p, int batch, long sa, long sb, long sc) where T : unmanaged, INumber<T>
    {
        // typeof tests on a generic value type are folded by the JIT, so each instantiation keeps only its own branch.
        if (typeof(T) == typeof(float))
        {
            ref readonly var pf = ref Unsafe.As<GemmProblem<T>, GemmProblem<float>>(ref Unsafe.AsRef(in p));
            switch (GemmIsaSelector.Current)
            {
                case GemmIsa.Vector512: GemmThreading.RunBatched<float, Vector512SgemmKernel>(pf, batch, sa, sb, sc); break;
                case GemmIsa.Vector256: GemmThreading.RunBatched<float, Vector256SgemmKernel>(pf, batch, sa, sb, sc); break;
                default: GemmThreading.RunBatched<float, ScalarKernel<float>>(pf, batch, sa, sb, sc); break;
            }
        }
        else
        {
            ref readonly var pd = ref Unsafe.As<GemmProblem<T>, GemmProblem<double>>(ref Unsafe.AsRef(in p));
            switch (GemmIsaSelector.Current)
            {
                case GemmIsa.Vector512: GemmThreading.RunBatched<double, Vector512DgemmKernel>(pd, batch, sa, sb, sc); break;
                case GemmIsa.Vector256: GemmThreading.RunBatched<double, Vector256DgemmKernel>(pd, batch, sa, sb, sc); break;
                default: GemmThreading.RunBatched<double, ScalarKernel<double>>(pd, batch, sa, sb, sc); break;
            }
        }
    }

    /// <summary>C = beta * C, the whole answer when k or alpha is 0; beta == 0 writes zeros without reading C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Scale<T>(in GemmProblem<T> p) where T : unmanaged, INumber<T>
    {
        for (int i = 0; i < p.M; i++)
        {
            var row = new Span<T>(p.C + i * p.Ldc, p.N);
            if (p.Beta == T.Zero)
                row.Clear();
            else if (p.Beta != T.One)
                for (int j = 0; j < row.Length; j++)
                    row[j] *= p.Beta;
        }
    }
}
