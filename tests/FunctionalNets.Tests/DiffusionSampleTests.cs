using FunctionalNets;
using GenerativeSamples;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>The C# diffusion sample (samples/Diffusion) trains for a few steps on real digits and samples.</summary>
public class DiffusionSampleTests
{
    [Fact]
    public void The_DDPM_loop_lowers_the_noise_loss_and_samples_digits_in_0_1()
    {
        var digits = Pixels.ToUnit(Datasets.Mnist.Train().Take(32).GetBatch(Enumerable.Range(0, 32).ToArray()).Inputs) * 2.0 - 1.0;
        var trainer = new DiffusionTrainer(channels: 8, seed: 1, learningRate: 3e-3, emaDecay: 0.5);
        var initial = trainer.Parameters;
        var losses = Enumerable.Range(0, 8).Select(_ => trainer.Step(digits)).ToArray();

        Assert.All(losses, l => Assert.True(double.IsFinite(l) && l > 0, $"loss {l}"));
        // Each step draws new timesteps and noise, so single losses are noisy: the last three against the first three.
        Assert.True(losses[^3..].Sum() < losses[..3].Sum(), string.Join(" ", losses.Select(l => l.ToString("0.000"))));
        Assert.Equal(8, trainer.Steps);
        // The average lags the parameters: it is neither the initial nor the last weights.
        var w = "out_conv.weight";
        Assert.NotEqual(trainer.Parameters[w].ToDoubleArray(), trainer.Average[w].ToDoubleArray());
        Assert.NotEqual(initial[w].ToDoubleArray(), trainer.Average[w].ToDoubleArray());

        var samples = trainer.Sample(4, 5, Key.Create(9));
        Assert.Equal([4, 1, 28, 28], samples.Dims());
        Assert.All(samples.ToDoubleArray(), v => Assert.InRange(v, 0.0, 1.0));
    }
}
