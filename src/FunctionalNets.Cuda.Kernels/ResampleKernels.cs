using ILGPU;

namespace FunctionalNets.Cuda.Kernels;

/// <summary>
/// Adaptive average pooling and nearest/bilinear resizing of [H, W] planes with PyTorch's index formulas (the
/// same as the CPU kernels). Meta g = [H, W, OH, OW, mode (0 adaptive, 1 nearest, 2 bilinear), alignCorners].
/// Forward: one thread per output; backward: one thread per output gradient, added atomically.
/// </summary>
public static class ResampleKernels
{
    private static int AdaptiveStart(int i, int n, int outLen) => (int)((long)i * n / outLen);
    private static int AdaptiveEnd(int i, int n, int outLen) => (int)(((long)(i + 1) * n + outLen - 1) / outLen);

    private static int Nearest(int dst, int inLen, int outLen)
    {
        if (outLen == inLen) return dst;
        if (outLen == 2 * inLen) return dst >> 1;
        float scale = (float)inLen / outLen;
        float s = dst * scale;
        int f = (int)Math.Floor(s);
        return f < inLen - 1 ? f : inLen - 1;
    }

    private static void Taps(int dst, int inLen, int outLen, int align, out int i0, out int i1, out double l0, out double l1)
    {
        double src;
        if (align != 0) src = outLen > 1 ? (double)(inLen - 1) / (outLen - 1) * dst : 0.0;
        else
        {
            src = (double)inLen / outLen * (dst + 0.5) - 0.5;
            if (src < 0.0) src = 0.0;
        }
        i0 = (int)src;
        if (i0 > inLen - 1) i0 = inLen - 1;
        i1 = i0 < inLen - 1 ? i0 + 1 : i0;
        l1 = src - i0;
        if (l1 > 1.0) l1 = 1.0;
        l0 = 1.0 - l1;
    }

    public static void Resample<T, O>(Index1D i, ArrayView<T> x, ArrayView<T> y, ArrayView<int> g)
        where T : unmanaged where O : struct, INumOps<T>
    {
        int H = g[0], W = g[1], OH = g[2], OW = g[3], mode = g[4];
        int p = i / (OH * OW), r = i % (OH * OW);
        int oh = r / OW, ow = r % OW;
        int b = p * H * W;
        O o = default;
        if (mode == 0)
        {
            int h0 = AdaptiveStart(oh, H, OH), h1 = AdaptiveEnd(oh, H, OH);
            int w0 = AdaptiveStart(ow, W, OW), w1 = AdaptiveEnd(ow, W, OW);
            T s = o.FromDouble(0.0);
            for (int h = h0; h < h1; h++)
                for (int w = w0; w < w1; w++)
                    s = o.Add(s, x[b + h * W + w]);
            y[i] = o.Binary(3, s, o.FromDouble((h1 - h0) * (w1 - w0)));
        }
        else if (mode == 1)
            y[i] = x[b + Nearest(oh, H, OH) * W + Nearest(ow, W, OW)];
        else
        {
            Taps(oh, H, OH, g[5], out int r0, out int r1, out double a0d, out double a1d);
            Taps(ow, W, OW, g[5], out int c0, out int c1, out double b0d, out double b1d);
            T a0 = o.FromDouble(a0d), a1 = o.FromDouble(a1d), b0 = o.FromDouble(b0d), b1 = o.FromDouble(b1d);
            T top = o.Add(o.Mul(b0, x[b + r0 * W + c0]), o.Mul(b1, x[b + r0 * W + c1]));
            T bottom = o.Add(o.Mul(b0, x[b + r1 * W + c0]), o.Mul(b1, x[b + r1 * W + c1]));
            y[i] = o.Add(o.Mul(a0, top), o.Mul(a1, bottom));
        }
    }

    public static void ResampleBackward<T, O>(Index1D i, ArrayView<T> dy, ArrayView<T> dx, ArrayView<int> g)
        where T : unmanaged where O : struct, INumOps<T>
    {
        int H = g[0], W = g[1], OH = g[2], OW = g[3], mode = g[4];
        int p = i / (OH * OW), r = i % (OH * OW);
        int oh = r / OW, ow = r % OW;
        int b = p * H * W;
        O o = default;
        T go = dy[i];
        if (mode == 0)
        {
            int h0 = AdaptiveStart(oh, H, OH), h1 = AdaptiveEnd(oh, H, OH);
            int w0 = AdaptiveStart(ow, W, OW), w1 = AdaptiveEnd(ow, W, OW);
            T share = o.Binary(3, go, o.FromDouble((h1 - h0) * (w1 - w0)));
            for (int h = h0; h < h1; h++)
                for (int w = w0; w < w1; w++)
                    o.AtomicAdd(ref dx[b + h * W + w], share);
        }
        else if (mode == 1)
            o.AtomicAdd(ref dx[b + Nearest(oh, H, OH) * W + Nearest(ow, W, OW)], go);
        else
        {
            Taps(oh, H, OH, g[5], out int r0, out int r1, out double a0d, out double a1d);
            Taps(ow, W, OW, g[5], out int c0, out int c1, out double b0d, out double b1d);
            T a0 = o.FromDouble(a0d), a1 = o.FromDouble(a1d), b0 = o.FromDouble(b0d), b1 = o.FromDouble(b1d);
            o.AtomicAdd(ref dx[b + r0 * W + c0], o.Mul(o.Mul(a0, b0), go));
            o.AtomicAdd(ref dx[b + r0 * W + c1], o.Mul(o.Mul(a0, b1), go));
            o.AtomicAdd(ref dx[b + r1 * W + c0], o.Mul(o.Mul(a1, b0), go));
            o.AtomicAdd(ref dx[b + r1 * W + c1], o.Mul(o.Mul(a1, b1), go));
        }
    }
}
