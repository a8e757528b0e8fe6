using NnMetric = FunctionalNets.Nn.Metric;
using NnMetrics = FunctionalNets.Nn.Metrics;
using NnReport = FunctionalNets.Nn.ClassificationReport;
using NnReportModule = FunctionalNets.Nn.ClassificationReportModule;

namespace FunctionalNets;

/// <summary>The scores of one class in a <see cref="ClassificationReport"/>.</summary>
/// <param name="Class">The class index.</param>
/// <param name="Name">The class name (the index when none was given).</param>
/// <param name="Precision">TP / (TP + FP); 0 when the class is never predicted.</param>
/// <param name="Recall">TP / (TP + FN); 0 when the class never occurs.</param>
/// <param name="F1">The harmonic mean of precision and recall.</param>
/// <param name="Support">The number of examples of the class.</param>
public sealed record ClassScores(int Class, string Name, double Precision, double Recall, double F1, int Support);

/// <summary>Precision, recall and F1 averaged over the classes of a report.</summary>
/// <param name="Precision">The average precision.</param>
/// <param name="Recall">The average recall.</param>
/// <param name="F1">The average F1.</param>
public sealed record AverageScores(double Precision, double Recall, double F1);

/// <summary>scikit-learn's classification_report: a row per class present in the targets or the predictions, the
/// accuracy, and the macro and support-weighted averages. <see cref="ToString"/> prints the table.</summary>
public sealed class ClassificationReport
{
    private readonly NnReport inner;

    internal ClassificationReport(NnReport inner)
    {
        this.inner = inner;
        Classes = inner.Classes.Select(c => new ClassScores(c.Class, c.Name, c.Precision, c.Recall, c.F1, c.Support)).ToList();
        MacroAverage = new AverageScores(inner.MacroAverage.Item1, inner.MacroAverage.Item2, inner.MacroAverage.Item3);
        WeightedAverage = new AverageScores(inner.WeightedAverage.Item1, inner.WeightedAverage.Item2, inner.WeightedAverage.Item3);
    }

    /// <summary>The per-class rows, by class index.</summary>
    public IReadOnlyList<ClassScores> Classes { get; }

    /// <summary>The fraction of examples classified right.</summary>
    public double Accuracy => inner.Accuracy;

    /// <summary>The unweighted mean over the rows.</summary>
    public AverageScores MacroAverage { get; }

    /// <summary>The mean over the rows weighted by support.</summary>
    public AverageScores WeightedAverage { get; }

    /// <summary>The number of examples scored.</summary>
    public int Support => inner.Support;

    /// <summary>The table with the given number of decimals.</summary>
    /// <param name="digits">Decimals per score.</param>
    public string Format(int digits = 2) => inner.Format(digits);

    /// <summary>The table as scikit-learn prints it.</summary>
    public override string ToString() => Format();
}

/// <summary>A metric accumulated exactly over batches; its name is the key it logs under
/// ("accuracy", "val_accuracy"). Create one with <see cref="Metrics"/>.</summary>
public sealed class Metric
{
    internal Metric(NnMetric inner) => Inner = inner;

    internal NnMetric Inner { get; }

    /// <summary>The metric's name, as logged.</summary>
    public string Name => Inner.Name;

    /// <summary>The metric of one batch of predictions against their targets.</summary>
    /// <param name="predictions">The model's outputs.</param>
    /// <param name="targets">The targets.</param>
    public double Compute(Tensor predictions, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(targets);
        return Inner.Compute.Invoke(Microsoft.FSharp.Core.FSharpFunc<Tensor, Tensor>.InvokeFast(Inner.Update, predictions, targets));
    }

    /// <summary>The metric's name.</summary>
    public override string ToString() => Name;
}

/// <summary>The built-in metrics. For classification, predictions are scores [N, C] and targets class indices
/// [N] or one-hot rows [N, C]; for regression (MAE, RMSE, R2), predictions and targets are [N] or [N, K].</summary>
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

    /// <summary>Mean absolute error of regression outputs ("mae").</summary>
    public static Metric MAE() => new(NnMetrics.mae);

    /// <summary>Root mean squared error of regression outputs ("rmse").</summary>
    public static Metric RMSE() => new(NnMetrics.rmse);

    /// <summary>Coefficient of determination R² of regression outputs ("r2"), averaged over output columns as
    /// scikit-learn's r2_score.</summary>
    public static Metric R2() => new(NnMetrics.r2);

    /// <summary>The per-class precision, recall, F1 and support of scores [N, C] against class indices [N] (or
    /// one-hot rows), e.g. of <c>net.Predict(x)</c>.</summary>
    /// <param name="predictions">Scores [N, C].</param>
    /// <param name="targets">Class indices [N] or one-hot rows [N, C].</param>
    /// <param name="classNames">Names of the C classes; the indices when null.</param>
    public static ClassificationReport ClassificationReport(Tensor predictions, Tensor targets, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(targets);
        var names = classNames is null ? Interop.None<Microsoft.FSharp.Collections.FSharpList<string>>() : Interop.Some(Interop.List(classNames));
        return new FunctionalNets.ClassificationReport(NnReportModule.compute(names, predictions, targets));
    }
}
