using FunctionalNets.Nn;
using NnSearch = FunctionalNets.Nn.Search;
using NnSearchResult = FunctionalNets.Nn.SearchResult;
using NnSpace = FunctionalNets.Nn.SearchSpace;

namespace FunctionalNets;

/// <summary>The hyperparameters to search over, declared one by one:
/// <c>new HyperparameterSpace().LogUniform("lr", 1e-4, 1e-2).Choice("width", 128, 256).Uniform("dropout", 0, 0.5)</c>.</summary>
public sealed class HyperparameterSpace
{
    private readonly List<Tuple<string, HyperRange>> ranges = new();

    private HyperparameterSpace Add(string name, HyperRange range)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("HyperparameterSpace: a hyperparameter needs a name.", nameof(name));
        ranges.Add(Tuple.Create(name, range));
        return this;
    }

    /// <summary>One of the given numbers, each equally likely.</summary>
    public HyperparameterSpace Choice(string name, params double[] values) =>
        Add(name, HyperRange.NewChoice(Interop.List((values ?? throw new ArgumentNullException(nameof(values))).Select(HyperValue.NewReal))));

    /// <summary>One of the given integers, each equally likely.</summary>
    public HyperparameterSpace Choice(string name, params int[] values) =>
        Add(name, HyperRange.NewChoice(Interop.List((values ?? throw new ArgumentNullException(nameof(values))).Select(HyperValue.NewInteger))));

    /// <summary>One of the given labels (an activation's name, an optimizer's), each equally likely.</summary>
    public HyperparameterSpace Choice(string name, params string[] values) =>
        Add(name, HyperRange.NewChoice(Interop.List((values ?? throw new ArgumentNullException(nameof(values))).Select(HyperValue.NewLabel))));

    /// <summary>A real number uniform in [low, high].</summary>
    public HyperparameterSpace Uniform(string name, double low, double high) => Add(name, HyperRange.NewUniform(low, high));

    /// <summary>A real number whose logarithm is uniform in [log low, log high]; low must be above 0.</summary>
    public HyperparameterSpace LogUniform(string name, double low, double high) => Add(name, HyperRange.NewLogUniform(low, high));

    /// <summary>An integer uniform in [low, high], both included.</summary>
    public HyperparameterSpace Int(string name, int low, int high) => Add(name, HyperRange.NewIntRange(low, high));

    internal NnSpace Build() => SearchSpaceModule.create(Interop.List(ranges));
}

/// <summary>The hyperparameters of one trial, and a seed of its own derived from the search's seed.</summary>
public sealed class Trial
{
    private readonly TrialConfig config;

    internal Trial(TrialConfig config, int seed)
    {
        this.config = config;
        Seed = seed;
    }

    /// <summary>A seed for the trial's model and data order: the same search seed gives the same seeds.</summary>
    public int Seed { get; }

    /// <summary>The real value of a hyperparameter (integers are widened).</summary>
    public double Float(string name) => config.Float(name);

    /// <summary>The integer value of a hyperparameter.</summary>
    public int Int(string name) => config.Int(name);

    /// <summary>The label value of a hyperparameter.</summary>
    public string Label(string name) => config.Label(name);

    /// <summary>"name=value" pairs, as the trial is reported.</summary>
    public override string ToString() => config.ToString();
}

/// <summary>What became of one trial.</summary>
public sealed class TrialOutcome
{
    internal TrialOutcome(TrialResult r)
    {
        Index = r.Index;
        Score = r.Score;
        Epochs = r.Epochs;
        Error = r.Error is null ? null : r.Error.Value;
        Description = r.Config.ToString();
        Parameters = r.Config.Values.ToDictionary(kv => kv.Key, kv => kv.Value switch
        {
            HyperValue.Real v => (object)v.Item,
            HyperValue.Integer i => i.Item,
            HyperValue.Label l => l.Item,
            _ => throw new InvalidOperationException("unknown hyperparameter value"),
        });
    }

    /// <summary>The trial's number, from 0.</summary>
    public int Index { get; }
    /// <summary>The hyperparameters: double, int or string values by name.</summary>
    public IReadOnlyDictionary<string, object> Parameters { get; }
    /// <summary>The objective after the trial's last epoch (NaN when it failed).</summary>
    public double Score { get; }
    /// <summary>Epochs the trial trained in all.</summary>
    public int Epochs { get; }
    /// <summary>The exception's message when the trial failed, else null.</summary>
    public string? Error { get; }
    /// <summary>"name=value" pairs, the same text as the <see cref="Trial"/>'s ToString().</summary>
    public string Description { get; }
}

