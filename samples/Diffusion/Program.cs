// A denoising diffusion model (DDPM, Ho et al. 2020) on MNIST in C#: the library's small U-Net (sinusoidal time
// embedding, residual blocks with GroupNorm, self-attention at the 7 x 7 level) learns to predict the noise that a
// 1000-step linear schedule mixed into a digit at a random step; a hand-written loop takes the loss's gradient
// (Gradients.ValueAndGrad), an Adam step (Optimizer.Update) and the moving average of the weights (Ema.Update), and
// the average samples from pure noise by the posterior steps of the schedule respaced to --steps steps
// (DiffusionTrainer.cs). The recipe is samples/scripts/Diffusion.fsx's. Writes the samples, the training curves and
// the sample check (how a CNN trained on real digits labels the samples).
//
// CPU budget: about 240 CPU-s an epoch of 60000 images and 25 CPU-s for 200 samples in 100 steps (2 epochs, the
// default: 9 CPU-minutes, measured 497 CPU-s); the first run also trains the check's classifier for 3 epochs (about
// 75 CPU-s) and keeps it beside --out (mnist-classifier-3ep.safetensors, shared with the F# scripts).
//
//   dotnet run -c Release --project samples/Diffusion -- [--epochs N] [--limit N] [--samples N] [--steps S] [--channels C] [--seed S] [--out DIR] [--device cpu|cuda|cuda-sim]
// e.g. a quick run:   ... -- --limit 2000 --epochs 1 --samples 16 --steps 20
using FunctionalNets;
using GenerativeSamples;

// --steps (sampling steps) and --channels (the U-Net's width) are this program's own options; the rest are shared.
var rest = args.ToList();
int? samplingSteps = TakeOption(rest, "--steps", 100), channels = TakeOption(rest, "--channels", 16);
if (samplingSteps is null || channels is null)
{
    Console.Error.WriteLine($"usage: Diffusion {GenerativeOptions.Usage} [--steps S] [--channels C]");
    return 2;
}
var o = GenerativeOptions.Parse("Diffusion", rest.ToArray(), new(Epochs: 2, Limit: null, Out: "generative-output/diffusion-cs", DeviceName: "cpu", Samples: 200, Seed: 0));
if (o is null) return 2;
if (!Devices.TryParse(o.DeviceName, out var device, out var deviceError))
{
    Console.Error.WriteLine(deviceError);
    return 3;
}
Directory.CreateDirectory(o.Out);
var full = Datasets.Mnist.Train();
var train = o.Limit is int limit ? full.Take(limit) : full;

using var diffusion = new DiffusionTrainer(channels.Value, seed: o.Seed, device: device);
Console.WriteLine($"DDPM {diffusion.Model}, {diffusion.Model.ParameterCount} parameters; {train.Count} images, batch 64, {o.Epochs} epochs on {device}");

var loader = new DataLoader(train, 64, shuffle: true, dropLast: true);
var clock = new Clock();
var logs = new List<IReadOnlyDictionary<string, double>>();
for (int epoch = 1; epoch <= o.Epochs; epoch++)
{
    double loss = 0;
    int batches = 0;
    foreach (var (inputs, _) in loader.Batches(Key.Create(o.Seed).FoldIn(epoch)))
    {
        // Pixels to [-1, 1], the range the sampler clips to.
        loss += diffusion.Step(Pixels.ToUnit(inputs) * 2.0 - 1.0);
        batches++;
    }
    logs.Add(new Dictionary<string, double> { ["loss"] = loss / batches });
    Console.WriteLine($"epoch {epoch}/{o.Epochs}: loss {loss / batches:0.0000} ({clock.Text})");
}
Curves.Save(logs, o.Out);
Console.WriteLine($"training: {clock.Text}");

var sampleClock = new Clock();
var samples = diffusion.Sample(o.Samples, samplingSteps.Value, Key.Create(o.Seed + 7));
Console.WriteLine($"sampling {o.Samples} images in {samplingSteps} steps: {sampleClock.Text}");
Charts.SaveImageGrid(samples.Slice(0, start: 0, stop: Math.Min(100, o.Samples)), Path.Combine(o.Out, "samples.png"), title: $"DDPM, {samplingSteps} steps");
Console.WriteLine($"pictures written to {Path.GetFullPath(o.Out)}");

SampleCheck.Run(samples, SampleCheck.ClassifierBeside(o.Out), full, Datasets.Mnist.Test());
Console.WriteLine($"total: {clock.Text}");
return 0;

// The value of "name N" (a positive integer), removed from args; the fallback when absent; null when malformed.
static int? TakeOption(List<string> args, string name, int fallback)
{
    int i = args.IndexOf(name);
    if (i < 0) return fallback;
    int? value = i + 1 < args.Count && int.TryParse(args[i + 1], out var v) && v > 0 ? v : null;
    args.RemoveRange(i, Math.Min(2, args.Count - i));
    return value;
}
