using FunctionalNets;
using Xunit;

namespace FunctionalNets.Tests;

public class TransformerLayerTests
{
    [Fact]
    public void Gpt_gives_logits_per_position_ties_weights_and_never_looks_ahead()
    {
        var net = Net.Sequential(Layers.Gpt(vocabSize: 13, contextLength: 8, dim: 16, heads: 2, layers: 2)).Build(8);
        Assert.Contains("0.token_embedding.weight", net.ParameterNames);
        Assert.DoesNotContain(net.ParameterNames, n => n.Contains("lm_head"));

        long[] ids = { 1, 5, 2, 12, 0, 3, 7, 4 };
        var logits = net.Predict(Tensor.OfArray(ids, [1, 8]));
        Assert.Equal(new[] { 1, 8, 13 }, logits.Dims());

        // Changing the last token must leave the logits of the first seven positions exactly as they were.
        var changed = (long[])ids.Clone();
        changed[7] = 9;
        var before = logits.ToSingleArray();
        var after = net.Predict(Tensor.OfArray(changed, [1, 8])).ToSingleArray();
        Assert.Equal(before[..(7 * 13)], after[..(7 * 13)]);
        Assert.NotEqual(before[(7 * 13)..], after[(7 * 13)..]);
    }

    [Fact]
    public void Bad_token_ids_and_long_sequences_name_the_layer_and_the_sizes()
    {
        var embed = Net.Sequential(Layers.Embedding(10, 4)).Build(3);
        var ex = Assert.ThrowsAny<ArgumentException>(() => embed.Predict(Tensor.OfArray(new long[] { 1, 10, 2 }, [1, 3])));
        Assert.Contains("Embedding(10, 4)", ex.Message);
        Assert.Contains("id 10", ex.Message);

        var encoder = Net.Sequential(
            Layers.PositionalEncoding(maxLen: 6, dim: 8),
            Layers.TransformerEncoderLayer(8, 2, feedForward: 16, dropout: 0.0, normFirst: true)).Build(6, 8);
        Assert.Equal(new[] { 2, 6, 8 }, encoder.Predict(Tensor.Randn(Key.Create(1), [2, 6, 8])).Dims());
        var tooLong = Assert.ThrowsAny<ArgumentException>(() => encoder.Predict(Tensor.Randn(Key.Create(1), [2, 7, 8])));
        Assert.Contains("length 7", tooLong.Message);
        Assert.Contains("6 positions", tooLong.Message);

        Assert.Equal("heads", Assert.Throws<ArgumentOutOfRangeException>(() => Layers.MultiHeadAttention(10, 3)).ParamName);
    }

    [Fact]
    public void LayerNorm_gives_each_position_mean_zero_and_variance_one()
    {
        var net = Net.Sequential(Layers.LayerNorm(5), Layers.RMSNorm(5)).Build(3, 5);
        var x = Tensor.Randn(Key.Create(3), [2, 3, 5]);
        var ln = Net.Sequential(Layers.LayerNorm(5)).Build(3, 5).Predict(x).ToDoubleArray();
        for (int row = 0; row < 6; row++)
        {
            var r = ln[(row * 5)..(row * 5 + 5)];
            double mean = r.Average(), variance = r.Select(v => (v - mean) * (v - mean)).Average();
            Assert.InRange(mean, -1e-5, 1e-5);
            // Biased variance of the normalized values is var / (var + eps), just under 1.
            Assert.InRange(variance, 0.999, 1.0 + 1e-5);
        }

        Assert.Equal(new[] { 2, 3, 5 }, net.Predict(x).Dims());
        Assert.Equal(new[] { "0.weight", "0.bias", "1.weight" }, net.ParameterNames);
    }
}
