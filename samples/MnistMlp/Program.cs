// Trains a 784-512-256-10 multilayer perceptron on MNIST and prints the test accuracy.
//
//   dotnet run -c Release --project samples/MnistMlp -- [--epochs N] [--data PATH] [--quiet] [--save PATH]
using FunctionalNets;

int epochs = 10;
string? dataPath = null, savePath = null;
bool verbose = true;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--epochs" when i + 1 < args.Length && int.TryParse(args[i + 1], out var n) && n > 0: epochs = n; i++; break;
        case "--data" when i + 1 < args.Length: dataPath = args[++i]; break;
        case "--save" when i + 1 < args.Length: savePath = args[++i]; break;
        case "--quiet": verbose = false; break;
        default:
            Console.Error.WriteLine($"unknown or incomplete option '{args[i]}'");
            Console.Error.WriteLine("usage: MnistMlp [--epochs N] [--data PATH] [--quiet] [--save PATH]");
            return 2;
    }
}

var train = Datasets.Mnist.Train(dataPath);
var test = Datasets.Mnist.Test(dataPath);

var net = Net.Sequential(
    Layers.Flatten(),
    Layers.Linear(784, 512), Layers.ReLU(), Layers.Dropout(0.2),
    Layers.Linear(512, 256), Layers.ReLU(), Layers.Dropout(0.2),
    Layers.Linear(256, 10));

net.Compile(Optimizers.Adam(1e-3), Losses.CrossEntropy(), Metrics.Accuracy());
if (verbose) Console.WriteLine(net.Build(train.InputShape).Summary());

net.Fit(train, epochs: epochs, batchSize: 64, validation: test, verbose: verbose);
Console.WriteLine($"test accuracy: {net.Evaluate(test)["accuracy"]:0.0000}");

if (savePath is not null)
{
    net.Save(savePath);
    Console.WriteLine($"saved to {savePath}");
}
return 0;
