// Trains the MNIST CNN of the PyTorch peer benchmark (conv32-pool-conv64-pool-fc128-dropout0.5-fc10) for 6 epochs,
// prints each epoch's time and the test accuracy, and writes its pictures: training curves, the confusion
// matrix and the first layer's filters, as SVG and PNG.
//
//   dotnet run -c Release --project samples/MnistCnn -- [--epochs N] [--data PATH] [--out DIR] [--device cpu|cuda|cuda-sim] [--quiet]
using System.Diagnostics;
using FunctionalNets;

int epochs = 6;
string? dataPath = null;
string outDir = "mnist-cnn-output";
bool verbose = true;
string deviceName = "cpu";
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--epochs" when i + 1 < args.Length && int.TryParse(args[i + 1], out var n) && n > 0: epochs = n; i++; break;
        case "--data" when i + 1 < args.Length: dataPath = args[++i]; break;
        case "--out" when i + 1 < args.Length: outDir = args[++i]; break;
        case "--device" when i + 1 < args.Length: deviceName = args[++i]; break;
        case "--quiet": verbose = false; break;
        default:
            Console.Error.WriteLine($"unknown or incomplete option '{args[i]}'");
            Console.Error.WriteLine("usage: MnistCnn [--epochs N] [--data PATH] [--out DIR] [--device cpu|cuda|cuda-sim] [--quiet]");
            return 2;
    }
}

// "cuda" without a GPU prints what was expected, what was found and what to do, and exits; it never falls back
// to the simulator ("cuda-sim", for tests) or to the CPU.
if (!Devices.TryParse(deviceName, out var device, out var deviceError))
{
    Console.Error.WriteLine(deviceError);
    return 3;
}

var train = Datasets.Mnist.Train(dataPath);
var test = Datasets.Mnist.Test(dataPath);

var net = Net.FromModel(Models.MnistCnn());
// Adam under a one-cycle learning rate (warm up to 3e-3, then anneal): the peer's model, trained to converge.
long steps = (long)epochs * ((train.Count + 63) / 64);
net.Compile(Optimizers.Adam(Schedules.OneCycle(3e-3, steps)), Losses.CrossEntropy(), Metrics.Accuracy());
if (verbose) Console.WriteLine(net.Build(train.InputShape).Summary());

// The callback runs after each epoch's validation pass, so each time covers training and evaluation.
var clock = Stopwatch.StartNew();
var epochTimes = Callbacks.Lambda((epoch, logs) =>
{
    Console.WriteLine($"epoch {epoch}: {clock.Elapsed.TotalSeconds:0.0} s, val_accuracy {logs["val_accuracy"]:0.0000}");
    clock.Restart();
    return false;
}, "EpochTimes");

var history = net.Fit(train, epochs: epochs, batchSize: 64, validation: test, callbacks: [epochTimes], verbose: verbose, device: device);
Console.WriteLine($"test accuracy: {net.Evaluate(test)["accuracy"]:0.0000}");

Directory.CreateDirectory(outDir);
var predicted = net.PredictClasses(test);
var actual = test.Labels();
var digits = Enumerable.Range(0, 10).Select(d => d.ToString()).ToArray();
foreach (var ext in new[] { "svg", "png" })
{
    Charts.SaveTrainingCurves(history, Path.Combine(outDir, $"training_curves.{ext}"));
    Charts.SaveConfusionMatrix(actual, predicted, Path.Combine(outDir, $"confusion_matrix.{ext}"), digits);
    Charts.SaveFilterGrid(net.Parameters["0.weight"], Path.Combine(outDir, $"filters.{ext}"));
}
Console.WriteLine($"pictures written to {Path.GetFullPath(outDir)}");
return 0;
