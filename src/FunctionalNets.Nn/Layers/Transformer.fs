namespace FunctionalNets.Nn

open System.Runtime.InteropServices
open FunctionalNets

/// The activation between the two linear layers of a Transformer feed-forward block.
[<RequireQualifiedAccess>]
type FfnActivation =
    | Relu
    /// The exact (erf) GELU, PyTorch's nn.GELU().
    | Gelu
    /// The tanh approximation of GELU (GPT-2's, PyTorch's nn.GELU(approximate="tanh")).
    | GeluTanh

/// The settings of a Transformer encoder or decoder layer (PyTorch's nn.TransformerEncoderLayer arguments).
type TransformerConfig =
    {
        /// Model width.
        Dim: int
        /// Attention heads; Dim must be divisible by it.
        Heads: int
        /// Hidden width of the feed-forward block.
        FeedForward: int
        /// Dropout after attention, in the feed-forward block and on the attention weights (Train mode).
        Dropout: float
        /// Activation of the feed-forward block.
        Activation: FfnActivation
        /// Pre-norm (LayerNorm before each sub-block, as GPT) when true; post-norm (the original Transformer,
        /// PyTorch's default) when false.
        NormFirst: bool
        /// eps of the LayerNorms.
        LayerNormEps: float
        /// Rotary position embeddings in self-attention.
        Rope: bool
    }

/// A layer that also reads a memory (a decoder layer attending to an encoder's output): Init creates the
/// parameters, Apply maps (target [N; T; Dim], memory [N; S; Dim], target masks, memory masks) to [N; T; Dim].
type MemoryLayer =
    {
        Name: string
        Init: Key -> Params
        Apply: Params -> Ctx -> Tensor -> Tensor -> AttentionMasks -> AttentionMasks -> Tensor
    }

/// Building blocks shared by the Transformer layers.
module internal TransformerParts =
    let sub (layer: string) (name: string) (ps: Params) : Params =
        match ps with
        | Node kids ->
            match kids |> List.tryFind (fun (k, _) -> k = name) with
            | Some(_, t) -> t
            | None ->
                invalidArg
                    name
                    (sprintf
                        "%s: parameter subtree '%s' is missing; the tree holds [%s]."
                        layer
                        name
                        (kids |> List.map fst |> String.concat "; "))
        | Leaf _ -> invalidArg name (sprintf "%s: expected a node holding '%s'." layer name)

    /// nn.Linear's initialization: weight U(-1/sqrt in, 1/sqrt in) (kaiming_uniform with a = sqrt 5), same bias bounds.
    let linearParams (key: Key) (inF: int) (outF: int) : Params =
        let kw, kb = Key.split key
        let bound = 1.0 / sqrt (float inF)

        Node
            [
                "weight", Leaf(Init.uniform (kw, [ outF; inF ], -bound, bound))
                "bias", Leaf(Init.uniform (kb, [ outF ], -bound, bound))
            ]

    let normParams (dim: int) : Params =
        Node [ "weight", Leaf(Tensor.ones [ dim ]); "bias", Leaf(Tensor.zeros [ dim ]) ]

    let linear (layer: string) (ps: Params) (x: Tensor) =
        MultiHeadAttention.linearRows x (Layer.param layer "weight" ps) (Some(Layer.param layer "bias" ps))

    let norm (layer: string) (eps: float) (ps: Params) (x: Tensor) =
        Tensor.layerNorm (x, [ x.Shape[-1] ], Layer.param layer "weight" ps, Layer.param layer "bias" ps, eps)

    /// Inverted dropout in Train mode with the i-th key derived from the context's key.
    let dropout (layer: string) (p: float) (ctx: Ctx) (i: int) (x: Tensor) =
        match ctx.Mode with
        | Mode.Train when p > 0.0 ->
            match ctx.Key with
            | None ->
                invalidArg "ctx" (sprintf "%s: Train mode with dropout %g needs a key; pass Ctx.train key." layer p)
            | Some key -> Tensor.dropout (x, p, Key.foldIn i key)
        | _ -> x

    /// The context of a sub-block: its own key derived from the parent's.
    let subCtx (ctx: Ctx) (i: int) =
        { ctx with
            Key = ctx.Key |> Option.map (Key.foldIn (1000 + i))
        }

    let attentionConfig (cfg: TransformerConfig) : AttentionConfig =
        {
            Dim = cfg.Dim
            Heads = cfg.Heads
            Dropout = cfg.Dropout
            Bias = true
            Rope = cfg.Rope
        }

    let validate (name: string) (cfg: TransformerConfig) =
        MultiHeadAttention.checkHeads name cfg.Dim cfg.Heads cfg.Dropout
        Check.atLeast name "feedForward" 1 cfg.FeedForward
        Check.positive name "layerNormEps" cfg.LayerNormEps
        MultiHeadAttention.validate (attentionConfig cfg)

    /// linear2(dropout(act(linear1 x))).
    let feedForward (name: string) (cfg: TransformerConfig) (ps: Params) (ctx: Ctx) (x: Tensor) =
        let hidden = linear name (sub name "linear1" ps) x

        let act =
            match cfg.Activation with
            | FfnActivation.Relu -> Tensor.relu hidden
            | FfnActivation.Gelu -> Tensor.gelu hidden
            | FfnActivation.GeluTanh -> Tensor.geluTanh hidden

        linear name (sub name "linear2" ps) (dropout name cfg.Dropout ctx 10 act)

    /// A residual sub-block: pre-norm x + drop(f(norm x)), or post-norm norm(x + drop(f x)).
    let residual
        (name: string)
        (cfg: TransformerConfig)
        (normPs: Params)
        (ctx: Ctx)
        (i: int)
        (f: Tensor -> Tensor)
        (x: Tensor)
        =
        if cfg.NormFirst then
            x + dropout name cfg.Dropout ctx i (f (norm name cfg.LayerNormEps normPs x))
        else
            norm name cfg.LayerNormEps normPs (x + dropout name cfg.Dropout ctx i (f x))

