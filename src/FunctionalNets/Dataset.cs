using Microsoft.FSharp.Core;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using FunctionalNets.Nn;
using IDataset = FunctionalNets.Nn.IDataset;
using NnDataset = FunctionalNets.Nn.Dataset;
using NnTransforms = FunctionalNets.Nn.Transforms;

namespace FunctionalNets;

/// <summary>A dataset of (input, target) examples with random access. Create one with
/// <see cref="Datasets"/>.</summary>
public sealed class Dataset
{
    internal Dataset(IDataset inner) => Inner = inner;

    internal IDataset Inner { get; }

    /// <summary>Number of examples.</summary>
    public int Count => Inner.Count;

    /// <summary>The shape of one input example (without the batch dim), read from the first example.</summary>
    public int[] InputShape
    {
        get
        {
            if (Inner.Count == 0) throw new InvalidOperationException("The dataset is empty, so it has no example shape.");
            var dims = Inner.GetBatch([0]).Input.Shape!.ToArray();
            return dims[1..];
        }
    }

    /// <summary>The first min(n, Count) examples.</summary>
    /// <param name="n">How many examples to keep (&gt;= 0).</param>
    public Dataset Take(int n)
    {
        if (n < 0) throw new ArgumentOutOfRangeException(nameof(n), n, "Take: n must be >= 0.");
        return new(NnDataset.take(n, Inner));
    }

    /// <summary>Splits the examples at random into a training part of round(trainFraction * Count)
    /// examples and a validation part of the rest; the same seed gives the same split.</summary>
    /// <param name="trainFraction">The training share, in [0, 1] (0.9 gives 90% / 10%).</param>
    /// <param name="seed">The seed of the permutation.</param>
    public (Dataset Train, Dataset Validation) Split(double trainFraction, int seed = 0)
    {
        if (!(trainFraction >= 0.0 && trainFraction <= 1.0))
            throw new ArgumentOutOfRangeException(nameof(trainFraction), trainFraction, "Split: trainFraction must be in [0, 1].");
        var parts = NnDataset.split(trainFraction, KeyModule.create(seed), Inner);
        return (new(parts.Item1), new(parts.Item2));
    }

    /// <summary>This dataset with its inputs passed through the transforms in order, e.g.
    /// <c>train.Map(Transforms.RandomCrop(28, padding: 2), Transforms.RandomErasing(p: 0.5))</c>. Random
    /// transforms draw from the key Fit gives each batch (from the run's seed, the epoch and the batch), so the
    /// same seed gives the same augmented batches and every epoch draws new ones. Map the training set only.
    /// The transforms are tried on the first example at once, so a transform that does not fit the data fails
    /// here rather than in Fit.</summary>
    /// <param name="transforms">The transforms, at least one.</param>
    public Dataset Map(params Transform[] transforms) => MapSeeded(0, transforms);

    /// <summary>Map with the seed folded into every batch key (Cifar10.Train's seed); 0 leaves keys as they are.</summary>
    internal Dataset MapSeeded(int seed, Transform[] transforms)
    {
        ArgumentNullException.ThrowIfNull(transforms);
        if (transforms.Length == 0) throw new ArgumentException("Map: give at least one transform.", nameof(transforms));
        for (int i = 0; i < transforms.Length; i++)
            if (transforms[i] is null) throw new ArgumentException($"Map: transform {i} is null.", nameof(transforms));
        var pipeline = NnTransforms.compose(Interop.List(transforms.Select(t => t.Inner)));
        var mapped = new Dataset(NnDataset.mapWithKey(
            FuncConvert.FromFunc<Key, Batch, Batch>((k, b) =>
                new Batch(FSharpFunc<Key, Tensor>.InvokeFast(pipeline, seed == 0 ? k : KeyModule.foldIn(seed, k), b.Input), b.Target)),
            Inner));
        if (Count > 0)
        {
            try
            {
                CSharpTerms.Run(() => mapped.Inner.GetBatch([0]));
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException(
                    $"Map({string.Join(", ", transforms.Select(t => t.Name))}) does not fit inputs of shape {Interop.ShapeText([.. InputShape])}: {e.Message}",
                    nameof(transforms), e);
            }
        }
        return mapped;
    }

