using System.Collections.ObjectModel;
using FunctionalNets.Nn;
using NnSchedule = FunctionalNets.Nn.NoiseSchedule;

namespace FunctionalNets;

/// <summary>
/// A DDPM noise schedule (Ho et al. 2020): the variance beta each step adds, the cumulative alpha-bar, and what a
/// diffusion model needs from them: noising clean data to a step (<see cref="QSample"/>), the training loss
/// (<see cref="NoiseLoss"/>), the reverse (posterior) step (<see cref="Step"/>) and the whole sampler
/// (<see cref="Sample"/>). Immutable. A training step and sampling, with a <see cref="UNet"/>:
/// <code>
/// var schedule = NoiseSchedule.Linear(1000);
/// var (loss, grads) = Gradients.ValueAndGrad(p => schedule.NoiseLoss(unet.Denoiser(p), images, key), parameters);
/// var samples = schedule.Respace(100).Sample(unet.Denoiser(parameters), [16, 1, 28, 28], Key.Create(7));
/// </code>
/// Step i of the schedule is the sampler's i-th step; <see cref="Timesteps"/>[i] is the training timestep the
/// model is told at that step (i itself, unless the schedule was respaced).
/// </summary>
public sealed class NoiseSchedule
{
    private NoiseSchedule(NnSchedule inner) => Inner = inner;

    internal NnSchedule Inner { get; }

    /// <summary>Ho et al.'s linear schedule: betas evenly spaced from <paramref name="betaStart"/> to
    /// <paramref name="betaEnd"/>.</summary>
    /// <param name="steps">Number of steps (&gt;= 1).</param>
    /// <param name="betaStart">The first beta, in (0, betaEnd].</param>
    /// <param name="betaEnd">The last beta, in [betaStart, 1).</param>
    public static NoiseSchedule Linear(int steps = 1000, double betaStart = 1e-4, double betaEnd = 0.02) =>
        new(GenerativeTerms.Run("NoiseSchedule.Linear", "Ddpm.linear", () => Ddpm.linear(steps, betaStart, betaEnd)));

    /// <summary>Nichol and Dhariwal's cosine schedule: alpha-bar(t) = f(t) / f(0) with
    /// f(t) = cos²((t / T + s) / (1 + s) · π / 2), betas clipped at 0.999.</summary>
    /// <param name="steps">Number of steps (&gt;= 1).</param>
    /// <param name="offset">The offset s (&gt;= 0; theirs is 0.008).</param>
    public static NoiseSchedule Cosine(int steps = 1000, double offset = 0.008) =>
        new(GenerativeTerms.Run("NoiseSchedule.Cosine", "Ddpm.cosine", () => Ddpm.cosine(steps, offset)));

    /// <summary>A schedule from its betas, each in (0, 1).</summary>
    /// <param name="betas">The variance each step adds, in order.</param>
    public static NoiseSchedule FromBetas(IEnumerable<double> betas)
    {
        var b = Guard.NotNull(betas, nameof(betas), "NoiseSchedule.FromBetas").ToArray();
        return new(GenerativeTerms.Run("NoiseSchedule.FromBetas", "Ddpm.ofBetas", () => Ddpm.ofBetas(b)));
    }

    /// <summary>Number of steps.</summary>
    public int Length => Inner.Length;

    /// <summary>beta_i, the variance step i adds.</summary>
    public IReadOnlyList<double> Betas => new ReadOnlyCollection<double>(Inner.Betas);

    /// <summary>alpha-bar_i = ∏_{j ≤ i} (1 − beta_j): x_i = √alpha-bar_i · x_0 + √(1 − alpha-bar_i) · noise.</summary>
    public IReadOnlyList<double> AlphaBars => new ReadOnlyCollection<double>(Inner.AlphaBars);

    /// <summary>The training timestep of each step.</summary>
    public IReadOnlyList<int> Timesteps => new ReadOnlyCollection<int>(Inner.Timesteps);

    /// <summary>alpha-bar at one step.</summary>
    /// <param name="step">The step, in [0, Length).</param>
    public double AlphaBar(int step) => Inner.AlphaBars[CheckStep(step, nameof(AlphaBar))];

    /// <summary>This schedule restricted to <paramref name="count"/> evenly spaced timesteps (Nichol and Dhariwal's
    /// respacing): the same alpha-bars there, so a model trained on every timestep samples in fewer steps.</summary>
    /// <param name="count">Steps to keep, in [1, Length].</param>
    public NoiseSchedule Respace(int count) =>
        new(GenerativeTerms.Run("NoiseSchedule.Respace", "Ddpm.respace", () => Ddpm.respace(count, Inner)));

    /// <summary>Clean data noised to given steps, q(x_t | x_0): √alpha-bar_t · x0 + √(1 − alpha-bar_t) · noise.</summary>
    /// <param name="x0">Clean data [N, ...].</param>
    /// <param name="steps">One step index per example, an integer tensor [N].</param>
    /// <param name="noise">Gaussian noise of x0's shape.</param>
    public Tensor QSample(Tensor x0, Tensor steps, Tensor noise)
    {
        const string method = "NoiseSchedule.QSample";
        var x = Guard.NotNull(x0, nameof(x0), method);
        var t = Guard.NotNull(steps, nameof(steps), method);
        var e = Guard.NotNull(noise, nameof(noise), method);
        return GenerativeTerms.Run(method, "Ddpm.qSample", () => Ddpm.qSample(Inner, x, t, e));
    }

