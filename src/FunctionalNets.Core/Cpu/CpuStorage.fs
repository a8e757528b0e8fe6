namespace FunctionalNets.Cpu

open System
open System.Threading
open FunctionalNets

/// A CPU buffer of exactly Numel elements, shared by a tensor and its reshaped views.
[<Sealed>]
type CpuStorage private (dtype: DType, data: Array) =
    let mutable data = data

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

    interface IScopedStorage with
        member _.Release() =
            let d = Interlocked.Exchange(&data, null)

            if not (isNull d) then
                CpuPool.give dtype d
