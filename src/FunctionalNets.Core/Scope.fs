namespace FunctionalNets

open System
open System.Collections
open System.Collections.Generic
open System.Runtime.CompilerServices

/// Deterministic tensor lifetime. Every tensor created while a scope is open belongs to it; when the
/// scope ends, the storage of everything it created is handed back to the allocator, except what the
/// scope's function returns (tensors, and tensors inside tuples, lists, arrays, options and PTrees),
/// which moves to the enclosing scope. A scope keeps values, not the graphs behind them: take
/// gradients inside the scope that built the graph.
[<RequireQualifiedAccess>]
module Scope =
    let private collect (kept: HashSet<IScopedStorage>) (result: obj) =
        let seen = HashSet<obj>(ReferenceEqualityComparer.Instance)
        let stack = Stack<obj>()
        stack.Push result

        while stack.Count > 0 do
            let o = stack.Pop()

            if not (isNull o) && not (o :? string) && seen.Add o then
                match o with
                | :? Tensor as t ->
                    match t with
                    | TConst r -> kept.Add r.Storage |> ignore
                    | TForward(p, d, _) ->
                        stack.Push p
                        stack.Push d
                    | TReverse(p, _, _) -> stack.Push p
                | :? RawTensor as r -> kept.Add r.Storage |> ignore
                | :? PTree<Tensor> as tree -> PTree.fold (fun () (t: Tensor) -> stack.Push t) () tree
                | :? ITuple as tup ->
                    for i in 0 .. tup.Length - 1 do
                        stack.Push tup[i]
                | :? IEnumerable as e ->
                    for x in e do
                        stack.Push x
                | _ ->
                    // PTree, options and records: walk their public properties of reference types only.
                    let ty = o.GetType()

                    if
                        ty.IsGenericType
                        && (ty.GetGenericTypeDefinition() = typedefof<PTree<obj>>
                            || ty.BaseType <> null
                               && ty.BaseType.IsGenericType
                               && ty.BaseType.GetGenericTypeDefinition() = typedefof<PTree<obj>>
                            || ty.GetGenericTypeDefinition() = typedefof<option<obj>>)
                    then
                        for p in ty.GetProperties() do
                            if p.GetIndexParameters().Length = 0 && not p.PropertyType.IsValueType then
                                stack.Push(p.GetValue o)

    /// Runs f inside a new scope; keeps only the values that keep selects from the result.
    let runKeeping (keep: 'T -> obj) (f: unit -> 'T) : 'T =
        let parent = ScopeFrame.Current

        // No kernel of this thread is running outside a scope, so arrays collected since its last outermost
        // scope can go back to the CPU pool now.
        if isNull parent then
            FunctionalNets.Cpu.CpuPool.drainReclaimed ()

        let frame = ScopeFrame(parent)
        ScopeFrame.SetCurrent frame
        let mutable ok = false

        try
            let result = f ()
            ok <- true
            ScopeFrame.SetCurrent parent
            let kept = HashSet<IScopedStorage>(HashIdentity.Reference)
            collect kept (keep result)

            for s in frame.Owned do
                if kept.Contains s then
                    if not (isNull parent) then
                        parent.Owned.Add s
                    else
                        match s with
                        | :? IReclaimableStorage as r -> r.Unowned()
                        | _ -> ()
                else
                    s.Release()

            result
        finally
            if not ok then
                ScopeFrame.SetCurrent parent

                for s in frame.Owned do
                    s.Release()

    /// Runs f inside a new scope and releases everything it created except what it returns.
    let run (f: unit -> 'T) : 'T = runKeeping box f

    /// Hands back to the allocator every storage reachable from `dead` that is not also reachable from
    /// `alive` (JAX's buffer donation). Only for values nothing else will read again: a training loop
    /// donates the state a step replaced.
    let donate (dead: obj) (alive: obj) =
        let deadSet = HashSet<IScopedStorage>(HashIdentity.Reference)
        let aliveSet = HashSet<IScopedStorage>(HashIdentity.Reference)
        collect deadSet dead
        collect aliveSet alive

        for s in deadSet do
            if not (aliveSet.Contains s) then
                s.Release()
