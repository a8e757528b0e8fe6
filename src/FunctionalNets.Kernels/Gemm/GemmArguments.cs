namespace FunctionalNets.Kernels.GemmImpl;

/// <summary>
/// Argument checks for the public GEMM entry points. Everything the kernels index is proven in bounds here,
/// so the unchecked pointer loops behind them can never read or write outside the caller's spans.
/// </summary>
internal static class GemmArguments
{
    public static void CheckSizes(string op, int m, int n, int k)
    {
        if (m < 0 || n < 0 || k < 0)
            throw new ArgumentException($"{op}: sizes must be non-negative, but got m={m}, n={n}, k={k}.");
    }

    /// <summary>Checks one stored operand of <paramref name="rows"/> x <paramref name="cols"/> with row stride <paramref name="ld"/>.</summary>
    public static void CheckMatrix(string op, string name, string shape, int rows, int cols, long ld, long offset, int spanLength,
        int m, int n, int k)
    {
        string ldName = "ld" + name.ToLowerInvariant();
        if (ld < cols)
            throw new ArgumentException(
                $"{op} (m={m}, n={n}, k={k}): {name} is stored {shape} = {rows} x {cols}, so {ldName} must be at least {cols}, but got {ldName}={ld}.",
                ldName);
        long need = offset + Extent(rows, cols, ld);
        if (spanLength < need)
            throw new ArgumentException(
                $"{op} (m={m}, n={n}, k={k}): {name} needs at least {need} elements ({shape} = {rows} x {cols} with {ldName}={ld}), but its span has {spanLength}.",
                name.ToLowerInvariant());
    }

    /// <summary>Elements spanned by a rows x cols matrix with row stride ld: zero when it is empty.</summary>
    public static long Extent(int rows, int cols, long ld) => rows == 0 || cols == 0 ? 0 : (rows - 1) * ld + cols;

    public static void CheckBatch(string op, int batch, long strideA, long strideB, long strideC, int m, int n, int k)
    {
        if (batch < 0)
            throw new ArgumentException($"{op}: batch must be non-negative, but got batch={batch} (m={m}, n={n}, k={k}).", nameof(batch));
        if (strideA < 0 || strideB < 0 || strideC < 0)
            throw new ArgumentException(
                $"{op} (batch={batch}, m={m}, n={n}, k={k}): strides must be non-negative, but got strideA={strideA}, strideB={strideB}, strideC={strideC}.");
        // Outputs of different batch entries must not overlap: the entries may be computed in parallel.
        if (batch > 1 && (long)m * n > 0 && strideC < (long)m * n)
            throw new ArgumentException(
                $"{op} (batch={batch}, m={m}, n={n}, k={k}): strideC must be at least m*n = {(long)m * n} so the outputs do not overlap, but got strideC={strideC}.",
                nameof(strideC));
    }
}
