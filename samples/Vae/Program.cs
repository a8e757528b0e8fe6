// A convolutional VAE on MNIST in C#: an encoder and a decoder Net trained by a hand-written loop on the negative
// ELBO, z drawn by reparameterisation from the run's key (VaeTrainer.cs). Writes reconstructions of test digits,
// samples from the prior, a 2-D latent interpolation grid, the training curves and the sample check (how a CNN
// trained on real digits labels the prior samples).
//
// CPU budget: about 60 CPU-s an epoch of 60000 images (3 epochs, the default, about 3 CPU-minutes); the first run
// also trains the check's classifier for 3 epochs (about 75 CPU-s) and keeps it beside --out (mnist-classifier-3ep.safetensors, shared with the F# scripts).
//
//   dotnet run -c Release --project samples/Vae -- [--epochs N] [--limit N] [--samples N] [--seed S] [--out DIR] [--device cpu|cuda|cuda-sim]
using FunctionalNets;
using GenerativeSamples;

var o = GenerativeOptions.Parse("Vae", args, new(Epochs: 3, Limit: null, Out: "generative-output/vae-cs", DeviceName: "cpu", Samples: 500, Seed: 0));
if (o is null) return 2;
if (!Devices.TryParse(o.DeviceName, out var device, out var deviceError))
{
    Console.Error.WriteLine(deviceError);
    return 3;
}
Directory.CreateDirectory(o.Out);
var full = Datasets.Mnist.Train();
var test = Datasets.Mnist.Test();
var train = o.Limit is int limit ? full.Take(limit) : full;

using var vae = new VaeTrainer(seed: o.Seed, device: device);
Console.WriteLine($"VAE: encoder {vae.Encoder.ParameterCount}, decoder {vae.Decoder.ParameterCount} parameters; latent {vae.Latent}; {train.Count} images, batch 128, {o.Epochs} epochs on {device}");

var loader = new DataLoader(train, 128, shuffle: true);
var clock = new Clock();
var logs = new List<IReadOnlyDictionary<string, double>>();
for (int epoch = 1; epoch <= o.Epochs; epoch++)
{
    double loss = 0, rec = 0, kl = 0;
    int batches = 0;
    foreach (var (inputs, _) in loader.Batches(Key.Create(o.Seed).FoldIn(epoch)))
    {
        var step = vae.Step(Pixels.ToUnit(inputs));
        (loss, rec, kl, batches) = (loss + step.Loss, rec + step.Reconstruction, kl + step.Kl, batches + 1);
    }
    logs.Add(new Dictionary<string, double> { ["loss"] = loss / batches, ["reconstruction"] = rec / batches, ["kl"] = kl / batches });
    Console.WriteLine($"epoch {epoch}/{o.Epochs}: loss {loss / batches:0.0} (reconstruction {rec / batches:0.0}, KL {kl / batches:0.0}) ({clock.Text})");
}
vae.Commit();

var originals = Pixels.ToUnit(test.GetBatch(Enumerable.Range(0, 32).ToArray()).Inputs);
Charts.SaveImageGrid(new[] { originals, vae.Reconstruct(originals) }.Cat(dim: 0), Path.Combine(o.Out, "reconstructions.png"), title: "digits (top), reconstructions");
Charts.SaveImageGrid(vae.Decode(vae.Prior(64, Key.Create(o.Seed + 5))), Path.Combine(o.Out, "prior_samples.png"), title: "prior samples");
// Four test digits of different classes (0, 1, 2 and 3) at the corners of the latent interpolation grid.
var labels = test.Labels();
var corners = Enumerable.Range(0, 4).Select(d => Array.IndexOf(labels, d)).ToArray();
Charts.SaveImageGrid(vae.Interpolate(Pixels.ToUnit(test.GetBatch(corners).Inputs), 8), Path.Combine(o.Out, "interpolation.png"), title: "latent interpolation");
Curves.Save(logs, o.Out);
Console.WriteLine($"training: {clock.Text}; pictures written to {Path.GetFullPath(o.Out)}");

SampleCheck.Run(vae.Decode(vae.Prior(o.Samples, Key.Create(o.Seed + 7))), SampleCheck.ClassifierBeside(o.Out), full, test);
Console.WriteLine($"total: {clock.Text}");
return 0;
