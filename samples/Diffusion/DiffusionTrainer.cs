using FunctionalNets;

namespace GenerativeSamples;

/// <summary>A DDPM (Ho et al. 2020) for 28 x 28 digits: the library's small U-Net learns to predict the noise that
/// a 1000-step linear schedule mixed into a digit at a random step, trained by a hand-written loop (the loss's
/// gradient, an optimizer step, then the exponential moving average of the weights); samples come from the
/// average, by the posterior steps of the schedule respaced to fewer steps. Dispose hands the weights, the
/// optimizer's state and the average back to the allocator (device memory, on a GPU).</summary>
public sealed class DiffusionTrainer : IDisposable
{
    private readonly Optimizer tx;
    private readonly Key key;
    private readonly Device device;
    private ParameterTree parameters, optState, average;
    private long step;
    private bool disposed;

    /// <summary>The noise predictor.</summary>
    public UNet Model { get; }

    /// <summary>The training schedule.</summary>
    public NoiseSchedule Schedule { get; }

    /// <summary>The weight of the old average in each EMA update.</summary>
    public double EmaDecay { get; }

    /// <summary>Optimizer steps taken.</summary>
    public long Steps => step;

    /// <summary>The model's parameters after the last step.</summary>
    public ParameterTree Parameters => parameters;

    /// <summary>Their moving average, which samples.</summary>
    public ParameterTree Average => average;

    /// <summary>The U-Net (channels at full resolution) and its Adam, with gradients clipped to norm 1, built from
    /// the seed (the recipe of samples/scripts/Diffusion.fsx).</summary>
    public DiffusionTrainer(int channels = 16, int seed = 0, Device? device = null, double learningRate = 2e-3, double emaDecay = 0.995, int timesteps = 1000)
    {
        this.device = device ?? Devices.Cpu;
        Model = new UNet(channels);
        Schedule = NoiseSchedule.Linear(timesteps);
        EmaDecay = emaDecay;
        tx = Optimizers.Adam(learningRate).WithGradientClipping(1.0);
        parameters = average = Model.Init(seed, this.device);
        optState = tx.Init(parameters);
        key = Key.Create(seed).FoldIn(4);
    }

    /// <summary>One step on clean images [N, 1, 28, 28] scaled to [-1, 1]; each step draws its timesteps and noise
    /// from the trainer's key and the step count.</summary>
    /// <returns>The step's noise-prediction loss (mean squared error).</returns>
    public double Step(Tensor images)
    {
        using var scope = Scope.Open();
        var x0 = CreationOps.ToDevice(device, images);
        var (loss, grads) = Gradients.ValueAndGrad(p => Schedule.NoiseLoss(Model.Denoiser(p), x0, key.FoldIn((int)step)), parameters);
        (parameters, optState) = tx.Update(step, grads, optState, parameters);
        average = Ema.Update(average, parameters, EmaDecay);
        scope.Keep((parameters, optState, average));
        step++;
        return loss.ToScalar();
    }

    /// <summary>n digits from pure noise, by the averaged weights and the schedule respaced to
    /// <paramref name="samplingSteps"/> steps, with pixels in [0, 1].</summary>
    public Tensor Sample(int n, int samplingSteps, Key key)
    {
        using var scope = Scope.Open();
        var x = Schedule.Respace(samplingSteps).Sample(Model.Denoiser(average), [n, 1, 28, 28], key, device);
        return scope.Keep(((x + 1.0) / 2.0).Clamp(0.0, 1.0));
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        Scope.donate(new object[] { parameters, optState, average }, null);
    }
}
