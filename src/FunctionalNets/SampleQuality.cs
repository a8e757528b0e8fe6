using System.Collections.ObjectModel;
using FunctionalNets.Nn;
using NnQuality = FunctionalNets.Nn.SampleQuality;
using NnQualityModule = FunctionalNets.Nn.SampleQualityModule;

namespace FunctionalNets;

/// <summary>How a classifier trained on real data sees a batch of generated samples (<see cref="SampleQuality"/>).</summary>
public sealed class SampleScore
{
    private readonly NnQuality inner;

    internal SampleScore(NnQuality inner) => this.inner = inner;

    /// <summary>Number of samples scored.</summary>
    public int Count => inner.Count;

    /// <summary>The confidence threshold of <see cref="ConfidentShare"/>.</summary>
    public double Threshold => inner.Threshold;

    /// <summary>Share of samples whose most likely class has probability above <see cref="Threshold"/>.</summary>
    public double ConfidentShare => inner.ConfidentShare;

    /// <summary>Entropy in bits of the distribution of predicted classes over the samples: log2 10 = 3.32 for ten
    /// equally frequent digits, 0 when every sample gets the same label (mode collapse).</summary>
    public double ClassEntropyBits => inner.ClassEntropyBits;

    /// <summary>Samples per predicted class.</summary>
    public IReadOnlyList<int> ClassCounts => new ReadOnlyCollection<int>(inner.ClassCounts);

    /// <summary>One line: "N samples: P% classified with confidence &gt; T, class entropy H bits (per class ...)".</summary>
    public override string ToString() => NnQualityModule.describe(inner);
}

/// <summary>
/// The generated-digit check that cannot be faked: a CNN trained on real MNIST (<see cref="Models.MnistCnn"/>,
/// independent of the generator being judged) labels the samples. Sharp, varied digits are classified
/// confidently and spread over the ten classes; blurs are not, and a collapsed generator shows as low class
/// entropy. The classifier is kept in a weights file between runs (the file the F# scripts keep too):
/// <code>
/// using var quality = SampleQuality.ForMnist(Datasets.Mnist.Train(), "mnist-classifier-3ep.safetensors");
/// Console.WriteLine(quality.Score(samples));   // samples [N, 1, 28, 28] with pixels in [0, 1]
/// </code>
/// Dispose releases the classifier's weights.
/// </summary>
public sealed class SampleQuality : IDisposable
{
    private TrainState? classifier;

    private SampleQuality(TrainState classifier, bool trained, string path)
    {
        this.classifier = classifier;
        Trained = trained;
        ClassifierPath = path;
    }

    /// <summary>Whether this call trained the classifier (its file did not exist) rather than reading it.</summary>
    public bool Trained { get; }

    /// <summary>The full path of the classifier's weights file.</summary>
    public string ClassifierPath { get; }

    /// <summary>The MNIST check: the classifier read from <paramref name="classifierPath"/> when the file exists,
    /// else trained on <paramref name="train"/> (Adam under a one-cycle schedule, batch 64; three epochs give about
    /// 99% test accuracy, and a one-epoch classifier understates generated digits by 6-10 points) and written there,
    /// atomically, for the next run. The file's name should say its epochs: an existing file is read as it is.</summary>
    /// <param name="train">MNIST training images as <see cref="Datasets.Mnist"/> gives them (normalised); read only
    /// when the classifier is trained.</param>
    /// <param name="classifierPath">The weights file; its folder is created when missing.</param>
    /// <param name="epochs">Training epochs when the file does not exist (&gt;= 1).</param>
    /// <param name="seed">Seeds the classifier's initialisation and shuffling.</param>
    public static SampleQuality ForMnist(Dataset train, string classifierPath, int epochs = 3, int seed = 2026)
    {
        const string method = "SampleQuality.ForMnist";
        var data = Guard.NotNull(train, nameof(train), method);
        if (string.IsNullOrWhiteSpace(classifierPath))
            throw new ArgumentException($"{method}: the classifier's path must not be empty.", nameof(classifierPath));
        var path = Path.GetFullPath(classifierPath);
        bool trained = !File.Exists(path);
        if (trained) Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var ts = GenerativeTerms.Run(method, "SampleQuality.trainMnistClassifier",
            () => NnQualityModule.mnistClassifier(path, data.Inner, epochs, KeyModule.create(seed)));
        return new SampleQuality(ts, trained, path);
    }

    /// <summary>The classifier's accuracy on labelled MNIST images (e.g. <c>Datasets.Mnist.Test()</c>).</summary>
    /// <param name="test">Normalised images with their labels.</param>
    public double Accuracy(Dataset test)
    {
        var data = Guard.NotNull(test, nameof(test), "SampleQuality.Accuracy");
        var logs = CSharpTerms.Run(() => Train.evaluate(
            NnQualityModule.classifierModel(), Losses.CrossEntropy().Inner, Interop.List([Metrics.Accuracy().Inner]), Alive(nameof(Accuracy)), data.Inner, 1000));
        return logs["accuracy"];
    }

    /// <summary>Scores generated digits on their device, in batches of 500.</summary>
    /// <param name="images">Samples [N, 1, 28, 28] with pixels in [0, 1] (0 background, 1 ink).</param>
    /// <param name="threshold">The confidence a sample's top class needs to count as confident, in [0, 1).</param>
    public SampleScore Score(Tensor images, double threshold = 0.9)
    {
        const string method = "SampleQuality.Score";
        var x = Guard.NotNull(images, nameof(images), method);
        var ts = Alive(nameof(Score));
        return new(GenerativeTerms.Run(method, ["SampleQuality.scoreMnist", "SampleQuality"], () => NnQualityModule.scoreMnist(ts, threshold, x)));
    }

    /// <summary>The score of samples from any classifier's class probabilities.</summary>
    /// <param name="probabilities">[N, K], rows summing to 1.</param>
    /// <param name="threshold">The confidence a sample's top class needs to count as confident, in [0, 1).</param>
    public static SampleScore FromProbabilities(Tensor probabilities, double threshold = 0.9)
    {
        const string method = "SampleQuality.FromProbabilities";
        var p = Guard.NotNull(probabilities, nameof(probabilities), method);
        return new(GenerativeTerms.Run(method, "SampleQuality", () => NnQualityModule.ofProbabilities(threshold, p)));
    }

    /// <summary>Releases the classifier's weights now; afterwards Score and Accuracy throw.</summary>
    public void Dispose()
    {
        var ts = classifier;
        classifier = null;
        if (ts is not null) Scope.donate(new object[] { ts.Params, ts.State }, null);
    }

    private TrainState Alive(string member) =>
        classifier ?? throw new ObjectDisposedException(nameof(SampleQuality), $"SampleQuality.{member}: the check was disposed; create a new one.");
}
