// Trains the MNIST MLP on a subset twice from the same seed: once with Fit, once with a loop written by hand
// (HandWrittenLoop.cs), and checks that both give the same weights, bit for bit. Exits 1 if they differ.
//
//   dotnet run -c Release --project samples/CustomLoop -- [--examples N] [--epochs N] [--seed S]
using CustomLoop;
using FunctionalNets;

int examples = 2048, epochs = 1, seed = 0;
const int batchSize = 64;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--examples" when i + 1 < args.Length && int.TryParse(args[i + 1], out var n) && n > 0: examples = n; i++; break;
        case "--epochs" when i + 1 < args.Length && int.TryParse(args[i + 1], out var e) && e > 0: epochs = e; i++; break;
        case "--seed" when i + 1 < args.Length && int.TryParse(args[i + 1], out var s): seed = s; i++; break;
        default:
            Console.Error.WriteLine($"unknown or incomplete option '{args[i]}'");
            Console.Error.WriteLine("usage: CustomLoop [--examples N] [--epochs N] [--seed S]");
            return 2;
    }
}

var train = Datasets.Mnist.Train().Take(examples);

static Net Mlp() => Net.Sequential(
    Layers.Flatten(),
    Layers.Linear(784, 512), Layers.ReLU(), Layers.Dropout(0.2),
    Layers.Linear(512, 256), Layers.ReLU(), Layers.Dropout(0.2),
    Layers.Linear(256, 10));

using var fitted = Mlp().Compile(Optimizers.Adam(1e-3), Losses.CrossEntropy()).Build([1, 28, 28], seed);
var history = fitted.Fit(train, epochs: epochs, batchSize: batchSize, verbose: false);

using var looped = Mlp().Build([1, 28, 28], seed);
var losses = HandWrittenLoop.Train(looped, Optimizers.Adam(1e-3), Losses.CrossEntropy(), train, epochs, batchSize);

for (int e = 0; e < epochs; e++)
    Console.WriteLine($"epoch {e + 1}: loss {losses[e]:F6} (Fit: {history["loss"][e]:F6})");
var difference = HandWrittenLoop.MaxAbsDifference(fitted.Parameters, looped.Parameters);
Console.WriteLine($"max abs difference between the weights of Fit and of the hand-written loop: {difference}");
return difference == 0 ? 0 : 1;
