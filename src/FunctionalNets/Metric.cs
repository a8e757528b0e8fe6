using NnMetric = FunctionalNets.Nn.Metric;
using NnMetrics = FunctionalNets.Nn.Metrics;

namespace FunctionalNets;

/// <summary>A classification metric accumulated exactly over batches; its name is the key it logs under
/// ("accuracy", "val_accuracy"). Create one with <see cref="Metrics"/>.</summary>
public sealed class Metric
{
    internal Metric(NnMetric inner) => Inner = inner;

    internal NnMetric Inner { get; }

    /// <summary>The metric's name, as logged.</summary>
    public string Name => Inner.Name;

    /// <summary>The metric's name.</summary>
    public override string ToString() => Name;
}

/// <summary>The built-in metrics. Predictions are scores [N, C]; targets are class indices [N] or one-hot
/// rows [N, C].</summary>
public static class Metrics
{
    /// <summary>Fraction of examples whose highest score is the target class ("accuracy").</summary>
    public static Metric Accuracy() => new(NnMetrics.accuracy);

    /// <summary>Fraction of examples whose target is among the k highest scores ("top{k}_accuracy").</summary>
    /// <param name="k">How many of the top scores count (&gt;= 1).</param>
    public static Metric TopKAccuracy(int k)
    {
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, "TopKAccuracy: k must be >= 1.");
        return new(NnMetrics.topKAccuracy(k));
    }

    /// <summary>Macro-averaged precision ("precision").</summary>
    public static Metric Precision() => new(NnMetrics.macroPrecision);

    /// <summary>Macro-averaged recall ("recall").</summary>
    public static Metric Recall() => new(NnMetrics.macroRecall);

    /// <summary>Macro-averaged F1 score ("f1").</summary>
    public static Metric F1() => new(NnMetrics.macroF1);
}
