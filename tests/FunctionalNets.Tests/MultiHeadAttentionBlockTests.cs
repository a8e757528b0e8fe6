using FunctionalNets;
using Xunit;

namespace FunctionalNets.Tests;

public class MultiHeadAttentionBlockTests
{
    // Row-major [rows, cols] matrix times the transpose of a row-major [outRows, cols] weight, plus a bias slice.
    private static double[,] Project(double[] x, int rows, int cols, double[] w, int outRows, double[] bias, int biasOffset)
    {
        var y = new double[rows, outRows];
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < outRows; o++)
            {
                double s = bias[biasOffset + o];
                for (int c = 0; c < cols; c++) s += x[r * cols + c] * w[o * cols + c];
                y[r, o] = s;
            }
        return y;
    }

    [Fact]
    public void Weights_and_output_with_separate_key_and_value_sizes_match_torchs_definition_computed_by_hand()
    {
        const int dim = 4, heads = 2, kdim = 3, vdim = 5, L = 2, S = 3, hd = dim / heads;
        var block = new MultiHeadAttentionBlock(dim, heads, kdim: kdim, vdim: vdim, seed: 1);
        var p = block.Parameters;
        Assert.Equal(new[] { dim, dim }, p["q_proj_weight"].Dims());
        Assert.Equal(new[] { dim, kdim }, p["k_proj_weight"].Dims());
        Assert.Equal(new[] { dim, vdim }, p["v_proj_weight"].Dims());
        Assert.Equal(new[] { 3 * dim }, p["in_proj_bias"].Dims());
        Assert.Equal(new[] { dim, dim }, p["out_proj.weight"].Dims());

        double[] xq = Enumerable.Range(0, L * dim).Select(i => Math.Sin(0.7 * i)).ToArray();
        double[] xk = Enumerable.Range(0, S * kdim).Select(i => Math.Cos(0.3 * i + 0.2)).ToArray();
        double[] xv = Enumerable.Range(0, S * vdim).Select(i => 0.1 * i - 0.6).ToArray();
        var query = Tensor.OfArray(xq.Select(v => (float)v).ToArray(), [1, L, dim]);
        var key = Tensor.OfArray(xk.Select(v => (float)v).ToArray(), [1, S, kdim]);
        var value = Tensor.OfArray(xv.Select(v => (float)v).ToArray(), [1, S, vdim]);

        // torch: q = query Wq^T + b[0:d], k = key Wk^T + b[d:2d], v = value Wv^T + b[2d:3d]; per head h the weights
        // are softmax(q_h k_h^T / sqrt(hd)); the output is concat_h(weights_h v_h) Wo^T + bo.
        double[] bias = p["in_proj_bias"].ToDoubleArray();
        var q = Project(xq, L, dim, p["q_proj_weight"].ToDoubleArray(), dim, bias, 0);
        var k = Project(xk, S, kdim, p["k_proj_weight"].ToDoubleArray(), dim, bias, dim);
        var v = Project(xv, S, vdim, p["v_proj_weight"].ToDoubleArray(), dim, bias, 2 * dim);
        var weights = new double[heads, L, S];
        var merged = new double[L * dim];
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < L; i++)
            {
                var scores = new double[S];
                for (int j = 0; j < S; j++)
                {
                    for (int c = 0; c < hd; c++) scores[j] += q[i, h * hd + c] * k[j, h * hd + c];
                    scores[j] /= Math.Sqrt(hd);
                }
                double max = scores.Max(), sum = scores.Sum(s => Math.Exp(s - max));
                for (int j = 0; j < S; j++) weights[h, i, j] = Math.Exp(scores[j] - max) / sum;
                for (int c = 0; c < hd; c++)
                    for (int j = 0; j < S; j++) merged[i * dim + h * hd + c] += weights[h, i, j] * v[j, h * hd + c];
            }
        var expectedOutput = Project(merged, L, dim, p["out_proj.weight"].ToDoubleArray(), dim, p["out_proj.bias"].ToDoubleArray(), 0);

        var (output, averagedOrNull) = block.Forward(query, key, value);
        var averaged = Assert.IsType<Tensor>(averagedOrNull, exactMatch: false);
        Assert.Equal(new[] { 1, L, dim }, output.Dims());
        Assert.Equal(new[] { 1, L, S }, averaged.Dims());
        double[] got = averaged.ToDoubleArray(), outGot = output.ToDoubleArray();
        for (int i = 0; i < L; i++)
        {
            for (int j = 0; j < S; j++)
                Assert.Equal((weights[0, i, j] + weights[1, i, j]) / 2, got[i * S + j], 5);
            for (int o = 0; o < dim; o++)
                Assert.Equal(expectedOutput[i, o], outGot[i * dim + o], 5);
        }

        var (_, perHeadOrNull) = block.Forward(query, key, value, averageAttentionWeights: false);
        var perHead = Assert.IsType<Tensor>(perHeadOrNull, exactMatch: false);
        Assert.Equal(new[] { 1, heads, L, S }, perHead.Dims());
        double[] ph = perHead.ToDoubleArray();
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < L; i++)
                for (int j = 0; j < S; j++)
                    Assert.Equal(weights[h, i, j], ph[(h * L + i) * S + j], 5);

        var (_, none) = block.Forward(query, key, value, needWeights: false);
        Assert.Null(none);
    }

    [Fact]
    public void A_key_of_the_wrong_width_is_refused_naming_the_expected_shape()
    {
        var block = new MultiHeadAttentionBlock(4, 2, kdim: 3);
        var e = Assert.ThrowsAny<ArgumentException>(() =>
            block.Forward(Tensor.Zeros([1, 2, 4]), Tensor.Zeros([1, 3, 4]), Tensor.Zeros([1, 3, 4])));
        Assert.Contains("key", e.Message);
        Assert.Contains("3]", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new MultiHeadAttentionBlock(4, 3));
    }
}
