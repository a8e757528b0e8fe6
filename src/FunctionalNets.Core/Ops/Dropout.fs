namespace FunctionalNets

open System.Runtime.CompilerServices

/// Inverted dropout from a key: one fused kernel for the value and the mask, one for the first-order gradient;
/// forward mode and higher orders use the same formula written with tensor ops.
[<AutoOpen; Extension>]
module DropoutOps =
    type Tensor with
        /// Inverted dropout with drop probability p in [0, 1): y = u >= p ? x / (1 - p) : 0 with u = Tensor.rand(key,
        /// x.Shape, x.DType), so the expected output equals x and the same key gives the same mask. The value, mask
        /// and gradients are bit for bit those of Tensor.where(Tensor.ge(u, p), x * (1 / (1 - p)), 0). p = 0 returns
        /// x. Float32 and Float64.
        [<CompiledName("Dropout"); Extension>]
        static member dropout(x: Tensor, p: float, key: Key) : Tensor =
            let op = "dropout"
            Args.required op "x" x
            TensorCore.requireFloat op "x" x

            if not (p >= 0.0 && p < 1.0) then
                invalidArg "p" (sprintf "%s: the drop probability must be in [0, 1), got %g." op p)

            if p = 0.0 then
                x
            else
                // The mask is saved (one byte an element) rather than redrawn from the key: reading it costs less
                // than the 20 Threefry rounds per pair of elements a redraw would repeat.
                let zero (t: Tensor) = TensorCore.scalarLike t 0.0

                let scaled (t: Tensor) =
                    TensorCore.mul t (TensorCore.scalarLike t (1.0 / (1.0 - p)))

                let y, _ =
                    TensorCore.applyResidual
                        {
                            Name = op
                            Forward =
                                fun r ->
                                    let y, mask = r[0].Dropout(key, p)
                                    y, [| mask |]
                            Jvp = fun c ts -> Tensor.where (c.Residuals[0], scaled ts[0].Value, zero ts[0].Value)
                            Vjp =
                                fun c g ->
                                    if g.IsDifferentiable then
                                        // Higher orders: the composed select then product, so it differentiates in g.
                                        [| scaled (Tensor.where (c.Residuals[0], g, zero g)) |]
                                    else
                                        [| TConst(g.Raw.DropoutBackward(c.Residuals[0].Raw, p)) |]
                        }
                        [| x |]

                y
