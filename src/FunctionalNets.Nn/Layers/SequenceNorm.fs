namespace FunctionalNets.Nn

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
        /// LayerNorm over the trailing dims normalizedShape with the given eps; when affine, a "weight" (init 1)
        /// and a "bias" (init 0) of normalizedShape. Uses the fused layerNorm kernel.
        static member layerNormWith (eps: float) (affine: bool) (normalizedShape: int list) : Layer =
            normLayer "LayerNorm" true affine normalizedShape (fun x w b ->
                match w, b with
                | Some w, Some b -> Tensor.layerNorm (x, normalizedShape, w, b, eps)
                | _ -> Tensor.layerNorm (x, normalizedShape, eps = eps))

        /// PyTorch's nn.LayerNorm(normalizedShape): eps 1e-5, affine.
        static member layerNorm(normalizedShape: int list) : Layer =
            Layers.layerNormWith 1e-5 true normalizedShape

        /// RMSNorm over the trailing dims normalizedShape: x / sqrt(mean(x^2) + eps) times a "weight" (init 1)
        /// when affine. eps None uses the dtype's machine epsilon, as PyTorch.
        static member rmsNormWith (eps: float option) (affine: bool) (normalizedShape: int list) : Layer =
            normLayer "RMSNorm" false affine normalizedShape (fun x w _ ->
                match w, eps with
                | Some w, Some e -> Tensor.rmsNorm (x, normalizedShape, w, e)
                | Some w, None -> Tensor.rmsNorm (x, normalizedShape, w)
                | None, Some e -> Tensor.rmsNorm (x, normalizedShape, eps = e)
                | None, None -> Tensor.rmsNorm (x, normalizedShape))

        /// PyTorch's nn.RMSNorm(normalizedShape): machine-epsilon eps, affine.
        static member rmsNorm(normalizedShape: int list) : Layer =
            Layers.rmsNormWith None true normalizedShape
