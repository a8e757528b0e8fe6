// A user's first program, built from the FunctionalNets packages alone: trains the README's MLP on MNIST,
// prints one JSON line with the epoch times and the test accuracy, and fails below the accuracy bar.
//
//   dotnet run -c Release [-- --data DIR] [--epochs N]
using System.Diagnostics;
using System.Globalization;
using FunctionalNets;

string? data = null;
int epochs = 3;
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--data" && i + 1 < args.Length) data = args[++i];
    else if (args[i] == "--epochs" && i + 1 < args.Length) epochs = int.Parse(args[++i], CultureInfo.InvariantCulture);
    else { Console.Error.WriteLine($"unknown option '{args[i]}'; use --data DIR, --epochs N"); return 2; }
}

var train = Datasets.Mnist.Train(data);
var test = Datasets.Mnist.Test(data);
var net = Net.Sequential(
    Layers.Flatten(),
    Layers.Linear(784, 512), Layers.ReLU(), Layers.Dropout(0.2),
    Layers.Linear(512, 256), Layers.ReLU(), Layers.Dropout(0.2),
    Layers.Linear(256, 10));
net.Compile(Optimizers.Adam(1e-3), Losses.CrossEntropy(), Metrics.Accuracy());

var seconds = new List<double>();
for (int e = 1; e <= epochs; e++)
{
    var clock = Stopwatch.StartNew();
    net.Fit(train, epochs: e, initialEpoch: e - 1, batchSize: 64, verbose: false);
    seconds.Add(clock.Elapsed.TotalSeconds);
}
double accuracy = net.Evaluate(test)["accuracy"];
var where = AppContext.GetData("FunctionalNets.Consumer.Where") as string ?? "package";
Console.WriteLine(FormattableString.Invariant(
    $"{{\"bench\":\"consumer_mnist_mlp_epoch\",\"built_from\":\"{where}\",\"epoch_seconds\":[{string.Join(",", seconds.Select(s => s.ToString("0.000", CultureInfo.InvariantCulture)))}],\"test_accuracy\":{accuracy:0.0000}}}"));
if (accuracy < 0.97)
{
    Console.Error.WriteLine($"test accuracy {accuracy:0.0000} is below 0.97 after {epochs} epochs");
    return 1;
}
return 0;
