using Microsoft.FSharp.Core;
using NnCriterion = FunctionalNets.Nn.Criterion;
using NnLosses = FunctionalNets.Nn.Losses;
using NnReduction = FunctionalNets.Nn.Reduction;

namespace FunctionalNets;

/// <summary>A loss: (predictions, targets) to a scalar tensor, the mean over the batch. Create one with
/// <see cref="Losses"/>.</summary>
public sealed class Loss
{
    internal Loss(string name, FSharpFunc<Tensor, FSharpFunc<Tensor, Tensor>> inner)
    {
        Name = name;
        Inner = inner;
    }

    internal FSharpFunc<Tensor, FSharpFunc<Tensor, Tensor>> Inner { get; }

    /// <summary>How to build this loss again, recorded in checkpoints so that Net.Load can compile a net; null
    /// for custom losses.</summary>
    internal CompileRecipe? Recipe { get; init; }

    /// <summary>The loss's name.</summary>
    public string Name { get; }

    /// <summary>Computes the loss of a batch of predictions against their targets.</summary>
    /// <param name="predictions">The model's outputs.</param>
    /// <param name="targets">The targets.</param>
    public Tensor Compute(Tensor predictions, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(targets);
        return FSharpFunc<Tensor, Tensor>.InvokeFast(Inner, predictions, targets);
    }

    /// <summary>The loss's name.</summary>
    public override string ToString() => Name;
}

/// <summary>How a loss reduces its per-element values (torch's <c>reduction</c>).</summary>
public enum Reduction
{
    /// <summary>The mean (torch's default; the weighted mean with class weights).</summary>
    Mean,
    /// <summary>The sum.</summary>
    Sum,
    /// <summary>No reduction: the per-element (per-example for cross-entropy and NLL) losses. Such a loss
    /// computes values; training needs a scalar loss.</summary>
    None,
    /// <summary>The sum divided by the batch size: KL divergence per example (torch's 'batchmean'; KLDiv only).</summary>
    BatchMean,
}

/// <summary>The built-in losses (PyTorch's definitions and options; mean reduction by default). Each wraps the
/// F# loss of the same name (FunctionalNets.Nn.Criterion), which checks its options.</summary>
public static class Losses
{
    // Built-in losses are rebuilt from their name and options (CompileRecipe); Custom clears the recipe, and so
    // do per-class weight vectors, which the recipe does not record.
    private static Loss Of(string name, FSharpFunc<Tensor, FSharpFunc<Tensor, Tensor>> f, params (string Name, object Value)[] options) =>
        new(name, f) { Recipe = CompileRecipe.Of(name, options) };

    private static Loss Of(string name, Func<Tensor, Tensor, Tensor> f, params (string Name, object Value)[] options) =>
        Of(name, Interop.Func2(f), options);

    private static NnReduction Nn(Reduction reduction) => reduction switch
    {
        Reduction.Mean => NnReduction.Mean,
        Reduction.Sum => NnReduction.Sum,
        Reduction.None => NnReduction.None,
        Reduction.BatchMean => NnReduction.BatchMean,
        _ => throw new ArgumentOutOfRangeException(nameof(reduction), reduction, "Losses: unknown reduction; use Mean, Sum, None or BatchMean."),
    };

    // A per-class vector as a tensor (the loss casts it to the predictions' dtype); null stays null (none).
    private static Tensor? Vector(double[]? values) => values is null ? null : Tensor.OfArray(values, [values.Length]);

    /// <summary>Mean squared error (nn.MSELoss); predictions and targets have the same shape.</summary>
    /// <param name="reduction">Mean (default), Sum or None.</param>
    public static Loss MSE(Reduction reduction = Reduction.Mean) =>
        Of("mse", NnCriterion.MSE(Nn(reduction)), (nameof(reduction), reduction.ToString()));

    /// <summary>Mean absolute error (nn.L1Loss).</summary>
    /// <param name="reduction">Mean (default), Sum or None.</param>
    public static Loss MAE(Reduction reduction = Reduction.Mean) =>
        Of("mae", NnCriterion.MAE(Nn(reduction)), (nameof(reduction), reduction.ToString()));

    /// <summary>Huber loss (nn.HuberLoss): 0.5 d² where |d| &lt; delta, delta (|d| - delta / 2) elsewhere.</summary>
    /// <param name="delta">Where the loss turns from quadratic to linear (positive).</param>
    /// <param name="reduction">Mean (default), Sum or None.</param>
    public static Loss Huber(double delta = 1.0, Reduction reduction = Reduction.Mean) =>
        Of("huber", NnCriterion.Huber(delta, Nn(reduction)), (nameof(delta), delta), (nameof(reduction), reduction.ToString()));

    /// <summary>Smooth L1 loss (nn.SmoothL1Loss): 0.5 d² / beta where |d| &lt; beta, |d| - beta / 2 elsewhere;
    /// beta = 0 is the L1 loss.</summary>
    /// <param name="beta">Where the loss turns from quadratic to linear (non-negative).</param>
    /// <param name="reduction">Mean (default), Sum or None.</param>
    public static Loss SmoothL1(double beta = 1.0, Reduction reduction = Reduction.Mean) =>
        Of("smooth_l1", NnCriterion.SmoothL1(beta, Nn(reduction)), (nameof(beta), beta), (nameof(reduction), reduction.ToString()));

