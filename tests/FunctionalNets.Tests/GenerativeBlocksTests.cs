using FunctionalNets;
using GenerativeSamples;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>The C# Ema, UNet, Vae and SampleQuality: values by hand, shapes, and the sample check on real digits.</summary>
public class GenerativeBlocksTests
{
    // A Linear(2 -> 1) net's tree, weight [1, 2] and bias [1], holding the given three values.
    private static ParameterTree Tree(Net net, double w0, double w1, double b) =>
        net.Parameters.Map(t => t.Numel == 2 ? Tensor.OfArray(new[] { (float)w0, (float)w1 }, [1, 2]) : Tensor.OfArray(new[] { (float)b }, [1]));

    [Fact]
    public void Ema_after_two_updates_is_the_hand_computed_average()
    {
        using var net = Net.Sequential(Layers.Linear(2, 1)).Build(2);
        var average = Tree(net, 1, 2, -1);
        average = Ema.Update(average, Tree(net, 3, 4, 1), decay: 0.9);
        average = Ema.Update(average, Tree(net, 5, 8, 0), decay: 0.9);
        // a1 = 0.9 a0 + 0.1 p1 = (1.2, 2.2, -0.8); a2 = 0.9 a1 + 0.1 p2 = (1.58, 2.78, -0.72).
        var w = average["0.weight"].ToDoubleArray();
        Assert.Equal(1.58, w[0], 5);
        Assert.Equal(2.78, w[1], 5);
        Assert.Equal(-0.72, average["0.bias"].ToScalar(), 5);
    }

    [Fact]
    public void Ema_refuses_a_bad_decay_and_trees_of_other_paths()
    {
        using var net = Net.Sequential(Layers.Linear(2, 1)).Build(2);
        using var other = Net.Sequential(Layers.Linear(2, 1), Layers.ReLU(), Layers.Linear(1, 1)).Build(2);
        var decay = Assert.Throws<ArgumentException>(() => Ema.Update(net.Parameters, net.Parameters, decay: 1.5));
        Assert.StartsWith("Ema.Update: decay must be in [0, 1]", decay.Message);
        var paths = Assert.Throws<ArgumentException>(() => Ema.Update(net.Parameters, other.Parameters));
        Assert.Contains("Ema.Update", paths.Message);
        Assert.Contains("2.weight", paths.Message);
    }

    [Fact]
    public void The_UNet_predicts_noise_of_the_input_shape_that_depends_on_the_timestep()
    {
        var unet = new UNet(channels: 8, groups: 4, heads: 2);
        var p = unet.Init(seed: 1);
        Assert.Equal(p.Values.Sum(t => (long)t.Numel), unet.ParameterCount);
        Assert.Contains("time_mlp_in.weight", p.Keys);
        var x = Tensor.Randn(Key.Create(2), [2, 1, 8, 8]);
        var early = unet.Apply(p, x, Tensor.OfArray(new[] { 3f, 3f }, [2]));
        var late = unet.Apply(p, x, Tensor.OfArray(new[] { 900f, 900f }, [2]));
        Assert.Equal([2, 1, 8, 8], early.Dims());
        Assert.True(early.ToDoubleArray().Zip(late.ToDoubleArray()).Max(v => Math.Abs(v.First - v.Second)) > 1e-4,
            "the output should change with the timestep");
        // The denoiser is Apply with the parameters fixed.
        Assert.Equal(early.ToDoubleArray(), unet.Denoiser(p)(x, Tensor.OfArray(new[] { 3f, 3f }, [2])).ToDoubleArray());
    }

    [Fact]
    public void The_UNet_names_a_bad_width_a_bad_input_and_foreign_parameters()
    {
        var groups = Assert.Throws<ArgumentException>(() => new UNet(channels: 10, groups: 4));
        Assert.Contains("GroupNorm groups", groups.Message);
        var unet = new UNet(channels: 8, groups: 4, heads: 2);
        var p = unet.Init();
        var input = Assert.Throws<ArgumentException>(() => unet.Apply(p, Tensor.Zeros([2, 1, 6, 6]), Tensor.Zeros([2])));
        Assert.StartsWith("UNet.Apply:", input.Message);
        Assert.Contains("[2, 1, 6, 6]", input.Message);
        var foreign = Assert.Throws<ArgumentException>(() => unet.Apply(new UNet(channels: 16).Init(), Tensor.Zeros([2, 1, 8, 8]), Tensor.Zeros([2])));
        Assert.StartsWith("UNet.Apply: parameters", foreign.Message);
    }

