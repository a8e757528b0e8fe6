using FunctionalNets.Nn;
using NnAttention = FunctionalNets.Nn.MultiHeadAttention;

namespace FunctionalNets;

/// <summary>PyTorch's <c>nn.MultiheadAttention(dim, heads, kdim=, vdim=, bias=, batch_first=True)</c> as a block
/// of its own, for attention between different sequences and for reading the attention weights
/// (<c>need_weights</c>); inside <see cref="Net.Sequential"/> use <see cref="Layers.MultiHeadAttention"/>.
/// It runs in evaluation mode (no dropout).</summary>
public sealed class MultiHeadAttentionBlock
{
    private readonly AttentionConfig config;
    private readonly PTree<Tensor> parameters;

    /// <summary>A block with PyTorch's initialisation drawn from <paramref name="seed"/>. The F# core checks the
    /// sizes (an <see cref="ArgumentException"/> names the one that is wrong).</summary>
    /// <param name="dim">Query and output features, divisible by <paramref name="heads"/>.</param>
    /// <param name="heads">Number of heads.</param>
    /// <param name="kdim">Key features (torch's kdim); null for <paramref name="dim"/>.</param>
    /// <param name="vdim">Value features (torch's vdim); null for <paramref name="dim"/>.</param>
    /// <param name="bias">Biases on the input and output projections.</param>
    /// <param name="seed">The seed of the initial weights.</param>
    public MultiHeadAttentionBlock(int dim, int heads, int? kdim = null, int? vdim = null, bool bias = true, int seed = 0)
    {
        config = new AttentionConfig(dim, heads, 0.0, bias, false);
        parameters = NnAttention.initWith(config, kdim ?? dim, vdim ?? dim, KeyModule.create(seed));
    }

    /// <summary>The parameters under PyTorch's names: <c>in_proj_weight</c> (or <c>q_proj_weight</c>,
    /// <c>k_proj_weight</c>, <c>v_proj_weight</c> when kdim or vdim differ from dim), <c>in_proj_bias</c>,
    /// <c>out_proj.weight</c>, <c>out_proj.bias</c>.</summary>
    public IReadOnlyDictionary<string, Tensor> Parameters =>
        Interop.Leaves(parameters).ToDictionary(kv => kv.Key, kv => kv.Value);

    /// <summary>Attention of <paramref name="query"/> [N, L, dim] over <paramref name="key"/> [N, S, kdim] and
    /// <paramref name="value"/> [N, S, vdim].</summary>
    /// <param name="query">The queries [N, L, dim].</param>
    /// <param name="key">The keys [N, S, kdim].</param>
    /// <param name="value">The values [N, S, vdim].</param>
    /// <param name="needWeights">Also return the attention weights.</param>
    /// <param name="averageAttentionWeights">Weights averaged over the heads [N, L, S] (torch's default), or per
    /// head [N, heads, L, S].</param>
    /// <param name="causal">Query i attends to keys j &lt;= i only.</param>
    /// <param name="keyPaddingMask">Bool [N, S]: true marks a padding key no query attends to; null for none.</param>
    /// <returns>The output [N, L, dim] and, when asked, the weights (else null).</returns>
    public (Tensor Output, Tensor? Weights) Forward(Tensor query, Tensor key, Tensor value, bool needWeights = true,
        bool averageAttentionWeights = true, bool causal = false, Tensor? keyPaddingMask = null)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        var masks = new AttentionMasks(Interop.None<Tensor>(), keyPaddingMask is null ? Interop.None<Tensor>() : Interop.Some(keyPaddingMask), causal);
        var weights = !needWeights ? AttentionWeights.None : averageAttentionWeights ? AttentionWeights.Averaged : AttentionWeights.PerHead;
        var result = CSharpTerms.Run(() => Scope.run(Microsoft.FSharp.Core.FuncConvert.FromFunc<Tuple<Tensor, Microsoft.FSharp.Core.FSharpOption<Tensor>>>(() =>
            NnAttention.forward(config, parameters, CtxModule.eval, query, key, value, masks, weights))));
        return (result.Item1.NoDiff, result.Item2 is null ? null : result.Item2.Value.NoDiff);
    }
}
