using ILGPU;

namespace FunctionalNets.Cuda.Kernels;

/// <summary>
/// Fused row kernels: layer normalisation (forward, backward) and attention softmax (forward, backward), one thread
/// per row of the trailing dim (accumulating in double), plus a column pass for LayerNorm's weight and bias gradients.
/// </summary>
public static class RowKernels
{
    /// <summary>y = (x - mean) rstd w + b per run of n elements; mean and rstd (biased variance) saved per run.</summary>
    public static void LayerNorm<T, O>(Index1D r, ArrayView<T> x, ArrayView<T> w, ArrayView<T> b, ArrayView<T> y, ArrayView<T> mean, ArrayView<T> rstd, int n, int flags, double eps)
        where T : unmanaged where O : struct, INumOps<T>
    {
        O o = default;
        int b0 = r * n;
        double s = 0;
        for (int j = 0; j < n; j++) s += o.ToDouble(x[b0 + j]);
        double m = s / n;
        double v = 0;
        for (int j = 0; j < n; j++)
        {
            double d = o.ToDouble(x[b0 + j]) - m;
            v += d * d;
        }
        double rs = 1.0 / Math.Sqrt(v / n + eps);
        for (int j = 0; j < n; j++)
        {
            double h = (o.ToDouble(x[b0 + j]) - m) * rs;
            if ((flags & 1) != 0) h *= o.ToDouble(w[j]);
            if ((flags & 2) != 0) h += o.ToDouble(b[j]);
            y[b0 + j] = o.FromDouble(h);
        }
        mean[r] = o.FromDouble(m);
        rstd[r] = o.FromDouble(rs);
    }

    /// <summary>dx = rstd (g w - mean(g w) - xhat mean(g w xhat)) per run.</summary>
    public static void LayerNormBackward<T, O>(Index1D r, ArrayView<T> dy, ArrayView<T> x, ArrayView<T> mean, ArrayView<T> rstd, ArrayView<T> w, ArrayView<T> dx, int n, int hasWeight)
        where T : unmanaged where O : struct, INumOps<T>
    {
        O o = default;
        int b0 = r * n;
        double m = o.ToDouble(mean[r]), rs = o.ToDouble(rstd[r]);
        double a = 0, c = 0;
        for (int j = 0; j < n; j++)
        {
            double gw = o.ToDouble(dy[b0 + j]) * (hasWeight != 0 ? o.ToDouble(w[j]) : 1.0);
            a += gw;
            c += gw * (o.ToDouble(x[b0 + j]) - m) * rs;
        }
        a /= n;
        c /= n;
        for (int j = 0; j < n; j++)
        {
            double gw = o.ToDouble(dy[b0 + j]) * (hasWeight != 0 ? o.ToDouble(w[j]) : 1.0);
            double xh = (o.ToDouble(x[b0 + j]) - m) * rs;
            dx[b0 + j] = o.FromDouble(rs * (gw - a - xh * c));
        }
    }

    /// <summary>dweight[j] = sum over runs of g xhat, dbias[j] = sum of g (one thread per column).</summary>
    public static void LayerNormParamGrads<T, O>(Index1D j, ArrayView<T> dy, ArrayView<T> x, ArrayView<T> mean, ArrayView<T> rstd, ArrayView<T> dw, ArrayView<T> db, int runs, int n)
        where T : unmanaged where O : struct, INumOps<T>
    {
        O o = default;
        double sw = 0, sb = 0;
        for (int r = 0; r < runs; r++)
        {
            double g = o.ToDouble(dy[r * n + j]);
            sw += g * (o.ToDouble(x[r * n + j]) - o.ToDouble(mean[r])) * o.ToDouble(rstd[r]);
            sb += g;
        }
        dw[j] = o.FromDouble(sw);
        db[j] = o.FromDouble(sb);
    }

    /// <summary>softmax(scale x) over each row of S; with causal, row r (query r mod L) keeps keys j &lt;= r mod L.</summary>
    public static void AttentionSoftmax<T, O>(Index1D r, ArrayView<T> x, ArrayView<T> y, int l, int s, double scale, int causal)
        where T : unmanaged where O : struct, INumOps<T>
    {
        O o = default;
        int b0 = r * s;
        int valid = causal != 0 ? Math.Min(r % l + 1, s) : s;
        double mx = double.NegativeInfinity;
        for (int j = 0; j < valid; j++) mx = Math.Max(mx, scale * o.ToDouble(x[b0 + j]));
        double sum = 0;
        for (int j = 0; j < valid; j++) sum += Math.Exp(scale * o.ToDouble(x[b0 + j]) - mx);
        for (int j = 0; j < s; j++)
            y[b0 + j] = j < valid ? o.FromDouble(Math.Exp(scale * o.ToDouble(x[b0 + j]) - mx) / sum) : o.FromDouble(0.0);
    }

    /// <summary>dx = scale y (g - sum(g y)) per row.</summary>
    public static void AttentionSoftmaxBackward<T, O>(Index1D r, ArrayView<T> g, ArrayView<T> y, ArrayView<T> dx, int s, double scale)
        where T : unmanaged where O : struct, INumOps<T>
    {
        O o = default;
        int b0 = r * s;
        double dot = 0;
        for (int j = 0; j < s; j++) dot += o.ToDouble(g[b0 + j]) * o.ToDouble(y[b0 + j]);
        for (int j = 0; j < s; j++)
            dx[b0 + j] = o.FromDouble(scale * o.ToDouble(y[b0 + j]) * (o.ToDouble(g[b0 + j]) - dot));
    }
}
