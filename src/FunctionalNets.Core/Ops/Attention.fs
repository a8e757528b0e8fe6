namespace FunctionalNets

open System.Runtime.CompilerServices
open System.Runtime.InteropServices
open System

/// Scaled dot-product attention with PyTorch's semantics (torch.nn.functional.scaled_dot_product_attention).
[<AutoOpen; Extension>]
module AttentionOps =
    let private op = "scaledDotProductAttention"

    let private checkOperands (q: Tensor) (k: Tensor) (v: Tensor) =
        if q.Rank < 2 || k.Rank < 2 || v.Rank < 2 then
            invalidArg
                "q"
                (sprintf
                    "%s: query, key and value need rank >= 2 ([..., L, E], [..., S, E], [..., S, Ev]), got %O, %O and %O."
                    op
                    q.Shape
                    k.Shape
                    v.Shape)

        if not q.DType.IsFloatingPoint || q.DType <> k.DType || q.DType <> v.DType then
            invalidArg
                "q"
                (sprintf
                    "%s: query, key and value must share one floating-point dtype, got %O, %O and %O."
                    op
                    q.DType
                    k.DType
                    v.DType)

        if q.Shape[-1] <> k.Shape[-1] then
            invalidArg
                "k"
                (sprintf "%s: query %O and key %O must have the same last dim (the embedding E)." op q.Shape k.Shape)

        if k.Shape[-2] <> v.Shape[-2] then
            invalidArg
                "v"
                (sprintf "%s: key %O and value %O must have the same sequence length S (dim -2)." op k.Shape v.Shape)

    /// softmax(scale * scores) over the last dim, query i attending to keys j <= i only when causal: one fused
    /// kernel pass for the value and one for the first-order gradient (y (g - sum(g y)) scale); derivatives of
    /// higher order and forward mode use that formula written with tensor ops.
    let rec internal attentionSoftmax (scale: float) (causal: bool) (scores: Tensor) : Tensor =
        let rowSum (t: Tensor) = Tensor.sum (t, [ -1 ], true)

        TensorCore.apply
            {
                Name = "attentionSoftmax"
                Raw = fun r -> r[0].AttentionSoftmax(scale, causal)
                Jvp =
                    fun _ y _ t ->
                        let ts = t * scale
                        y * (ts - rowSum (ts * y))
                Vjp =
                    fun _ y _ g ->
                        if not g.IsDifferentiable && not y.IsDifferentiable then
                            TConst(g.Raw.AttentionSoftmaxBackward(y.Raw, scale))
                        else
                            y * (g - rowSum (g * y)) * scale
            }
            [| scores |]

    /// Attention through the backend's fused op (RawTensor.Attention: no [L, S] matrix is kept, only each query's
    /// log-sum-exp). First-order gradients on constants come from its fused backward; forward mode and higher orders
    /// use the composed definition written with Tensor ops, so derivatives of any order follow.
    let private fusedAttention
        (scale: float)
        (causal: bool)
        (keyLengths: int[] option)
        (q: Tensor)
        (k: Tensor)
        (v: Tensor)
        =
        let rowSum (t: Tensor) = Tensor.sum (t, [ -1 ], true)

        let weights (xs: Tensor[]) =
            let scores = MatmulOps.matmulT xs[0] false xs[1] true

            let scores =
                match keyLengths with
                | Some _ ->
                    let visible = q.Raw.AttentionVisible(k.Shape[-2], false, keyLengths)

                    let neginf =
                        TConst(q.Raw.Backend.Full(Shape.Scalar, q.DType, Double.NegativeInfinity))

                    Tensor.where (TConst visible.Value, scores, neginf)
                | None -> scores

            attentionSoftmax scale causal scores

        TensorCore.applyResidual
            {
                Name = op
                Forward =
                    fun r ->
                        let o, lse = r[0].Attention(r[1], r[2], scale, causal, keyLengths)
                        o, [| lse |]
                Jvp =
                    fun c ts ->
                        let xs = c.Primals
                        let w = weights xs

                        let scoreTangents =
                            [
                                ts[0] |> Option.map (fun t -> MatmulOps.matmulT t false xs[1] true)
                                ts[1] |> Option.map (fun t -> MatmulOps.matmulT xs[0] false t true)
                            ]
                            |> List.choose id

                        let viaWeights =
                            match scoreTangents with
                            | [] -> None
                            | ds ->
                                let d = List.reduce (+) ds * scale
                                Some(MatmulOps.matmulT (w * (d - rowSum (d * w))) false xs[2] false)

                        [ viaWeights; ts[2] |> Option.map (fun t -> MatmulOps.matmulT w false t false) ]
                        |> List.choose id
                        |> List.reduce (+)
                Vjp =
                    fun c g ->
                        let xs = c.Primals

                        if not (g.IsDifferentiable || xs |> Array.exists (fun t -> t.IsDifferentiable)) then
                            let dq, dk, dv =
                                g.Raw.AttentionBackward(
                                    xs[0].Raw,
                                    xs[1].Raw,
                                    xs[2].Raw,
                                    c.Output.Raw,
                                    c.Residuals[0].Raw,
                                    scale,
                                    causal,
                                    keyLengths
                                )

                            [| TConst dq; TConst dk; TConst dv |]
                        else
                            let w = weights xs
                            let dw = MatmulOps.matmulT g false xs[2] true
                            let ds = w * (dw - rowSum (dw * w)) * scale

                            [|
                                MatmulOps.matmulT ds false xs[1] false
                                MatmulOps.matmulT ds true xs[0] false
                                MatmulOps.matmulT w true g false
                            |]
            }
            [| q; k; v |]
        |> fst

    /// The per-slice key lengths a Bool mask stands for when it is a key-padding mask: it broadcasts to
    /// [batch..., 1, S] and each slice's row is true for a prefix of the keys and false after. None otherwise.
    let private keyLengthsOf (m: Tensor) (batch: int[]) (s: int) =
        let target = Shape.Wrap(Array.append batch [| 1; s |])

        if m.DType <> DType.Bool || not (Shape.canBroadcastTo m.Shape target) then
            None
        else
            let visible = m.Raw.Expand(target).ToArray() :?> bool[]
            let slices = Array.fold (*) 1 batch

            let prefix b =
                let row = Array.sub visible (b * s) s
                let n = Array.IndexOf(row, false)
                let n = if n < 0 then s else n
                if Array.exists id row[n..] then None else Some n

            let lens = Array.init slices prefix

            if Array.forall Option.isSome lens then
                Some(Array.map Option.get lens)
            else
                None

    /// The fused op's key lengths (None: no padding) when it takes this call: no dropout, equal batch dims, a
    /// positive scale, no mask or a key-padding one, and a backend that measures the fused op faster for the sizes.
    let private fusedPlan (q: Tensor) (k: Tensor) (v: Tensor) (mask: Tensor option) causal dropout (scale: float) =
        let r = q.Rank
        let batch = q.Shape.ToArray()[.. r - 3]

        if
            dropout <> 0.0
            || scale <= 0.0
            || k.Rank <> r
            || v.Rank <> r
            || k.Shape.ToArray()[.. r - 3] <> batch
            || v.Shape.ToArray()[.. r - 3] <> batch
            || (causal && mask.IsSome)
            || not (
                q.Raw.PrefersFusedAttention(
                    Array.fold (*) 1 batch,
                    q.Shape[-2],
                    k.Shape[-2],
                    q.Shape[-1],
                    v.Shape[-1],
                    causal
                )
            )
        then
            None
        else
            match mask with
            | None -> Some None
            | Some m -> keyLengthsOf m batch k.Shape[-2] |> Option.map Some

    type Tensor with
        /// softmax(q k^T * scale + mask) v over the last two dims, batch dims broadcasting: q [..., L, E],
        /// k [..., S, E], v [..., S, Ev] give [..., L, Ev]. scale defaults to 1 / sqrt E. mask broadcasts to the
        /// scores [..., L, S]: a Bool mask is true where a query may attend, a floating-point mask is added to the
        /// scores. isCausal lets query i attend to keys j <= i only (not together with a mask). dropout (a
        /// probability in [0, 1)) zeroes attention weights with the given key and rescales the rest by 1 / (1 - p).
        /// A query row that may attend to nothing gives NaN, as in PyTorch. Where the backend measures it faster (the
        /// CPU backend for float32 and long sequences), no mask or a Bool key-padding mask with no dropout runs as one
        /// fused op that keeps no [L, S] matrix; dropout and other masks take the composed path.
        [<CompiledName("ScaledDotProductAttention"); Extension>]
        static member scaledDotProductAttention
            (
                q: Tensor,
                k: Tensor,
                v: Tensor,
                [<Optional>] mask: Tensor,
                [<Optional; DefaultParameterValue(false)>] isCausal: bool,
                [<Optional; DefaultParameterValue(0.0)>] dropout: float,
                [<Optional>] key: Nullable<Key>,
                [<Optional>] scale: Nullable<float>
            ) =
            Args.required "scaledDotProductAttention" "q" q
            Args.required "scaledDotProductAttention" "k" k
            Args.required "scaledDotProductAttention" "v" v
            checkOperands q k v
            let s = defaultArg (Option.ofNullable scale) (1.0 / sqrt (float q.Shape[-1]))

            match fusedPlan q k v (Args.opt mask) isCausal dropout s with
            | Some keyLengths -> fusedAttention s isCausal keyLengths q k v
            | None -> fst (Tensor.scaledDotProductAttentionWithWeights (q, k, v, mask, isCausal, dropout, key, scale))

        /// scaledDotProductAttention returning (output, attention weights [..., L, S]); the weights are those
        /// multiplied with v, after dropout, as torch's MultiheadAttention(need_weights=True) returns them.
        [<CompiledName("ScaledDotProductAttentionWithWeights"); Extension>]
        static member scaledDotProductAttentionWithWeights
            (
                q: Tensor,
                k: Tensor,
                v: Tensor,
                [<Optional>] mask: Tensor,
                [<Optional; DefaultParameterValue(false)>] isCausal: bool,
                [<Optional; DefaultParameterValue(0.0)>] dropout: float,
                [<Optional>] key: Nullable<Key>,
                [<Optional>] scale: Nullable<float>
            ) =
            Args.required "scaledDotProductAttentionWithWeights" "q" q
            Args.required "scaledDotProductAttentionWithWeights" "k" k
            Args.required "scaledDotProductAttentionWithWeights" "v" v
            let mask = Args.opt mask
            let key = Option.ofNullable key
            let scale = Option.ofNullable scale
            checkOperands q k v
            let p = dropout
            let e = q.Shape[-1]
            let l, s = q.Shape[-2], k.Shape[-2]

            if not (p >= 0.0 && p < 1.0) then
                raise (
                    System.ArgumentOutOfRangeException(
                        "dropout",
                        p,
                        sprintf "%s: the dropout probability must be in [0, 1), got %g." op p
                    )
                )

            if p > 0.0 && key.IsNone then
                invalidArg "key" (sprintf "%s: dropout %g needs a key for its mask; pass key (or dropout 0)." op p)

            if isCausal && mask.IsSome then
                invalidArg "mask" (sprintf "%s: give either a mask or isCausal, not both (PyTorch's rule)." op)

            let scale = defaultArg scale (1.0 / sqrt (float e))
            // The scale folds into the fused softmax unless an additive mask must be added after scaling (or a
            // non-positive scale would flip the -inf of a Bool mask).
            let fuseScale =
                scale > 0.0
                && (match mask with
                    | Some m -> m.DType = DType.Bool
                    | None -> true)

            let raw = MatmulOps.matmulT q false k true
            let scores = if fuseScale then raw else raw * scale

            let neginf =
                TConst(q.Raw.Backend.Full(Shape.Scalar, q.DType, System.Double.NegativeInfinity))

            let scores =
                match mask with
                | Some m ->
                    if not (Shape.canBroadcastTo m.Shape scores.Shape) then
                        invalidArg
                            "mask"
                            (sprintf
                                "%s: mask %O does not broadcast to the attention scores %O ([..., L, S] for query %O and key %O); use [L; S], [N; 1; L; S] or a shape that broadcasts."
                                op
                                m.Shape
                                scores.Shape
                                q.Shape
                                k.Shape)

                    if m.DType = DType.Bool then
                        Tensor.where (m.NoDiff, scores, neginf)
                    elif m.DType = q.DType then
                        scores + m
                    else
                        invalidArg
                            "mask"
                            (sprintf
                                "%s: mask must be Bool (true = may attend) or %O like the query, got %O."
                                op
                                q.DType
                                m.DType)
                | None -> scores

            let weights =
                attentionSoftmax (if fuseScale then scale else 1.0) (isCausal && mask.IsNone) scores

            let weights =
                if p > 0.0 then
                    let u =
                        Tensor.rand (key.Value, weights.Shape.ToArray(), weights.DType, weights.Device)

                    let zero = TConst(q.Raw.Backend.Zeros(Shape.Scalar, q.DType))
                    Tensor.where (Tensor.ge (u, p), weights * (1.0 / (1.0 - p)), zero)
                else
                    weights

            MatmulOps.matmulT weights false v false, weights
