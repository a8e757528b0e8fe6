using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FunctionalNets;

/// <summary>How to build an optimizer or a loss again: the factory's name and its arguments. Net.Save records
/// the recipes of what the net was compiled with in the checkpoint's "compile" metadata entry, and Net.Load
/// compiles an uncompiled net from them (Keras's load_model), so a loaded net evaluates and resumes training
/// at once. Things without a recipe (schedules, custom losses) are named in the entry but not rebuilt.</summary>
internal sealed class CompileRecipe
{
    private CompileRecipe(string factory, IReadOnlyList<KeyValuePair<string, JsonNode>> args)
    {
        Factory = factory;
        Args = args;
    }

    /// <summary>The metadata entry's name.</summary>
    internal const string MetadataKey = "compile";

    internal string Factory { get; }

    internal IReadOnlyList<KeyValuePair<string, JsonNode>> Args { get; }

    internal static CompileRecipe Of(string factory, params (string Name, object Value)[] args) =>
        new(factory, args.Select(a => KeyValuePair.Create(a.Name, JsonValue.Create(a.Value)!.AsValue() as JsonNode)).ToList());

    internal CompileRecipe With(string name, object value) =>
        new(Factory, [.. Args.Where(a => a.Key != name), KeyValuePair.Create(name, (JsonNode)JsonValue.Create(value)!)]);

    private JsonObject ToJson() => new()
    {
        ["factory"] = Factory,
        ["args"] = new JsonObject(Args.Select(a => KeyValuePair.Create(a.Key, (JsonNode?)a.Value.DeepClone()))),
    };

    private double D(string name, double fallback) =>
        Args.FirstOrDefault(a => a.Key == name).Value?.GetValue<double>() ?? fallback;

    private bool B(string name) => Args.FirstOrDefault(a => a.Key == name).Value?.GetValue<bool>() ?? false;

    private int I(string name, int fallback) => Args.FirstOrDefault(a => a.Key == name).Value?.GetValue<int>() ?? fallback;

    private Reduction R() =>
        Args.FirstOrDefault(a => a.Key == "reduction").Value?.GetValue<string>() is { } text ? Enum.Parse<Reduction>(text) : Reduction.Mean;

    /// <summary>The "compile" entry for a net compiled with these: the recipes where known, the names always.</summary>
    internal static string Record(Optimizer optimizer, Loss loss, IEnumerable<Metric> metrics) => new JsonObject
    {
        ["optimizer"] = optimizer.Recipe?.ToJson(),
        ["optimizer_name"] = optimizer.Name,
        ["loss"] = loss.Recipe?.ToJson(),
        ["loss_name"] = loss.Name,
        ["metrics"] = new JsonArray(metrics.Select(m => (JsonNode)JsonValue.Create(m.Name)!).ToArray()),
    }.ToJsonString();

    /// <summary>The optimizer, loss and metrics an entry records, or why they cannot be rebuilt.</summary>
    internal static (Optimizer Optimizer, Loss Loss, Metric[] Metrics)? Rebuild(string path, string entry, out string? why)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(entry) as JsonObject ?? throw new JsonException("not an object");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"checkpoint {path}: the metadata entry '{MetadataKey}' is not valid JSON ({e.Message}).", e);
        }

        try
        {
            var optimizer = root["optimizer"] is JsonObject o ? FromJson(o).BuildOptimizer() : null;
            var loss = root["loss"] is JsonObject l ? FromJson(l).BuildLoss() : null;
            var metrics = (root["metrics"] as JsonArray ?? []).Select(m => BuildMetric(m!.GetValue<string>())).ToArray();
            var missing = new List<string>();
            if (optimizer is null) missing.Add($"the optimizer {root["optimizer_name"]}");
            if (loss is null) missing.Add($"the loss {root["loss_name"]}");
            missing.AddRange(root["metrics"] is JsonArray names
                ? names.Where((_, i) => metrics[i] is null).Select(n => $"the metric {n}")
                : []);
            if (missing.Count > 0)
            {
                why = $"{string.Join(", ", missing)} cannot be rebuilt from the checkpoint (schedules and custom parts are not recorded)";
                return null;
            }

            why = null;
            return (optimizer!, loss!, metrics.Select(m => m!).ToArray());
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException or NullReferenceException)
        {
            throw new InvalidDataException($"checkpoint {path}: the metadata entry '{MetadataKey}' is malformed ({e.Message}): {entry}", e);
        }
    }

    private static CompileRecipe FromJson(JsonObject o) =>
        new(o["factory"]!.GetValue<string>(),
            (o["args"] as JsonObject ?? []).Select(a => KeyValuePair.Create(a.Key, a.Value!.DeepClone())).ToList());

    private Optimizer? BuildOptimizer()
    {
        double lr = D("learningRate", double.NaN), wd = D("weightDecay", 0.0);
        Optimizer? built = Factory switch
        {
            "SGD" => Optimizers.SGD(lr, D("momentum", 0.0), B("nesterov"), wd, D("dampening", 0.0)),
            "Adam" => Optimizers.Adam(lr, D("beta1", 0.9), D("beta2", 0.999), D("epsilon", 1e-8), wd, B("amsgrad")),
            "AdamW" => Optimizers.AdamW(lr, D("beta1", 0.9), D("beta2", 0.999), D("epsilon", 1e-8), D("weightDecay", 0.01), B("amsgrad")),
            "RMSprop" => Optimizers.RMSprop(lr, D("alpha", 0.99), D("epsilon", 1e-8), D("momentum", 0.0), B("centered"), wd),
            "Adagrad" => Optimizers.Adagrad(lr, D("initialAccumulator", 0.0), D("epsilon", 1e-10), wd),
            _ => null,
        };
        var clip = D("clipNorm", double.NaN);
        return built is not null && !double.IsNaN(clip) ? built.WithGradientClipping(clip) : built;
    }

    private Loss? BuildLoss() => Factory switch
    {
        "mse" => Losses.MSE(R()),
        "mae" => Losses.MAE(R()),
        "huber" => Losses.Huber(D("delta", 1.0), R()),
        "smooth_l1" => Losses.SmoothL1(D("beta", 1.0), R()),
        "kl_div" => Losses.KLDiv(R(), B("logTarget")),
        "bce" => Losses.BCE(R()),
        "bce_with_logits" => Losses.BCEWithLogits(reduction: R()),
        "cross_entropy" => Losses.CrossEntropy(D("labelSmoothing", 0.0), ignoreIndex: I("ignoreIndex", -100), reduction: R()),
        "nll" => Losses.NLL(ignoreIndex: I("ignoreIndex", -100), reduction: R()),
        "sequence_cross_entropy" => Losses.SequenceCrossEntropy(),
        _ => null,
    };

    // Metrics are rebuilt from the names they log under.
    private static Metric? BuildMetric(string name) => name switch
    {
        "accuracy" => Metrics.Accuracy(),
        "precision" => Metrics.Precision(),
        "recall" => Metrics.Recall(),
        "f1" => Metrics.F1(),
        _ when name.StartsWith("top", StringComparison.Ordinal) && name.EndsWith("_accuracy", StringComparison.Ordinal)
            && int.TryParse(name.AsSpan(3, name.Length - 3 - "_accuracy".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var k) && k >= 1
            => Metrics.TopKAccuracy(k),
        _ => null,
    };
}
