using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace FunctionalNets;

/// <summary>
/// An immutable, ordered tree of tensors read as a dictionary from dotted paths to tensors, the shape of
/// PyTorch's <c>state_dict</c>: <c>"0.weight"</c>, <c>"0.bias"</c>, <c>"1.running_mean"</c>. A net's parameters
/// (<see cref="Net.Parameters"/>), its non-trainable state (<see cref="Net.State"/>), gradients
/// (<see cref="Gradients"/>) and optimizer states are all parameter trees; the tree keeps the nesting of the
/// model it came from, so a tree computed from another (<see cref="Map"/>, a gradient, an optimizer update)
/// has the same paths in the same order.
/// </summary>
public sealed class ParameterTree : IReadOnlyDictionary<string, Tensor>
{
    private readonly IReadOnlyList<KeyValuePair<string, Tensor>> leaves;
    private readonly Dictionary<string, Tensor> byPath;

    internal ParameterTree(PTree<Tensor> inner)
    {
        Inner = inner;
        leaves = Interop.Leaves(inner);
        byPath = new Dictionary<string, Tensor>(leaves.Count, StringComparer.Ordinal);
        foreach (var kv in leaves) byPath[kv.Key] = kv.Value;
    }

    internal PTree<Tensor> Inner { get; }

    /// <summary>A tree without leaves.</summary>
    public static ParameterTree Empty { get; } = new(Interop.EmptyTree);

    /// <summary>The tensor at a dotted path; a <see cref="KeyNotFoundException"/> lists the paths there are.</summary>
    /// <param name="path">The path, e.g. <c>"0.weight"</c>.</param>
    public Tensor this[string path] =>
        byPath.TryGetValue(path ?? throw new ArgumentNullException(nameof(path), "ParameterTree[path]: path is null."), out var t)
            ? t
            : throw new KeyNotFoundException($"ParameterTree: no tensor at '{path}'; the paths are {string.Join(", ", byPath.Keys.Take(20))}{(byPath.Count > 20 ? ", ..." : "")}.");

    /// <summary>The paths, in the model's order.</summary>
    public IEnumerable<string> Keys => leaves.Select(kv => kv.Key);

    /// <summary>The tensors, in the model's order.</summary>
    public IEnumerable<Tensor> Values => leaves.Select(kv => kv.Value);

    /// <summary>Number of tensors (leaves).</summary>
    public int Count => leaves.Count;

    /// <summary>Total number of elements over all tensors.</summary>
    public long ElementCount => leaves.Sum(kv => (long)kv.Value.Numel);

    /// <summary>Whether a tensor lives at the path.</summary>
    /// <param name="key">The dotted path.</param>
    public bool ContainsKey(string key) => byPath.ContainsKey(key);

    /// <summary>The tensor at the path, when there is one.</summary>
    /// <param name="key">The dotted path.</param>
    /// <param name="value">The tensor, or null.</param>
    public bool TryGetValue(string key, [MaybeNullWhen(false)] out Tensor value) => byPath.TryGetValue(key, out value);

    /// <summary>The (path, tensor) pairs in the model's order.</summary>
    public IEnumerator<KeyValuePair<string, Tensor>> GetEnumerator() => leaves.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>A tree of the same paths whose tensors are <paramref name="f"/> of these, e.g.
    /// <c>grads.Map(g => g * 0.5)</c>.</summary>
    /// <param name="f">Applied to every tensor.</param>
    public ParameterTree Map(Func<Tensor, Tensor> f)
    {
        if (f is null) throw new ArgumentNullException(nameof(f), "ParameterTree.Map: f is null.");
        return new(PTree.map(Interop.Func(f), Inner));
    }

    /// <summary>A tree of the same paths combining this tree's tensors with another's of the same paths, e.g.
    /// <c>parameters.Zip(grads, (p, g) => p - g * 0.1)</c>.</summary>
    /// <param name="other">A tree with the same paths in the same order.</param>
    /// <param name="f">Applied to the two tensors at every path.</param>
    public ParameterTree Zip(ParameterTree other, Func<Tensor, Tensor, Tensor> f)
    {
        if (other is null) throw new ArgumentNullException(nameof(other), "ParameterTree.Zip: other is null.");
        if (f is null) throw new ArgumentNullException(nameof(f), "ParameterTree.Zip: f is null.");
        if (!Keys.SequenceEqual(other.Keys))
            throw new ArgumentException($"ParameterTree.Zip: the trees differ in their paths ({Describe(this)} vs {Describe(other)}); zip trees of the same model.", nameof(other));
        return WithValues(leaves.Zip(other.leaves, (a, b) => f(a.Value, b.Value)));
    }

    /// <summary>One tree holding others under names, e.g. the parameters of two nets that one optimizer trains
    /// together: <c>ParameterTree.Join(("encoder", encoder.Parameters), ("decoder", decoder.Parameters))</c>, whose
    /// paths read <c>"encoder.0.weight"</c>. <see cref="Subtree"/> takes a part back.</summary>
    /// <param name="parts">(name, tree) pairs; names are non-empty, without dots, and distinct.</param>
    public static ParameterTree Join(params (string Name, ParameterTree Tree)[] parts)
    {
        if (parts is null) throw new ArgumentNullException(nameof(parts), "ParameterTree.Join: parts is null.");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, tree) in parts)
        {
            if (string.IsNullOrEmpty(name) || name.Contains('.'))
                throw new ArgumentException($"ParameterTree.Join: the name '{name}' must be non-empty and without dots, since dots separate the parts of a path.", nameof(parts));
            if (tree is null) throw new ArgumentNullException(nameof(parts), $"ParameterTree.Join: the tree named '{name}' is null.");
            if (!seen.Add(name)) throw new ArgumentException($"ParameterTree.Join: the name '{name}' is given twice; give each part its own name.", nameof(parts));
        }
        return new(PTree.node(Interop.List(parts.Select(p => Tuple.Create(p.Name, p.Tree.Inner)))));
    }

    /// <summary>The part of this tree under a name, with paths relative to it: <c>joined.Subtree("encoder")</c>
    /// has the paths <c>"0.weight"</c>, ... of the encoder's parameters.</summary>
    /// <param name="name">The name of a child of the tree's root.</param>
    public ParameterTree Subtree(string name)
    {
        if (name is null) throw new ArgumentNullException(nameof(name), "ParameterTree.Subtree: name is null.");
        var child = Interop.Children(Inner).FirstOrDefault(kv => kv.Key == name);
        return child.Value is not null
            ? new(child.Value)
            : throw new KeyNotFoundException($"ParameterTree.Subtree: no part named '{name}'; the parts are {string.Join(", ", Interop.Children(Inner).Select(kv => kv.Key))}.");
    }

    /// <summary>A tree of this one's paths holding the given tensors, in order.</summary>
    internal ParameterTree WithValues(IEnumerable<Tensor> values) => new(PTree.rebuild(Inner, values));

    private static string Describe(ParameterTree t) =>
        "[" + string.Join(", ", t.Keys.Take(6)) + (t.Count > 6 ? ", ..." : "") + "]";

    /// <summary>The paths with their shapes, e.g. <c>{0.weight: [10, 784], 0.bias: [10]}</c>.</summary>
    public override string ToString() =>
        "{" + string.Join(", ", leaves.Select(kv => $"{kv.Key}: {Interop.ShapeText(kv.Value.Shape)}")) + "}";
}
