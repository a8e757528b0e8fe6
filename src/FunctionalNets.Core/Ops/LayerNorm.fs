namespace FunctionalNets

open System.Runtime.CompilerServices
open System.Runtime.InteropServices
open System

/// Layer normalization (a fused kernel for the value and the first-order gradient) and RMS normalization.
[<AutoOpen; Extension>]
module LayerNormOps =
    let private fmt (dims: int[]) =
        sprintf "[%s]" (System.String.Join("; ", dims))

    /// Checks that normalizedShape is the trailing shape of x and that weight/bias (when given) have exactly that
    /// shape; returns the normalized dims of x and their element count.
    let internal checkNormalized (op: string) (x: Tensor) (normalizedShape: int[]) (affine: (string * Tensor) list) =
        let k = normalizedShape.Length

        if k = 0 || k > x.Rank then
            invalidArg
                "normalizedShape"
                (sprintf
                    "%s: normalizedShape %s must name 1 to %d trailing dims of the input %O."
                    op
                    (fmt normalizedShape)
                    x.Rank
                    x.Shape)

        let trailing = x.Shape.ToArray()[x.Rank - k ..]

        if trailing <> normalizedShape then
            invalidArg
                "normalizedShape"
                (sprintf
                    "%s: input %O does not end with normalizedShape %s (its last %d dims are %s)."
                    op
                    x.Shape
                    (fmt normalizedShape)
                    k
                    (fmt trailing))

        TensorCore.requireFloat op "x" x

        for name, t in affine do
            if t.Shape.ToArray() <> normalizedShape then
                invalidArg
                    name
                    (sprintf "%s: %s %O must have the normalized shape %s." op name t.Shape (fmt normalizedShape))

            if t.DType <> x.DType then
                invalidArg name (sprintf "%s: %s is %O but the input is %O." op name t.DType x.DType)

        [| x.Rank - k .. x.Rank - 1 |], Array.fold (*) 1 normalizedShape

    /// (x - mean) * rstd and rstd over dims, written with differentiable ops (the derivative rules use it, so
    /// derivatives of any order follow).
    let private standardize (dims: int[]) (eps: float) (x: Tensor) =
        let centred = x - Tensor.mean (x, dims, true)
        let rstd = Tensor.rsqrt (Tensor.mean (centred * centred, dims, true) + eps)
        centred * rstd, rstd

    let private mean (dims: int[]) (t: Tensor) = Tensor.mean (t, dims, true)

    type Tensor with
        /// PyTorch's layer_norm: each run of the trailing dims named by normalizedShape is shifted to mean 0 and
        /// scaled to variance 1 (biased, plus eps, default 1e-5), then multiplied by weight and shifted by bias
        /// (both of normalizedShape) when given. The value and the reverse-mode gradient come from one fused
        /// kernel pass each; higher derivatives and forward mode use the same formula written with tensor ops.
        [<CompiledName("LayerNorm"); Extension>]
        static member layerNorm
            (
                x: Tensor,
                normalizedShape: int seq,
                [<Optional>] weight: Tensor,
                [<Optional>] bias: Tensor,
                [<Optional; DefaultParameterValue(1e-5)>] eps: float
            ) =
            Args.required "layerNorm" "x" x
            Args.required "layerNorm" "normalizedShape" normalizedShape
            let weight = Args.opt weight
            let bias = Args.opt bias
            let normalizedShape = Array.ofSeq normalizedShape

            let affine =
                [
                    match weight with
                    | Some w -> "weight", w
                    | None -> ()
                    match bias with
                    | Some b -> "bias", b
                    | None -> ()
                ]

            let dims, n = checkNormalized "layerNorm" x normalizedShape affine
            let hasW, hasB = weight.IsSome, bias.IsSome

            let flat (t: RawTensor) =
                t.Reshape(Shape.Wrap [| t.Shape.Numel |])
            // Operand order: x, then weight and bias when present.
            let wIndex, bIndex = (if hasW then 1 else -1), (if hasW then 2 else 1)

            let anyLevel (xs: Tensor[]) (g: Tensor) =
                g.IsDifferentiable || xs |> Array.exists (fun t -> t.IsDifferentiable)

            let shaped (t: RawTensor) =
                TConst(t.Reshape(Shape.Create normalizedShape))

            TensorCore.applyResidual
                {
                    Name = "layerNorm"
                    // The residuals are the per-run mean and rstd the fused backward needs.
                    Forward =
                        fun r ->
                            let w = if hasW then Some(flat r[wIndex]) else None
                            let b = if hasB then Some(flat r[bIndex]) else None
                            let y, m, s = r[0].LayerNorm(n, w, b, eps)
                            y, [| m; s |]
                    Jvp =
                        fun c ts ->
                            let xs = c.Primals

                            let part i =
                                match ts[i] with
                                | None -> None
                                | Some t when i = 0 ->
                                    let xhat, rstd = standardize dims eps xs[0]
                                    let dxhat = rstd * (t - mean dims t - xhat * mean dims (t * xhat))
                                    Some(if hasW then dxhat * xs[wIndex] else dxhat)
                                | Some t when i = wIndex -> Some(fst (standardize dims eps xs[0]) * t)
                                | Some t -> Some(TensorCore.expand c.Output.Shape t)

                            Array.init xs.Length part |> Array.choose id |> Array.reduce TensorCore.add
                    Vjp =
                        fun c g ->
                            let xs = c.Primals

                            if not (anyLevel xs g) then
                                // First order on constants: one fused pass from the saved statistics gives all three.
                                let w = if hasW then Some(flat xs[wIndex].Raw) else None

                                let dx, dw, db =
                                    g.Raw.LayerNormBackward(xs[0].Raw, c.Residuals[0].Raw, c.Residuals[1].Raw, w, n)

                                [|
                                    yield TConst dx
                                    if hasW then
                                        yield shaped dw
                                    if hasB then
                                        yield shaped db
                                |]
                            else
                                // Higher orders: the same gradients written with Tensor ops, so they differentiate.
                                let xhat, rstd = standardize dims eps xs[0]

                                Array.init xs.Length (fun i ->
                                    if not c.Active[i] then
                                        Unchecked.defaultof<Tensor>
                                    elif i = 0 then
                                        let gw = if hasW then g * xs[wIndex] else g
                                        rstd * (gw - mean dims gw - xhat * mean dims (gw * xhat))
                                    elif i = wIndex then
                                        TensorCore.sumToShape xs[wIndex].Shape (g * xhat)
                                    else
                                        TensorCore.sumToShape xs[bIndex].Shape g)
                }
                [|
                    yield x
                    if hasW then
                        yield weight.Value
                    if hasB then
                        yield bias.Value
                |]
            |> fst

        /// RMS normalization (PyTorch's rms_norm): x / sqrt(mean(x^2) + eps) over the trailing dims named by
        /// normalizedShape, times weight (of normalizedShape) when given. eps defaults to the dtype's machine
        /// epsilon, as in PyTorch.
        [<CompiledName("RmsNorm"); Extension>]
        static member rmsNorm
            (x: Tensor, normalizedShape: int seq, [<Optional>] weight: Tensor, [<Optional>] eps: Nullable<float>)
            =
            Args.required "rmsNorm" "x" x
            Args.required "rmsNorm" "normalizedShape" normalizedShape
            let weight = Args.opt weight
            let eps = Option.ofNullable eps
            let normalizedShape = Array.ofSeq normalizedShape

            let affine =
                match weight with
                | Some w -> [ "weight", w ]
                | None -> []

            let dims, _ = checkNormalized "rmsNorm" x normalizedShape affine

            let eps =
                defaultArg
                    eps
                    (if x.DType = DType.Float32 then
                         1.1920928955078125e-07
                     else
                         2.220446049250313e-16)

            let y = x * Tensor.rsqrt (Tensor.mean (x * x, dims, true) + eps)

            match weight with
            | Some w -> y * w
            | None -> y
