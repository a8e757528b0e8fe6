using FunctionalNets;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>Every built-in loss from C# against its PyTorch definition computed here by hand, so that the losses are
/// checked on machines without torch too (TorchOptionTests compares them with torch itself).</summary>
public class LossFamilyTests
{
    private static void Close(double expected, double actual, string what) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-5 * (1 + Math.Abs(expected)), $"{what}: expected {expected}, got {actual}");

    private static Tensor T(double[] values, params int[] shape) => Tensor.OfArray(values, shape);

    private static double Value(Loss loss, Tensor predictions, Tensor targets) => loss.Compute(predictions, targets).ToScalar();

    // Differences p - t of -1.5, 0.5, 2 and 3.
    private static readonly double[] P = { 0.5, 1.0, 2.5, 3.0 }, Targets = { 2.0, 0.5, 0.5, 0.0 };

    [Fact]
    public void MAE_Huber_and_SmoothL1_follow_their_piecewise_definitions()
    {
        var d = P.Select((p, i) => p - Targets[i]).ToArray();
        Tensor p = T(P, 4), t = T(Targets, 4);
        Close(d.Average(Math.Abs), Value(Losses.MAE(), p, t), "L1Loss");
        Close(d.Sum(Math.Abs), Value(Losses.MAE(Reduction.Sum), p, t), "L1Loss(sum)");
        // HuberLoss(delta): 0.5 d^2 for |d| < delta, delta (|d| - delta / 2) elsewhere.
        const double delta = 1.0;
        double Huber(double x) => Math.Abs(x) < delta ? 0.5 * x * x : delta * (Math.Abs(x) - delta / 2);
        Close(d.Average(Huber), Value(Losses.Huber(delta), p, t), "HuberLoss(1)");
        // SmoothL1Loss(beta): 0.5 d^2 / beta for |d| < beta, |d| - beta / 2 elsewhere.
        const double beta = 2.0;
        double Smooth(double x) => Math.Abs(x) < beta ? 0.5 * x * x / beta : Math.Abs(x) - beta / 2;
        Close(d.Sum(Smooth), Value(Losses.SmoothL1(beta, Reduction.Sum), p, t), "SmoothL1Loss(2, sum)");
        var none = Losses.SmoothL1(beta, Reduction.None).Compute(p, t).ToDoubleArray();
        for (int i = 0; i < 4; i++) Close(Smooth(d[i]), none[i], $"SmoothL1Loss(2, none)[{i}]");
    }

    [Fact]
    public void KLDiv_with_batchmean_is_the_divergence_per_example()
    {
        // Two examples of three classes: predictions are log q, targets p; KL = sum p (log p - log q) / N.
        double[] q = { 0.2, 0.3, 0.5, 0.6, 0.3, 0.1 }, p = { 0.1, 0.1, 0.8, 0.3, 0.4, 0.3 };
        double kl = p.Select((pi, i) => pi * (Math.Log(pi) - Math.Log(q[i]))).Sum();
        var logQ = T(q.Select(v => Math.Log(v)).ToArray(), 2, 3);
        Close(kl / 2, Value(Losses.KLDiv(Reduction.BatchMean), logQ, T(p, 2, 3)), "KLDivLoss(batchmean)");
        Close(kl / 6, Value(Losses.KLDiv(), logQ, T(p, 2, 3)), "KLDivLoss(mean)");
        Close(kl / 2, Value(Losses.KLDiv(Reduction.BatchMean, logTarget: true), logQ, T(p.Select(v => Math.Log(v)).ToArray(), 2, 3)), "KLDivLoss(log_target)");
    }

    [Fact]
    public void BCE_and_BCEWithLogits_are_the_binary_cross_entropy_with_the_positive_weight()
    {
        double[] logits = { -1.0, 0.5, 2.0, -0.3 }, y = { 0.0, 1.0, 1.0, 0.0 };
        double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));
        var probs = logits.Select(Sigmoid).ToArray();
        double bce = -probs.Select((s, i) => y[i] * Math.Log(s) + (1 - y[i]) * Math.Log(1 - s)).Average();
        Close(bce, Value(Losses.BCE(), T(probs, 4), T(y, 4)), "BCELoss");
        Close(bce, Value(Losses.BCEWithLogits(), T(logits, 4), T(y, 4)), "BCEWithLogitsLoss");
        // pos_weight per class of the last dim (two classes): -(w y log s + (1 - y) log(1 - s)).
        double[] w = { 3.0, 0.5 };
        double weighted = -probs.Select((s, i) => w[i % 2] * y[i] * Math.Log(s) + (1 - y[i]) * Math.Log(1 - s)).Sum();
        Close(weighted, Value(Losses.BCEWithLogits(posWeight: w, reduction: Reduction.Sum), T(logits, 2, 2), T(y, 2, 2)), "BCEWithLogitsLoss(pos_weight)");
    }

    [Fact]
    public void NLL_weights_classes_and_skips_the_ignored_index()
    {
        // Log-probabilities of three examples over three classes; targets 2, 0, 1.
        double[] logp = { -1.2, -0.7, -1.5, -0.2, -2.0, -2.5, -1.0, -0.9, -1.4 };
        long[] y = { 2, 0, 1 };
        double[] w = { 1.0, 2.0, 0.5 };
        Tensor lp = T(logp, 3, 3), targets = Tensor.OfArray(y, [3]);
        double Picked(int n) => -logp[n * 3 + y[n]];
        Close((Picked(0) + Picked(1) + Picked(2)) / 3, Value(Losses.NLL(), lp, targets), "NLLLoss");
        // Weighted mean: sum w[y] (-log p) / sum w[y].
        Close((0.5 * Picked(0) + 1.0 * Picked(1) + 2.0 * Picked(2)) / 3.5, Value(Losses.NLL(weight: w), lp, targets), "NLLLoss(weight)");
        // Ignoring class 0 drops the second example from the sum and the count.
        Close((Picked(0) + Picked(2)) / 2, Value(Losses.NLL(ignoreIndex: 0), lp, targets), "NLLLoss(ignore_index=0)");
    }

    [Fact]
    public void SequenceCrossEntropy_is_the_mean_token_cross_entropy_and_names_itself_on_bad_shapes()
    {
        // Logits [1, 2, 3] (two positions, three tokens), targets [1, 2].
        double[] z = { 0.1, 1.0, -0.5, 2.0, 0.0, 0.3 };
        long[] y = { 1, 0 };
        double sum = 0;
        for (int t = 0; t < 2; t++)
        {
            double logSumExp = Math.Log(Enumerable.Range(0, 3).Sum(v => Math.Exp(z[t * 3 + v])));
            sum += logSumExp - z[t * 3 + y[t]];
        }
        var loss = Losses.SequenceCrossEntropy();
        Close(sum / 2, Value(loss, T(z, 1, 2, 3), Tensor.OfArray(y, [1, 2])), "sequence cross-entropy");
        var e = Assert.ThrowsAny<ArgumentException>(() => loss.Compute(T(z, 2, 3), Tensor.OfArray(y, [2])));
        Assert.Contains("SequenceCrossEntropy", e.Message);
        Assert.Contains("[2, 3]", e.Message);
    }
}
