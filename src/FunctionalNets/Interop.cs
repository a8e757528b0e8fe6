using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;
using NnLoss = Microsoft.FSharp.Core.FSharpFunc<FunctionalNets.Tensor, Microsoft.FSharp.Core.FSharpFunc<FunctionalNets.Tensor, FunctionalNets.Tensor>>;

namespace FunctionalNets;

/// <summary>Conversions between the F# values of FunctionalNets.Core/Nn and the C# surface. Internal:
/// nothing from FSharp.Core appears in a public signature of this assembly.</summary>
internal static class Interop
{
    internal static FSharpList<T> List<T>(IEnumerable<T> items) => ListModule.OfSeq(items);

    internal static FSharpOption<T> Option<T>(T? value) where T : class =>
        value is null ? FSharpOption<T>.None : FSharpOption<T>.Some(value);

    internal static FSharpOption<T> Some<T>(T value) => FSharpOption<T>.Some(value);

    internal static FSharpOption<T> None<T>() => FSharpOption<T>.None;

    internal static FSharpFunc<T, TResult> Func<T, TResult>(Func<T, TResult> f) => FuncConvert.FromFunc(f);

    internal static NnLoss Func2(Func<Tensor, Tensor, Tensor> f) => FuncConvert.FromFunc(f);

    internal static FSharpMap<string, string> Map(IEnumerable<KeyValuePair<string, string>> entries) =>
        MapModule.OfSeq(entries.Select(kv => Tuple.Create(kv.Key, kv.Value)));

    internal static IReadOnlyDictionary<string, double> Dictionary(FSharpMap<string, double> logs)
    {
        var d = new Dictionary<string, double>();
        foreach (var kv in logs) d[kv.Key] = kv.Value;
        return d;
    }

    internal static PTree<Tensor> EmptyTree => PTree.empty<Tensor>();

    /// <summary>A node of leaves in the given order.</summary>
    internal static PTree<Tensor> Node(IEnumerable<KeyValuePair<string, Tensor>> leaves) =>
        PTree<Tensor>.NewNode(List(leaves.Select(kv => Tuple.Create(kv.Key, PTree<Tensor>.NewLeaf(kv.Value)))));

    /// <summary>The (dotted path, tensor) leaves of a tree in order.</summary>
    internal static IReadOnlyList<KeyValuePair<string, Tensor>> Leaves(PTree<Tensor> tree) =>
        PTree.leaves(tree).Select(t => new KeyValuePair<string, Tensor>(t.Item1, t.Item2)).ToList();

    /// <summary>The immediate children of a node (empty for a leaf).</summary>
    internal static IReadOnlyList<KeyValuePair<string, PTree<Tensor>>> Children(PTree<Tensor> tree) =>
        tree is PTree<Tensor>.Node node
            ? node.Item.Select(t => new KeyValuePair<string, PTree<Tensor>>(t.Item1, t.Item2)).ToList()
            : [];

    /// <summary>The core's padding mode for the C# enum.</summary>
    internal static PadMode PadMode(PaddingMode mode) => mode switch
    {
        PaddingMode.Zeros => FunctionalNets.PadMode.NewConstant(0.0),
        PaddingMode.Reflect => FunctionalNets.PadMode.Reflect,
        PaddingMode.Replicate => FunctionalNets.PadMode.Replicate,
        PaddingMode.Circular => FunctionalNets.PadMode.Circular,
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown padding mode; use Zeros, Reflect, Replicate or Circular."),
    };

    internal static string ShapeText(int[] dims) => "[" + string.Join(", ", dims) + "]";

    internal static string ShapeText(Shape? shape) => shape is null ? "[]" : ShapeText(shape.ToArray());
}