    /// <summary>The inputs and targets of the examples at the given indices, stacked along a new batch dim.</summary>
    /// <param name="indices">Example indices in [0, Count).</param>
    public (Tensor Inputs, Tensor Targets) GetBatch(params int[] indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        var b = Inner.GetBatch(indices);
        return (b.Input, b.Target);
    }

    /// <summary>Every example's class-index target, in order (for confusion matrices and per-class counts).</summary>
    /// <exception cref="InvalidOperationException">The targets are not one class index per example.</exception>
    public int[] Labels()
    {
        var labels = new int[Count];
        const int chunk = 1024;
        for (int start = 0; start < Count; start += chunk)
        {
            var indices = Enumerable.Range(start, Math.Min(chunk, Count - start)).ToArray();
            var t = Inner.GetBatch(indices).Target;
            if (t.Rank != 1)
                throw new InvalidOperationException(
                    $"Labels: the targets have shape {Interop.ShapeText(t.Shape!.ToArray())} per batch; class labels need one index per example.");
            var values = t.ToDoubleArray();
            for (int i = 0; i < values.Length; i++) labels[start + i] = (int)values[i];
        }
        return labels;
    }

    /// <summary>A short description.</summary>
    public override string ToString() => $"Dataset({Count} examples)";
}

/// <summary>Built-in datasets and datasets from arrays or tensors.</summary>
public static class Datasets
{
    /// <summary>MNIST: 60,000 training and 10,000 test images of handwritten digits; inputs Float32
    /// [1, 28, 28] normalized with the training mean and standard deviation, targets the digits 0..9.
    /// The files are found in the given folder, else in $FUNCTIONALNETS_DATA/mnist, the per-user cache or
    /// the repository's data/mnist; each split is read once per folder and shared. In a project of your
    /// own, call <see cref="Download"/> once (or pass <c>download: true</c>) to fetch the files into the
    /// per-user cache, where every later run finds them.</summary>
    public static class Mnist
    {
        private static readonly ConcurrentDictionary<(string Dir, bool Train), Lazy<IDataset>> Cache = new();

        private static string? CheckedPath(string? path) =>
            path is not null && string.IsNullOrWhiteSpace(path)
                ? throw new ArgumentException("The MNIST path must not be empty; pass null to search the usual places.", nameof(path))
                : path;

        /// <summary>Downloads the four MNIST files (from the mirror torchvision uses) into
        /// <paramref name="path"/>, else $FUNCTIONALNETS_DATA/mnist, else the per-user cache
        /// (~/.cache/functionalnets/mnist), checking each file's size and sha256 before it is moved into place.
        /// Files already there and valid are kept, so a second call touches no network.</summary>
        /// <param name="path">The folder to download into, or null for the default location.</param>
        /// <returns>The folder holding the files.</returns>
        /// <exception cref="IOException">The network is unreachable or a file failed its checksum; the message
        /// names the URL and the folder to copy the files into by hand.</exception>
        public static string Download(string? path = null) =>
            global::FunctionalNets.Nn.Mnist.download(DataLocation.resolve(Interop.Option(CheckedPath(path)), "mnist"));

        private static Dataset Load(string? path, bool train, bool download)
        {
            path = CheckedPath(path);
            var dir = download && !DataLocation.mnistCandidates(Interop.Option(path)).Any(HasMnist)
                ? Download(path)
                : DataLocation.findMnist(Interop.Option(path));
            var split = train ? MnistSplit.Train : MnistSplit.Test;
            var lazy = Cache.GetOrAdd((dir, train), key =>
                new Lazy<IDataset>(() => global::FunctionalNets.Nn.Mnist.toDataset(global::FunctionalNets.Nn.Mnist.loadRaw(true, key.Dir, split))));
            return new(lazy.Value);
        }

        private static bool HasMnist(string dir) =>
            DataLocation.mnistFiles.All(f => Microsoft.FSharp.Core.OptionModule.IsSome(DataLocation.tryMnistFile(dir, f)));

        /// <summary>The 60,000 training examples.</summary>
        /// <param name="path">The folder holding the four MNIST files (gzipped or not), or null to search.</param>
        /// <param name="download">When the files are not found, download them first (see <see cref="Download"/>).</param>
        public static Dataset Train(string? path = null, bool download = false) => Load(path, train: true, download);

