namespace FunctionalNets;

/// <summary>The argument checks of the custom-loop surface (parameter trees, gradients, optimizer steps, the
/// net's Apply and SetParameters), each written once: the exception names the method and the parameter, and
/// for trees the offending path.</summary>
internal static class Guard
{
    /// <summary>The value, or an <see cref="ArgumentNullException"/> naming the method and the parameter.</summary>
    internal static T NotNull<T>(T? value, string param, string method) where T : class =>
        value ?? throw new ArgumentNullException(param, $"{method}: {param} is null.");

    /// <summary>Checks that <paramref name="given"/> holds exactly the paths of <paramref name="expected"/>, each
    /// with its shape and dtype; otherwise an <see cref="ArgumentException"/> names the first offending path.</summary>
    internal static void SamePaths(
        IReadOnlyDictionary<string, Tensor> expected, IReadOnlyDictionary<string, Tensor> given, string param, string method)
    {
        var missing = expected.Keys.Where(k => !given.ContainsKey(k)).ToList();
        var unexpected = given.Keys.Where(k => !expected.ContainsKey(k)).ToList();
        if (missing.Count > 0 || unexpected.Count > 0)
            throw new ArgumentException(
                $"{method}: {param} must hold exactly the paths {List(expected.Keys)}; " +
                (missing.Count > 0 ? $"missing {List(missing)}" : "") +
                (missing.Count > 0 && unexpected.Count > 0 ? ", " : "") +
                (unexpected.Count > 0 ? $"unexpected {List(unexpected)}" : "") + ".",
                param);
        foreach (var (path, e) in expected)
        {
            var g = given[path] ?? throw new ArgumentNullException(param, $"{method}: {param}['{path}'] is null.");
            if (!g.Shape.Equals(e.Shape))
                throw new ArgumentException(
                    $"{method}: {param}['{path}'] has shape {Interop.ShapeText(g.Shape)}, expected {Interop.ShapeText(e.Shape)}.", param);
            if (!g.DType.Equals(e.DType))
                throw new ArgumentException(
                    $"{method}: {param}['{path}'] has dtype {g.DType}, expected {e.DType}; cast it first (Ops.Cast).", param);
        }
    }

    private static string List(IEnumerable<string> paths)
    {
        var all = paths.ToList();
        return "[" + string.Join(", ", all.Take(12)) + (all.Count > 12 ? $", ... ({all.Count} in all)" : "") + "]";
    }
}
