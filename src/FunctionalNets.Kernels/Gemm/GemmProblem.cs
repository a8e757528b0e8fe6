namespace FunctionalNets.Kernels.GemmImpl;

/// <summary>
/// One validated GEMM call over pinned memory. Kept as raw pointers so the workers of a threaded call can share it
/// without copying spans; the public entry points pin the caller's spans for the whole call.
/// </summary>
internal readonly unsafe struct GemmProblem<T> where T : unmanaged
{
    public readonly T* A;
    public readonly T* B;
    public readonly T* C;
    public readonly nint Lda, Ldb, Ldc;
    public readonly bool TransA, TransB;
    public readonly int M, N, K;
    public readonly T Alpha, Beta;

    public GemmProblem(bool transA, bool transB, int m, int n, int k, T alpha,
        T* a, nint lda, T* b, nint ldb, T beta, T* c, nint ldc)
    {
        TransA = transA; TransB = transB; M = m; N = n; K = k; Alpha = alpha; Beta = beta;
        A = a; B = b; C = c; Lda = lda; Ldb = ldb; Ldc = ldc;
    }
}
