namespace FunctionalNets.Nn

open System.Runtime.InteropServices
open FunctionalNets

/// The masks a multi-head attention call takes, with PyTorch's nn.MultiheadAttention conventions.
type AttentionMasks =
    {
        /// [L; S] or [N; L; S] (or [N; heads; L; S]): Bool true = this query may NOT attend to this key, or a
        /// floating-point mask added to the scores.
        AttnMask: Tensor option
        /// [N; S] Bool: true marks a padding key that no query attends to.
        KeyPaddingMask: Tensor option
        /// Query i attends to keys j <= i only.
        IsCausal: bool
    }

/// Attention masks.
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module AttentionMasks =
    /// No mask.
    let none: AttentionMasks =
        {
            AttnMask = None
            KeyPaddingMask = None
            IsCausal = false
        }

    /// A causal mask only.
    let causal: AttentionMasks = { none with IsCausal = true }

/// Which attention weights MultiHeadAttention.forward returns (torch's need_weights, average_attn_weights).
[<RequireQualifiedAccess>]
type AttentionWeights =
    /// None (torch's need_weights=False).
    | None
    /// Averaged over the heads, [N; L; S] (torch's default average_attn_weights=True).
    | Averaged
    /// One map per head, [N; heads; L; S].
    | PerHead

/// The settings of a multi-head attention block.
type AttentionConfig =
    {
        /// Model width (the query, key, value and output features).
        Dim: int
        /// Number of heads; Dim must be divisible by it.
        Heads: int
        /// Dropout on the attention weights in Train mode.
        Dropout: float
        /// Biases on the input and output projections.
        Bias: bool
        /// Rotary position embeddings on the queries and keys of each head.
        Rope: bool
    }

