namespace FunctionalNets.Nn

open FunctionalNets

/// Building the context a layer's Apply receives.
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Ctx =
    /// Evaluation: dropout is the identity, no randomness is needed.
    let eval: Ctx = { Mode = Mode.Eval; Key = None }

    /// Training with a key for the step's randomness (dropout masks). Containers split it per child.
    let train (key: Key) : Ctx = { Mode = Mode.Train; Key = Some key }

/// Creating, initializing, applying and composing layers.
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Layer =
    /// A layer from its name, its Init and its Apply.
    let create
        (name: string)
        (init: Key -> Shape -> Shape * Params * State)
        (apply: Params -> State -> Ctx -> Tensor -> Tensor * State)
        : Layer =
        {
            Name = name
            Init = init
            Apply = apply
            Sequence = []
            IsChain = false
        }

    /// A layer without parameters or state: outShape maps the per-example input shape (it may raise on a
    /// bad one) and f maps a batch.
    let stateless (name: string) (outShape: Shape -> Shape) (f: Ctx -> Tensor -> Tensor) : Layer =
        {
            Name = name
            Init = fun _ shape -> outShape shape, PTree.empty, PTree.empty
            Apply = fun _ state ctx x -> f ctx x, state
            Sequence = []
            IsChain = false
        }

    /// Initializes a layer for inputs of the given per-example shape (without the batch dim): the output
    /// shape (also per example), the parameters and the state.
    let init (layer: Layer) (key: Key) (inputShape: int list) : Shape * Params * State =
        layer.Init key (Shape.ofList inputShape)

    /// Applies a layer to a batch: the output and the new state.
    let apply (layer: Layer) (parameters: Params) (state: State) (ctx: Ctx) (input: Tensor) : Tensor * State =
        layer.Apply parameters state ctx input

    /// Applies a layer in Eval mode and keeps only the output (inference).
    let predict (layer: Layer) (parameters: Params) (state: State) (input: Tensor) : Tensor =
        fst (layer.Apply parameters state Ctx.eval input)

    /// The tensor stored under name in a layer's parameter (or state) node, or an ArgumentException naming
    /// the layer and what is there instead (a tree from another model, a checkpoint with other names).
    let param (layerName: string) (name: string) (tree: PTree<Tensor>) : Tensor =
        match tree with
        | Node kids ->
            match kids |> List.tryFind (fun (k, _) -> k = name) with
            | Some(_, Leaf t) -> t
            | Some(_, Node _) -> invalidArg name (sprintf "%s: '%s' is a subtree, expected a tensor." layerName name)
            | None ->
                invalidArg
                    name
                    (sprintf
                        "%s: parameter '%s' is missing; the tree holds [%s]."
                        layerName
                        name
                        (kids |> List.map fst |> String.concat "; "))
        | Leaf _ -> invalidArg name (sprintf "%s: expected a node holding '%s', got a single tensor." layerName name)

    /// Total number of elements over the leaves of a parameter tree.
    let numParams (parameters: Params) : int =
        PTree.fold (fun n (t: Tensor) -> n + t.Numel) 0 parameters

    let private isEmpty (t: PTree<Tensor>) =
        match t with
        | Node [] -> true
        | _ -> PTree.count t = 0

    // A child's subtree by its exact name (names never contain '.', so no path splitting is involved).
    let internal child (name: string) (t: PTree<Tensor>) =
        match t with
        | Node kids ->
            match kids |> List.tryFind (fun (k, _) -> k = name) with
            | Some(_, c) -> c
            | None -> PTree.empty
        | Leaf _ -> PTree.empty

    // Children without leaves are left out, as PyTorch's state_dict has no entries for a ReLU: the
    // parameter paths read "0.weight", "2.weight" and checkpoints interoperate.
    let internal nonEmpty (entries: (string * PTree<Tensor>) list) =
        Node(entries |> List.filter (fun (_, t) -> not (isEmpty t)))

    let private describe (children: (string * Layer) list) =
        let positional =
            children |> List.mapi (fun i (n, _) -> n = string i) |> List.forall id

        children
        |> List.map (fun (n, l) -> if positional then l.Name else n + "=" + l.Name)
        |> String.concat ", "
        |> sprintf "Sequential(%s)"

    /// Runs named children one after another. Init splits the key into one per child (Key.splitN) and
    /// threads the inferred shape; Apply gives child i the key Key.foldIn i ctx.Key, so two dropout layers
    /// draw independent masks; each child's parameters and state live under its name, and children
    /// without any are left out of the trees. Names must be unique, non-empty and free of '.'.
    let sequentialNamed (children: (string * Layer) list) : Layer =
        for (name, _) in children do
            if System.String.IsNullOrEmpty name || name.Contains '.' then
                invalidArg
                    "children"
                    (sprintf "Layer.sequentialNamed: child name '%s' must be non-empty and contain no '.'." name)

        match children |> List.countBy fst |> List.tryFind (fun (_, n) -> n > 1) with
        | Some(name, _) ->
            invalidArg "children" (sprintf "Layer.sequentialNamed: child name '%s' is used more than once." name)
        | None -> ()

        let indexed = List.indexed children

        let init (key: Key) (shape: Shape) =
            let keys = Key.splitN children.Length key

            let shape, ps, ss =
                indexed
                |> List.fold
                    (fun (shape, ps, ss) (i, (name, layer: Layer)) ->
                        let out, p, s = layer.Init keys[i] shape
                        out, (name, p) :: ps, (name, s) :: ss)
                    (shape, [], [])

            shape, nonEmpty (List.rev ps), nonEmpty (List.rev ss)

        let apply (ps: Params) (ss: State) (ctx: Ctx) (x: Tensor) =
            let y, states =
                indexed
                |> List.fold
                    (fun (x, states) (i, (name, layer: Layer)) ->
                        let childCtx =
                            { ctx with
                                Key = ctx.Key |> Option.map (Key.foldIn i)
                            }

                        let y, s = layer.Apply (child name ps) (child name ss) childCtx x
                        y, (name, s) :: states)
                    (x, [])

            y, nonEmpty (List.rev states)

        {
            Name = describe children
            Init = init
            Apply = apply
            Sequence = children
            IsChain = false
        }

    /// Runs layers one after another, naming them "0", "1", ... as PyTorch's nn.Sequential does, so the
    /// parameter paths read "0.weight", "0.bias", "2.weight". See sequentialNamed for keys and state.
    let sequential (layers: Layer list) : Layer =
        sequentialNamed (layers |> List.mapi (fun i l -> string i, l))

    // A chain contributes its layers, anything else itself.
    let private parts (l: Layer) =
        if l.IsChain then l.Sequence |> List.map snd else [ l ]

    /// The layers one after another as a flat chain: Layer.sequential's children "0", "1", ..., marked as a
    /// chain in the value. A chain among the layers is spliced in (its layers become children), so chains never
    /// nest; a Layer.sequential is kept as one child, as nn.Sequential nests.
    let chain (layers: Layer list) : Layer =
        { sequential (List.collect parts layers) with
            IsChain = true
        }

    /// a then b as one flat chain (Layer.chain [ a; b ]): compose (compose a b) c and compose a (compose b c)
    /// are both chain [a; b; c], with children "0", "1", "2".
    let compose (a: Layer) (b: Layer) : Layer = chain [ a; b ]

