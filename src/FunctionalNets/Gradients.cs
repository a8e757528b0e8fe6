using Microsoft.FSharp.Core;

namespace FunctionalNets;

/// <summary>
/// Derivatives of functions of a <see cref="ParameterTree"/> (a net's parameters): the value and the gradient,
/// with an auxiliary output as JAX's <c>value_and_grad(has_aux=True)</c>, and Jacobian-vector, Hessian-vector and
/// vector-Jacobian products. The gradients come back as a tree of the same paths. For functions of one tensor,
/// <see cref="Diff"/> has the same operators (<c>Diff.Grad</c>, <c>Diff.Jvp</c>, <c>Diff.Vjp</c>, <c>Diff.Hvp</c>).
/// A custom training step:
/// <code>
/// var (loss, newState, grads) = Gradients.ValueAndGrad(p =>
/// {
///     var (output, s) = net.Apply(p, state, inputs, training: true, step: step);
///     return (lossFn.Compute(output, targets), s);
/// }, parameters);
/// </code>
/// </summary>
public static class Gradients
{
    /// <summary>The value of a scalar-valued <paramref name="f"/> at the parameters and its gradient with
    /// respect to every tensor of the tree.</summary>
    /// <param name="f">The function; it must return a tensor with one element.</param>
    /// <param name="parameters">Where to differentiate.</param>
    public static (Tensor Value, ParameterTree Gradients) ValueAndGrad(Func<ParameterTree, Tensor> f, ParameterTree parameters)
    {
        Guard.NotNull(f, nameof(f), "Gradients.ValueAndGrad");
        var p = Guard.NotNull(parameters, nameof(parameters), "Gradients.ValueAndGrad");
        var r = CSharpTerms.Run(() => DiffModule.valueAndGradTree(Interop.Func<PTree<Tensor>, Tensor>(t => f(new ParameterTree(t))), p.Inner));
        return (r.Item1, new ParameterTree(r.Item2));
    }

    /// <summary>As <see cref="ValueAndGrad(Func{ParameterTree, Tensor}, ParameterTree)"/> for an
    /// <paramref name="f"/> that also returns an auxiliary tree (a layer's new state, predictions), which comes
    /// back without derivatives (JAX's <c>has_aux=True</c>).</summary>
    /// <param name="f">The function: a tensor with one element and the auxiliary tree.</param>
    /// <param name="parameters">Where to differentiate.</param>
    public static (Tensor Value, ParameterTree Aux, ParameterTree Gradients) ValueAndGrad(
        Func<ParameterTree, (Tensor Value, ParameterTree Aux)> f, ParameterTree parameters)
    {
        Guard.NotNull(f, nameof(f), "Gradients.ValueAndGrad");
        var p = Guard.NotNull(parameters, nameof(parameters), "Gradients.ValueAndGrad");
        var r = CSharpTerms.Run(() => DiffModule.valueAndGradTreeAux(Interop.Func<PTree<Tensor>, Tuple<Tensor, PTree<Tensor>>>(t =>
        {
            var (value, aux) = f(new ParameterTree(t));
            return Tuple.Create(value, Guard.NotNull(aux, "Aux", "Gradients.ValueAndGrad (the tree f returned)").Inner);
        }), p.Inner));
        return (r.Item1.Item1, new ParameterTree(r.Item1.Item2), new ParameterTree(r.Item2));
    }

    /// <summary>The gradient of a scalar-valued <paramref name="f"/> with respect to every tensor of the tree.</summary>
    /// <param name="f">The function; it must return a tensor with one element.</param>
    /// <param name="parameters">Where to differentiate.</param>
    public static ParameterTree Grad(Func<ParameterTree, Tensor> f, ParameterTree parameters) =>
        ValueAndGrad(f, parameters).Gradients;

    /// <summary>The value of <paramref name="f"/> and the vector-Jacobian product vᵀJ, one tensor per path
    /// (reverse mode).</summary>
    /// <param name="f">The function.</param>
    /// <param name="parameters">Where to differentiate.</param>
    /// <param name="cotangent">v, shaped as f's output.</param>
    public static (Tensor Value, ParameterTree Vjp) Vjp(Func<ParameterTree, Tensor> f, ParameterTree parameters, Tensor cotangent)
    {
        Guard.NotNull(f, nameof(f), "Gradients.Vjp");
        var p = Guard.NotNull(parameters, nameof(parameters), "Gradients.Vjp");
        var v = Guard.NotNull(cotangent, nameof(cotangent), "Gradients.Vjp");
        var r = CSharpTerms.Run(() => DiffModule.vjpTree(Interop.Func<PTree<Tensor>, Tensor>(t => f(new ParameterTree(t))), p.Inner, v));
        return (r.Item1, new ParameterTree(r.Item2));
    }

    /// <summary>The value of <paramref name="f"/> and the Jacobian-vector product Jv, for a tangent per path
    /// (forward mode: one pass, whatever the number of parameters).</summary>
    /// <param name="f">The function.</param>
    /// <param name="parameters">Where to differentiate.</param>
    /// <param name="tangents">v: a tree of the same paths and shapes as the parameters.</param>
    public static (Tensor Value, Tensor Jvp) Jvp(Func<ParameterTree, Tensor> f, ParameterTree parameters, ParameterTree tangents)
    {
        Guard.NotNull(f, nameof(f), "Gradients.Jvp");
        var p = Guard.NotNull(parameters, nameof(parameters), "Gradients.Jvp");
        var v = Guard.NotNull(tangents, nameof(tangents), "Gradients.Jvp");
        Guard.SamePaths(p, v, nameof(tangents), "Gradients.Jvp");
        var r = CSharpTerms.Run(() => DiffModule.jvpTree(Interop.Func<PTree<Tensor>, Tensor>(t => f(new ParameterTree(t))), p.Inner, v.Inner));
        return (r.Item1, r.Item2);
    }

    /// <summary>The Hessian-vector product Hv of a scalar-valued <paramref name="f"/> at the parameters, a tree of
    /// the same paths, without building the Hessian: the gradient of the scalar ⟨∇f(p), v⟩ (reverse over reverse;
    /// the nested derivatives do not confuse each other).</summary>
    /// <param name="f">The function; it must return a tensor with one element.</param>
    /// <param name="parameters">Where to differentiate.</param>
    /// <param name="vector">v: a tree of the same paths and shapes as the parameters.</param>
    public static ParameterTree Hvp(Func<ParameterTree, Tensor> f, ParameterTree parameters, ParameterTree vector)
    {
        Guard.NotNull(f, nameof(f), "Gradients.Hvp");
        var p = Guard.NotNull(parameters, nameof(parameters), "Gradients.Hvp");
        var v = Guard.NotNull(vector, nameof(vector), "Gradients.Hvp");
        Guard.SamePaths(p, v, nameof(vector), "Gradients.Hvp");
        if (p.Count == 0) return p;
        // Ops.Sum is the host's bridge to the core's sum until the ops are callable from C# directly.
        return Grad(q => Grad(f, q).Select(g => (g.Value * v[g.Key]).Sum()).Aggregate((a, b) => a + b), p);
    }
}
