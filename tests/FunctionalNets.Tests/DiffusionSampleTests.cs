using FunctionalNets;
using GenerativeSamples;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>The C# diffusion sample (samples/Diffusion) trains for a few steps on real digits and samples.</summary>
public class DiffusionSampleTests
{
    // The README's C# diffusion loop, kept compiling here (samples/Diffusion runs the same loop).
    internal static void ReadmeDiffusionExample(Dataset train)
    {
        var unet = new UNet(channels: 16);
        var schedule = NoiseSchedule.Linear(1000);                      // Ho et al.'s betas, 1e-4 to 0.02
        var optimizer = Optimizers.Adam(2e-3).WithGradientClipping(1.0);
        var parameters = unet.Init(seed: 0);
        var (optimizerState, average) = (optimizer.Init(parameters), parameters);
        long step = 0;
        foreach (var (inputs, _) in new DataLoader(train, batchSize: 64, shuffle: true).Batches(Key.Create(1)))
        {
            using var scope = Scope.Open();
            var images = (inputs * 0.3081 + 0.1307) * 2.0 - 1.0;         // MNIST's normalised pixels to [-1, 1]
            var (loss, grads) = Gradients.ValueAndGrad(
                p => schedule.NoiseLoss(unet.Denoiser(p), images, Key.Create(2).FoldIn((int)step)), parameters);
            (parameters, optimizerState) = optimizer.Update(step++, grads, optimizerState, parameters);
            average = Ema.Update(average, parameters, decay: 0.995);
            scope.Keep((parameters, optimizerState, average));
        }
        var samples = schedule.Respace(100).Sample(unet.Denoiser(average), [64, 1, 28, 28], Key.Create(7));
        using var quality = SampleQuality.ForMnist(train, "generative-output/mnist-classifier-3ep.safetensors");
        Console.WriteLine(quality.Score((samples + 1.0) / 2.0));       // confident share, class entropy
    }

    [Fact]
    public void The_DDPM_loop_lowers_the_noise_loss_and_samples_digits_in_0_1()
    {
        var digits = Pixels.ToUnit(Datasets.Mnist.Train().Take(32).GetBatch(Enumerable.Range(0, 32).ToArray()).Inputs) * 2.0 - 1.0;
        using var trainer = new DiffusionTrainer(channels: 8, seed: 1, learningRate: 3e-3, emaDecay: 0.5);
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
