namespace FunctionalNets

/// An ordered, path-addressable tree: parameters, layer state and optimizer state are all PTrees.
/// Paths join names with '.', as PyTorch's state_dict does ("0.weight", "3.running_mean").
type PTree<'T> =
    | Leaf of 'T
    | Node of (string * PTree<'T>) list

/// Functions over trees.
[<RequireQualifiedAccess>]
module PTree =
    /// An empty node.
    let empty<'T> : PTree<'T> = Node []

    /// Applies f to every leaf.
    let rec map (f: 'a -> 'b) (t: PTree<'a>) : PTree<'b> =
        match t with
        | Leaf x -> Leaf(f x)
        | Node kids -> Node(kids |> List.map (fun (k, c) -> k, map f c))

    /// Applies f to every leaf with its path.
    let mapWithPath (f: string -> 'a -> 'b) (t: PTree<'a>) : PTree<'b> =
        let rec go prefix t =
            match t with
            | Leaf x -> Leaf(f prefix x)
            | Node kids ->
                Node(
                    kids
                    |> List.map (fun (k, c) -> k, go (if prefix = "" then k else prefix + "." + k) c)
                )

        go "" t

    /// Combines the leaves of two trees of the same structure.
    let map2 (f: 'a -> 'b -> 'c) (a: PTree<'a>) (b: PTree<'b>) : PTree<'c> =
        let rec go path a b =
            match a, b with
            | Leaf x, Leaf y -> Leaf(f x y)
            | Node ka, Node kb when List.length ka = List.length kb ->
                Node(
                    List.map2
                        (fun (na, ca) (nb, cb) ->
                            if na <> nb then
                                invalidArg
                                    "b"
                                    (sprintf "PTree.map2: trees differ at '%s': child '%s' vs '%s'." path na nb)

                            na, go (if path = "" then na else path + "." + na) ca cb)
                        ka
                        kb
                )
            | _ ->
                invalidArg
                    "b"
                    (sprintf "PTree.map2: trees differ in structure at '%s'." (if path = "" then "<root>" else path))

        go "" a b

    /// Combines the leaves of three trees of the same structure.
    let map3 (f: 'a -> 'b -> 'c -> 'd) (a: PTree<'a>) (b: PTree<'b>) (c: PTree<'c>) : PTree<'d> =
        map2 (fun (x, y) z -> f x y z) (map2 (fun x y -> x, y) a b) c

    /// Folds over the leaves in order.
    let rec fold (f: 's -> 'a -> 's) (state: 's) (t: PTree<'a>) : 's =
        match t with
        | Leaf x -> f state x
        | Node kids -> kids |> List.fold (fun s (_, c) -> fold f s c) state

    /// The leaves with their paths, in order.
    let leaves (t: PTree<'a>) : (string * 'a) list =
        let acc = System.Collections.Generic.List<string * 'a>()

        let rec go prefix t =
            match t with
            | Leaf x -> acc.Add(prefix, x)
            | Node kids ->
                for (k, c) in kids do
                    go (if prefix = "" then k else prefix + "." + k) c

        go "" t
        List.ofSeq acc

    /// The leaf values, in order.
    let values (t: PTree<'a>) : 'a list =
        fold (fun acc x -> x :: acc) [] t |> List.rev

    /// A tree of the same structure whose leaves are taken, in order, from values.
    let rebuild (t: PTree<'a>) (values: 'b seq) : PTree<'b> =
        let e = values.GetEnumerator()

        let rec go t =
            match t with
            | Leaf _ ->
                if not (e.MoveNext()) then
                    invalidArg "values" "PTree.rebuild: fewer values than leaves."

                Leaf e.Current
            | Node kids -> Node(kids |> List.map (fun (k, c) -> k, go c))

        let r = go t

        if e.MoveNext() then
            invalidArg "values" "PTree.rebuild: more values than leaves."

        r

    /// The subtree or leaf at a dotted path.
    let tryFind (path: string) (t: PTree<'a>) : PTree<'a> option =
        let rec go (parts: string list) t =
            match parts, t with
            | [], _ -> Some t
            | p :: rest, Node kids ->
                kids
                |> List.tryFind (fun (k, _) -> k = p)
                |> Option.bind (fun (_, c) -> go rest c)
            | _ -> None

        if path = "" then
            Some t
        else
            go (List.ofArray (path.Split '.')) t

    /// A node from named children.
    let node (children: (string * PTree<'a>) list) = Node children

    /// Number of leaves.
    let count (t: PTree<'a>) = fold (fun n _ -> n + 1) 0 t
