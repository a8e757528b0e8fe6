// Classifies sequences with a Transformer encoder: each MNIST digit is read as a sequence of 28 rows (28
// features per step), embedded to 64 features with sinusoidal positions, passed through two pre-norm
// Transformer encoder layers, averaged over time and classified. Prints epoch times and the test accuracy.
//
//   dotnet run -c Release --project samples/TransformerClassifier -- [--epochs N] [--limit N] [--data PATH] [--quiet]
using System.Diagnostics;
using FunctionalNets;

int epochs = 3, limit = 0;
string? dataPath = null;
bool verbose = true;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--epochs" when i + 1 < args.Length && int.TryParse(args[i + 1], out var n) && n > 0: epochs = n; i++; break;
        case "--limit" when i + 1 < args.Length && int.TryParse(args[i + 1], out var l) && l > 0: limit = l; i++; break;
        case "--data" when i + 1 < args.Length: dataPath = args[++i]; break;
        case "--quiet": verbose = false; break;
        default:
            Console.Error.WriteLine($"unknown or incomplete option '{args[i]}'");
            Console.Error.WriteLine("usage: TransformerClassifier [--epochs N] [--limit N] [--data PATH] [--quiet]");
            return 2;
    }
}

var train = Datasets.Mnist.Train(dataPath);
var test = Datasets.Mnist.Test(dataPath);
if (limit > 0) (train, test) = (train.Take(limit), test.Take(limit));

const int dim = 64;
var net = Net.Sequential(
    Layers.RowsAsSequence(),                 // [N, 1, 28, 28] -> [N, 28 steps, 28 features]
    Layers.Linear(28, dim),
    Layers.PositionalEncoding(28, dim),
    Layers.TransformerEncoderLayer(dim, heads: 4, feedForward: 128, dropout: 0.1, normFirst: true),
    Layers.TransformerEncoderLayer(dim, heads: 4, feedForward: 128, dropout: 0.1, normFirst: true),
    Layers.LayerNorm(dim),
    Layers.Lambda(x => x.Mean(1), "MeanOverTime"),
    Layers.Linear(dim, 10));

long steps = (long)epochs * ((train.Count + 127) / 128);
net.Compile(Optimizers.AdamW(Schedules.OneCycle(2e-3, steps)), Losses.CrossEntropy(), Metrics.Accuracy());
if (verbose) Console.WriteLine(net.Build(train.InputShape).Summary());

var clock = Stopwatch.StartNew();
var epochTimes = Callbacks.Lambda((epoch, logs) =>
{
    Console.WriteLine($"epoch {epoch}: {clock.Elapsed.TotalSeconds:0.0} s, val_accuracy {logs["val_accuracy"]:0.0000}");
    clock.Restart();
    return false;
}, "EpochTimes");

net.Fit(train, epochs: epochs, batchSize: 128, validation: test, callbacks: [epochTimes], verbose: verbose);
Console.WriteLine($"test accuracy: {net.Evaluate(test)["accuracy"]:0.0000}");
return 0;
