using System.Collections;
using NnHistory = FunctionalNets.Nn.History;

namespace FunctionalNets;

/// <summary>What <see cref="Net.Fit"/> logged: each name ("loss", "accuracy", "val_loss", ...) to its
/// values, one per epoch run, e.g. <c>history["val_accuracy"][^1]</c>; names in Keras's order (the loss, the
/// metrics, their "val_" versions, then the learning rate "lr").</summary>
public sealed class History : IReadOnlyDictionary<string, IReadOnlyList<double>>
{
    private readonly Dictionary<string, IReadOnlyList<double>> values = new();
    private readonly List<string> order = new();

    internal History(NnHistory inner)
    {
        Inner = inner;
        Epochs = inner.Epochs.Length;
        foreach (var name in inner.Keys)
        {
            order.Add(name);
            values[name] = inner.Item(name).ToArray();
        }
    }

    internal NnHistory Inner { get; }

    /// <summary>A history of a hand-written training loop, to draw with
    /// <see cref="Charts.SaveTrainingCurves"/> as Fit's: one dictionary of logged values per epoch, e.g.
    /// <c>History.FromEpochs(logs)</c> with <c>logs[e] = { ["loss"] = 0.31, ["val_loss"] = 0.35 }</c>.</summary>
    /// <param name="epochs">The epochs' logs, in order.</param>
    public static History FromEpochs(IEnumerable<IReadOnlyDictionary<string, double>> epochs)
    {
        ArgumentNullException.ThrowIfNull(epochs);
        var logs = epochs.Select((e, i) =>
            e is null
                ? throw new ArgumentException($"History.FromEpochs: the logs of epoch {i + 1} are null.", nameof(epochs))
                : Microsoft.FSharp.Collections.MapModule.OfSeq(e.Select(kv => Tuple.Create(kv.Key, kv.Value))));
        return new(new NnHistory(Interop.List(logs), Interop.List(Array.Empty<string>())));
    }

    /// <summary>What the callbacks did, in order, e.g. "Epoch 7: early stopping: val_loss has not decreased by
    /// more than 0 for 2 epochs (best val_loss = 0.31 at epoch 5; restoring the weights of epoch 5)." Fit also
    /// prints them when verbose.</summary>
    public IReadOnlyList<string> Messages => Inner.Messages.ToArray();

    /// <summary>Number of epochs run by the fit (fewer than asked when a callback stopped it).</summary>
    public int Epochs { get; }

    /// <summary>The per-epoch values of a logged name.</summary>
    /// <param name="key">The name, e.g. "val_loss".</param>
    public IReadOnlyList<double> this[string key] =>
        values.TryGetValue(key, out var v)
            ? v
            : throw new KeyNotFoundException($"History has no '{key}'; it logged: {string.Join(", ", order)}.");

    /// <summary>The logged names, in the order first logged.</summary>
    public IEnumerable<string> Keys => order;

    /// <summary>The per-epoch value lists, in the order of <see cref="Keys"/>.</summary>
    public IEnumerable<IReadOnlyList<double>> Values => order.Select(k => values[k]);

    /// <summary>Number of logged names.</summary>
    public int Count => order.Count;

    /// <summary>Whether a name was logged.</summary>
    /// <param name="key">The name.</param>
    public bool ContainsKey(string key) => values.ContainsKey(key);

    /// <summary>The values of a name, if logged.</summary>
    /// <param name="key">The name.</param>
    /// <param name="value">The per-epoch values.</param>
    public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out IReadOnlyList<double> value) =>
        values.TryGetValue(key, out value);

    /// <summary>Enumerates (name, values) pairs.</summary>
    public IEnumerator<KeyValuePair<string, IReadOnlyList<double>>> GetEnumerator() =>
        order.Select(k => new KeyValuePair<string, IReadOnlyList<double>>(k, values[k])).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>One line per logged name with its last value.</summary>
    public override string ToString() =>
        $"History({Epochs} epochs: " + string.Join(", ", order.Select(k => $"{k}={values[k][^1]:0.####}")) + ")";
}
