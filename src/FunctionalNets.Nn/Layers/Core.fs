namespace FunctionalNets.Nn

open FunctionalNets
open System.Runtime.InteropServices

/// The built-in layers, one calling style for all: a static member with tupled required arguments and
/// optional named ones with PyTorch's defaults, `Layers.linear (784, 10)`, `Layers.linear (784, 10, bias = false)`,
/// `Layers.relu ()`. Layers is a class rather than a module so that each family of layers can live in its own
/// file and add itself with `type Layers with ...` in an [<AutoOpen>] module; each member carries a PascalCase
/// CompiledName, so C# calls the same declaration (`Layers.Linear(784, 10)` for the members here, the family
/// module's class for the others, e.g. `ConvolutionalLayers.Conv2d(1, 32, 3, padding: 1)`) and every argument is checked once, here.
[<AbstractClass; Sealed>]
type Layers =
    /// A fully connected layer y = x W^T + b with weight [out; in] and, when bias is true, bias [out]
    /// (parameters "weight" and "bias"). PyTorch's default initialization: kaiming_uniform(a = sqrt 5) for
    /// the weight, which is U(-1/sqrt in, 1/sqrt in), and the same bounds for the bias.
    [<CompiledName("Linear")>]
    static member linear
        (inFeatures: int, outFeatures: int, [<Optional; DefaultParameterValue(true)>] bias: bool)
        : Layer =
        let name = sprintf "Linear(%d->%d)" inFeatures outFeatures
        Check.atLeast name "inFeatures" 1 inFeatures
        Check.atLeast name "outFeatures" 1 outFeatures

        let init (key: Key) (shape: Shape) =
            if shape.Rank = 0 then
                invalidArg
                    "shape"
                    (sprintf
                        "%s: input shape %O (per example, without the batch dim) has no feature dim, expected [...; %d]."
                        name
                        shape
                        inFeatures)

            if shape[-1] <> inFeatures then
                invalidArg
                    "shape"
                    (sprintf
                        "%s: input shape %O (per example, without the batch dim) has last dim %d, expected %d."
                        name
                        shape
                        shape[-1]
                        inFeatures)

            let kw, kb = Key.split key
            let weight = Init.kaimingUniform (kw, [ outFeatures; inFeatures ], a = sqrt 5.0)

            let out =
                Shape.ofArray (Array.append (shape.ToArray()[.. shape.Rank - 2]) [| outFeatures |])

            let ps =
                if bias then
                    let bound = 1.0 / sqrt (float inFeatures)

                    Node
                        [
                            "weight", Leaf weight
                            "bias", Leaf(Init.uniform (kb, [ outFeatures ], -bound, bound))
                        ]
                else
                    Node [ "weight", Leaf weight ]

            out, ps, PTree.empty

        let apply (ps: Params) (state: State) (_: Ctx) (x: Tensor) =
            if x.Rank = 0 || x.Shape[-1] <> inFeatures then
                invalidArg
                    "input"
                    (sprintf
                        "%s: input %O has last dim %d, expected %d."
                        name
                        x.Shape
                        (if x.Rank = 0 then 0 else x.Shape[-1])
                        inFeatures)

            let w = Layer.param name "weight" ps

            let y =
                if bias then
                    Tensor.linear (x, w, Layer.param name "bias" ps)
                else
                    Tensor.linear (x, w)

            y, state

        Layer.create name init apply

    /// Merges every dim after the batch dim into one: [N; a; b] -> [N; a * b] (PyTorch's nn.Flatten()).
    /// A batch of scalars [N] becomes [N; 1].
    [<CompiledName("Flatten")>]
    static member flatten() : Layer =
        Layer.stateless "Flatten" (fun shape -> Shape.ofList [ shape.Numel ]) (fun _ x ->
            if x.Rank = 0 then
                invalidArg "input" (sprintf "Flatten: input %O has no batch dim." x.Shape)

            // flatten from dim 1 keeps the per-example size even for an empty batch.
            if x.Rank = 1 then
                Tensor.unsqueeze (x, 1)
            else
                Tensor.flatten (x, 1))

    /// The identity: returns its input.
    [<CompiledName("Identity")>]
    static member identity() : Layer =
        Layer.stateless "Identity" id (fun _ x -> x)

    /// Inverted dropout with drop probability p in [0, 1): in Train mode each element is zeroed with
    /// probability p and the kept ones are scaled by 1 / (1 - p), so the expected output equals the input and
    /// Eval mode is the identity. The mask comes from ctx.Key (Train mode without a key is an error), so the
    /// same key gives the same mask.
    [<CompiledName("Dropout")>]
    static member dropout(p: float) : Layer =
        Check.probability "Dropout" "p" p

        let name = sprintf "Dropout(p=%g)" p

        Layer.stateless name id (fun ctx x ->
            match ctx.Mode with
            | Mode.Eval -> x
            | Mode.Train when p = 0.0 -> x
            | Mode.Train ->
                match ctx.Key with
                | None ->
                    invalidArg
                        "ctx"
                        (sprintf
                            "%s: Train mode needs a key for the mask; pass Ctx.train key (or use Ctx.eval for inference)."
                            name)
                | Some key -> Tensor.dropout (x, p, key))
