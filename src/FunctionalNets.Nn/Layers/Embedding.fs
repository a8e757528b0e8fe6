namespace FunctionalNets.Nn

open System
open System.Runtime.InteropServices
open FunctionalNets

/// The embedding layer: integer ids to learned vectors.
[<AutoOpen>]
module EmbeddingLayers =
    /// Looks ids up in weight, re-raising an out-of-vocabulary id with the layer's name.
    let internal lookup (name: string) (weight: Tensor) (ids: Tensor) =
        if ids.DType <> DType.Int64 && ids.DType <> DType.Int32 then
            invalidArg
                "input"
                (sprintf
                    "%s: expected Int32 or Int64 token ids, got %O %O; cast them with Tensor.cast."
                    name
                    ids.DType
                    ids.Shape)

        try
            Tensor.embedding (weight, ids)
        with :? System.ArgumentException as e ->
            invalidArg "input" (sprintf "%s: token ids %O: %s" name ids.Shape e.Message)

    type Layers with
        /// PyTorch's nn.Embedding(numEmbeddings, dim): ids of any shape (Int32 or Int64) become vectors, [..] ->
        /// [..; dim]. Parameter "weight" [numEmbeddings; dim], initialized N(0, 1) as in PyTorch. An id outside
        /// [0, numEmbeddings) raises an ArgumentException naming the layer, the id and the vocabulary size.
        /// paddingIdx (torch's padding_idx; negative counts from the end, null for none): that
        /// row starts at zero and gets no gradient. maxNorm: each looked-up row whose L2 norm exceeds it is scaled
        /// to maxNorm / (norm + 1e-7) in the forward, as torch's embedding_renorm_; torch rewrites those rows of the
        /// weight in place, here the stored weight is left as it is (layers are pure) and the gradient of a row is
        /// the output's, as torch's .grad of the renormalised weight.
        [<CompiledName("Embedding")>]
        static member embedding
            (numEmbeddings: int, dim: int, [<Optional>] paddingIdx: Nullable<int>, [<Optional>] maxNorm: Nullable<float>) : Layer =
            Check.atLeast "Embedding" "numEmbeddings" 1 numEmbeddings
            Check.atLeast "Embedding" "dim" 1 dim
            let maxNorm = Option.ofNullable maxNorm

            let paddingIdx =
                Option.ofNullable paddingIdx
                |> Option.map (fun p ->
                    if p < -numEmbeddings || p >= numEmbeddings then
                        raise (
                            System.ArgumentOutOfRangeException(
                                "paddingIdx",
                                p,
                                sprintf
                                    "Embedding(%d, %d): paddingIdx must lie in [-%d, %d)."
                                    numEmbeddings
                                    dim
                                    numEmbeddings
                                    numEmbeddings
                            )
                        )

                    if p < 0 then p + numEmbeddings else p)

            match maxNorm with
            | Some m when not (m > 0.0) ->
                raise (
                    System.ArgumentOutOfRangeException(
                        "maxNorm",
                        m,
                        sprintf "Embedding(%d, %d): maxNorm must be positive." numEmbeddings dim
                    )
                )
            | _ -> ()

            let name =
                sprintf
                    "Embedding(%d, %d%s%s)"
                    numEmbeddings
                    dim
                    (paddingIdx |> Option.map (sprintf ", padding_idx=%d") |> Option.defaultValue "")
                    (maxNorm |> Option.map (sprintf ", max_norm=%g") |> Option.defaultValue "")

            let init (key: Key) (shape: Shape) =
                let out = Shape.ofArray (Array.append (shape.ToArray()) [| dim |])
                let w = Init.normal (key, [ numEmbeddings; dim ])

                let w =
                    match paddingIdx with
                    | Some p ->
                        let keep =
                            Tensor.ofArray (
                                Array.init numEmbeddings (fun i -> if i = p then 0.0 else 1.0),
                                [ numEmbeddings; 1 ]
                            )

                        w * Tensor.cast (keep, w.DType)
                    | None -> w

                out, Node [ "weight", Leaf w ], PTree.empty

            let apply (ps: Params) (state: State) (_: Ctx) (ids: Tensor) =
                let rows = lookup name (Layer.param name "weight" ps) ids

                let rows =
                    match maxNorm with
                    | Some m ->
                        let norms = Tensor.sqrt (Tensor.sum (rows.NoDiff * rows.NoDiff, -1, keepDim = true))

                        let scale =
                            Tensor.where (Tensor.gt (norms, m), m / (norms + 1e-7), Tensor.onesLike norms)
                        // The renormalised value with the row's own derivative (torch renormalises the weight
                        // in place, outside the graph).
                        rows + (rows.NoDiff * scale - rows.NoDiff)
                    | None -> rows

                let rows =
                    match paddingIdx with
                    | Some p ->
                        let padding = Tensor.unsqueeze (Tensor.eq (ids, float p), -1)
                        Tensor.where (padding, rows.NoDiff, rows)
                    | None -> rows

                rows, state

            Layer.create name init apply
