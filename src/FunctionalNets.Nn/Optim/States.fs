namespace FunctionalNets.Nn

open FunctionalNets

/// Reading optimizer state trees, with errors that say which transformation a state belongs to.
[<RequireQualifiedAccess>]
module OptimState =
    /// A named child of a state node.
    let child (owner: string) (name: string) (state: PTree<Tensor>) =
        match state with
        | Node kids ->
            match kids |> List.tryFind (fun (k, _) -> k = name) with
            | Some(_, c) -> c
            | None ->
                invalidArg
                    "state"
                    (sprintf "%s: the state has no '%s' entry; was it built by this transformation's Init?" owner name)
        | Leaf _ -> invalidArg "state" (sprintf "%s: expected a state node, got a leaf." owner)

    /// The scalar "count" leaf of a state node.
    let count (owner: string) (state: PTree<Tensor>) =
        match child owner "count" state with
        | Leaf c -> c
        | Node _ -> invalidArg "state" (sprintf "%s: the 'count' entry must be a scalar leaf." owner)

// Typed optimizer states: each transformation works on a small record and converts it to and from the tensor
// tree that GradTx carries and checkpoints store (the tree's paths are the checkpoint format, unchanged).

/// { count }: the updates made so far (Float64 scalar, written from the host step), for schedules.
type CountState =
    {
        Count: Tensor
    }

    member s.ToTree() : PTree<Tensor> = PTree.node [ "count", Leaf s.Count ]

    static member OfTree(owner: string, tree: PTree<Tensor>) : CountState = { Count = OptimState.count owner tree }

/// Adam's { count; mu; nu }.
type AdamState =
    {
        Count: Tensor
        Mu: PTree<Tensor>
        Nu: PTree<Tensor>
    }

    member s.ToTree() : PTree<Tensor> =
        PTree.node [ "count", Leaf s.Count; "mu", s.Mu; "nu", s.Nu ]

    static member OfTree(owner: string, tree: PTree<Tensor>) : AdamState =
        {
            Count = OptimState.count owner tree
            Mu = OptimState.child owner "mu" tree
            Nu = OptimState.child owner "nu" tree
        }

/// AMSGrad's { count; mu; nu; nuMax }.
type AmsgradState =
    {
        Count: Tensor
        Mu: PTree<Tensor>
        Nu: PTree<Tensor>
        NuMax: PTree<Tensor>
    }

    member s.ToTree() : PTree<Tensor> =
        PTree.node [ "count", Leaf s.Count; "mu", s.Mu; "nu", s.Nu; "nuMax", s.NuMax ]

    static member OfTree(owner: string, tree: PTree<Tensor>) : AmsgradState =
        {
            Count = OptimState.count owner tree
            Mu = OptimState.child owner "mu" tree
            Nu = OptimState.child owner "nu" tree
            NuMax = OptimState.child owner "nuMax" tree
        }

/// RMSprop's { nu }, or { mu; nu } when centered.
type RmsState =
    {
        Mu: PTree<Tensor> option
        Nu: PTree<Tensor>
    }

    member s.ToTree() : PTree<Tensor> =
        match s.Mu with
        | Some mu -> PTree.node [ "mu", mu; "nu", s.Nu ]
        | None -> PTree.node [ "nu", s.Nu ]

    static member OfTree(owner: string, centered: bool, tree: PTree<Tensor>) : RmsState =
        {
            Mu =
                (if centered then
                     Some(OptimState.child owner "mu" tree)
                 else
                     None)
            Nu = OptimState.child owner "nu" tree
        }

/// Adagrad's { sum }.
type AdagradState =
    {
        Sum: PTree<Tensor>
    }

    member s.ToTree() : PTree<Tensor> = PTree.node [ "sum", s.Sum ]

    static member OfTree(owner: string, tree: PTree<Tensor>) : AdagradState =
        {
            Sum = OptimState.child owner "sum" tree
        }

/// Momentum's { trace }.
type TraceState =
    {
        Trace: PTree<Tensor>
    }

    member s.ToTree() : PTree<Tensor> = PTree.node [ "trace", s.Trace ]

    static member OfTree(owner: string, tree: PTree<Tensor>) : TraceState =
        {
            Trace = OptimState.child owner "trace" tree
        }
