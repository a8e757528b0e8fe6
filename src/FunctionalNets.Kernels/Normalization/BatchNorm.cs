using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace FunctionalNets.Kernels;

/// <summary>
/// Fused batch normalization with batch statistics (training mode) over x viewed as [N, C, L]: the statistics of
/// channel c are taken over the N runs of L values at n * C * L + c * L. The composed form takes about seven passes
/// over the tensor forward and fifteen backward, each writing a new buffer; here a channel's N runs (a few hundred KiB
/// at CIFAR sizes) are read from memory once per pass and the later passes find them in the core's cache.
/// Channels are independent and each is computed by one worker in a fixed order, so the bits do not depend on the
/// thread count.
/// </summary>
public static class BatchNorm
{
    private static void Check(string op, long n, int c, long l, long x, long y)
    {
        if (n < 1 || c < 1 || l < 1 || x < n * c * l || y < n * c * l)
            throw new ArgumentException(
                $"BatchNorm.{op}: [{n}; {c}; {l}] needs buffers of {n * c * l} elements, got {x} and {y}.");
    }

    private static void CheckChannels<T>(string op, int c, params T[]?[] perChannel)
    {
        foreach (var a in perChannel)
            if (a != null && a.Length < c)
                throw new ArgumentException($"BatchNorm.{op}: {c} channels need per-channel buffers of {c}, got {a.Length}.");
    }

    /// <summary>
    /// y = (x - mean) / sqrt(var + eps) * weight + bias per channel, with the channel's batch mean and biased variance,
    /// which are written to <paramref name="mean"/> and <paramref name="variance"/> ([C] each). weight and bias may be
    /// null (then 1 and 0).
    /// </summary>
    /// <exception cref="ArgumentException">A size is below 1 or a buffer is shorter than [N, C, L].</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward<T>(T[] x, int n, int c, int l, T[]? weight, T[]? bias, double eps, T[] y, T[] mean, T[] variance)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(nameof(Forward), n, c, l, x.Length, y.Length);
        CheckChannels(nameof(Forward), c, weight, bias, mean, variance);
        ForChannels(n, c, l, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (ch) =>
        {
            var tmp = new T[l];
            T count = T.CreateTruncating((long)n * l);
            T sum = T.Zero;
            for (int i = 0; i < n; i++)
                sum += TensorPrimitives.Sum(new ReadOnlySpan<T>(x, Offset(i, ch, c, l), l));
            T mu = sum / count;
            // The variance from centred squares (a second pass over cached data), not E[x^2] - E[x]^2, which cancels
            // in float32 when the mean is large against the spread.
            T squares = T.Zero;
            for (int i = 0; i < n; i++)
            {
                TensorPrimitives.Subtract(new ReadOnlySpan<T>(x, Offset(i, ch, c, l), l), mu, tmp);
                squares += TensorPrimitives.SumOfSquares<T>(tmp);
            }
            T var = squares / count;
            T scale = T.One / T.Sqrt(var + T.CreateTruncating(eps));
            if (weight != null) scale *= weight[ch];
            T shift = bias != null ? bias[ch] : T.Zero;
            mean[ch] = mu;
            variance[ch] = var;
            for (int i = 0; i < n; i++)
            {
                int o = Offset(i, ch, c, l);
                var yr = new Span<T>(y, o, l);
                TensorPrimitives.Subtract(new ReadOnlySpan<T>(x, o, l), mu, yr);
                TensorPrimitives.Multiply<T>(yr, scale, yr);
                if (bias != null) TensorPrimitives.Add<T>(yr, shift, yr);
            }
        });
    }

    /// <summary>
    /// The gradients of <see cref="Forward{T}"/> from the output gradient <paramref name="dy"/>, the input and the
    /// saved batch mean and biased variance: with xhat = (x - mean) rstd and M = N L values per channel,
    /// dx = weight rstd (dy - sum(dy) / M - xhat sum(dy xhat) / M) (the batch statistics' own dependence on x
    /// included), dweight = sum(dy xhat), dbias = sum(dy), per channel.
    /// </summary>
    /// <exception cref="ArgumentException">A size is below 1 or a buffer is shorter than [N, C, L].</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward<T>(T[] dy, T[] x, T[] mean, T[] variance, int n, int c, int l, T[]? weight, double eps,
        T[] dx, T[] dweight, T[] dbias)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(nameof(Backward), n, c, l, x.Length, dy.Length);
        Check(nameof(Backward), n, c, l, dx.Length, dx.Length);
        CheckChannels(nameof(Backward), c, weight, mean, variance, dweight, dbias);
        ForChannels(n, c, l, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (ch) =>
        {
            var tmp = new T[l];
            T count = T.CreateTruncating((long)n * l);
            T mu = mean[ch];
            T rstd = T.One / T.Sqrt(variance[ch] + T.CreateTruncating(eps));
            T sumDy = T.Zero, sumDyXc = T.Zero;
            for (int i = 0; i < n; i++)
            {
                int o = Offset(i, ch, c, l);
                var g = new ReadOnlySpan<T>(dy, o, l);
                TensorPrimitives.Subtract(new ReadOnlySpan<T>(x, o, l), mu, tmp);
                sumDy += TensorPrimitives.Sum(g);
                sumDyXc += TensorPrimitives.Dot<T>(g, tmp);
            }
            dbias[ch] = sumDy;
            dweight[ch] = sumDyXc * rstd;
            // dx = k1 dy + k2 (x - mean) + k3 with k1 = w rstd, k2 = -w rstd^3 sum(dy (x - mean)) / M, k3 = -k1 sum(dy) / M.
            T k1 = weight != null ? weight[ch] * rstd : rstd;
            T k2 = -k1 * rstd * rstd * sumDyXc / count;
            T k3 = -k1 * sumDy / count;
            for (int i = 0; i < n; i++)
            {
                int o = Offset(i, ch, c, l);
                var d = new Span<T>(dx, o, l);
                TensorPrimitives.Subtract(new ReadOnlySpan<T>(x, o, l), mu, tmp);
                TensorPrimitives.Multiply<T>(tmp, k2, tmp);
                TensorPrimitives.Add<T>(tmp, k3, tmp);
                TensorPrimitives.FusedMultiplyAdd<T>(new ReadOnlySpan<T>(dy, o, l), k1, tmp, d);
            }
        });
    }

    /// <summary>body(channel) for every channel, on the kernel threads when the tensor is large enough to pay for them;
    /// a channel's result never depends on the thread that computes it.</summary>
    private static void ForChannels(int n, int c, int l, Action<int> body)
    {
        if ((long)n * c * l < KernelParallel.MinParallelWork)
            for (int ch = 0; ch < c; ch++)
                body(ch);
        else
            KernelParallel.ForParts(c, body);
    }

    private static int Offset(int i, int ch, int c, int l) => checked((i * c + ch) * l);
}