/// nn.TransformerEncoderLayer (batch first): self-attention and a feed-forward block, each residual, pre- or
/// post-norm. Parameters: "self_attn" (as MultiHeadAttention), "linear1", "linear2", "norm1", "norm2".
[<RequireQualifiedAccess>]
module TransformerEncoderLayer =
    open TransformerParts

    /// PyTorch's defaults for (dim, heads): feed-forward 2048, dropout 0.1, ReLU, post-norm, eps 1e-5, no RoPE.
    let config (dim: int) (heads: int) : TransformerConfig =
        {
            Dim = dim
            Heads = heads
            FeedForward = 2048
            Dropout = 0.1
            Activation = FfnActivation.Relu
            NormFirst = false
            LayerNormEps = 1e-5
            Rope = false
        }

    let nameOf (cfg: TransformerConfig) =
        sprintf "TransformerEncoderLayer(dim=%d, heads=%d)" cfg.Dim cfg.Heads

    /// Parameters as PyTorch initializes them.
    let init (cfg: TransformerConfig) (key: Key) : Params =
        validate (nameOf cfg) cfg
        let ks = Key.splitN 3 key

        Node
            [
                "self_attn", MultiHeadAttention.init (attentionConfig cfg) ks[0]
                "linear1", linearParams ks[1] cfg.Dim cfg.FeedForward
                "linear2", linearParams ks[2] cfg.FeedForward cfg.Dim
                "norm1", normParams cfg.Dim
                "norm2", normParams cfg.Dim
            ]

    /// The layer on x [N; T; Dim] with the given self-attention masks.
    let apply (cfg: TransformerConfig) (ps: Params) (ctx: Ctx) (x: Tensor) (masks: AttentionMasks) : Tensor =
        let name = nameOf cfg
        let attn = attentionConfig cfg

        let selfAttn (h: Tensor) =
            MultiHeadAttention.apply attn (sub name "self_attn" ps) (subCtx ctx 0) h h masks

        x
        |> residual name cfg (sub name "norm1" ps) ctx 1 selfAttn
        |> residual name cfg (sub name "norm2" ps) ctx 2 (feedForward name cfg ps (subCtx ctx 3))

    /// The encoder layer as a Layer over [N; T; Dim] with fixed masks (e.g. AttentionMasks.causal).
    let layer (cfg: TransformerConfig) (masks: AttentionMasks) : Layer =
        validate (nameOf cfg) cfg
        let name = nameOf cfg

        let initL (key: Key) (shape: Shape) =
            if shape.Rank <> 2 || shape[-1] <> cfg.Dim then
                invalidArg
                    "shape"
                    (sprintf
                        "%s: input shape %O (per example, without the batch dim) must be [T; %d]."
                        name
                        shape
                        cfg.Dim)

            shape, init cfg key, PTree.empty

        Layer.create name initL (fun ps state ctx x -> apply cfg ps ctx x masks, state)

