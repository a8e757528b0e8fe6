using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FunctionalNets.Kernels;

/// <summary>
/// The tanh GELU (GPT-2's, PyTorch's gelu(approximate="tanh")) and its derivative, each in one sweep over the data.
/// It uses 0.5 x (1 + tanh u) = x sigmoid(2u) with u = sqrt(2/pi) (x + 0.044715 x^3): the composite form costs
/// six passes and five temporaries, this one reads x (and the gradient) once and writes once. Blocks of
/// <see cref="Block"/> elements stay in L1 between the polynomial, the vectorised sigmoid and the combination.
/// </summary>
public static class Gelu
{
    private const int Block = 512;
    private const double Coefficient = 0.044715;
    // 2 sqrt(2 / pi): the sigmoid form doubles tanh's argument.
    private static readonly double TwoC = 2.0 * Math.Sqrt(2.0 / Math.PI);

    private static void Check(string op, int x, int other, int y)
    {
        if (x != other || x != y)
            throw new ArgumentException($"Gelu.{op}: the spans must have one length, got {x}, {other} and {y} elements.");
    }

    /// <summary>y = x sigmoid(2 sqrt(2/pi) (x + 0.044715 x^3)), the tanh GELU. x and y may be the same buffer.</summary>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    public static unsafe void TanhForward<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(nameof(TanhForward), x.Length, x.Length, y.Length);
        fixed (T* px = x, py = y)
        {
            T* cx = px, cy = py;
            KernelParallel.For(KernelParallel.ChunkCount(x.Length * 8L), x.Length, (s, e) =>
                ForwardRange(new ReadOnlySpan<T>(cx + s, (int)(e - s)), new Span<T>(cy + s, (int)(e - s))));
        }
    }

    /// <summary>
    /// dx = dy * gelu'(x) for the tanh GELU, with gelu'(x) = s + x s (1 - s) z' where z = 2 sqrt(2/pi) (x + 0.044715 x^3),
    /// s = sigmoid(z) and z' = 2 sqrt(2/pi) (1 + 3 * 0.044715 x^2). dx may alias dy.
    /// </summary>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    public static unsafe void TanhBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, Span<T> dx)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(nameof(TanhBackward), x.Length, dy.Length, dx.Length);
        fixed (T* px = x, pg = dy, pd = dx)
        {
            T* cx = px, cg = pg, cd = pd;
            KernelParallel.For(KernelParallel.ChunkCount(x.Length * 8L), x.Length, (s, e) =>
            {
                int n = (int)(e - s);
                BackwardRange(new ReadOnlySpan<T>(cx + s, n), new ReadOnlySpan<T>(cg + s, n), new Span<T>(cd + s, n));
            });
        }
    }

    /// <summary>z = 2 sqrt(2/pi) x (1 + 0.044715 x^2) into z.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Argument<T>(ReadOnlySpan<T> x, Span<T> z) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T a = T.CreateTruncating(Coefficient), c = T.CreateTruncating(TwoC);
        int i = 0;
        if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            var va = Vector256.Create(a);
            var vc = Vector256.Create(c);
            for (; i <= x.Length - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                var v = Vector256.Create(x.Slice(i, Vector256<T>.Count));
                (vc * v * (Vector256<T>.One + va * v * v)).CopyTo(z.Slice(i));
            }
        }
        for (; i < x.Length; i++)
        {
            T v = x[i];
            z[i] = c * v * (T.One + a * v * v);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardRange<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Span<T> s = stackalloc T[Block];
        for (int i = 0; i < x.Length; i += Block)
        {
            int n = Math.Min(Block, x.Length - i);
            var xs = x.Slice(i, n);
            var ss = s[..n];
            Argument(xs, ss);
            TensorPrimitives.Sigmoid<T>(ss, ss);
            TensorPrimitives.Multiply<T>(xs, ss, y.Slice(i, n));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BackwardRange<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, Span<T> dx)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T a3 = T.CreateTruncating(3.0 * Coefficient), c = T.CreateTruncating(TwoC);
        Span<T> s = stackalloc T[Block];
        for (int i = 0; i < x.Length; i += Block)
        {
            int n = Math.Min(Block, x.Length - i);
            var xs = x.Slice(i, n);
            var gs = dy.Slice(i, n);
            var ds = dx.Slice(i, n);
            var ss = s[..n];
            Argument(xs, ss);
            TensorPrimitives.Sigmoid<T>(ss, ss);
            int j = 0;
            if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
            {
                var va = Vector256.Create(a3);
                var vc = Vector256.Create(c);
                for (; j <= n - Vector256<T>.Count; j += Vector256<T>.Count)
                {
                    var v = Vector256.Create(xs.Slice(j, Vector256<T>.Count));
                    var sg = Vector256.Create(ss.Slice(j, Vector256<T>.Count));
                    var g = Vector256.Create(gs.Slice(j, Vector256<T>.Count));
                    var dz = vc * (Vector256<T>.One + va * v * v);
                    (g * (sg + v * sg * (Vector256<T>.One - sg) * dz)).CopyTo(ds.Slice(j));
                }
            }
            for (; j < n; j++)
            {
                T v = xs[j], sg = ss[j];
                T dz = c * (T.One + a3 * v * v);
                ds[j] = gs[j] * (sg + v * sg * (T.One - sg) * dz);
            }
        }
    }
}
