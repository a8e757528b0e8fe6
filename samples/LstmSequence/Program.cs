// Sequential MNIST: an LSTM reads each digit as 28 time steps of 28 pixels (one image row per step) and a
// linear layer classifies its final hidden state. Prints the epoch times and the test accuracy (the default
// 6 epochs reached 0.9903 in one full run: 10.4 minutes on 2 shared cores, 52-177 s per epoch with the load).
//
//   dotnet run -c Release --project samples/LstmSequence -- [--epochs N] [--hidden H] [--limit N] [--data PATH] [--quiet]
using System.Diagnostics;
using FunctionalNets;

int epochs = 6, hidden = 128, limit = 0;
string? dataPath = null;
bool verbose = true;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--epochs" when i + 1 < args.Length && int.TryParse(args[i + 1], out var n) && n > 0: epochs = n; i++; break;
        case "--hidden" when i + 1 < args.Length && int.TryParse(args[i + 1], out var h) && h > 0: hidden = h; i++; break;
        case "--limit" when i + 1 < args.Length && int.TryParse(args[i + 1], out var l) && l > 0: limit = l; i++; break;
        case "--data" when i + 1 < args.Length: dataPath = args[++i]; break;
        case "--quiet": verbose = false; break;
        default:
            Console.Error.WriteLine($"unknown or incomplete option '{args[i]}'");
            Console.Error.WriteLine("usage: LstmSequence [--epochs N] [--hidden H] [--limit N] [--data PATH] [--quiet]");
            return 2;
    }
}

var train = Datasets.Mnist.Train(dataPath);
var test = Datasets.Mnist.Test(dataPath);
if (limit > 0)
{
    train = train.Take(limit);
    test = test.Take(limit);
}

var net = Net.Sequential(
    Layers.RowsAsSequence(),                                 // [N, 1, 28, 28] -> [N, 28, 28]
    Layers.Lstm(28, hidden, returnSequences: false),         // -> [N, hidden], the last hidden state
    Layers.Linear(hidden, 10));

// One-cycle keeps early LSTM training stable and ends at a small learning rate.
long stepsPerEpoch = (train.Count + 127) / 128;
net.Compile(Optimizers.Adam(Schedules.OneCycle(3e-3, epochs * stepsPerEpoch)), Losses.CrossEntropy(), Metrics.Accuracy());
if (verbose) Console.WriteLine(net.Build(train.InputShape).Summary());

var watch = Stopwatch.StartNew();
net.Fit(train, epochs: epochs, batchSize: 128, validation: test, verbose: verbose);
Console.WriteLine($"training: {watch.Elapsed.TotalMinutes:0.00} min for {epochs} epochs");
Console.WriteLine($"test accuracy: {net.Evaluate(test)["accuracy"]:0.0000}");
return 0;