/// nn.TransformerDecoderLayer (batch first): causal-or-masked self-attention, cross-attention to a memory and a
/// feed-forward block, each residual, pre- or post-norm. Parameters: "self_attn", "multihead_attn", "linear1",
/// "linear2", "norm1", "norm2", "norm3".
[<RequireQualifiedAccess>]
module TransformerDecoderLayer =
    open TransformerParts

    let nameOf (cfg: TransformerConfig) =
        sprintf "TransformerDecoderLayer(dim=%d, heads=%d)" cfg.Dim cfg.Heads

    /// Parameters as PyTorch initializes them.
    let init (cfg: TransformerConfig) (key: Key) : Params =
        validate (nameOf cfg) cfg
        let ks = Key.splitN 4 key

        Node
            [
                "self_attn", MultiHeadAttention.init (attentionConfig cfg) ks[0]
                "multihead_attn", MultiHeadAttention.init (attentionConfig cfg) ks[1]
                "linear1", linearParams ks[2] cfg.Dim cfg.FeedForward
                "linear2", linearParams ks[3] cfg.FeedForward cfg.Dim
                "norm1", normParams cfg.Dim
                "norm2", normParams cfg.Dim
                "norm3", normParams cfg.Dim
            ]

    /// The layer on target x [N; T; Dim] reading memory [N; S; Dim]; tgtMasks apply to self-attention and
    /// memoryMasks (attention mask [T; S], key padding [N; S]) to cross-attention.
    let apply
        (cfg: TransformerConfig)
        (ps: Params)
        (ctx: Ctx)
        (x: Tensor)
        (memory: Tensor)
        (tgtMasks: AttentionMasks)
        (memoryMasks: AttentionMasks)
        : Tensor =
        let name = nameOf cfg
        let attn = attentionConfig cfg

        let selfAttn (h: Tensor) =
            MultiHeadAttention.apply attn (sub name "self_attn" ps) (subCtx ctx 0) h h tgtMasks

        let crossAttn (h: Tensor) =
            MultiHeadAttention.apply
                { attn with Rope = false }
                (sub name "multihead_attn" ps)
                (subCtx ctx 4)
                h
                memory
                memoryMasks

        x
        |> residual name cfg (sub name "norm1" ps) ctx 1 selfAttn
        |> residual name cfg (sub name "norm2" ps) ctx 5 crossAttn
        |> residual name cfg (sub name "norm3" ps) ctx 2 (feedForward name cfg ps (subCtx ctx 3))

    /// The decoder layer as a MemoryLayer.
    let create (cfg: TransformerConfig) : MemoryLayer =
        validate (nameOf cfg) cfg

        {
            Name = nameOf cfg
            Init = init cfg
            Apply = apply cfg
        }

/// The settings of a decoder-only GPT (Layers.gpt's arguments).
type internal GptConfig =
    {
        VocabSize: int
        /// The most positions the model reads (its positional table's length).
        ContextLength: int
        Dim: int
        Heads: int
        /// Number of Transformer blocks.
        Layers: int
        Dropout: float
        /// The LM head reuses the token embedding's weight (no separate "lm_head").
        TieWeights: bool
    }

