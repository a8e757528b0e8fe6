using FunctionalNets.Nn;

namespace FunctionalNets;

/// <summary>The activation between the two linear layers of a Transformer feed-forward block.</summary>
public enum TransformerActivation
{
    /// <summary>max(x, 0), PyTorch's default.</summary>
    ReLU,
    /// <summary>The exact (erf) GELU.</summary>
    GELU,
    /// <summary>The tanh approximation of GELU (GPT-2's).</summary>
    GELUTanh,
}

public static partial class Layers
{
    /// <summary>PyTorch's nn.Embedding: integer token ids of any shape become vectors, [..] -&gt; [.., dim]. The
    /// parameter "weight" [numEmbeddings, dim] starts N(0, 1). An id outside [0, numEmbeddings) raises an
    /// <see cref="ArgumentException"/> naming the layer, the id and the vocabulary size.</summary>
    /// <param name="numEmbeddings">Vocabulary size (&gt;= 1).</param>
    /// <param name="dim">Vector size (&gt;= 1).</param>
    /// <param name="paddingIdx">A row (negative counts from the end) that starts at zero and gets no gradient.</param>
    /// <param name="maxNorm">Looked-up rows with a larger L2 norm are scaled down to it in the forward.</param>
    public static Layer Embedding(int numEmbeddings, int dim, int? paddingIdx = null, double? maxNorm = null) =>
        new(EmbeddingLayers.Embedding(numEmbeddings, dim, paddingIdx, maxNorm));

    /// <summary>PyTorch's nn.LayerNorm over the last dim: mean 0, variance 1 per position, then "weight" (init 1)
    /// and "bias" (init 0). Runs on a fused kernel.</summary>
    /// <param name="normalizedShape">Size of the last dim.</param>
    /// <param name="eps">Added to the variance.</param>
    /// <param name="elementwiseAffine">Whether to learn weight and bias.</param>
    public static Layer LayerNorm(int normalizedShape, double eps = 1e-5, bool elementwiseAffine = true) =>
        LayerNorm(new[] { normalizedShape }, eps, elementwiseAffine);

    /// <summary>PyTorch's nn.LayerNorm over the trailing dims <paramref name="normalizedShape"/>.</summary>
    /// <param name="normalizedShape">The trailing dims normalized together.</param>
    /// <param name="eps">Added to the variance.</param>
    /// <param name="elementwiseAffine">Whether to learn weight and bias.</param>
    public static Layer LayerNorm(int[] normalizedShape, double eps = 1e-5, bool elementwiseAffine = true) =>
        new(SequenceNormLayers.LayerNorm(normalizedShape, eps, elementwiseAffine));

    /// <summary>PyTorch's nn.RMSNorm over the last dim: x / sqrt(mean(x^2) + eps) times "weight" (init 1).</summary>
    /// <param name="normalizedShape">Size of the last dim.</param>
    /// <param name="eps">Added to the mean square; null uses the dtype's machine epsilon, as PyTorch.</param>
    /// <param name="elementwiseAffine">Whether to learn the weight.</param>
    public static Layer RMSNorm(int normalizedShape, double? eps = null, bool elementwiseAffine = true) =>
        new(SequenceNormLayers.RMSNorm(new[] { normalizedShape }, eps, elementwiseAffine));

    /// <summary>Adds position information to [N, T, dim] inputs: the fixed sinusoidal table of "Attention Is All You
    /// Need", or a learned table "weight" [maxLen, dim]. A sequence longer than maxLen raises an
    /// <see cref="ArgumentException"/> naming the layer and both lengths.</summary>
    /// <param name="maxLen">The most positions the table holds.</param>
    /// <param name="dim">Feature size.</param>
    /// <param name="learned">A learned table instead of the sinusoidal one.</param>
    public static Layer PositionalEncoding(int maxLen, int dim, bool learned = false) =>
        new(learned ? PositionalLayers.LearnedPositionalEncoding(maxLen, dim) : PositionalLayers.SinusoidalPositionalEncoding(maxLen, dim));

    /// <summary>Multi-head self-attention over [N, T, dim] inputs (PyTorch's nn.MultiheadAttention with
    /// batch_first and query = key = value; parameters "in_proj_weight", "in_proj_bias", "out_proj.weight",
    /// "out_proj.bias").</summary>
    /// <param name="dim">Model width, divisible by heads.</param>
    /// <param name="heads">Number of heads.</param>
    /// <param name="causal">Each position attends only to itself and earlier ones.</param>
    /// <param name="dropout">Dropout on the attention weights in training.</param>
    /// <param name="bias">Biases on the projections.</param>
    /// <param name="rope">Rotary position embeddings on queries and keys.</param>
    public static Layer MultiHeadAttention(int dim, int heads, bool causal = false, double dropout = 0.0, bool bias = true, bool rope = false) =>
        new(AttentionLayers.MultiHeadAttention(dim, heads, causal, dropout, bias, rope));

    /// <summary>PyTorch's nn.TransformerEncoderLayer (batch first) over [N, T, dim]: self-attention and a
    /// feed-forward block, each residual with dropout, post-norm by default or pre-norm.</summary>
    /// <param name="dim">Model width, divisible by heads.</param>
    /// <param name="heads">Number of heads.</param>
    /// <param name="feedForward">Hidden width of the feed-forward block.</param>
    /// <param name="dropout">Dropout probability in training.</param>
    /// <param name="activation">Activation of the feed-forward block.</param>
    /// <param name="normFirst">LayerNorm before each sub-block (pre-norm) instead of after.</param>
    /// <param name="causal">A causal self-attention mask.</param>
    /// <param name="layerNormEps">eps of the LayerNorms.</param>
    public static Layer TransformerEncoderLayer(
        int dim,
        int heads,
        int feedForward = 2048,
        double dropout = 0.1,
        TransformerActivation activation = TransformerActivation.ReLU,
        bool normFirst = false,
        bool causal = false,
        double layerNormEps = 1e-5)
    {
        var act = activation switch
        {
            TransformerActivation.ReLU => FfnActivation.Relu,
            TransformerActivation.GELU => FfnActivation.Gelu,
            TransformerActivation.GELUTanh => FfnActivation.GeluTanh,
            _ => throw new ArgumentOutOfRangeException(nameof(activation), activation,
                "TransformerEncoderLayer: activation must be ReLU, GELU or GELUTanh."),
        };
        return new(TransformerLayers.TransformerEncoderLayer(dim, heads, feedForward, dropout, act, normFirst, causal, layerNormEps));
    }

    /// <summary>A decoder-only GPT: token ids [N, T] (T &lt;= contextLength, Int64 or Int32) to logits [N, T,
    /// vocabSize]; token embedding plus learned positions, pre-norm causal blocks with tanh GELU, a final LayerNorm and
    /// an LM head tied to the token embedding by default.</summary>
    /// <param name="vocabSize">Number of token ids.</param>
    /// <param name="contextLength">The longest sequence the model reads.</param>
    /// <param name="dim">Model width, divisible by heads.</param>
    /// <param name="heads">Attention heads per block.</param>
    /// <param name="layers">Number of blocks.</param>
    /// <param name="dropout">Dropout probability in training.</param>
    /// <param name="tieWeights">Reuse the token embedding as the LM head's weight.</param>
    public static Layer Gpt(int vocabSize, int contextLength, int dim = 128, int heads = 4, int layers = 4, double dropout = 0.0, bool tieWeights = true) =>
        new(TransformerLayers.Gpt(vocabSize, contextLength, dim, heads, layers, dropout, tieWeights));
}
