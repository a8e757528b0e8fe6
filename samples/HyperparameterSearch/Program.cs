// Tunes the MNIST MLP's learning rate, width and dropout with successive halving: 27 random configurations
// train one epoch on 12,000 training images, the best third go on to three epochs, the best of those to nine.
// Every trial is scored by its accuracy on 5,000 held-out training images (the test set stays untouched);
// the best configuration is then checked once on the test set.
//
//   dotnet run -c Release --project samples/HyperparameterSearch -- [--trials N] [--seed S] [--data PATH] [--out DIR] [--grid]
using FunctionalNets;

int trials = 27, seed = 0;
string? dataPath = null;
string outDir = "hyperparameter-search-output";
bool grid = false;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--trials" when i + 1 < args.Length && int.TryParse(args[i + 1], out var n) && n > 0: trials = n; i++; break;
        case "--seed" when i + 1 < args.Length && int.TryParse(args[i + 1], out var s): seed = s; i++; break;
        case "--data" when i + 1 < args.Length: dataPath = args[++i]; break;
        case "--out" when i + 1 < args.Length: outDir = args[++i]; break;
        case "--grid": grid = true; break;
        default:
            Console.Error.WriteLine($"unknown or incomplete option '{args[i]}'");
            Console.Error.WriteLine("usage: HyperparameterSearch [--trials N] [--seed S] [--data PATH] [--out DIR] [--grid]");
            return 2;
    }
}

var (train, validation) = Datasets.Mnist.Train(dataPath).Take(17_000).Split(12_000.0 / 17_000.0, seed);
var test = Datasets.Mnist.Test(dataPath);

var space = new HyperparameterSpace()
    .LogUniform("lr", 1e-4, 3e-2)
    .Choice("width", 64, 128, 256, 512)
    .Uniform("dropout", 0.0, 0.5);

Net Build(Trial trial)
{
    int width = trial.Int("width");
    double dropout = trial.Float("dropout");
    var net = Net.Sequential(
        Layers.Flatten(),
        Layers.Linear(784, width), Layers.ReLU(), Layers.Dropout(dropout),
        Layers.Linear(width, width / 2), Layers.ReLU(), Layers.Dropout(dropout),
        Layers.Linear(width / 2, 10));
    net.Compile(Optimizers.Adam(trial.Float("lr")), Losses.CrossEntropy(), Metrics.Accuracy());
    net.Build(train.InputShape, trial.Seed);
    return net;
}

var trained = new System.Collections.Concurrent.ConcurrentDictionary<string, Net>();
Func<int, double> Start(Trial trial)
{
    var net = Build(trial);
    trained[trial.ToString()] = net;
    // Fit continues from the net's weights and optimizer state, so a surviving trial resumes where it stopped.
    return epochs =>
    {
        net.Fit(train, epochs: epochs, batchSize: 128, verbose: false);
        return net.Evaluate(validation)["accuracy"];
    };
}

var watch = System.Diagnostics.Stopwatch.StartNew();
var result = grid
    ? Tuner.GridSearch(space, Start, epochs: 3, pointsPerRange: 3, maximize: true, seed: seed)
    : Tuner.SuccessiveHalving(space, Start, trials: trials, minEpochs: 1, maxEpochs: 9, eta: 3, maximize: true, seed: seed);
watch.Stop();

Console.WriteLine();
Console.WriteLine(result.ToTable());
Console.WriteLine();
Directory.CreateDirectory(outDir);
result.SaveCsv(Path.Combine(outDir, "trials.csv"));
result.SavePlot(Path.Combine(outDir, "objective.png"));
result.SavePlot(Path.Combine(outDir, "objective.svg"));

var best = result.Best;
Console.WriteLine($"best: {best.Description}: validation accuracy {best.Score:0.0000} after {best.Epochs} epochs");
Console.WriteLine($"best on the test set: accuracy {trained[best.Description].Evaluate(test)["accuracy"]:0.0000}");
Console.WriteLine($"search: {result.Trials.Count} trials, {result.TotalEpochs} epochs in all, {watch.Elapsed.TotalSeconds:0} s");
Console.WriteLine($"pictures and CSV written to {Path.GetFullPath(outDir)}");
return 0;
