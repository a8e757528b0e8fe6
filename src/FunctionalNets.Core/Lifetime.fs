namespace FunctionalNets

open System
open System.Collections.Generic

/// The open scopes of the current thread, innermost first. Backends report each storage they allocate
/// here; Scope (after Tensor) decides at a scope's end what is kept.
[<AllowNullLiteral>]
type ScopeFrame internal (parent: ScopeFrame) =
    let owned = List<IScopedStorage>()

    [<ThreadStatic; DefaultValue>]
    static val mutable private current: ScopeFrame

    /// The innermost open frame of this thread, or null.
    static member Current = ScopeFrame.current
    static member internal SetCurrent(f: ScopeFrame) = ScopeFrame.current <- f

    /// Called by backends for every new storage: the innermost open scope (if any) owns it.
    static member Track(s: IScopedStorage) =
        let f: ScopeFrame = ScopeFrame.current

        if not (isNull f) then
            f.Owned.Add s

    member _.Parent = parent
    member internal _.Owned: List<IScopedStorage> = owned
    /// Number of storages this frame owns right now.
    member _.Count = owned.Count

/// Raised when a tensor's storage was released at the end of the scope that created it.
type ReleasedTensorException(message: string) =
    inherit ObjectDisposedException("tensor", message)
