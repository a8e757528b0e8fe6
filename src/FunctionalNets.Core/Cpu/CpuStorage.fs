namespace FunctionalNets.Cpu

open System
open System.Threading
open FunctionalNets

/// A CPU buffer of exactly Numel elements, shared by a tensor and its reshaped views.
[<Sealed>]
type CpuStorage private (dtype: DType, data: Array) =
    let mutable data = data
    let mutable reclaimer: CpuReclaimer = null

    /// Wraps an array and reports it to the innermost open scope.
    static member Create(dtype: DType, data: Array) =
        let s = CpuStorage(dtype, data)
        ScopeFrame.Track s
        s

    /// The array, or an exception if the storage was released by its scope.
    member _.Data: Array =
        let d = data

        if isNull d then
            raise (
                ReleasedTensorException(
                    "This tensor was released at the end of the Scope that created it. Return it from Scope.run (or create it outside the scope) to keep it."
                )
            )

        d

    member _.DType = dtype
    member _.IsReleased = isNull data

    /// Takes the array away (null if already released): afterwards every read raises.
    member internal _.Take() = Interlocked.Exchange(&data, null)

    interface IScopedStorage with
        member s.Release() =
            let d = s.Take()

            if not (isNull d) then
                CpuPool.give dtype d

    interface IReclaimableStorage with
        member s.Unowned() =
            if isNull reclaimer && not (isNull data) then
                reclaimer <- CpuReclaimer(s, CpuPool.reclaimQueue ())

/// Lives exactly as long as its storage (they reference each other and nothing else references it): when the
/// collector finds both unreachable, its finalizer queues the array for the pool, so buffers of dropped tensors are
/// reused instead of waiting for a full collection of the large-object heap.
and [<Sealed; AllowNullLiteral>] internal CpuReclaimer
    (storage: CpuStorage, queue: System.Collections.Concurrent.ConcurrentQueue<struct (DType * Array)>) =
    override _.Finalize() =
        let d = storage.Take()

        if not (isNull d) then
            queue.Enqueue(struct (storage.DType, d))
