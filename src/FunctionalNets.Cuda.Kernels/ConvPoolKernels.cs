using ILGPU;

namespace FunctionalNets.Cuda.Kernels;

/// <summary>
/// Convolution lowering (im2col / col2im) and 2-D pooling over planes of [H, W]. Geometry travels in an int meta
/// view g = [C, H, W, KH, KW, OH, OW, strideH, strideW, padH, padW, dilH, dilW] (C unused by pooling).
/// </summary>
public static class ConvPoolKernels
{
    /// <summary>cols[n, (c, kh, kw), (oh, ow)] = x[n, c, oh sh - ph + kh dh, ow sw - pw + kw dw] or 0 (one thread per element).</summary>
    public static void Im2col<T>(Index1D i, ArrayView<T> x, ArrayView<T> cols, ArrayView<int> g) where T : unmanaged
    {
        int C = g[0], H = g[1], W = g[2], KH = g[3], KW = g[4], OH = g[5], OW = g[6];
        int L = OH * OW, CK = C * KH * KW;
        int n = i / (CK * L), r = i % (CK * L);
        int row = r / L, col = r % L;
        int c = row / (KH * KW), kk = row % (KH * KW);
        int kh = kk / KW, kw = kk % KW;
        int oh = col / OW, ow = col % OW;
        int h = oh * g[7] - g[9] + kh * g[11];
        int w = ow * g[8] - g[10] + kw * g[12];
        cols[i] = h >= 0 && h < H && w >= 0 && w < W ? x[((n * C + c) * H + h) * W + w] : default;
    }

    /// <summary>The adjoint of Im2col, gathering (deterministic): dx[n, c, h, w] = sum of the cols entries that read it.</summary>
    public static void Col2im<T, O>(Index1D i, ArrayView<T> cols, ArrayView<T> dx, ArrayView<int> g)
        where T : unmanaged where O : struct, INumOps<T>
    {
        int C = g[0], H = g[1], W = g[2], KH = g[3], KW = g[4], OH = g[5], OW = g[6];
        int sh = g[7], sw = g[8], ph = g[9], pw = g[10], dh = g[11], dw = g[12];
        int L = OH * OW, CK = C * KH * KW;
        int w = i % W, h = (i / W) % H, c = (i / (H * W)) % C, n = i / (C * H * W);
        T acc = default(O).FromDouble(0.0);
        for (int kh = 0; kh < KH; kh++)
        {
            int th = h + ph - kh * dh;
            if (th < 0 || th % sh != 0) continue;
            int oh = th / sh;
            if (oh >= OH) continue;
            for (int kw = 0; kw < KW; kw++)
            {
                int tw = w + pw - kw * dw;
                if (tw < 0 || tw % sw != 0) continue;
                int ow = tw / sw;
                if (ow >= OW) continue;
                acc = default(O).Add(acc, cols[n * CK * L + ((c * KH + kh) * KW + kw) * L + oh * OW + ow]);
            }
        }
        dx[i] = acc;
    }

    /// <summary>Max pooling: one thread per output; the first maximum wins, a NaN beats any number.</summary>
    public static void MaxPool<T, O>(Index1D i, ArrayView<T> x, ArrayView<T> y, ArrayView<long> idx, ArrayView<int> g)
        where T : unmanaged where O : struct, INumOps<T>
    {
        int H = g[1], W = g[2], KH = g[3], KW = g[4], OH = g[5], OW = g[6];
        int p = i / (OH * OW), r = i % (OH * OW);
        int oh = r / OW, ow = r % OW;
        int h0 = oh * g[7] - g[9], w0 = ow * g[8] - g[10];
        int best = -1;
        T m = default;
        for (int a = 0; a < KH; a++)
        {
            int h = h0 + a * g[11];
            if (h < 0 || h >= H) continue;
            for (int b = 0; b < KW; b++)
            {
                int w = w0 + b * g[12];
                if (w < 0 || w >= W) continue;
                T v = x[p * H * W + h * W + w];
                if (best < 0 || default(O).Greater(v, m) || (default(O).IsNaN(v) && !default(O).IsNaN(m)))
                {
                    m = v;
                    best = h * W + w;
                }
            }
        }
        y[i] = m;
        idx[i] = best;
    }

    /// <summary>The adjoint of MaxPool: dy added at the input position each output took (atomically: windows overlap).</summary>
    public static void MaxPoolBackward<T, O>(Index1D i, ArrayView<T> dy, ArrayView<long> idx, ArrayView<T> dx, int outPlane, int inPlane)
        where T : unmanaged where O : struct, INumOps<T>
    {
        int p = i / outPlane;
        long at = idx[i];
        if (at >= 0 && at < inPlane) default(O).AtomicAdd(ref dx[p * inPlane + (int)at], dy[i]);
    }

    private static void AvgWindow(ArrayView<int> g, int oh, int ow, int countIncludePad, out int h0, out int h1, out int w0, out int w1, out int d)
    {
        int H = g[1], W = g[2];
        h0 = oh * g[7] - g[9];
        w0 = ow * g[8] - g[10];
        h1 = Math.Min(h0 + g[3], H + g[9]);
        w1 = Math.Min(w0 + g[4], W + g[10]);
        int padded = (h1 - h0) * (w1 - w0);
        h0 = Math.Max(h0, 0);
        w0 = Math.Max(w0, 0);
        h1 = Math.Min(h1, H);
        w1 = Math.Min(w1, W);
        d = countIncludePad != 0 ? padded : (h1 - h0) * (w1 - w0);
        if (d < 1) d = 1;
    }

    /// <summary>Average pooling with PyTorch's window clipping and divisor.</summary>
    public static void AvgPool<T, O>(Index1D i, ArrayView<T> x, ArrayView<T> y, ArrayView<int> g, int countIncludePad)
        where T : unmanaged where O : struct, INumOps<T>
    {
        int H = g[1], W = g[2], OH = g[5], OW = g[6];
        int p = i / (OH * OW), r = i % (OH * OW);
        AvgWindow(g, r / OW, r % OW, countIncludePad, out int h0, out int h1, out int w0, out int w1, out int d);
        T s = default(O).FromDouble(0.0);
        for (int h = h0; h < h1; h++)
            for (int w = w0; w < w1; w++)
                s = default(O).Add(s, x[p * H * W + h * W + w]);
        y[i] = default(O).Binary(3, s, default(O).FromDouble(d));
    }

    /// <summary>The adjoint of AvgPool: each output gradient spread by its divisor over its window (atomically).</summary>
    public static void AvgPoolBackward<T, O>(Index1D i, ArrayView<T> dy, ArrayView<T> dx, ArrayView<int> g, int countIncludePad)
        where T : unmanaged where O : struct, INumOps<T>
    {
        int H = g[1], W = g[2], OH = g[5], OW = g[6];
        int p = i / (OH * OW), r = i % (OH * OW);
        AvgWindow(g, r / OW, r % OW, countIncludePad, out int h0, out int h1, out int w0, out int w1, out int d);
        T share = default(O).Binary(3, dy[i], default(O).FromDouble(d));
        for (int h = h0; h < h1; h++)
            for (int w = w0; w < w1; w++)
                default(O).AtomicAdd(ref dx[p * H * W + h * W + w], share);
    }
}
