using FunctionalNets;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>Precision, recall and the classification report from C#, against counts of true and false positives
/// done by hand on six examples (scikit-learn's definitions).</summary>
public class MetricFamilyTests
{
    private static void Close(double expected, double actual, string what) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-6 * (1 + Math.Abs(expected)), $"{what}: expected {expected}, got {actual}");

    // Predicted classes 0, 0, 1, 2, 2, 1 (the highest score of each row) against targets 0, 1, 1, 2, 0, 1.
    //   class 0: TP 1, FP 1, FN 1 -> precision 1/2, recall 1/2, F1 1/2, support 2
    //   class 1: TP 2, FP 0, FN 1 -> precision 1,   recall 2/3, F1 4/5, support 3
    //   class 2: TP 1, FP 1, FN 0 -> precision 1/2, recall 1,   F1 2/3, support 1
    private static readonly int[] Predicted = { 0, 0, 1, 2, 2, 1 }, Actual = { 0, 1, 1, 2, 0, 1 };

    private static Tensor Scores()
    {
        var scores = new float[6 * 3];
        for (int n = 0; n < 6; n++)
            for (int c = 0; c < 3; c++)
                scores[n * 3 + c] = c == Predicted[n] ? 2f : 0.1f * c;
        return Tensor.OfArray(scores, [6, 3]);
    }

    private static Tensor Targets() => Tensor.OfArray(Actual.Select(v => (long)v).ToArray(), [6]);

    [Fact]
    public void Precision_and_Recall_are_macro_averages_over_the_classes()
    {
        var precision = Metrics.Precision();
        var recall = Metrics.Recall();
        Assert.Equal("precision", precision.Name);
        Assert.Equal("recall", recall.Name);
        Close((0.5 + 1.0 + 0.5) / 3, precision.Compute(Scores(), Targets()), "macro precision");
        Close((0.5 + 2.0 / 3 + 1.0) / 3, recall.Compute(Scores(), Targets()), "macro recall");
        Close((0.5 + 0.8 + 2.0 / 3) / 3, Metrics.F1().Compute(Scores(), Targets()), "macro F1");
    }

    [Fact]
    public void MAE_RMSE_and_R2_score_regression_outputs_as_scikit_learn()
    {
        // Two output columns of three rows; r2_score averages 1 - SS_res / SS_tot over the columns.
        double[] p = { 1.0, 10.0, 2.5, 12.0, 2.0, 8.0 }, t = { 1.5, 11.0, 2.0, 12.0, 3.5, 9.0 };
        Tensor predictions = Tensor.OfArray(p, [3, 2]), targets = Tensor.OfArray(t, [3, 2]);
        var d = p.Select((v, i) => v - t[i]).ToArray();
        Close(d.Average(Math.Abs), Metrics.MAE().Compute(predictions, targets), "mae");
        Close(Math.Sqrt(d.Average(v => v * v)), Metrics.RMSE().Compute(predictions, targets), "rmse");
        double R2(int c)
        {
            var rows = Enumerable.Range(0, 3).Select(r => r * 2 + c).ToArray();
            double mean = rows.Average(i => t[i]);
            return 1 - rows.Sum(i => d[i] * d[i]) / rows.Sum(i => (t[i] - mean) * (t[i] - mean));
        }
        Close((R2(0) + R2(1)) / 2, Metrics.R2().Compute(predictions, targets), "r2");
    }

    [Fact]
    public void ClassificationReport_has_a_row_per_class_and_the_macro_and_weighted_averages()
    {
        var report = Metrics.ClassificationReport(Scores(), Targets(), new[] { "cat", "dog", "eel" });
        ClassScores[] expected =
        {
            new(0, "cat", 0.5, 0.5, 0.5, 2),
            new(1, "dog", 1.0, 2.0 / 3, 0.8, 3),
            new(2, "eel", 0.5, 1.0, 2.0 / 3, 1),
        };
        Assert.Equal(3, report.Classes.Count);
        for (int c = 0; c < 3; c++)
        {
            ClassScores e = expected[c], a = report.Classes[c];
            Assert.Equal(e.Class, a.Class);
            Assert.Equal(e.Name, a.Name);
            Assert.Equal(e.Support, a.Support);
            Close(e.Precision, a.Precision, $"{e.Name} precision");
            Close(e.Recall, a.Recall, $"{e.Name} recall");
            Close(e.F1, a.F1, $"{e.Name} F1");
        }
        Close(4.0 / 6, report.Accuracy, "accuracy");
        Assert.Equal(6, report.Support);
        var macro = new AverageScores(2.0 / 3, (0.5 + 2.0 / 3 + 1.0) / 3, (0.5 + 0.8 + 2.0 / 3) / 3);
        Close(macro.Precision, report.MacroAverage.Precision, "macro precision");
        Close(macro.Recall, report.MacroAverage.Recall, "macro recall");
        Close(macro.F1, report.MacroAverage.F1, "macro F1");
        // Weighted by support 2, 3, 1.
        Close((2 * 0.5 + 3 * 1.0 + 1 * 0.5) / 6, report.WeightedAverage.Precision, "weighted precision");
        Close((2 * 0.5 + 3 * 0.8 + 1 * 2.0 / 3) / 6, report.WeightedAverage.F1, "weighted F1");

        // The table rounds to the digits asked for: macro precision 0.667 with three, 0.67 with two.
        var three = report.Format(3);
        Assert.Contains("eel", three);
        Assert.Contains("0.667", three);
        Assert.Contains("0.67", report.Format(2));
        Assert.DoesNotContain("0.667", report.Format(2));
    }
}
