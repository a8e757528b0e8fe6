// DCGAN on MNIST in C#: a generator and a discriminator, each a Net built from Layers, trained by one hand-written
// loop with two Adam optimizers (GanTrainer.cs). Writes a grid of samples from a fixed set of latent vectors
// after every epoch, the training curves, and the sample check (how a CNN trained on real digits labels the
// generated ones).
//
// CPU budget: about 80 CPU-s an epoch of 60000 images (3 epochs, the default, 4.5 CPU-minutes); the first run
// also trains the check's classifier for 3 epochs (about 75 CPU-s) and keeps it beside --out (mnist-classifier-3ep.safetensors, shared with the F# scripts).
//
//   dotnet run -c Release --project samples/Gan -- [--epochs N] [--limit N] [--samples N] [--seed S] [--out DIR] [--device cpu|cuda|cuda-sim]
using FunctionalNets;
using GenerativeSamples;

var o = GenerativeOptions.Parse("Gan", args, new(Epochs: 3, Limit: null, Out: "generative-output/gan-cs", DeviceName: "cpu", Samples: 500, Seed: 0));
if (o is null) return 2;
if (!Devices.TryParse(o.DeviceName, out var device, out var deviceError))
{
    Console.Error.WriteLine(deviceError);
    return 3;
}
Directory.CreateDirectory(o.Out);
var full = Datasets.Mnist.Train();
var train = o.Limit is int limit ? full.Take(limit) : full;

using var gan = new GanTrainer(seed: o.Seed, device: device);
Console.WriteLine($"DCGAN: generator {gan.Generator.ParameterCount}, discriminator {gan.Discriminator.ParameterCount} parameters; {train.Count} images, batch 64, {o.Epochs} epochs on {device}");

var fixedZ = gan.Noise(64, Key.Create(o.Seed + 5));
var loader = new DataLoader(train, 64, shuffle: true);
var clock = new Clock();
var logs = new List<IReadOnlyDictionary<string, double>>();
for (int epoch = 1; epoch <= o.Epochs; epoch++)
{
    double d = 0, g = 0;
    int batches = 0;
    foreach (var (inputs, _) in loader.Batches(Key.Create(o.Seed).FoldIn(epoch)))
    {
        // Pixels to [-1, 1], the range of the generator's tanh.
        var (dl, gl) = gan.Step(Pixels.ToUnit(inputs) * 2.0 - 1.0);
        (d, g, batches) = (d + dl, g + gl, batches + 1);
    }
    logs.Add(new Dictionary<string, double> { ["d_loss"] = d / batches, ["g_loss"] = g / batches });
    Console.WriteLine($"epoch {epoch}/{o.Epochs}: d_loss {d / batches:0.000}, g_loss {g / batches:0.000} ({clock.Text})");
    Charts.SaveImageGrid(gan.Generate(fixedZ), Path.Combine(o.Out, $"samples_epoch{epoch}.png"), -1, 1, $"DCGAN, epoch {epoch}");
}
gan.Commit();
Curves.Save(logs, o.Out);
Console.WriteLine($"training: {clock.Text}; pictures written to {Path.GetFullPath(o.Out)}");

var samples = (gan.Generate(gan.Noise(o.Samples, Key.Create(o.Seed + 7))) + 1.0) / 2.0;
SampleCheck.Run(samples, SampleCheck.ClassifierBeside(o.Out), full, Datasets.Mnist.Test());
Console.WriteLine($"total: {clock.Text}");
return 0;