    [Fact]
    public void The_VAE_pieces_match_the_closed_forms()
    {
        // KL of N(m, exp lv) to N(0, 1) per example: -1/2 sum(1 + lv - m^2 - exp lv). Example 1: m = (1, 2), lv = 0:
        // 2.5; example 2: m = 0, lv = (ln 2, 0): -1/2 (1 + ln 2 - 2) = 0.1534; the mean over the two: 1.3267.
        var mean = Tensor.OfArray(new[] { 1f, 2f, 0f, 0f }, [2, 2]);
        var logVar = Tensor.OfArray(new[] { 0f, 0f, (float)Math.Log(2), 0f }, [2, 2]);
        Assert.Equal((2.5 + -0.5 * (1 + Math.Log(2) - 2)) / 2, Vae.KlDivergence(mean, logVar).ToScalar(), 5);
        // The sample, standardised, is the key's standard normal draw.
        var z = Vae.Reparameterize(mean, logVar, Key.Create(4)).ToDoubleArray();
        var eps = Tensor.Randn(Key.Create(4), [2, 2]).ToDoubleArray();
        double[] m = [1, 2, 0, 0], sd = [1, 1, Math.Sqrt(2), 1];
        for (int i = 0; i < 4; i++) Assert.Equal(m[i] + sd[i] * eps[i], z[i], 5);
        // A 3 x 3 grid: the corners are the four codes, the centre their average, the top middle the top two's.
        var grid = Vae.InterpolationGrid(Tensor.OfArray(new[] { 0f, 4f, 8f, 12f }, [4, 1]), 3, 3).ToDoubleArray();
        Assert.Equal([0.0, 2, 4, 4, 6, 8, 8, 10, 12], grid.Select(v => Math.Round(v, 5)));
        var bad = Assert.Throws<ArgumentException>(() => Vae.InterpolationGrid(Tensor.Zeros([3, 2]), 3, 3));
        Assert.StartsWith("Vae.InterpolationGrid: corners [3, 2]", bad.Message);
    }

    [Fact]
    public void The_score_counts_confident_rows_and_the_entropy_of_the_predicted_classes()
    {
        // Rows predict 0, 0, 1, 1: two of four above 0.9 (0.9 itself is not above), classes evenly split = 1 bit.
        var score = SampleQuality.FromProbabilities(Tensor.OfArray(new[] { 0.95f, 0.05f, 0.6f, 0.4f, 0.1f, 0.9f, 0.02f, 0.98f }, [4, 2]));
        Assert.Equal(4, score.Count);
        Assert.Equal(0.5, score.ConfidentShare);
        Assert.Equal(1.0, score.ClassEntropyBits, 12);
        Assert.Equal([2, 2], score.ClassCounts);
        // One class only: mode collapse, zero bits.
        Assert.Equal(0.0, SampleQuality.FromProbabilities(Tensor.OfArray(new[] { 0.3f, 0.7f, 0.2f, 0.8f }, [2, 2])).ClassEntropyBits);
        var threshold = Assert.Throws<ArgumentException>(() => SampleQuality.FromProbabilities(Tensor.Zeros([2, 2]), threshold: 1.0));
        Assert.StartsWith("SampleQuality.FromProbabilities: threshold", threshold.Message);
    }

    [Fact]
    public void The_MNIST_check_is_confident_and_varied_on_real_digits_and_collapsed_on_a_constant_image()
    {
        var path = TestData.TempFile("classifier.safetensors");
        try
        {
            // A classifier trained briefly on 2000 digits (about 90% accurate) is enough to tell real digits from a blank.
            using var quality = SampleQuality.ForMnist(Datasets.Mnist.Train().Take(2000), path, epochs: 1);
            Assert.True(quality.Trained);
            Assert.True(File.Exists(path));
            var test = Datasets.Mnist.Test().Take(200);
            var digits = Pixels.ToUnit(test.GetBatch(Enumerable.Range(0, 200).ToArray()).Inputs);
            var real = quality.Score(digits);
            Assert.Equal(200, real.Count);
            Assert.Equal(200, real.ClassCounts.Sum());
            var accuracy = quality.Accuracy(test);
            Assert.True(accuracy > 0.8, $"accuracy {accuracy}");
            // The predicted classes are spread as the true labels are: their entropy, from the labels' counts.
            var labelBits = test.Labels().GroupBy(l => l).Sum(g => -g.Count() / 200.0 * Math.Log2(g.Count() / 200.0));
            Assert.True(Math.Abs(real.ClassEntropyBits - labelBits) < 0.15 && real.ConfidentShare > 0.2, $"{real}; labels {labelBits:0.00} bits");
            // The same image 50 times gets one label: zero bits, whatever the classifier.
            var blank = quality.Score(Tensor.Full([50, 1, 28, 28], 0.5));
            Assert.Equal(0.0, blank.ClassEntropyBits);
            Assert.Equal(50, blank.ClassCounts.Max());

            // The second check reads the file the first wrote and scores alike.
            using var again = SampleQuality.ForMnist(Datasets.Mnist.Train().Take(1), path);
            Assert.False(again.Trained);
            Assert.Equal(real.ClassCounts, again.Score(digits).ClassCounts);
            var shape = Assert.Throws<ArgumentException>(() => again.Score(Tensor.Zeros([2, 28, 28])));
            Assert.StartsWith("SampleQuality.Score:", shape.Message);
            again.Dispose();
            Assert.Throws<ObjectDisposedException>(() => again.Score(digits));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
