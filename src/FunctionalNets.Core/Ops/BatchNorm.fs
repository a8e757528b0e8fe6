namespace FunctionalNets

open System.Runtime.CompilerServices
open System.Runtime.InteropServices

/// Batch normalization with batch statistics (the training-mode forward of BatchNorm1d/2d): one fused kernel for the
/// value and one for the first-order gradient; higher derivatives and forward mode use the same formula written with
/// tensor ops.
[<AutoOpen; Extension>]
module BatchNormOps =
    /// The dims a channel's statistics are taken over: the batch dim and every dim after the channel dim.
    let private statDims (rank: int) = [| 0; yield! [| 2 .. rank - 1 |] |]

    /// A [C] tensor viewed as [1; C; 1; ...] so it broadcasts against an input of this rank.
    let private perChannel (rank: int) (t: Tensor) =
        TensorCore.reshape (Array.init rank (fun d -> if d = 1 then t.Shape[0] else 1)) t

    /// (x - mean) * rstd and rstd with the batch statistics, written with differentiable ops.
    let private standardize (dims: int[]) (eps: float) (x: Tensor) =
        let centred = x - Tensor.mean (x, dims, true)
        let rstd = Tensor.rsqrt (Tensor.mean (centred * centred, dims, true) + eps)
        centred * rstd, rstd

    let private check (x: Tensor) (affine: (string * Tensor) list) (eps: float) =
        let op = "batchNorm"
        TensorCore.requireFloat op "x" x

        if x.Rank < 2 || x.Shape[0] < 1 || x.Shape[1] < 1 || x.Numel = 0 then
            invalidArg "x" (sprintf "%s: expected a non-empty input [N; C; ...], got %O." op x.Shape)

        if not (eps >= 0.0) then
            invalidArg "eps" (sprintf "%s: eps must be >= 0, got %g." op eps)

        for name, t in affine do
            if t.Rank <> 1 || t.Shape[0] <> x.Shape[1] then
                invalidArg
                    name
                    (sprintf
                        "%s: %s must be [%d] (one per channel of input %O), got %O."
                        op
                        name
                        x.Shape[1]
                        x.Shape
                        t.Shape)

            if t.DType <> x.DType then
                invalidArg name (sprintf "%s: %s is %O but the input is %O; cast one." op name t.DType x.DType)

    type Tensor with
        /// Batch normalization of x [N; C; ...] with its batch statistics over every dim but the channel dim 1 (the
        /// training-mode forward of PyTorch's batch_norm): y = (x - mean) / sqrt(var + eps) * weight + bias, with
        /// the biased variance, and weight and bias [C] when given. Returns y and, as constants without derivative
        /// (for running statistics), the batch mean and biased variance [C]. The gradient includes the statistics'
        /// dependence on x.
        [<CompiledName("BatchNormWithStats"); Extension>]
        static member batchNormWithStats
            (
                x: Tensor,
                [<Optional>] weight: Tensor,
                [<Optional>] bias: Tensor,
                [<Optional; DefaultParameterValue(1e-5)>] eps: float
            ) : Tensor * Tensor * Tensor =
            Args.required "batchNormWithStats" "x" x
            let weight = Args.opt weight
            let bias = Args.opt bias

            let affine =
                [
                    match weight with
                    | Some w -> "weight", w
                    | None -> ()
                    match bias with
                    | Some b -> "bias", b
                    | None -> ()
                ]

            check x affine eps
            let dims = statDims x.Rank
            let hasW, hasB = weight.IsSome, bias.IsSome
            // Operand order: x, then weight and bias when present.
            let wIndex, bIndex = (if hasW then 1 else -1), (if hasW then 2 else 1)
            let channel = perChannel x.Rank
            let mean (t: Tensor) = Tensor.mean (t, dims, true)

            let anyLevel (xs: Tensor[]) (g: Tensor) =
                g.IsDifferentiable || xs |> Array.exists (fun t -> t.IsDifferentiable)

            let y, stats =
                TensorCore.applyResidual
                    {
                        Name = "batchNorm"
                        // The residuals are the batch mean and biased variance the fused backward needs.
                        Forward =
                            fun r ->
                                let w = if hasW then Some r[wIndex] else None
                                let b = if hasB then Some r[bIndex] else None
                                let y, m, v = r[0].BatchNorm(w, b, eps)
                                y, [| m; v |]
                        Jvp =
                            fun c ts ->
                                let xs = c.Primals

                                let part i =
                                    match ts[i] with
                                    | None -> None
                                    | Some t when i = 0 ->
                                        let xhat, rstd = standardize dims eps xs[0]
                                        let dxhat = rstd * (t - mean t - xhat * mean (t * xhat))
                                        Some(if hasW then dxhat * channel xs[wIndex] else dxhat)
                                    | Some t when i = wIndex -> Some(fst (standardize dims eps xs[0]) * channel t)
                                    | Some t -> Some(TensorCore.expand c.Output.Shape (channel t))

                                Array.init xs.Length part |> Array.choose id |> Array.reduce TensorCore.add
                        Vjp =
                            fun c g ->
                                let xs = c.Primals

                                if not (anyLevel xs g) then
                                    // First order on constants: one fused pass from the saved statistics gives all three.
                                    let w = if hasW then Some xs[wIndex].Raw else None

                                    let dx, dw, db =
                                        g.Raw.BatchNormBackward(
                                            xs[0].Raw,
                                            c.Residuals[0].Raw,
                                            c.Residuals[1].Raw,
                                            w,
                                            eps
                                        )

                                    [|
                                        yield TConst dx
                                        if hasW then
                                            yield TConst dw
                                        if hasB then
                                            yield TConst db
                                    |]
                                else
                                    // Higher orders: the same gradients written with Tensor ops, so they differentiate.
                                    let xhat, rstd = standardize dims eps xs[0]

                                    Array.init xs.Length (fun i ->
                                        if not c.Active[i] then
                                            Unchecked.defaultof<Tensor>
                                        elif i = 0 then
                                            let gw = if hasW then g * channel xs[wIndex] else g
                                            rstd * (gw - mean gw - xhat * mean (gw * xhat))
                                        elif i = wIndex then
                                            Tensor.sum (g * xhat, dims)
                                        else
                                            Tensor.sum (g, dims))
                    }
                    [|
                        yield x
                        if hasW then
                            yield weight.Value
                        if hasB then
                            yield bias.Value
                    |]

            y, stats[0], stats[1]

        /// Batch normalization of x [N; C; ...] with its batch statistics (see batchNormWithStats), the value only.
        [<CompiledName("BatchNorm"); Extension>]
        static member batchNorm
            (
                x: Tensor,
                [<Optional>] weight: Tensor,
                [<Optional>] bias: Tensor,
                [<Optional; DefaultParameterValue(1e-5)>] eps: float
            ) =
            Args.required "batchNorm" "x" x
            let y, _, _ = Tensor.batchNormWithStats (x, weight, bias, eps)
            y