    /// <summary>Ho et al.'s simplified training loss: a step per example and Gaussian noise drawn from
    /// <paramref name="key"/>, x0 noised to those steps, and the mean squared error between the noise and
    /// <paramref name="predictNoise"/>'s estimate of it. Differentiable in whatever predictNoise closes over (a
    /// U-Net's parameters).</summary>
    /// <param name="predictNoise">(noised images, timesteps as Float32 [N]) to the predicted noise, e.g.
    /// <see cref="UNet.Denoiser"/>.</param>
    /// <param name="x0">Clean data [N, ...], scaled to [-1, 1].</param>
    /// <param name="key">The randomness of this step (steps and noise).</param>
    public Tensor NoiseLoss(Func<Tensor, Tensor, Tensor> predictNoise, Tensor x0, Key key)
    {
        const string method = "NoiseSchedule.NoiseLoss";
        var f = Interop.Func2(Guard.NotNull(predictNoise, nameof(predictNoise), method));
        var x = Guard.NotNull(x0, nameof(x0), method);
        if (x.Dims().Length < 1)
            throw new ArgumentException($"{method}: x0 must be a batch [N, ...], got a scalar.", nameof(x0));
        return GenerativeTerms.Run(method, "Ddpm.noiseLoss", () => Ddpm.noiseLoss(Inner, f, key, x));
    }

    /// <summary>One ancestral step of the reverse process from step <paramref name="step"/>: the clean image implied
    /// by the predicted noise, clipped to [−clip, clip], then the posterior mean plus the posterior standard
    /// deviation times fresh noise from <paramref name="key"/> (none at step 0).</summary>
    /// <param name="step">The step, in [0, Length).</param>
    /// <param name="x">The images at that step.</param>
    /// <param name="predictedNoise">The model's noise estimate, x's shape.</param>
    /// <param name="key">The step's noise.</param>
    /// <param name="clip">The data's range (1 for data scaled to [-1, 1]).</param>
    /// <returns>The images at step − 1.</returns>
    public Tensor Step(int step, Tensor x, Tensor predictedNoise, Key key, double clip = 1.0)
    {
        const string method = "NoiseSchedule.Step";
        var xt = Guard.NotNull(x, nameof(x), method);
        var e = Guard.NotNull(predictedNoise, nameof(predictedNoise), method);
        CheckClip(clip, method);
        return GenerativeTerms.Run(method, "Ddpm.posteriorStep", () => Ddpm.posteriorStep(Inner, clip, step, xt, e, key));
    }

    /// <summary>Samples by running the reverse process from pure noise N(0, I) of the given shape down to step 0,
    /// each step in its own scope (so memory stays at a few batches of images whatever the number of steps).</summary>
    /// <param name="predictNoise">(images, timesteps as Float32 [N]) to the predicted noise, e.g. the
    /// <see cref="UNet.Denoiser"/> of averaged weights.</param>
    /// <param name="shape">The samples' shape [N, C, H, W].</param>
    /// <param name="key">The sampler's randomness.</param>
    /// <param name="device">Where to sample; null for the CPU.</param>
    /// <param name="clip">The data's range (1 for data scaled to [-1, 1]).</param>
    /// <returns>The samples, in [−clip, clip] up to the last step's noise-free mean.</returns>
    public Tensor Sample(Func<Tensor, Tensor, Tensor> predictNoise, int[] shape, Key key, Device? device = null, double clip = 1.0)
    {
        const string method = "NoiseSchedule.Sample";
        var f = Interop.Func2(Guard.NotNull(predictNoise, nameof(predictNoise), method));
        var dims = Guard.NotNull(shape, nameof(shape), method);
        if (dims.Length < 1 || dims.Any(d => d < 1))
            throw new ArgumentException($"{method}: shape {Interop.ShapeText(dims)} must be [N, ...] with every dim >= 1, e.g. [16, 1, 28, 28].", nameof(shape));
        CheckClip(clip, method);
        return GenerativeTerms.Run(method, "Ddpm.sample", () => Ddpm.sample(Inner, f, clip, Interop.List(dims), device ?? Devices.Cpu, key));
    }

    private int CheckStep(int step, string member) =>
        step >= 0 && step < Length
            ? step
            : throw new ArgumentOutOfRangeException(nameof(step), step, $"NoiseSchedule.{member}: the step must be in [0, {Length}).");

    private static void CheckClip(double clip, string method)
    {
        if (!(clip > 0.0 && double.IsFinite(clip)))
            throw new ArgumentOutOfRangeException(nameof(clip), clip, $"{method}: clip must be a positive finite number (1 for data in [-1, 1]).");
    }

    /// <summary>E.g. <c>NoiseSchedule(1000 steps, alpha-bar 0.9999 to 4.04e-05)</c>.</summary>
    public override string ToString() => $"NoiseSchedule({Length} steps, alpha-bar {Inner.AlphaBars[0]:g4} to {Inner.AlphaBars[^1]:g4})";
}
