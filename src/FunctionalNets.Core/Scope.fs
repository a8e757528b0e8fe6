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
                // Dictionaries from names to tensors (the C# host's parameter trees).
                | :? IEnumerable<KeyValuePair<string, Tensor>> as d ->
                    for kv in d do
                        stack.Push kv.Value
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

    /// Ends frame, whose parent is parent: the storages reachable from kept move to the parent (or become
    /// unowned at the outermost level), every other storage the frame owns is released.
    let private close (frame: ScopeFrame) (parent: ScopeFrame) (keep: obj) =
        ScopeFrame.SetCurrent parent
        let kept = HashSet<IScopedStorage>(HashIdentity.Reference)
        collect kept keep

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

    /// Opens a frame on this thread and returns it with its parent.
    let private push () =
        let parent = ScopeFrame.Current

        // No kernel of this thread is running outside a scope, so arrays collected since its last outermost
        // scope can go back to the CPU pool now.
        if isNull parent then
            FunctionalNets.Cpu.CpuPool.drainReclaimed ()

        let frame = ScopeFrame(parent)
        ScopeFrame.SetCurrent frame
        frame, parent

    /// Runs f inside a new scope; keeps only the values that keep selects from the result.
    let runKeeping (keep: 'T -> obj) (f: unit -> 'T) : 'T =
        let frame, parent = push ()
        let mutable ok = false

        try
            let result = f ()
            ok <- true
            close frame parent (keep result)
            result
        finally
            if not ok then
                close frame parent null

    /// A scope opened by Scope.Open and ended by Dispose (C#'s `using var scope = Scope.Open();`, F#'s `use`).
    /// Every tensor created on this thread while it is open belongs to it; Dispose releases all of them except
    /// the values passed to Keep, which move to the enclosing scope. Scopes end innermost first, on the thread
    /// that opened them.
    [<Sealed>]
    type Handle internal (frame: ScopeFrame, parent: ScopeFrame) =
        let kept = List<obj>()
        let mutable disposed = false

        /// <summary>Marks a value (a tensor, or tensors inside tuples, arrays, lists, parameter trees) to survive
        /// the scope's end, moving it to the enclosing scope; returns it.</summary>
        /// <param name="value">The value to keep.</param>
        member _.Keep<'T>(value: 'T) : 'T =
            if disposed then
                raise (
                    ObjectDisposedException(
                        "Scope",
                        "Scope.Keep: this scope has ended; keep values before it is disposed."
                    )
                )

            kept.Add(box value)
            value

        /// Number of storages the scope owns now (tensors created in it and not yet released).
        member _.Count = frame.Count

        /// Releases every storage the scope owns except what Keep marked, and restores the enclosing scope.
        member _.Dispose() =
            if not disposed then
                if not (obj.ReferenceEquals(ScopeFrame.Current, frame)) then
                    raise (
                        InvalidOperationException(
                            "Scope.Dispose: this scope is not the innermost open scope of this thread; end scopes in the reverse order of opening them, on the thread that opened them (a `using` statement does)."
                        )
                    )

                disposed <- true
                close frame parent (kept.ToArray())

        interface IDisposable with
            member h.Dispose() = h.Dispose()

    /// Opens a scope that lasts until the returned handle is disposed: `using var scope = Scope.Open();` in C#,
    /// `use scope = Scope.Open ()` in F#. See Handle.
    let Open () : Handle =
        let frame, parent = push ()
        new Handle(frame, parent)

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