        /// <summary>The 10,000 test examples.</summary>
        /// <param name="path">The folder holding the four MNIST files (gzipped or not), or null to search.</param>
        /// <param name="download">When the files are not found, download them first (see <see cref="Download"/>).</param>
        public static Dataset Test(string? path = null, bool download = false) => Load(path, train: false, download);
    }

    /// <summary>A language-model dataset of sliding windows over token ids: example i has input ids
    /// [s, s + blockSize) and target ids [s + 1, s + blockSize] (the next token at every position), with
    /// s = i * stride; both Int64 [blockSize].</summary>
    /// <param name="ids">The token ids, e.g. from <see cref="CharTokenizer.Encode"/>.</param>
    /// <param name="blockSize">Tokens per example (the model's context).</param>
    /// <param name="stride">Tokens between the starts of consecutive examples; defaults to blockSize.</param>
    public static Dataset TextWindows(int[] ids, int blockSize, int? stride = null)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (blockSize < 1) throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, "TextWindows: blockSize must be >= 1.");
        if (stride is < 1) throw new ArgumentOutOfRangeException(nameof(stride), stride, "TextWindows: stride must be >= 1.");
        return new(global::FunctionalNets.Nn.Text.windows(blockSize, stride ?? blockSize, ids));
    }

    /// <summary>CIFAR-10: 50,000 training and 10,000 test colour images of 10 classes, inputs Float32
    /// [3, 32, 32], targets the class indices. Read from the official binary archive
    /// (cifar-10-binary.tar.gz, extracted on first use) or its extracted folder: the given path, else
    /// $FUNCTIONALNETS_DATA/cifar10, the per-user cache or the repository's data/cifar10.</summary>
    public static class Cifar10
    {
        private static readonly ConcurrentDictionary<string, Lazy<(IDataset Train, IDataset Test, string[] Classes)>> Cache = new();

        private static readonly Microsoft.FSharp.Core.FSharpFunc<Batch, Batch> Normalized =
            Interop.Func<Batch, Batch>(b => new Batch(NnTransforms.normalizeCifar10(b.Input), b.Target));

        // The public member calling Load is named in its message (CallerMemberName), so the check is written once.
        private static (IDataset Train, IDataset Test, string[] Classes) Load(string? path, [CallerMemberName] string method = "")
        {
            if (path is not null && string.IsNullOrWhiteSpace(path))
                throw new ArgumentException($"Datasets.Cifar10.{method}: the path must not be empty; pass null to search the usual places.", nameof(path));
            var found = global::FunctionalNets.Nn.Cifar10.find(Interop.Option(path));
            return Cache.GetOrAdd(found, p => new(() =>
            {
                var d = global::FunctionalNets.Nn.Cifar10.load(p);
                return (d.Train, d.Test, d.Classes);
            })).Value;
        }

        /// <summary>The 50,000 training examples. With augment, each batch is randomly cropped (32 with
        /// 4-pixel padding) and horizontally flipped (<see cref="Dataset.Map"/> with <see cref="Transforms"/>),
        /// afresh every epoch and reproducibly from Fit's seed and this seed; inputs are normalized with the
        /// CIFAR-10 channel means and standard deviations either way.</summary>
        /// <param name="path">The archive, or a folder holding it or its batch files; null to search.</param>
        /// <param name="augment">Random crop and flip per batch.</param>
        /// <param name="seed">The seed of the augmentation.</param>
        public static Dataset Train(string? path = null, bool augment = true, int seed = 0)
        {
            var train = Load(path).Train;
            return augment
                ? new Dataset(train).MapSeeded(seed, [
                    Transforms.RandomCrop(32, padding: 4),
                    Transforms.RandomHorizontalFlip(),
                    Transforms.Normalize(NnTransforms.cifar10Mean, NnTransforms.cifar10Std)])
                : new(NnDataset.map(Normalized, train));
        }

        /// <summary>The 10,000 test examples, normalized with the CIFAR-10 statistics.</summary>
        /// <param name="path">The archive, or a folder holding it or its batch files; null to search.</param>
        public static Dataset Test(string? path = null) =>
            new(NnDataset.map(Normalized, Load(path).Test));

        /// <summary>Downloads the official archive cifar-10-binary.tar.gz (170 MB, from the authors' site) into
        /// <paramref name="path"/>, else $FUNCTIONALNETS_DATA/cifar10, else the per-user cache
        /// (~/.cache/functionalnets/cifar10), checking its size and sha256 before it is moved into place. An
        /// archive already there and valid is kept, so a second call touches no network.</summary>
        /// <param name="path">The folder to download into, or null for the default location.</param>
        /// <returns>The path of the archive, which <see cref="Train"/> and <see cref="Test"/> accept.</returns>
        /// <exception cref="IOException">The network is unreachable; the message names the URL and the folder
        /// to copy the archive into by hand.</exception>
        /// <exception cref="InvalidDataException">What arrived has the wrong size or sha256.</exception>
        public static string Download(string? path = null)
        {
            if (path is not null && string.IsNullOrWhiteSpace(path))
                throw new ArgumentException("Datasets.Cifar10.Download: the path must not be empty; pass null for the default location.", nameof(path));
            return global::FunctionalNets.Nn.Cifar10.download(DataLocation.resolve(Interop.Option(path), "cifar10"));
        }

        /// <summary>The class names in label order (airplane, automobile, ...).</summary>
        /// <param name="path">The archive, or a folder holding it or its batch files; null to search.</param>
        public static IReadOnlyList<string> Classes(string? path = null) => Load(path).Classes;
    }

    private static float[] Rows(float[,] values, string paramName)
    {
        ArgumentNullException.ThrowIfNull(values, paramName);
        var flat = new float[values.Length];
        Buffer.BlockCopy(values, 0, flat, 0, values.Length * sizeof(float));
        return flat;
    }

    /// <summary>A classification dataset: inputs [N, D] (one example per row) and class labels [N].</summary>
    /// <param name="inputs">The examples, one per row.</param>
    /// <param name="labels">The class index of each row (&gt;= 0).</param>
    public static Dataset FromArrays(float[,] inputs, int[] labels)
    {
        var x = Rows(inputs, nameof(inputs));
        ArgumentNullException.ThrowIfNull(labels);
        int n = inputs.GetLength(0), d = inputs.GetLength(1);
        if (labels.Length != n)
            throw new ArgumentException($"FromArrays: {n} input rows but {labels.Length} labels.", nameof(labels));
        for (int i = 0; i < labels.Length; i++)
            if (labels[i] < 0)
                throw new ArgumentOutOfRangeException(nameof(labels), labels[i], $"FromArrays: label {labels[i]} at index {i} is negative.");
        return FromTensors(Tensor.OfArray(x, [n, d]), Tensor.OfArray(Array.ConvertAll(labels, l => (long)l), [n]));
    }

    /// <summary>A regression (or multi-label) dataset: inputs [N, D] and targets [N, K], one example per row.</summary>
    /// <param name="inputs">The examples, one per row.</param>
    /// <param name="targets">The target of each row.</param>
    public static Dataset FromArrays(float[,] inputs, float[,] targets)
    {
        var x = Rows(inputs, nameof(inputs));
        var y = Rows(targets, nameof(targets));
        int n = inputs.GetLength(0);
        if (targets.GetLength(0) != n)
            throw new ArgumentException($"FromArrays: {n} input rows but {targets.GetLength(0)} target rows.", nameof(targets));
        return FromTensors(Tensor.OfArray(x, [n, inputs.GetLength(1)]), Tensor.OfArray(y, [n, targets.GetLength(1)]));
    }

    /// <summary>A dataset over two tensors whose first dim indexes the examples.</summary>
    /// <param name="inputs">The inputs [N, ...].</param>
    /// <param name="targets">The targets [N, ...] or [N].</param>
    public static Dataset FromTensors(Tensor inputs, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        if (inputs.Rank < 1)
            throw new ArgumentException($"FromTensors: inputs need a leading example dim, got shape {Interop.ShapeText(inputs.Shape)}.", nameof(inputs));
        if (targets.Rank < 1 || targets.Shape!.ToArray()[0] != inputs.Shape!.ToArray()[0])
            throw new ArgumentException(
                $"FromTensors: inputs {Interop.ShapeText(inputs.Shape)} and targets {Interop.ShapeText(targets.Shape)} must have the same first dim.",
                nameof(targets));
        return new(NnDataset.ofTensors(inputs, targets));
    }
}
