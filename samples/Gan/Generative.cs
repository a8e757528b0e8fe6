using System.Diagnostics;
using FunctionalNets;

namespace GenerativeSamples;

/// <summary>The command line the generative samples share.</summary>
public sealed record GenerativeOptions(int Epochs, int? Limit, string Out, string DeviceName, int Samples, int Seed)
{
    /// <summary>The usage line, after the program's name.</summary>
    public const string Usage = "[--epochs N] [--limit N] [--samples N] [--seed S] [--out DIR] [--device cpu|cuda|cuda-sim]";

    /// <summary>Parses args over the defaults; on an unknown or incomplete option prints the usage and returns null.</summary>
    public static GenerativeOptions? Parse(string program, string[] args, GenerativeOptions defaults)
    {
        var o = defaults;
        for (int i = 0; i < args.Length; i++)
        {
            var next = i + 1 < args.Length ? args[i + 1] : null;
            int v = 0;
            bool positive = next is not null && int.TryParse(next, out v) && v > 0;
            switch (args[i])
            {
                case "--epochs" when positive: o = o with { Epochs = v }; i++; break;
                case "--limit" when positive: o = o with { Limit = v }; i++; break;
                case "--samples" when positive: o = o with { Samples = v }; i++; break;
                case "--seed" when next is not null && int.TryParse(next, out var s): o = o with { Seed = s }; i++; break;
                case "--out" when next is not null: o = o with { Out = next }; i++; break;
                case "--device" when next is not null: o = o with { DeviceName = next }; i++; break;
                default:
                    Console.Error.WriteLine($"unknown or incomplete option '{args[i]}'");
                    Console.Error.WriteLine($"usage: {program} {Usage}");
                    return null;
            }
        }
        return o;
    }
}

/// <summary>Wall-clock and process CPU time since creation.</summary>
public sealed class Clock
{
    private readonly Stopwatch wall = Stopwatch.StartNew();
    private readonly TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;

    /// <summary>"12.3 s wall, 20.1 s CPU".</summary>
    public string Text =>
        $"{wall.Elapsed.TotalSeconds:0.0} s wall, {(Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds:0.0} s CPU";
}

/// <summary>MNIST pixels: the dataset's inputs are normalised with torchvision's mean and standard deviation.</summary>
public static class Pixels
{
    /// <summary>torchvision's MNIST mean and standard deviation (of the training pixels in [0, 1]).</summary>
    public const double Mean = 0.1307, Std = 0.3081;

    /// <summary>Normalised inputs back to [0, 1].</summary>
    public static Tensor ToUnit(Tensor normalised) => normalised * Std + Mean;

    /// <summary>[0, 1] pixels to the dataset's normalisation (the classifier's input).</summary>
    public static Tensor Normalise(Tensor unit) => (unit - Mean) / Std;
}

/// <summary>Training curves from a hand-written loop, drawn as Fit's.</summary>
public static class Curves
{
    /// <summary>Writes the per-epoch logs (name to value, one dictionary per epoch) as PNG and SVG.</summary>
    public static void Save(IReadOnlyList<IReadOnlyDictionary<string, double>> epochs, string outDir)
    {
        var history = History.FromEpochs(epochs);
        foreach (var ext in new[] { "png", "svg" })
            Charts.SaveTrainingCurves(history, Path.Combine(outDir, $"training_curves.{ext}"));
    }
}

/// <summary>The sample check of issue 16 (<see cref="SampleQuality"/>): a CNN trained on real MNIST (kept on disk
/// between runs) labels generated digits; sharp, varied digits are classified confidently and spread over the ten
/// classes.</summary>
public static class SampleCheck
{
    /// <summary>The classifier's training epochs: a 1-epoch classifier is unsure of 3% of the real test digits and
    /// understates generated ones by about 10 points against a 3-epoch one (measured with the F# scripts).</summary>
    public const int ClassifierEpochs = 3;

    /// <summary>The classifier's file for output folder outDir: mnist-classifier-3ep.safetensors beside it, the file
    /// the F# scripts keep too.</summary>
    public static string ClassifierBeside(string outDir) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(outDir))!, "mnist-classifier-3ep.safetensors");

    /// <summary>Scores images [N, 1, 28, 28] with pixels in [0, 1] (the confident share, top class probability
    /// above 0.9, and the entropy in bits of the predicted classes) and prints the score; on the first run trains
    /// the classifier and prints its test accuracy.</summary>
    public static SampleScore Run(Tensor images, string classifierPath, Dataset train, Dataset test)
    {
        var clock = new Clock();
        using var quality = SampleQuality.ForMnist(train, classifierPath, epochs: ClassifierEpochs);
        if (quality.Trained)
            Console.WriteLine($"check: classifier trained for {ClassifierEpochs} epochs, test accuracy {quality.Accuracy(test):0.0000}, saved to {quality.ClassifierPath} ({clock.Text})");
        var score = quality.Score(images);
        Console.WriteLine($"check: {score}");
        return score;
    }
}
