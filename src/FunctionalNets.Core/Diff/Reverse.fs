namespace FunctionalNets

open System.Collections.Generic

/// The reverse sweep: a topological order by an explicit stack (deep graphs must not overflow the call
/// stack), then adjoints pushed from the output to the leaves, accumulated into buffers the sweep owns.
module Reverse =
    let mutable private lastLeaf = 0L

    /// A reverse-mode leaf at tag: the value x seen as an input of the grad call that owns the tag.
    let leaf (tag: uint32) (x: Tensor) =
        TReverse(
            x,
            {
                Id = -(System.Threading.Interlocked.Increment(&lastLeaf))
                Name = "input"
                Inputs = [||]
                Backward = fun _ -> [||]
            },
            tag
        )

    let private nodeAt (tag: uint32) (t: Tensor) =
        match t with
        | TReverse(_, n, tg) when tg = tag -> Some n
        | _ -> None

    /// Adjoints of every leaf reachable from root at root's tag, with the root's adjoint set to seed.
    /// Returns leaf id -> adjoint; interior adjoints are dropped as soon as they are used.
    let sweep (root: Tensor) (seed: Tensor) : Dictionary<int64, Tensor> =
        let adj = Dictionary<int64, Tensor>()

        match root with
        | TReverse(_, rootNode, tag) ->
            let order = List<RevNode>()
            let visited = HashSet<int64>()
            let stack = Stack<struct (RevNode * int)>()
            visited.Add rootNode.Id |> ignore
            stack.Push(struct (rootNode, 0))

            while stack.Count > 0 do
                let struct (n, i) = stack.Pop()

                if i < n.Inputs.Length then
                    stack.Push(struct (n, i + 1))

                    match nodeAt tag n.Inputs[i] with
                    | Some child when visited.Add child.Id -> stack.Push(struct (child, 0))
                    | _ -> ()
                else
                    order.Add n

            let owned = HashSet<int64>()

            let accumulate (id: int64) (g: Tensor) =
                match adj.TryGetValue id with
                | false, _ -> adj[id] <- g
                | true, existing ->
                    match existing, g with
                    | TConst e, TConst r when owned.Contains id -> e.AddInPlace r
                    | _ ->
                        let s = TensorCore.add existing g
                        adj[id] <- s

                        match s with
                        | TConst _ -> owned.Add id |> ignore
                        | _ -> ()

            adj[rootNode.Id] <- seed

            for k in order.Count - 1 .. -1 .. 0 do
                let n = order[k]

                if n.Inputs.Length > 0 then
                    match adj.TryGetValue n.Id with
                    | true, g ->
                        adj.Remove n.Id |> ignore
                        let gs = n.Backward g

                        for j in 0 .. n.Inputs.Length - 1 do
                            match nodeAt tag n.Inputs[j] with
                            | Some child -> accumulate child.Id gs[j]
                            | None -> ()
                    | _ -> ()
        | _ -> ()

        adj