/// <summary>The trials of a search and the best of them.</summary>
public sealed class HyperparameterSearchResult
{
    internal HyperparameterSearchResult(NnSearchResult inner)
    {
        Inner = inner;
        Trials = inner.Trials.Select(t => new TrialOutcome(t)).ToList();
        Best = Trials.Single(t => t.Index == inner.Best.Index);
    }

    internal NnSearchResult Inner { get; }

    /// <summary>Every trial, in trial order.</summary>
    public IReadOnlyList<TrialOutcome> Trials { get; }
    /// <summary>The trial with the best objective.</summary>
    public TrialOutcome Best { get; }
    /// <summary>Epochs trained over all trials.</summary>
    public int TotalEpochs => Inner.TotalEpochs;

    /// <summary>The trials as a text table, best first.</summary>
    public string ToTable() => NnSearch.table(Inner);

    /// <summary>Writes the trials as CSV, one row per trial.</summary>
    public void SaveCsv(string path) => NnSearch.saveCsv(path, Inner);

    /// <summary>Plots the objective against each hyperparameter (.png or .svg by extension).</summary>
    public void SavePlot(string path) => FunctionalNets.Plots.SearchPlot.save(path, Inner);
}

/// <summary>Hyperparameter search on top of any training code: grid search, random search and successive
/// halving. A trial is started with its hyperparameters and returns a function that trains a given number of
/// further epochs and returns the objective (e.g. the validation loss) measured after them.</summary>
public static class Tuner
{
    private static SearchOptions Options(bool maximize, long seed, int parallelism, Action<string>? report) => new(
        maximize ? Goal.Maximize : Goal.Minimize,
        KeyModule.create(seed),
        parallelism,
        Interop.Func<string, Microsoft.FSharp.Core.Unit>(line => { (report ?? Console.WriteLine)(line); return null!; }));

    private static Microsoft.FSharp.Core.FSharpFunc<TrialConfig, Microsoft.FSharp.Core.FSharpFunc<Key, Microsoft.FSharp.Core.FSharpFunc<int, double>>> Start(
        Func<Trial, Func<int, double>> startTrial)
    {
        ArgumentNullException.ThrowIfNull(startTrial);
        return Microsoft.FSharp.Core.FuncConvert.FromFunc((TrialConfig config, Key key) =>
        {
            // The seed is the first word of the trial's own key, so it depends only on the search seed and the trial.
            var seed = (int)(KeyModule.word(key, 0L) & 0x7fffffff);
            var run = startTrial(new Trial(config, seed));
            return Microsoft.FSharp.Core.FuncConvert.FromFunc(run);
        });
    }

    /// <summary>Every combination of <paramref name="pointsPerRange"/> values per hyperparameter, each trained
    /// <paramref name="epochs"/> epochs.</summary>
    public static HyperparameterSearchResult GridSearch(HyperparameterSpace space, Func<Trial, Func<int, double>> startTrial, int epochs,
        int pointsPerRange = 3, bool maximize = false, long seed = 0, int parallelism = 1, Action<string>? report = null)
    {
        ArgumentNullException.ThrowIfNull(space);
        return new(NnSearch.grid(Options(maximize, seed, parallelism, report), pointsPerRange, epochs, Start(startTrial), space.Build()));
    }

    /// <summary><paramref name="trials"/> configurations drawn at random (reproducibly from
    /// <paramref name="seed"/>), each trained <paramref name="epochs"/> epochs.</summary>
    public static HyperparameterSearchResult RandomSearch(HyperparameterSpace space, Func<Trial, Func<int, double>> startTrial, int trials,
        int epochs, bool maximize = false, long seed = 0, int parallelism = 1, Action<string>? report = null)
    {
        ArgumentNullException.ThrowIfNull(space);
        return new(NnSearch.random(Options(maximize, seed, parallelism, report), trials, epochs, Start(startTrial), space.Build()));
    }

    /// <summary>Successive halving: <paramref name="trials"/> random configurations train
    /// <paramref name="minEpochs"/> epochs, the best 1/<paramref name="eta"/> go on <paramref name="eta"/> times
    /// as long, until the survivors reach <paramref name="maxEpochs"/>.</summary>
    public static HyperparameterSearchResult SuccessiveHalving(HyperparameterSpace space, Func<Trial, Func<int, double>> startTrial, int trials,
        int minEpochs, int maxEpochs, int eta = 3, bool maximize = false, long seed = 0, int parallelism = 1, Action<string>? report = null)
    {
        ArgumentNullException.ThrowIfNull(space);
        return new(NnSearch.successiveHalving(Options(maximize, seed, parallelism, report), trials, minEpochs, maxEpochs, eta, Start(startTrial), space.Build()));
    }
}
