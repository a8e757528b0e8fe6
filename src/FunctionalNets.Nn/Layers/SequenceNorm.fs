namespace FunctionalNets.Nn

open System
open System.Runtime.InteropServices
open FunctionalNets

/// LayerNorm and RMSNorm layers: normalization over the trailing feature dims of each position, the same in
/// Train and Eval, with no state (PyTorch's nn.LayerNorm and nn.RMSNorm).
[<AutoOpen>]
module SequenceNormLayers =
    let private fmt (dims: int list) =
        sprintf "[%s]" (dims |> List.map string |> String.concat "; ")

    /// Shared by LayerNorm and RMSNorm: checks the shapes, creates weight (ones) and bias (zeros) as asked, and
    /// applies norm with the parameters found.
    let private normLayer
        (kind: string)
        (withBias: bool)
        (affine: bool)
        (normalizedShape: int list)
        (norm: Tensor -> Tensor option -> Tensor option -> Tensor)
        =
        if normalizedShape.IsEmpty || normalizedShape |> List.exists (fun d -> d < 1) then
            invalidArg "normalizedShape" (sprintf "%s%s: every normalized dim must be >= 1." kind (fmt normalizedShape))

        let name = sprintf "%s(%s)" kind (fmt normalizedShape)
        let k = normalizedShape.Length

        let checkShape (what: string) (dims: int[]) =
            if dims.Length < k || List.ofArray dims[dims.Length - k ..] <> normalizedShape then
                invalidArg
                    "input"
                    (sprintf
                        "%s: %s %s does not end with the normalized shape %s."
                        name
                        what
                        (fmt (List.ofArray dims))
                        (fmt normalizedShape))

        let init (_: Key) (shape: Shape) =
            checkShape "input shape (per example, without the batch dim)" (shape.ToArray())

            let ps =
                if affine then
                    Node
                        [
                            "weight", Leaf(Tensor.ones normalizedShape)
                            if withBias then
                                "bias", Leaf(Tensor.zeros normalizedShape)
                        ]
                else
                    PTree.empty

            shape, ps, PTree.empty

        let apply (ps: Params) (state: State) (_: Ctx) (x: Tensor) =
            checkShape "input" (x.Shape.ToArray())

            let w = if affine then Some(Layer.param name "weight" ps) else None

            let b =
                if affine && withBias then
                    Some(Layer.param name "bias" ps)
                else
                    None

            norm x w b, state

        Layer.create name init apply

    type Layers with
        /// PyTorch's nn.LayerNorm(normalizedShape, eps = 1e-5, elementwise_affine = true) over the trailing dims
        /// normalizedShape: when elementwiseAffine, a "weight" (init 1) and a "bias" (init 0) of normalizedShape.
        /// Uses the fused layerNorm kernel.
        [<CompiledName("LayerNorm")>]
        static member layerNorm
            (
                normalizedShape: int seq,
                [<Optional; DefaultParameterValue(1e-5)>] eps: float,
                [<Optional; DefaultParameterValue(true)>] elementwiseAffine: bool
            ) : Layer =
            Check.notNull "LayerNorm" "normalizedShape" normalizedShape
            Check.positive "LayerNorm" "eps" eps
            let normalizedShape = List.ofSeq normalizedShape

            normLayer "LayerNorm" true elementwiseAffine normalizedShape (fun x w b ->
                match w, b with
                | Some w, Some b -> Tensor.layerNorm (x, normalizedShape, w, b, eps)
                | _ -> Tensor.layerNorm (x, normalizedShape, eps = eps))

        /// PyTorch's nn.RMSNorm(normalizedShape, eps = None, elementwise_affine = true) over the trailing dims
        /// normalizedShape: x / sqrt(mean(x^2) + eps) times a "weight" (init 1) when elementwiseAffine. A null eps
        /// uses the dtype's machine epsilon, as PyTorch.
        [<CompiledName("RMSNorm")>]
        static member rmsNorm
            (
                normalizedShape: int seq,
                [<Optional>] eps: Nullable<float>,
                [<Optional; DefaultParameterValue(true)>] elementwiseAffine: bool
            ) : Layer =
            Check.notNull "RMSNorm" "normalizedShape" normalizedShape
            let eps = Option.ofNullable eps
            eps |> Option.iter (Check.positive "RMSNorm" "eps")
            let normalizedShape = List.ofSeq normalizedShape

            normLayer "RMSNorm" false elementwiseAffine normalizedShape (fun x w _ ->
                match w, eps with
                | Some w, Some e -> Tensor.rmsNorm (x, normalizedShape, w, e)
                | Some w, None -> Tensor.rmsNorm (x, normalizedShape, w)
                | None, Some e -> Tensor.rmsNorm (x, normalizedShape, eps = e)
                | None, None -> Tensor.rmsNorm (x, normalizedShape))
