namespace FunctionalNets.Nn

open FunctionalNets

/// Unflatten: the inverse of flatten, for decoders and generators that start from a vector.
[<AutoOpen>]
module UnflattenLayers =
    type Layers with
        /// PyTorch's nn.Unflatten(1, shape): [N; prod shape] -> [N; shape...] (a view, no parameters).
        [<CompiledName("Unflatten")>]
        static member unflatten(shape: int seq) : Layer =
            if isNull (box shape) then
                nullArg "shape"

            let shape = List.ofSeq shape
            let name = sprintf "Unflatten(%s)" (shape |> List.map string |> String.concat ", ")

            if shape.IsEmpty || shape |> List.exists (fun d -> d < 1) then
                invalidArg "shape" (sprintf "%s: every dim must be >= 1." name)

            let numel = List.fold (*) 1 shape

            let outShape (input: Shape) =
                if input.Rank <> 1 || input[0] <> numel then
                    invalidArg "shape" (sprintf "%s: input shape %O (per example) must be [%d]." name input numel)

                Shape.ofList shape

            Layer.stateless name outShape (fun _ x ->
                if x.Rank <> 2 || x.Shape[1] <> numel then
                    invalidArg "input" (sprintf "%s: input %O must be [N; %d]." name x.Shape numel)

                Tensor.reshape (x, x.Shape[0] :: shape))
