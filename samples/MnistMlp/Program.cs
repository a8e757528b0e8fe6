// Trains a 784-512-256-10 multilayer perceptron on MNIST and prints the test accuracy.
//
//   dotnet run -c Release --project samples/MnistMlp -- [--epochs N] [--seed S] [--data PATH] [--device cpu|cuda|cuda-sim] [--quiet] [--save PATH]
using FunctionalNets;

int epochs = 12, seed = 0;
const int batchSize = 128;
string? dataPath = null, savePath = null;
bool verbose = true;
string deviceName = "cpu";
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--epochs" when i + 1 < args.Length && int.TryParse(args[i + 1], out var n) && n > 0: epochs = n; i++; break;
        case "--seed" when i + 1 < args.Length && int.TryParse(args[i + 1], out var s): seed = s; i++; break;
        case "--data" when i + 1 < args.Length: dataPath = args[++i]; break;
        case "--save" when i + 1 < args.Length: savePath = args[++i]; break;
        case "--device" when i + 1 < args.Length: deviceName = args[++i]; break;
        case "--quiet": verbose = false; break;
        default:
            Console.Error.WriteLine($"unknown or incomplete option '{args[i]}'");
            Console.Error.WriteLine("usage: MnistMlp [--epochs N] [--seed S] [--data PATH] [--device cpu|cuda|cuda-sim] [--quiet] [--save PATH]");
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

var net = Net.Sequential(
    Layers.Flatten(),
    Layers.Linear(784, 512), Layers.ReLU(), Layers.Dropout(0.2),
    Layers.Linear(512, 256), Layers.ReLU(), Layers.Dropout(0.2),
    Layers.Linear(256, 10));

// Adam under a one-cycle schedule: the rate warms up to its peak and anneals to almost zero, which
// settles the last epochs where a constant rate keeps the test accuracy wandering around 98%.
long stepsPerEpoch = (train.Count + batchSize - 1) / batchSize;
var schedule = Schedules.OneCycle(maxLearningRate: 2e-3, totalSteps: epochs * stepsPerEpoch);
net.Compile(Optimizers.Adam(schedule), Losses.CrossEntropy(), Metrics.Accuracy());
net.Build(train.InputShape, seed);
if (verbose) Console.WriteLine(net.Summary());

net.Fit(train, epochs: epochs, batchSize: batchSize, validation: test, verbose: verbose, device: device);
Console.WriteLine($"test accuracy: {net.Evaluate(test)["accuracy"]:0.0000}");

if (savePath is not null)
{
    net.Save(savePath);
    Console.WriteLine($"saved to {savePath}");
}
return 0;
