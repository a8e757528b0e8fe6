using Microsoft.FSharp.Core;
using NnLosses = FunctionalNets.Nn.Losses;

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

/// <summary>The built-in losses (PyTorch's definitions, mean reduction).</summary>
public static class Losses
{
    // Built-in losses are rebuilt from their name (CompileRecipe); Custom clears the recipe.
    private static Loss Of(string name, Func<Tensor, Tensor, Tensor> f) => new(name, Interop.Func2(f)) { Recipe = CompileRecipe.Of(name) };

    /// <summary>Mean squared error (nn.MSELoss); predictions and targets have the same shape.</summary>
    public static Loss MSE() => Of("mse", NnLosses.mse);

    /// <summary>Mean absolute error (nn.L1Loss).</summary>
    public static Loss MAE() => Of("mae", NnLosses.mae);

    /// <summary>Binary cross-entropy of probabilities (nn.BCELoss), e.g. after a Sigmoid layer.</summary>
    public static Loss BCE() => Of("bce", NnLosses.bce);

    /// <summary>Binary cross-entropy of logits (nn.BCEWithLogitsLoss), numerically stable.</summary>
    public static Loss BCEWithLogits() => Of("bce_with_logits", NnLosses.bceWithLogits);

    /// <summary>Cross-entropy of logits (nn.CrossEntropyLoss): integer targets are class indices, floating
    /// targets of the logits' shape are class probabilities.</summary>
    /// <param name="labelSmoothing">Label smoothing in [0, 1].</param>
    public static Loss CrossEntropy(double labelSmoothing = 0.0)
    {
        if (!(labelSmoothing >= 0.0 && labelSmoothing <= 1.0))
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), labelSmoothing, "CrossEntropy: label smoothing must be in [0, 1].");
        return new("cross_entropy", Interop.Func2((p, t) => NnLosses.crossEntropyWith(labelSmoothing, p, t)))
        {
            Recipe = CompileRecipe.Of("cross_entropy", (nameof(labelSmoothing), labelSmoothing)),
        };
    }

    /// <summary>Cross-entropy of a language model's next-token logits [N, T, V] against target ids [N, T],
    /// averaged over every position (the mean loss per token, in nats; divide by ln 2 for bits).</summary>
    public static Loss SequenceCrossEntropy() => Of("sequence_cross_entropy", (logits, targets) =>
    {
        if (logits.Rank != 3 || targets.Rank != 2)
            throw new ArgumentException(
                $"SequenceCrossEntropy: expected logits [N, T, V] and target ids [N, T], got {Interop.ShapeText(logits.Shape!.ToArray())} and {Interop.ShapeText(targets.Shape!.ToArray())}.");
        int vocab = logits.Shape!.ToArray()[2];
        return NnLosses.crossEntropy(Ops.Reshape(logits, -1, vocab), Ops.Reshape(targets, -1));
    });

    /// <summary>Negative log-likelihood of log-probabilities (nn.NLLLoss), e.g. after LogSoftmax.</summary>
    public static Loss NLL() => Of("nll", NnLosses.nll);

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
                    $"Loss '{name}' returned a tensor of shape {Interop.ShapeText(value.Shape)}; a loss must return a scalar (reduce it, e.g. with Ops.Mean).");
            return value;
        }));
    }
}
