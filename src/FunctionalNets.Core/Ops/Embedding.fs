namespace FunctionalNets

open System.Runtime.CompilerServices
open System.Runtime.InteropServices
open System.Linq

/// Embedding lookup: rows of a weight matrix gathered by integer ids.
[<AutoOpen; Extension>]
module EmbeddingOps =
    type Tensor with
        /// Rows of weight [V; D] picked by ids (Int32 or Int64, any shape): the result is [ids shape; D]. The
        /// gradient with respect to weight adds each output row back into the row its id names (scatter-add), so
        /// repeated ids accumulate. An id outside [0, V) raises an ArgumentException naming it and V.
        [<CompiledName("Embedding"); Extension>]
        static member embedding(weight: Tensor, ids: Tensor) =
            Args.required "embedding" "weight" weight
            Args.required "embedding" "ids" ids

            if weight.Rank <> 2 then
                invalidArg "weight" (sprintf "embedding: the weight must be [vocabulary; dim], got %O." weight.Shape)

            if ids.DType <> DType.Int64 && ids.DType <> DType.Int32 then
                invalidArg
                    "ids"
                    (sprintf "embedding: ids must be an Int32 or Int64 tensor, got %O %O." ids.DType ids.Shape)

            let v, d = weight.Shape[0], weight.Shape[1]
            let flat = ids.Raw.Cast(DType.Int64).Reshape(Shape.Wrap [| ids.Numel |])

            if ids.Numel > 0 then
                let values = flat.ToArray() :?> int64[]
                // Min/Max over int64[] are vectorised by the runtime; the check costs far less than the gather.
                let lo, hi = values.Min(), values.Max()

                if lo < 0L || hi >= int64 v then
                    invalidArg
                        "ids"
                        (sprintf
                            "embedding: id %d is outside [0, %d): the weight %O has %d rows; ids must be in [0, %d)."
                            (if lo < 0L then lo else hi)
                            v
                            weight.Shape
                            v
                            v)

            let rows = Tensor.indexSelect (weight, 0, TConst flat)
            TensorCore.reshape (Array.append (ids.Shape.ToArray()) [| d |]) rows
