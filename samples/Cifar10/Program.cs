// Trains a CIFAR-10 classifier on the CPU: the small fast network by default (Models.CifarSmall), or the
// ResNet-18 with --model resnet18. Random crop + flip augmentation, SGD with Nesterov momentum and a
// one-cycle learning rate. Prints each epoch's time and the test accuracy, and writes its pictures
// (training curves, confusion matrix, first-layer filters) as SVG and PNG.
//
//   dotnet run -c Release --project samples/Cifar10 -- [--model small|resnet18] [--epochs N] [--batch N]
//       [--data PATH] [--out DIR] [--limit N] [--device cpu|cuda|cuda-sim] [--quiet]
//
// --data is the cifar-10-binary.tar.gz archive or a folder holding it or its batch files; without it the
// usual places are searched ($FUNCTIONALNETS_DATA/cifar10, the per-user cache, data/cifar10).
using System.Diagnostics;
using FunctionalNets;

string model = "small";
int? epochsArg = null;
int batch = 128, limit = 0;
string? dataPath = null;
string outDir = "cifar10-output";
bool verbose = true;
string deviceName = "cpu";
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--model" when i + 1 < args.Length && args[i + 1] is "small" or "resnet18": model = args[++i]; break;
        case "--epochs" when i + 1 < args.Length && int.TryParse(args[i + 1], out var n) && n > 0: epochsArg = n; i++; break;
        case "--batch" when i + 1 < args.Length && int.TryParse(args[i + 1], out var b) && b > 0: batch = b; i++; break;
        case "--limit" when i + 1 < args.Length && int.TryParse(args[i + 1], out var l) && l > 0: limit = l; i++; break;
        case "--data" when i + 1 < args.Length: dataPath = args[++i]; break;
        case "--out" when i + 1 < args.Length: outDir = args[++i]; break;
        case "--device" when i + 1 < args.Length: deviceName = args[++i]; break;
        case "--quiet": verbose = false; break;
        default:
            Console.Error.WriteLine($"unknown or incomplete option '{args[i]}'");
            Console.Error.WriteLine("usage: Cifar10 [--model small|resnet18] [--epochs N] [--batch N] [--data PATH] [--out DIR] [--limit N] [--device cpu|cuda|cuda-sim] [--quiet]");
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

int epochs = epochsArg ?? (model == "small" ? 8 : 30);
var train = Datasets.Cifar10.Train(dataPath, augment: true, seed: 0);
var test = Datasets.Cifar10.Test(dataPath);
if (limit > 0) train = train.Take(limit);
var classes = Datasets.Cifar10.Classes(dataPath);

var net = Net.FromModel(model == "small" ? Models.CifarSmall() : Models.ResNet18());
long steps = (long)epochs * ((train.Count + batch - 1) / batch);
var lr = Schedules.OneCycle(model == "small" ? 0.2 : 0.1, steps);
net.Compile(Optimizers.SGD(lr, momentum: 0.9, nesterov: true, weightDecay: 5e-4), Losses.CrossEntropy(), Metrics.Accuracy());
if (verbose) Console.WriteLine(net.Build(3, 32, 32).Summary());

var clock = Stopwatch.StartNew();
var total = Stopwatch.StartNew();
var epochTimes = Callbacks.Lambda((epoch, logs) =>
{
    Console.WriteLine($"epoch {epoch}: {clock.Elapsed.TotalSeconds:0.0} s, loss {logs["loss"]:0.000}, val_accuracy {logs["val_accuracy"]:0.0000}");
    clock.Restart();
    return false;
}, "EpochTimes");

var history = net.Fit(train, epochs: epochs, batchSize: batch, validation: test, callbacks: [epochTimes], verbose: verbose, device: device);
Console.WriteLine($"test accuracy: {net.Evaluate(test)["accuracy"]:0.0000} after {epochs} epochs, {total.Elapsed.TotalMinutes:0.0} minutes");

Directory.CreateDirectory(outDir);
var predicted = net.PredictClasses(test);
var actual = test.Labels();
var stem = net.ParameterNames.First(p => p.EndsWith(".weight") && net.Parameters[p].Rank == 4);
foreach (var ext in new[] { "svg", "png" })
{
    Charts.SaveTrainingCurves(history, Path.Combine(outDir, $"training_curves.{ext}"));
    Charts.SaveConfusionMatrix(actual, predicted, Path.Combine(outDir, $"confusion_matrix.{ext}"), classes);
    Charts.SaveFilterGrid(net.Parameters[stem], Path.Combine(outDir, $"filters.{ext}"));
}
Console.WriteLine($"pictures written to {Path.GetFullPath(outDir)}");
return 0;