/// One row of a model summary: a layer that is not a sequential container.
type SummaryRow =
    {
        /// The dotted path of the layer's parameters ("0", "3.1"), as in the state_dict.
        Path: string
        /// The layer's name, e.g. "Conv2d(1->32, k=3)".
        Name: string
        /// The output shape per example (without the batch dim).
        OutputShape: Shape
        /// The number of trainable parameters (elements) under Path.
        Params: int
    }

/// Summaries of models (Keras's model.summary()).
[<RequireQualifiedAccess>]
module Summary =
    let rec private rowsOf (prefix: string) (layer: Layer) (shape: Shape) (parameters: Params) =
        // Init infers the shapes; the parameters it creates on the way are dropped.
        layer.Sequence
        |> List.fold
            (fun (shape, rows) (name, child: Layer) ->
                let path = if prefix = "" then name else prefix + "." + name
                let sub = Layer.child name parameters

                if child.Sequence.IsEmpty then
                    let out, _, _ = child.Init (Key.create 0) shape

                    out,
                    rows
                    @ [
                        {
                            Path = path
                            Name = child.Name
                            OutputShape = out
                            Params = Layer.numParams sub
                        }
                    ]
                else
                    let out, inner = rowsOf path child shape sub
                    out, rows @ inner)
            (shape, [])

    /// A row per layer of a model for inputs of the given per-example shape, its sequential containers
    /// expanded (nested ones too, with dotted paths), so the rows' parameters add up to the model's. A model
    /// that is not a sequential container is one row.
    let rows (model: Layer) (inputShape: Shape) (parameters: Params) : SummaryRow list =
        if model.Sequence.IsEmpty then
            let out, _, _ = model.Init (Key.create 0) inputShape

            [
                {
                    Path = ""
                    Name = model.Name
                    OutputShape = out
                    Params = Layer.numParams parameters
                }
            ]
        else
            snd (rowsOf "" model inputShape parameters)

/// The layer composition operator.
[<AutoOpen>]
module LayerOperators =
    /// a then b (Layer.compose): `Layers.flatten () >-> Layers.linear (784, 10) >-> Layers.relu ()` is one flat
    /// chain with children "0", "1", "2" (parameter paths "1.weight", "1.bias"), however it is parenthesised;
    /// the operator is left-associative like every F# operator starting with '>'.
    let (>->) (a: Layer) (b: Layer) : Layer = Layer.compose a b
