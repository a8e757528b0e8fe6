namespace FunctionalNets.Nn

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
        static member embedding (numEmbeddings: int) (dim: int) : Layer =
            if numEmbeddings < 1 || dim < 1 then
                invalidArg
                    "numEmbeddings"
                    (sprintf "Embedding(%d, %d): the vocabulary size and the dim must be >= 1." numEmbeddings dim)

            let name = sprintf "Embedding(%d, %d)" numEmbeddings dim

            let init (key: Key) (shape: Shape) =
                let out = Shape.ofArray (Array.append (shape.ToArray()) [| dim |])
                out, Node [ "weight", Leaf(Init.normal (key, [ numEmbeddings; dim ])) ], PTree.empty

            let apply (ps: Params) (state: State) (_: Ctx) (ids: Tensor) =
                lookup name (Layer.param name "weight" ps) ids, state

            Layer.create name init apply
