using System.Globalization;
using FunctionalNets.Nn;
using Microsoft.FSharp.Collections;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>Weights move between PyTorch and the library: torch's state_dict loads with LoadWeights and gives
/// torch's outputs; SaveWeights's file loads in torch with strict=True and gives ours. Expected outputs come
/// from torch itself.</summary>
public class TorchInteropTests
{
    private static Net Build(string model) => model switch
    {
        "mlp" => Net.Sequential(Layers.Flatten(), Layers.Linear(12, 8), Layers.ReLU(), Layers.Linear(8, 3)),
        "cnn" => Net.Sequential(Layers.Conv2d(1, 4, 3), Layers.BatchNorm2d(4), Layers.ReLU(), Layers.MaxPool2d(2),
            Layers.Flatten(), Layers.Linear(36, 5)),
        "lstm" => Net.Sequential(Layers.Lstm(3, 5, numLayers: 2), Layers.LastStep(), Layers.Linear(5, 2)),
        _ => throw new ArgumentException(model),
    };

    private static int[] InputShape(string model) => model switch
    {
        "mlp" => [3, 4],
        "cnn" => [1, 8, 8],
        _ => [6, 3],
    };

    private static readonly string[] Models = ["mlp", "cnn", "lstm"];

    private static string Folder()
    {
        var dir = TestData.TempFile("torch");
        foreach (var model in Models) Directory.CreateDirectory(Path.Combine(dir, model));
        return dir;
    }

    private static Dictionary<string, Tensor> Read(string path) =>
        SafeTensors.read(path).Item1.ToDictionary(e => e.Item1, e => e.Item2);

    [TorchFact]
    public void TorchStateDictsLoadAndGiveTorchsOutputs()
    {
        var root = Folder();
        var (code, output) = Torch.Script("state_dict_interop.py", ["write", root, .. Models]);
        Assert.True(code == 0, output);
        foreach (var model in Models)
        {
            var dir = Path.Combine(root, model);
            // A compiled net: weights load whatever the optimizer.
            var net = Build(model).Compile(Optimizers.SGD(0.1), Losses.MSE()).Build(InputShape(model));
            net.LoadWeights(Path.Combine(dir, "torch.safetensors"));
            var io = Read(Path.Combine(dir, "io.safetensors"));
            var ours = net.Predict(io["x"]).ToDoubleArray();
            var theirs = io["y"].ToDoubleArray();
            Assert.Equal(theirs.Length, ours.Length);
            for (int i = 0; i < ours.Length; i++)
                Assert.True(Math.Abs(ours[i] - theirs[i]) < 1e-5, $"{model}[{i}]: ours {ours[i]}, torch {theirs[i]}");
        }
        Directory.Delete(root, true);
    }

    [TorchFact]
    public void SavedWeightsLoadInTorchStrictlyAndGiveOurOutputs()
    {
        var root = Folder();
        foreach (var model in Models)
        {
            var dir = Path.Combine(root, model);
            var net = Build(model).Build(InputShape(model), seed: 3);
            var rng = new Random(5);
            float[] Noise(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
            var shape = InputShape(model);
            int per = shape.Aggregate(1, (a, b) => a * b);
            if (model == "cnn")
            {
                // Two training steps move the BatchNorm running statistics and count num_batches_tracked.
                var train = Datasets.FromTensors(Tensor.OfArray(Noise(16 * per), [16, .. shape]), Tensor.OfArray(Noise(16 * 5), [16, 5]));
                net.Compile(Optimizers.Adam(1e-2), Losses.MSE()).Fit(train, epochs: 1, batchSize: 8, verbose: false);
            }

            var x = Tensor.OfArray(Noise(4 * per), [4, .. shape]);
            var y = net.Predict(x);
            net.SaveWeights(Path.Combine(dir, "ours.safetensors"));
            SafeTensors.write(Path.Combine(dir, "io.safetensors"),
                ListModule.OfSeq(new[] { Tuple.Create("x", x), Tuple.Create("y", y) }), MapModule.Empty<string, string>());
        }

        var (code, output) = Torch.Script("state_dict_interop.py", ["check", root, .. Models]);
        Assert.True(code == 0, output);
        var diffs = output.Split('\n').Where(l => l.Contains(" maxdiff ")).ToDictionary(l => l.Split(' ')[0], l => double.Parse(l.Split(' ')[2], CultureInfo.InvariantCulture));
        Assert.Equal(Models, diffs.Keys.ToArray());
        foreach (var (model, diff) in diffs)
            Assert.True(diff < 1e-5, $"{model}: torch's outputs differ from ours by {diff}");
        Assert.Contains("cnn batches 2", output);
        Directory.Delete(root, true);
    }
}