    /// <summary>KL divergence (nn.KLDivLoss): predictions are log-probabilities, targets probabilities (or
    /// log-probabilities with <paramref name="logTarget"/>). Use <see cref="Reduction.BatchMean"/> for the
    /// divergence per example; torch's Mean averages over every element.</summary>
    /// <param name="reduction">Mean (default), BatchMean, Sum or None.</param>
    /// <param name="logTarget">Whether the targets are log-probabilities.</param>
    public static Loss KLDiv(Reduction reduction = Reduction.Mean, bool logTarget = false) =>
        Of("kl_div", NnCriterion.KLDiv(Nn(reduction), logTarget), (nameof(logTarget), logTarget), (nameof(reduction), reduction.ToString()));

    /// <summary>Binary cross-entropy of probabilities (nn.BCELoss), e.g. after a Sigmoid layer.</summary>
    /// <param name="reduction">Mean (default), Sum or None.</param>
    public static Loss BCE(Reduction reduction = Reduction.Mean) =>
        Of("bce", NnCriterion.BCE(Nn(reduction)), (nameof(reduction), reduction.ToString()));

    /// <summary>Binary cross-entropy of logits (nn.BCEWithLogitsLoss), numerically stable.</summary>
    /// <param name="posWeight">Weights of the positive term, one per class (the last dim); null for 1.</param>
    /// <param name="reduction">Mean (default), Sum or None.</param>
    public static Loss BCEWithLogits(double[]? posWeight = null, Reduction reduction = Reduction.Mean)
    {
        var f = NnCriterion.BCEWithLogits(Vector(posWeight)!, Nn(reduction));
        return posWeight is null ? Of("bce_with_logits", f, (nameof(reduction), reduction.ToString())) : new("bce_with_logits", f);
    }

    /// <summary>Cross-entropy of logits (nn.CrossEntropyLoss): integer targets are class indices, floating
    /// targets of the logits' shape are class probabilities.</summary>
    /// <param name="labelSmoothing">Label smoothing in [0, 1].</param>
    /// <param name="weight">A weight per class; the mean then divides by the summed weights of the targets.</param>
    /// <param name="ignoreIndex">A class index whose targets count for nothing (torch's default -100).</param>
    /// <param name="reduction">Mean (default), Sum or None (one loss per example).</param>
    public static Loss CrossEntropy(double labelSmoothing = 0.0, double[]? weight = null, int ignoreIndex = -100, Reduction reduction = Reduction.Mean)
    {
        var f = NnCriterion.CrossEntropy(Vector(weight)!, ignoreIndex, labelSmoothing, Nn(reduction));
        return weight is null
            ? Of("cross_entropy", f, (nameof(labelSmoothing), labelSmoothing), (nameof(ignoreIndex), ignoreIndex), (nameof(reduction), reduction.ToString()))
            : new("cross_entropy", f);
    }

    /// <summary>Cross-entropy of a language model's next-token logits [N, T, V] against target ids [N, T],
    /// averaged over every position (the mean loss per token, in nats; divide by ln 2 for bits).</summary>
    public static Loss SequenceCrossEntropy() => Of("sequence_cross_entropy", (logits, targets) =>
    {
        if (logits.Rank != 3 || targets.Rank != 2)
            throw new ArgumentException(
                $"SequenceCrossEntropy: expected logits [N, T, V] and target ids [N, T], got {Interop.ShapeText(logits.Shape!.ToArray())} and {Interop.ShapeText(targets.Shape!.ToArray())}.");
        int vocab = logits.Shape!.ToArray()[2];
        return NnLosses.crossEntropy(logits.Reshape([-1, vocab]), targets.Reshape([-1]));
    });

    /// <summary>Negative log-likelihood of log-probabilities (nn.NLLLoss), e.g. after LogSoftmax.</summary>
    /// <param name="weight">A weight per class; the mean then divides by the summed weights of the targets.</param>
    /// <param name="ignoreIndex">A class index whose targets count for nothing (torch's default -100).</param>
    /// <param name="reduction">Mean (default), Sum or None (one loss per example).</param>
    public static Loss NLL(double[]? weight = null, int ignoreIndex = -100, Reduction reduction = Reduction.Mean)
    {
        var f = NnCriterion.NLL(Vector(weight)!, ignoreIndex, Nn(reduction));
        return weight is null ? Of("nll", f, (nameof(ignoreIndex), ignoreIndex), (nameof(reduction), reduction.ToString())) : new("nll", f);
    }

    /// <summary>A loss from a C# function of (predictions, targets) returning a scalar tensor, e.g.
    /// <c>Losses.Custom("mse", (p, t) =&gt; (p - t).Square().Mean())</c>. Build it from differentiable ops.</summary>
    /// <param name="name">The loss's name.</param>
    /// <param name="loss">The function; it must return a one-element tensor.</param>
    public static Loss Custom(string name, Func<Tensor, Tensor, Tensor> loss)
    {
        if (string.IsNullOrWhiteSpace(name))
            throw new ArgumentException("The loss name must not be empty.", nameof(name));
        ArgumentNullException.ThrowIfNull(loss);
        return new(name, Interop.Func2((p, t) =>
        {
            var value = loss(p, t) ?? throw new InvalidOperationException($"Loss '{name}' returned null.");
            if (value.Numel != 1)
                throw new InvalidOperationException(
                    $"Loss '{name}' returned a tensor of shape {Interop.ShapeText(value.Shape)}; a loss must return a scalar (reduce it, e.g. with x.Mean()).");
            return value;
        }));
    }
}
