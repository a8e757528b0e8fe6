namespace FunctionalNets.Nn.Interop

open FunctionalNets.Nn

/// The sequence and Transformer layers under plain .NET names and types for the C# host (F# extension members
/// and records are awkward to call from C#).
[<AbstractClass; Sealed>]
type internal TransformerBridge =
    static member Embedding
        (numEmbeddings: int, dim: int, paddingIdx: System.Nullable<int>, maxNorm: System.Nullable<float>)
        =
        Layers.embeddingWith (
            numEmbeddings,
            dim,
            ?paddingIdx = Option.ofNullable paddingIdx,
            ?maxNorm = Option.ofNullable maxNorm
        )

    static member LayerNorm(normalizedShape: int[], eps: float, affine: bool) =
        Layers.layerNormWith eps affine (List.ofArray normalizedShape)

    /// eps NaN means PyTorch's default (the dtype's machine epsilon).
    static member RmsNorm(normalizedShape: int[], eps: float, affine: bool) =
        Layers.rmsNormWith (if System.Double.IsNaN eps then None else Some eps) affine (List.ofArray normalizedShape)

    static member PositionalEncoding(maxLen: int, dim: int, learned: bool) =
        if learned then
            Layers.learnedPositionalEncoding maxLen dim
        else
            Layers.sinusoidalPositionalEncoding maxLen dim

    static member MultiHeadAttention(dim: int, heads: int, causal: bool, dropout: float, bias: bool, rope: bool) =
        MultiHeadAttention.layer
            {
                Dim = dim
                Heads = heads
                Dropout = dropout
                Bias = bias
                Rope = rope
            }
            (if causal then
                 AttentionMasks.causal
             else
                 AttentionMasks.none)

    /// activation: 0 ReLU, 1 exact GELU, 2 tanh GELU (the C# enum's values).
    static member TransformerEncoderLayer
        (
            dim: int,
            heads: int,
            feedForward: int,
            dropout: float,
            activation: int,
            normFirst: bool,
            causal: bool,
            layerNormEps: float
        ) =
        TransformerEncoderLayer.layer
            {
                Dim = dim
                Heads = heads
                FeedForward = feedForward
                Dropout = dropout
                Activation =
                    (match activation with
                     | 1 -> FfnActivation.Gelu
                     | 2 -> FfnActivation.GeluTanh
                     | _ -> FfnActivation.Relu)
                NormFirst = normFirst
                LayerNormEps = layerNormEps
                Rope = false
            }
            (if causal then
                 AttentionMasks.causal
             else
                 AttentionMasks.none)

    static member Gpt
        (vocabSize: int, contextLength: int, dim: int, heads: int, layers: int, dropout: float, tieWeights: bool)
        =
        Layers.gpt
            {
                VocabSize = vocabSize
                ContextLength = contextLength
                Dim = dim
                Heads = heads
                Layers = layers
                Dropout = dropout
                TieWeights = tieWeights
            }
