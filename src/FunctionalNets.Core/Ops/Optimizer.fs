namespace FunctionalNets

open System.Runtime.CompilerServices
open System.Runtime.InteropServices

/// Fused optimizer steps as Tensor ops, so that optimizers in Nn never reach below Tensor.
[<AutoOpen; Extension>]
module OptimizerOps =
    type Tensor with
        /// One Adam step with g as the gradient, on constants (no derivative flows through it): returns
        /// (m', v', update) with m' = b1 m + (1 - b1) g, v' = b2 v + (1 - b2) g^2 and
        /// update = (m' / bc1) / (sqrt(v' / bc2) + eps). One fused pass on backends that have the kernel.
        [<CompiledName("AdamStep"); Extension>]
        static member adamStep
            (g: Tensor, m: Tensor, v: Tensor, b1: float, b2: float, eps: float, bc1: float, bc2: float)
            : Tensor * Tensor * Tensor =
            Args.required "adamStep" "g" g
            Args.required "adamStep" "m" m
            Args.required "adamStep" "v" v

            if g.IsDifferentiable || m.IsDifferentiable || v.IsDifferentiable then
                invalidArg
                    "g"
                    "adamStep: the fused Adam step takes constants; write the step with Tensor arithmetic to differentiate through it."

            let m1, v1, u = g.Raw.AdamStep(m.Raw, v.Raw, b1, b2, eps, bc1, bc2)
            TConst m1, TConst v1, TConst u

        /// One Adam step applied to the parameters p, on constants: returns (m', v', p') with m', v' and the update
        /// as in adamStep and p' = p + update * scale (scale is the negated learning rate). Bit for bit adamStep
        /// followed by `p + update * scale`, in one pass that writes no update tensor.
        [<CompiledName("AdamApply"); Extension>]
        static member adamApply
            (
                g: Tensor,
                m: Tensor,
                v: Tensor,
                p: Tensor,
                b1: float,
                b2: float,
                eps: float,
                bc1: float,
                bc2: float,
                scale: float
            ) : Tensor * Tensor * Tensor =
            Args.required "adamApply" "g" g
            Args.required "adamApply" "m" m
            Args.required "adamApply" "v" v
            Args.required "adamApply" "p" p

            if
                g.IsDifferentiable
                || m.IsDifferentiable
                || v.IsDifferentiable
                || p.IsDifferentiable
            then
                invalidArg
                    "g"
                    "adamApply: the fused Adam step takes constants; write the step with Tensor arithmetic to differentiate through it."

            let m1, v1, p1 = g.Raw.AdamApply(m.Raw, v.Raw, p.Raw, b1, b2, eps, bc1, bc2, scale)

            TConst m1, TConst v1, TConst p1