/// Multi-head attention as a pair of functions, for self-attention (query = key = value) and cross-attention
/// (keys and values from a memory). Parameters follow PyTorch's nn.MultiheadAttention: "in_proj_weight"
/// [3 Dim; Dim], "in_proj_bias" [3 Dim], "out_proj" { "weight" [Dim; Dim]; "bias" [Dim] }.
[<RequireQualifiedAccess>]
module MultiHeadAttention =
    /// PyTorch's defaults: no dropout, biases, no RoPE.
    let config (dim: int) (heads: int) : AttentionConfig =
        {
            Dim = dim
            Heads = heads
            Dropout = 0.0
            Bias = true
            Rope = false
        }

    let internal nameOf (cfg: AttentionConfig) =
        sprintf "MultiHeadAttention(dim=%d, heads=%d)" cfg.Dim cfg.Heads

    /// The width and head count of an attention layer (self-attention, a Transformer block, a GPT): both >= 1,
    /// dim divisible by heads, and dropout a probability; op names the layer in the messages.
    let internal checkHeads (op: string) (dim: int) (heads: int) (dropout: float) =
        Check.atLeast op "dim" 1 dim
        Check.atLeast op "heads" 1 heads

        Check.inRange (dim % heads = 0) "heads" heads (sprintf "%s: dim %d must be divisible by heads %d." op dim heads)

        Check.probability op "dropout" dropout

    let internal validate (cfg: AttentionConfig) =
        checkHeads (nameOf cfg) cfg.Dim cfg.Heads cfg.Dropout

        if cfg.Rope && (cfg.Dim / cfg.Heads) % 2 <> 0 then
            invalidArg "rope" (sprintf "%s: RoPE needs an even head dim, got %d." (nameOf cfg) (cfg.Dim / cfg.Heads))

    /// Parameters as PyTorch initializes them: xavier_uniform in-projection, zero biases, and the out-projection
    /// weight of nn.Linear (U(-1/sqrt Dim, 1/sqrt Dim)).
    let init (cfg: AttentionConfig) (key: Key) : Params =
        validate cfg
        let d = cfg.Dim
        let k1, k2 = Key.split key
        let bound = 1.0 / sqrt (float d)

        Node
            [
                "in_proj_weight", Leaf(Init.xavierUniform (k1, [ 3 * d; d ]))
                if cfg.Bias then
                    "in_proj_bias", Leaf(Tensor.zeros [ 3 * d ])
                "out_proj",
                Node
                    [
                        "weight", Leaf(Init.uniform (k2, [ d; d ], -bound, bound))
                        if cfg.Bias then
                            "bias", Leaf(Tensor.zeros [ d ])
                    ]
            ]

    /// Parameters for keys of kdim and values of vdim features (torch's nn.MultiheadAttention(dim, heads, kdim=,
    /// vdim=)): when either differs from Dim, separate "q_proj_weight" [Dim; Dim], "k_proj_weight" [Dim; kdim] and
    /// "v_proj_weight" [Dim; vdim] (each xavier_uniform) replace "in_proj_weight", as in torch; otherwise init.
    let initWith (cfg: AttentionConfig) (kdim: int) (vdim: int) (key: Key) : Params =
        validate cfg
        Check.atLeast (nameOf cfg) "kdim" 1 kdim
        Check.atLeast (nameOf cfg) "vdim" 1 vdim

        if kdim = cfg.Dim && vdim = cfg.Dim then
            init cfg key
        else
            let d = cfg.Dim
            let ks = Key.splitN 4 key
            let bound = 1.0 / sqrt (float d)

            Node
                [
                    "q_proj_weight", Leaf(Init.xavierUniform (ks[0], [ d; d ]))
                    "k_proj_weight", Leaf(Init.xavierUniform (ks[1], [ d; kdim ]))
                    "v_proj_weight", Leaf(Init.xavierUniform (ks[2], [ d; vdim ]))
                    if cfg.Bias then
                        "in_proj_bias", Leaf(Tensor.zeros [ 3 * d ])
                    "out_proj",
                    Node
                        [
                            "weight", Leaf(Init.uniform (ks[3], [ d; d ], -bound, bound))
                            if cfg.Bias then
                                "bias", Leaf(Tensor.zeros [ d ])
                        ]
                ]

    /// x @ weight^T + bias over the rows of x [..; in] as one [rows; in] GEMM: a 3-D x would otherwise be a batch
    /// of small GEMMs against a broadcast weight, and its weight gradient a batch of products summed afterwards.
    let internal linearRows (x: Tensor) (weight: Tensor) (bias: Tensor option) =
        let dims = x.Shape.ToArray()
        let rows = Tensor.reshape (x, [ -1; dims[dims.Length - 1] ])

        let y =
            match bias with
            | Some b -> Tensor.linear (rows, weight, b)
            | None -> Tensor.linear (rows, weight)

        Tensor.reshape (y, Array.append dims[.. dims.Length - 2] [| weight.Shape[0] |])

    let private child (name: string) (layer: string) (ps: Params) =
        match ps with
        | Node kids ->
            match kids |> List.tryFind (fun (k, _) -> k = name) with
            | Some(_, t) -> t
            | None -> invalidArg name (sprintf "%s: parameter subtree '%s' is missing." layer name)
        | Leaf _ -> invalidArg name (sprintf "%s: expected a node holding '%s'." layer name)

    /// The combined Bool "may attend" or additive mask for scaledDotProductAttention over [N; heads; L; S].
    let private combineMasks
        (name: string)
        (n: int)
        (heads: int)
        (l: int)
        (s: int)
        (masks: AttentionMasks)
        (like: Tensor)
        =
        let attn =
            masks.AttnMask
            |> Option.map (fun m ->
                let ok =
                    (m.Rank = 2 && m.Shape.ToArray() = [| l; s |])
                    || (m.Rank = 3 && m.Shape.ToArray() = [| n; l; s |])
                    || (m.Rank = 4 && m.Shape.ToArray() = [| n; heads; l; s |])

                if not ok then
                    invalidArg
                        "attnMask"
                        (sprintf
                            "%s: attention mask %O must be [L; S] = [%d; %d], [N; L; S] = [%d; %d; %d] or [N; heads; L; S]."
                            name
                            m.Shape
                            l
                            s
                            n
                            l
                            s)

                let m4 = if m.Rank = 3 then Tensor.unsqueeze (m, 1) else m

                if m.DType = DType.Bool then
                    Choice1Of2(Tensor.logicalNot m4)
                else
                    Choice2Of2 m4)

        let padding =
            masks.KeyPaddingMask
            |> Option.map (fun m ->
                if m.DType <> DType.Bool || m.Shape.ToArray() <> [| n; s |] then
                    invalidArg
                        "keyPaddingMask"
                        (sprintf "%s: key padding mask %O %O must be Bool [N; S] = [%d; %d]." name m.DType m.Shape n s)

                Tensor.logicalNot (Tensor.reshape (m, [ n; 1; 1; s ])))

        let causal =
            if masks.IsCausal then
                Some(Tensor.tril (Tensor.ones ([ l; s ], DType.Bool)))
            else
                None

        let bools =
            [
                match attn with
                | Some(Choice1Of2 b) -> b
                | _ -> ()
                yield! Option.toList padding
                yield! Option.toList causal
            ]

        let allowed =
            match bools with
            | [] -> None
            | first :: rest -> Some(List.fold (fun a b -> Tensor.logicalAnd (a, b)) first rest)

        match attn with
        | Some(Choice2Of2 additive) ->
            match allowed with
            | Some a ->
                Some(
                    Tensor.maskedFill (
                        // Broadcast to the full scores shape so every forbidden position has its own slot.
                        additive + Tensor.zeros ([ n; heads; l; s ], like.DType, like.Device),
                        Tensor.logicalNot a,
                        System.Double.NegativeInfinity
                    )
                )
            | None -> Some additive
        | _ -> allowed

    /// Attention of query [N; L; Dim] over key [N; S; kdim] and value [N; S; vdim] (the same tensor for
    /// self-attention): project, split into heads, attend (with RoPE when configured, dropout in Train mode), merge
    /// and project out. Returns the output [N; L; Dim] and, when asked, the attention weights (torch's
    /// MultiheadAttention(batch_first=True) with need_weights; weights averaged over heads or per head).
    let forward
        (cfg: AttentionConfig)
        (ps: Params)
        (ctx: Ctx)
        (query: Tensor)
        (key: Tensor)
        (value: Tensor)
        (masks: AttentionMasks)
        (weights: AttentionWeights)
        : Tensor * Tensor option =
        let name = nameOf cfg
        let d, h = cfg.Dim, cfg.Heads
        let hd = d / h

        let separate =
            match ps with
            | Node kids -> kids |> List.exists (fun (k, _) -> k = "q_proj_weight")
            | Leaf _ -> false

        let projection (i: int) =
            if separate then
                Layer.param name ([| "q_proj_weight"; "k_proj_weight"; "v_proj_weight" |][i]) ps
            else
                (Tensor.chunk (Layer.param name "in_proj_weight" ps, 3, 0))[i]

        for what, (t: Tensor), width in
            [
                "query", query, d
                "key", key, (projection 1).Shape[1]
                "value", value, (projection 2).Shape[1]
            ] do
            if t.Rank <> 3 || t.Shape[-1] <> width then
                invalidArg what (sprintf "%s: %s %O must be [N; T; %d]." name what t.Shape width)

        let n, l, s = query.Shape[0], query.Shape[1], key.Shape[1]

        if key.Shape[0] <> n || value.Shape[0] <> n || value.Shape[1] <> s then
            invalidArg
                "key"
                (sprintf
                    "%s: query %O, key %O and value %O must share the batch size, and key and value the length."
                    name
                    query.Shape
                    key.Shape
                    value.Shape)

        let b =
            if cfg.Bias then
                Some(Layer.param name "in_proj_bias" ps)
            else
                None

        let heads (t: Tensor) len =
            Tensor.permute (Tensor.reshape (t, [ n; len; h; hd ]), [ 0; 2; 1; 3 ])

        let q, k, v =
            if
                not separate
                && obj.ReferenceEquals(query, key)
                && obj.ReferenceEquals(key, value)
            then
                // One [N; T; 3 Dim] projection for self-attention: one GEMM instead of three.
                let qkv = linearRows query (Layer.param name "in_proj_weight" ps) b

                // [N; T; 3; heads; hd] -> [3; N; heads; T; hd]: one permute, then q, k and v are contiguous blocks.
                let split =
                    Tensor.permute (Tensor.reshape (qkv, [ n; l; 3; h; hd ]), [ 2; 0; 3; 1; 4 ])

                Tensor.select (split, 0, 0), Tensor.select (split, 0, 1), Tensor.select (split, 0, 2)
            else
                let bs = b |> Option.map (fun b -> Tensor.chunk (b, 3, 0))

                let proj i (x: Tensor) =
                    linearRows x (projection i) (bs |> Option.map (fun bs -> bs[i]))

                heads (proj 0 query) l, heads (proj 1 key) s, heads (proj 2 value) s

        let q, k = if cfg.Rope then rope q, rope k else q, k
        // A causal mask alone goes to the fused causal softmax instead of a materialised tril mask and a where
        // (unless the weights are wanted: they need the mask applied explicitly).
        let causalOnly =
            masks.IsCausal
            && masks.AttnMask.IsNone
            && masks.KeyPaddingMask.IsNone
            && weights = AttentionWeights.None

        let mask =
            if causalOnly then
                None
            else
                combineMasks name n h l s masks q

        let dropout, dropKey =
            match ctx.Mode, ctx.Key with
            | Mode.Train, Some key when cfg.Dropout > 0.0 -> cfg.Dropout, Some key
            | Mode.Train, None when cfg.Dropout > 0.0 ->
                invalidArg "ctx" (sprintf "%s: Train mode with dropout needs a key; pass Ctx.train key." name)
            | _ -> 0.0, None

        let attended, attention =
            match mask, dropKey with
            // Without weights to return the backend may run the fused op, which keeps no [L, S] matrix.
            | _ when weights = AttentionWeights.None ->
                Tensor.scaledDotProductAttention (
                    q,
                    k,
                    v,
                    Option.toObj mask,
                    causalOnly,
                    dropout,
                    Option.toNullable dropKey
                ),
                Unchecked.defaultof<Tensor>
            | Some m, Some key -> Tensor.scaledDotProductAttentionWithWeights (q, k, v, m, dropout = dropout, key = key)
            | Some m, None -> Tensor.scaledDotProductAttentionWithWeights (q, k, v, m)
            | None, Some key ->
                Tensor.scaledDotProductAttentionWithWeights (
                    q,
                    k,
                    v,
                    isCausal = causalOnly,
                    dropout = dropout,
                    key = key
                )
            | None, None -> Tensor.scaledDotProductAttentionWithWeights (q, k, v, isCausal = causalOnly)

        let merged = Tensor.reshape (Tensor.permute (attended, [ 0; 2; 1; 3 ]), [ n; l; d ])
        let out = child "out_proj" name ps
        let ow = Layer.param name "weight" out

        let output =
            linearRows merged ow (if cfg.Bias then Some(Layer.param name "bias" out) else None)

        let weightsOut =
            match weights with
            | AttentionWeights.None -> Option.None
            | AttentionWeights.Averaged -> Some(Tensor.mean (attention, 1))
            | AttentionWeights.PerHead -> Some attention

        output, weightsOut

    /// Attention of query [N; L; Dim] over key/value [N; S; Dim] (the same tensor for self-attention): forward
    /// without the weights.
    let apply
        (cfg: AttentionConfig)
        (ps: Params)
        (ctx: Ctx)
        (query: Tensor)
        (keyValue: Tensor)
        (masks: AttentionMasks)
        =
        fst (forward cfg ps ctx query keyValue keyValue masks AttentionWeights.None)

    /// Self-attention as a Layer over [N; T; Dim] inputs with fixed masks (e.g. AttentionMasks.causal).
    let layer (cfg: AttentionConfig) (masks: AttentionMasks) : Layer =
        validate cfg
        let name = nameOf cfg

        let init (key: Key) (shape: Shape) =
            if shape.Rank <> 2 || shape[-1] <> cfg.Dim then
                invalidArg
                    "shape"
                    (sprintf
                        "%s: input shape %O (per example, without the batch dim) must be [T; %d]."
                        name
                        shape
                        cfg.Dim)

            shape, init cfg key, PTree.empty

        Layer.create name init (fun ps state ctx x -> apply cfg ps ctx x x masks, state)

[<AutoOpen>]
module AttentionLayers =
    let internal masksOf (causal: bool) =
        if causal then
            AttentionMasks.causal
        else
            AttentionMasks.none

    type Layers with
        /// Multi-head self-attention over [N; T; dim] inputs (PyTorch's nn.MultiheadAttention(dim, heads, dropout,
        /// bias, batch_first=True) with query = key = value); causal masks future positions, rope applies rotary
        /// position embeddings to the queries and keys.
        [<CompiledName("MultiHeadAttention")>]
        static member multiHeadAttention
            (
                dim: int,
                heads: int,
                [<Optional; DefaultParameterValue(false)>] causal: bool,
                [<Optional; DefaultParameterValue(0.0)>] dropout: float,
                [<Optional; DefaultParameterValue(true)>] bias: bool,
                [<Optional; DefaultParameterValue(false)>] rope: bool
            ) : Layer =
            MultiHeadAttention.layer
                {
                    Dim = dim
                    Heads = heads
                    Dropout = dropout
                    Bias = bias
                    Rope = rope
                }
                (masksOf causal)
