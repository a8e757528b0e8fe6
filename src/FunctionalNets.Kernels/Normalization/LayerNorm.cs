using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace FunctionalNets.Kernels;

/// <summary>
/// Fused layer normalization over the last <c>n</c> elements of each row: one pass per row for the forward value
/// and its saved statistics, one pass per row for every gradient of the backward.
/// </summary>
public static class LayerNorm
{
    private static void CheckLengths(string op, long rows, int n, long x, long y)
    {
        if (n < 1 || rows < 0 || x < rows * n || y < rows * n)
            throw new ArgumentException(
                $"LayerNorm.{op}: {rows} rows of {n} elements need buffers of {rows * n}, got {x} and {y}.");
    }

    /// <summary>
    /// y = (x - mean) * rstd * weight + bias per row, with rstd = 1 / sqrt(var + eps) (biased variance, as PyTorch);
    /// writes each row's mean and rstd for the backward. <paramref name="weight"/> and <paramref name="bias"/> may be
    /// null (then 1 and 0).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward<T>(T[] x, long rows, int n, T[]? weight, T[]? bias, double eps, T[] y, T[] mean, T[] rstd)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckLengths(nameof(Forward), rows, n, x.Length, y.Length);
        // Two passes over a row held in cache (mean, then centred squares) keep float32 variance accurate where
        // E[x^2] - E[x]^2 would cancel.
        KernelParallel.For(KernelParallel.ChunkCount(rows * n * 4), rows, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (r0, r1) =>
        {
            var tmp = new T[n];
            T count = T.CreateTruncating(n), e = T.CreateTruncating(eps);
            for (long r = r0; r < r1; r++)
            {
                var xr = new ReadOnlySpan<T>(x, (int)(r * n), n);
                var yr = new Span<T>(y, (int)(r * n), n);
                T mu = TensorPrimitives.Sum(xr) / count;
                TensorPrimitives.Subtract(xr, mu, tmp);
                T rs = T.One / T.Sqrt(TensorPrimitives.SumOfSquares<T>(tmp) / count + e);
                mean[r] = mu;
                rstd[r] = rs;
                TensorPrimitives.Multiply<T>(tmp, rs, yr);
                if (weight != null)
                {
                    if (bias != null) TensorPrimitives.FusedMultiplyAdd<T>(yr, weight, bias, yr);
                    else TensorPrimitives.Multiply<T>(yr, weight, yr);
                }
                else if (bias != null) TensorPrimitives.Add<T>(yr, bias, yr);
            }
        });
    }

    /// <summary>
    /// Gradients of layer normalization from the output gradient <paramref name="dy"/>, the input and the saved
    /// statistics: dx = rstd (gw - mean(gw) - xhat mean(gw xhat)) with gw = dy * weight, and the per-feature sums
    /// dweight = sum over rows of dy * xhat, dbias = sum over rows of dy.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward<T>(T[] dy, T[] x, T[] mean, T[] rstd, long rows, int n, T[]? weight, T[] dx, T[] dweight, T[] dbias)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckLengths(nameof(Backward), rows, n, x.Length, dy.Length);
        int chunks = KernelParallel.PartCount(rows * n * 6, rows);
        // Each chunk (a run of rows fixed by the shape alone) sums its own dweight/dbias rows; the partial sums are
        // added in chunk order at the end, so no locking and the same bits for any thread count.
        var dws = new T[chunks][];
        var dbs = new T[chunks][];
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void Chunk(int c)
        {
            long r0 = rows * c / chunks, r1 = rows * (c + 1) / chunks;
            var xhat = new T[n];
            var gw = new T[n];
            var dw = new T[n];
            var db = new T[n];
            T count = T.CreateTruncating(n);
            for (long r = r0; r < r1; r++)
            {
                var xr = new ReadOnlySpan<T>(x, (int)(r * n), n);
                var gr = new ReadOnlySpan<T>(dy, (int)(r * n), n);
                T rs = rstd[r];
                TensorPrimitives.Subtract(xr, mean[r], xhat);
                TensorPrimitives.Multiply<T>(xhat, rs, xhat);
                TensorPrimitives.FusedMultiplyAdd<T>(gr, xhat, dw, dw);
                TensorPrimitives.Add<T>(gr, db, db);
                if (weight != null) TensorPrimitives.Multiply<T>(gr, weight, gw);
                else gr.CopyTo(gw);
                T a = TensorPrimitives.Sum<T>(gw) / count;
                T b = TensorPrimitives.Dot<T>(gw, xhat) / count;
                // dx = rs * (gw - a - xhat * b) = xhat * (-b rs) + (gw - a) rs
                var dxr = new Span<T>(dx, (int)(r * n), n);
                TensorPrimitives.Subtract<T>(gw, a, gw);
                TensorPrimitives.Multiply<T>(gw, rs, gw);
                TensorPrimitives.FusedMultiplyAdd<T>(xhat, -b * rs, gw, dxr);
            }
            dws[c] = dw;
            dbs[c] = db;
        }
        KernelParallel.ForParts(chunks, Chunk);
        dws[0].AsSpan().CopyTo(dweight);
        dbs[0].AsSpan().CopyTo(dbias);
        for (int c = 1; c < chunks; c++)
        {
            TensorPrimitives.Add<T>(new ReadOnlySpan<T>(dweight, 0, n), dws[c], new Span<T>(dweight, 0, n));
            TensorPrimitives.Add<T>(new ReadOnlySpan<T>(dbias, 0, n), dbs[c], new Span<T>(dbias, 0, n));
        }
    }
}