[<AutoOpen>]
module TransformerLayers =
    open TransformerParts

    type Layers with
        /// PyTorch's nn.TransformerEncoderLayer(dim, heads, dim_feedforward = 2048, dropout = 0.1, activation =
        /// relu when omitted, layer_norm_eps = 1e-5, batch_first = True, norm_first = false) as a Layer over
        /// [N; T; dim]; causal masks future positions, rope applies rotary position embeddings in self-attention.
        [<CompiledName("TransformerEncoderLayer")>]
        static member transformerEncoderLayer
            (
                dim: int,
                heads: int,
                [<Optional; DefaultParameterValue(2048)>] feedForward: int,
                [<Optional; DefaultParameterValue(0.1)>] dropout: float,
                [<Optional>] activation: FfnActivation,
                [<Optional; DefaultParameterValue(false)>] normFirst: bool,
                [<Optional; DefaultParameterValue(false)>] causal: bool,
                [<Optional; DefaultParameterValue(1e-5)>] layerNormEps: float,
                [<Optional; DefaultParameterValue(false)>] rope: bool
            ) : Layer =
            TransformerEncoderLayer.layer
                {
                    Dim = dim
                    Heads = heads
                    FeedForward = feedForward
                    Dropout = dropout
                    Activation = Check.given activation |> Option.defaultValue FfnActivation.Relu
                    NormFirst = normFirst
                    LayerNormEps = layerNormEps
                    Rope = rope
                }
                (masksOf causal)

        /// A decoder-only GPT over token ids [N; T] (T <= contextLength) giving logits [N; T; vocabSize]: token
        /// embedding + learned positions, `layers` pre-norm causal blocks (tanh GELU, feed-forward 4 dim), a final
        /// LayerNorm and an LM head (tied to the token embedding when tieWeights). GPT-2's initialization:
        /// N(0, 0.02) weights, zero biases, residual projections scaled by 1 / sqrt(2 layers). Parameters:
        /// "token_embedding.weight", "position_embedding.weight", "blocks.i.*" (as TransformerEncoderLayer),
        /// "norm", and "lm_head.weight" when untied.
        [<CompiledName("Gpt")>]
        static member gpt
            (
                vocabSize: int,
                contextLength: int,
                [<Optional; DefaultParameterValue(128)>] dim: int,
                [<Optional; DefaultParameterValue(4)>] heads: int,
                [<Optional; DefaultParameterValue(4)>] layers: int,
                [<Optional; DefaultParameterValue(0.0)>] dropout: float,
                [<Optional; DefaultParameterValue(true)>] tieWeights: bool
            ) : Layer =
            Check.atLeast "Gpt" "vocabSize" 1 vocabSize
            Check.atLeast "Gpt" "contextLength" 1 contextLength
            Check.atLeast "Gpt" "layers" 0 layers
            MultiHeadAttention.checkHeads "Gpt" dim heads dropout

            let cfg: GptConfig =
                {
                    VocabSize = vocabSize
                    ContextLength = contextLength
                    Dim = dim
                    Heads = heads
                    Layers = layers
                    Dropout = dropout
                    TieWeights = tieWeights
                }

            let name =
                sprintf
                    "Gpt(vocab=%d, context=%d, dim=%d, heads=%d, layers=%d)"
                    cfg.VocabSize
                    cfg.ContextLength
                    cfg.Dim
                    cfg.Heads
                    cfg.Layers

            let block =
                {
                    Dim = cfg.Dim
                    Heads = cfg.Heads
                    FeedForward = 4 * cfg.Dim
                    Dropout = cfg.Dropout
                    // GPT-2's tanh GELU; it is also several times faster here than the erf-based exact one.
                    Activation = FfnActivation.GeluTanh
                    NormFirst = true
                    LayerNormEps = 1e-5
                    Rope = false
                }

            validate name block
            let std = 0.02
            let residualStd = std / sqrt (2.0 * float (max 1 cfg.Layers))

            let normal (key: Key) (shape: int list) (s: float) = Leaf(Init.normal (key, shape, std = s))

            let linearN (key: Key) (inF: int) (outF: int) (s: float) =
                Node [ "weight", normal key [ outF; inF ] s; "bias", Leaf(Tensor.zeros [ outF ]) ]

            let blockParams (key: Key) =
                let ks = Key.splitN 4 key

                Node
                    [
                        "self_attn",
                        Node
                            [
                                "in_proj_weight", normal ks[0] [ 3 * cfg.Dim; cfg.Dim ] std
                                "in_proj_bias", Leaf(Tensor.zeros [ 3 * cfg.Dim ])
                                "out_proj", linearN ks[1] cfg.Dim cfg.Dim residualStd
                            ]
                        "linear1", linearN ks[2] cfg.Dim block.FeedForward std
                        "linear2", linearN ks[3] block.FeedForward cfg.Dim residualStd
                        "norm1", normParams cfg.Dim
                        "norm2", normParams cfg.Dim
                    ]

            let checkIds (what: string) (dims: int[]) =
                if dims.Length <> 1 then
                    invalidArg
                        "input"
                        (sprintf "%s: %s %A must be token ids [T] per example ([N; T] batched)." name what dims)

                if dims[0] > cfg.ContextLength then
                    invalidArg
                        "input"
                        (sprintf
                            "%s: the sequence has length %d but the context length (positional table) is %d; feed at most %d tokens."
                            name
                            dims[0]
                            cfg.ContextLength
                            cfg.ContextLength)

            let init (key: Key) (shape: Shape) =
                checkIds "input shape" (shape.ToArray())
                let ks = Key.splitN (cfg.Layers + 3) key

                let ps =
                    Node
                        [
                            "token_embedding", Node [ "weight", normal ks[0] [ cfg.VocabSize; cfg.Dim ] std ]
                            "position_embedding", Node [ "weight", normal ks[1] [ cfg.ContextLength; cfg.Dim ] std ]
                            "blocks", Node [ for i in 0 .. cfg.Layers - 1 -> string i, blockParams ks[3 + i] ]
                            "norm", normParams cfg.Dim
                            if not cfg.TieWeights then
                                "lm_head", Node [ "weight", normal ks[2] [ cfg.VocabSize; cfg.Dim ] std ]
                        ]

                Shape.ofList [ shape[0]; cfg.VocabSize ], ps, PTree.empty

            let apply (ps: Params) (state: State) (ctx: Ctx) (ids: Tensor) =
                if ids.Rank <> 2 then
                    invalidArg "input" (sprintf "%s: expected token ids [N; T], got %O." name ids.Shape)

                checkIds "input" [| ids.Shape[1] |]
                let t = ids.Shape[1]
                let tokW = Layer.param name "weight" (sub name "token_embedding" ps)
                let posW = Layer.param name "weight" (sub name "position_embedding" ps)
                let h = EmbeddingLayers.lookup name tokW ids + Tensor.slice (posW, 0, 0, t)
                let h = TransformerParts.dropout name cfg.Dropout ctx 0 h
                let blocks = sub name "blocks" ps

                let h =
                    Seq.fold
                        (fun h i ->
                            let bctx =
                                { ctx with
                                    Key = ctx.Key |> Option.map (Key.foldIn (1 + i))
                                }

                            TransformerEncoderLayer.apply
                                block
                                (sub name (string i) blocks)
                                bctx
                                h
                                AttentionMasks.causal)
                        h
                        (seq { 0 .. cfg.Layers - 1 })

                let h = norm name 1e-5 (sub name "norm" ps) h

                let head =
                    if cfg.TieWeights then
                        tokW
                    else
                        Layer.param name "weight" (sub name "lm_head" ps)

                MultiHeadAttention.linearRows h head None, state

            Layer.create name init apply
