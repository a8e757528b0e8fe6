using FunctionalNets;
using GenerativeSamples;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>The C# generative samples (samples/Gan, samples/Vae) train for a few steps on 64 real digits, and
/// their outputs have the right shapes and ranges (the sample check is SampleQuality's: GenerativeBlocksTests).</summary>
public class GenerativeSampleTests
{
    private static Tensor Digits() => Pixels.ToUnit(Datasets.Mnist.Train().Take(64).GetBatch(Enumerable.Range(0, 64).ToArray()).Inputs);

    private static void InRange(Tensor t, double low, double high)
    {
        var xs = t.ToDoubleArray();
        Assert.All(xs, v => Assert.InRange(v, low, high));
    }

    [Fact]
    public void The_DCGAN_loop_trains_both_players_and_generates_images_in_the_tanh_range()
    {
        using var gan = new GanTrainer(latent: 8, width: 4, seed: 1, learningRate: 2e-3);
        var real = Digits() * 2.0 - 1.0;
        var steps = Enumerable.Range(0, 6).Select(_ => gan.Step(real)).ToArray();

        Assert.All(steps, s => Assert.True(double.IsFinite(s.DLoss) && double.IsFinite(s.GLoss), $"losses {s}"));
        // With ten times the paper's learning rate (so that six steps show), against a generator that has barely
        // moved, the discriminator's loss on the same real batch falls; each step draws new z, so its last two
        // steps are compared with its first two.
        Assert.True(steps[^2..].Sum(s => s.DLoss) < steps[..2].Sum(s => s.DLoss), string.Join(" ", steps.Select(s => $"{s.DLoss:0.000}/{s.GLoss:0.000}")));
        var images = gan.Generate(gan.Noise(5, Key.Create(3)));
        Assert.Equal([5, 1, 28, 28], images.Dims());
        InRange(images, -1, 1);
        gan.Commit();
        using var fresh = new GanTrainer(latent: 8, width: 4, seed: 1);
        Assert.True(CustomLoop.HandWrittenLoop.MaxAbsDifference(fresh.Generator.Parameters, gan.Generator.Parameters) > 0);
    }

    [Fact]
    public void The_VAE_loop_lowers_the_negative_ELBO_and_decodes_to_pixels_in_0_1()
    {
        using var vae = new VaeTrainer(latent: 4, seed: 2);
        var images = Digits();
        var steps = Enumerable.Range(0, 3).Select(_ => vae.Step(images)).ToArray();

        Assert.All(steps, s => Assert.True(double.IsFinite(s.Loss) && s.Kl >= 0, $"step {s}"));
        Assert.All(steps, s => Assert.Equal(s.Reconstruction + s.Kl, s.Loss, 1e-3));
        Assert.True(steps[2].Loss < steps[0].Loss, $"loss {steps[0].Loss} then {steps[2].Loss}");
        var reconstructions = vae.Reconstruct(images);
        Assert.Equal([64, 1, 28, 28], reconstructions.Dims());
        InRange(reconstructions, 0, 1);
        var samples = vae.Decode(vae.Prior(6, Key.Create(4)));
        Assert.Equal([6, 1, 28, 28], samples.Dims());
        InRange(samples, 0, 1);
        // The grid's corners blend with weight 1 on one code: they are the four digits' reconstructions.
        var corners = images.Slice(0, start: 0, stop: 4);
        var grid = vae.Interpolate(corners, 3).ToDoubleArray();
        var expected = vae.Reconstruct(corners).ToDoubleArray();
        const int pixels = 28 * 28;
        foreach (var (corner, cell) in new[] { (0, 0), (1, 2), (2, 6), (3, 8) })
            for (int i = 0; i < pixels; i++)
                Assert.Equal(expected[corner * pixels + i], grid[cell * pixels + i], 1e-5);
    }
}
