using FunctionalNets;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>Layers from C# against their definitions written out with loops.</summary>
public class LayerValueTests
{
    private static void Close(double expected, double actual, string what) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-5 * (1 + Math.Abs(expected)), $"{what}: expected {expected}, got {actual}");

    private static float[] Input(int count) => Enumerable.Range(0, count).Select(i => (float)Math.Sin(0.37 * i + 0.1)).ToArray();

    [Fact]
    public void ConvTranspose2d_scatters_each_input_pixel_through_the_kernel()
    {
        // torch's ConvTranspose2d: out[n, o, i*s + ky - p, j*s + kx - p] += in[n, c, i, j] * W[c, o, ky, kx], plus bias[o].
        const int N = 1, C = 2, O = 3, H = 3, W = 3, K = 3, S = 2, P = 1;
        var net = Net.Sequential(Layers.ConvTranspose2d(C, O, K, stride: S, padding: P)).Build([C, H, W], seed: 5);
        double[] w = net.Parameters["0.weight"].ToDoubleArray(), b = net.Parameters["0.bias"].ToDoubleArray();
        Assert.Equal(new[] { C, O, K, K }, net.Parameters["0.weight"].Dims());
        var x = Input(N * C * H * W);
        int oh = (H - 1) * S - 2 * P + K, ow = (W - 1) * S - 2 * P + K;
        var expected = new double[N * O * oh * ow];
        for (int o = 0; o < O; o++)
            for (int y = 0; y < oh; y++)
                for (int xx = 0; xx < ow; xx++)
                    expected[(o * oh + y) * ow + xx] = b[o];
        for (int c = 0; c < C; c++)
            for (int i = 0; i < H; i++)
                for (int j = 0; j < W; j++)
                    for (int o = 0; o < O; o++)
                        for (int ky = 0; ky < K; ky++)
                            for (int kx = 0; kx < K; kx++)
                            {
                                int y = i * S + ky - P, xx = j * S + kx - P;
                                if (y < 0 || y >= oh || xx < 0 || xx >= ow) continue;
                                expected[(o * oh + y) * ow + xx] += x[(c * H + i) * W + j] * w[((c * O + o) * K + ky) * K + kx];
                            }

        var output = net.Predict(Tensor.OfArray(x, [N, C, H, W]));
        Assert.Equal(new[] { N, O, oh, ow }, output.Dims());
        var got = output.ToDoubleArray();
        for (int i = 0; i < expected.Length; i++) Close(expected[i], got[i], $"element {i}");
    }

    [Fact]
    public void GroupNorm_normalises_each_group_of_channels_over_its_pixels()
    {
        // Fresh affine parameters are weight 1, bias 0, so each value becomes (x - mean) / sqrt(var + 1e-5) with the
        // mean and biased variance of its (example, group), computed here from the input.
        const int N = 2, C = 4, G = 2, H = 3, W = 2;
        var net = Net.Sequential(Layers.GroupNorm(G, C)).Build([C, H, W], seed: 1);
        var x = Input(N * C * H * W);
        var got = net.Predict(Tensor.OfArray(x, [N, C, H, W])).ToDoubleArray();
        int per = C / G * H * W;
        for (int n = 0; n < N; n++)
            for (int g = 0; g < G; g++)
            {
                int start = (n * G + g) * per;
                var group = x.Skip(start).Take(per).Select(v => (double)v).ToArray();
                double mean = group.Average(), variance = group.Select(v => (v - mean) * (v - mean)).Average();
                for (int k = 0; k < per; k++)
                    Close((group[k] - mean) / Math.Sqrt(variance + 1e-5), got[start + k], $"example {n}, group {g}, element {k}");
            }
    }
}
