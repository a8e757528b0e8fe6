using FunctionalNets;

namespace GenerativeSamples;

/// <summary>DCGAN (Radford et al. 2016) for 28 x 28 digits as two Nets, trained by one hand-written loop with an
/// optimizer each. The generator takes latent vectors as [N, Latent, 1, 1] (the C# Layers have no Unflatten, so z
/// is drawn in that shape).</summary>
public sealed class GanTrainer : IDisposable
{
    private readonly Optimizer generatorTx, discriminatorTx;
    private readonly Loss bce = Losses.BCEWithLogits();
    private readonly Key key;
    private readonly double averageDecay;
    private ParameterTree gParams, gState, gOpt, dParams, dState, dOpt, gAverage;
    private long step;

    /// <summary>Latent size.</summary>
    public int Latent { get; }

    /// <summary>The generator: z [N, Latent, 1, 1] to images [N, 1, 28, 28] in [-1, 1].</summary>
    public Net Generator { get; }

    /// <summary>The discriminator: images to one logit each ("real").</summary>
    public Net Discriminator { get; }

    /// <summary>Both players built from the seed; width scales the channels (16 gives 64-32 and 32-64); each
    /// player has its own Adam with the DCGAN paper's beta1 0.5 and, by default, learning rate 2e-4. Samples come
    /// from an exponential moving average of the generator's weights with decay averageDecay, warmed up over the
    /// first steps (as Gan.stepAveraged in F#); the default 0 samples the last step's weights, as 0.999 scored no
    /// better over 6 epochs of the F# script.</summary>
    public GanTrainer(int latent = 64, int width = 16, int seed = 0, Device? device = null, double learningRate = 2e-4, double averageDecay = 0)
    {
        if (averageDecay is < 0 or > 1)
            throw new ArgumentOutOfRangeException(nameof(averageDecay), averageDecay, "GanTrainer: averageDecay must be in [0, 1].");
        this.averageDecay = averageDecay;
        generatorTx = Optimizers.Adam(learningRate, beta1: 0.5);
        discriminatorTx = Optimizers.Adam(learningRate, beta1: 0.5);
        Latent = latent;
        Generator = Net.Sequential(
            Layers.ConvTranspose2d(latent, 4 * width, 7, bias: false), Layers.BatchNorm2d(4 * width), Layers.ReLU(),
            Layers.ConvTranspose2d(4 * width, 2 * width, 4, stride: 2, padding: 1, bias: false), Layers.BatchNorm2d(2 * width), Layers.ReLU(),
            Layers.ConvTranspose2d(2 * width, 1, 4, stride: 2, padding: 1), Layers.Tanh()).Build([latent, 1, 1], seed).To(device ?? Devices.Cpu);
        Discriminator = Net.Sequential(
            Layers.Conv2d(1, 2 * width, 4, stride: 2, padding: 1), Layers.LeakyReLU(0.2),
            Layers.Conv2d(2 * width, 4 * width, 4, stride: 2, padding: 1, bias: false), Layers.BatchNorm2d(4 * width), Layers.LeakyReLU(0.2),
            Layers.Flatten(), Layers.Linear(4 * width * 7 * 7, 1)).Build([1, 28, 28], seed + 1).To(device ?? Devices.Cpu);
        key = Key.Create(seed).FoldIn(2);
        (gParams, gState, dParams, dState) = (Generator.Parameters, Generator.State, Discriminator.Parameters, Discriminator.State);
        gAverage = gParams;
        gOpt = generatorTx.Init(gParams);
        dOpt = discriminatorTx.Init(dParams);
    }

    /// <summary>One step of both players on real images [N, 1, 28, 28] in [-1, 1]: the discriminator minimises
    /// BCE(D(real), 1) + BCE(D(G(z)), 0) with G(z) held constant, then the generator the non-saturating
    /// BCE(D'(G(z)), 1) against the updated discriminator D', with the same z.</summary>
    /// <returns>The two losses of the step.</returns>
    public (double DLoss, double GLoss) Step(Tensor real)
    {
        using var scope = Scope.Open();
        int n = real.Dims()[0];
        var z = Tensor.Randn(key.FoldIn((int)step), [n, Latent, 1, 1]);
        var (fake, _) = Generator.Apply(gParams, gState, z, training: true, step: step);
        var frozen = fake.Detach();
        var (dLoss, newDState, dGrads) = Gradients.ValueAndGrad(p =>
        {
            var (realLogits, s) = Discriminator.Apply(p, dState, real, training: true, step: step);
            var (fakeLogits, s2) = Discriminator.Apply(p, s, frozen, training: true, step: step);
            return (bce.Compute(realLogits, realLogits.Detach().OnesLike()) + bce.Compute(fakeLogits, fakeLogits.Detach().ZerosLike()), s2);
        }, dParams);
        (dParams, dOpt) = discriminatorTx.Update(step, dGrads, dOpt, dParams);
        dState = newDState;
        var (gLoss, newGState, gGrads) = Gradients.ValueAndGrad(p =>
        {
            var (images, s) = Generator.Apply(p, gState, z, training: true, step: step);
            // The discriminator's BatchNorm statistics of this pass are dropped: only its own step updates them.
            var (logits, _) = Discriminator.Apply(dParams, dState, images, training: true, step: step);
            return (bce.Compute(logits, logits.Detach().OnesLike()), s);
        }, gParams);
        (gParams, gOpt) = generatorTx.Update(step, gGrads, gOpt, gParams);
        gState = newGState;
        // Warmed as F#'s Ema.warmedDecay, so the average forgets the random initial weights within a few hundred steps.
        double decay = Math.Min(averageDecay, (2.0 + step) / (11.0 + step));
        gAverage = gAverage.Zip(gParams, (a, p) => a.Detach() * decay + p.Detach() * (1 - decay));
        scope.Keep((gParams, gState, gOpt, dParams, dState, dOpt, gAverage));
        step++;
        return (dLoss.ToScalar(), gLoss.ToScalar());
    }

    /// <summary>Latent vectors [n, Latent, 1, 1] from N(0, I).</summary>
    public Tensor Noise(int n, Key key) => Tensor.Randn(key, [n, Latent, 1, 1]);

    /// <summary>Images [N, 1, 28, 28] in [-1, 1] from z, with the averaged generator weights in evaluation mode
    /// (BatchNorm by the running statistics).</summary>
    public Tensor Generate(Tensor z)
    {
        using var scope = Scope.Open();
        return scope.Keep(Generator.Apply(gAverage, gState, z).Output);
    }

    /// <summary>Stores the trained parameters and state in the two nets, the generator's averaged weights in
    /// the generator.</summary>
    public void Commit()
    {
        Generator.SetParameters(gAverage).SetState(gState);
        Discriminator.SetParameters(dParams).SetState(dState);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Generator.Dispose();
        Discriminator.Dispose();
    }
}
