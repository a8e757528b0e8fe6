namespace FunctionalNets.Cpu

open System
open System.Collections.Generic
open FunctionalNets

/// Recycles CPU arrays by element type and exact length, so that the buffers of a training step are
/// reused by the next step instead of waiting for the garbage collector (most of them are large-object-heap sized).
module CpuPool =
    let private gate = obj ()
    let private free = Dictionary<struct (DType * int), Stack<Array>>()
    let mutable private pooledBytes = 0L
    let mutable private misses = 0L

    let private threadMisses =
        new System.Threading.ThreadLocal<int64 ref>(fun () -> ref 0L)

    /// Upper bound on the bytes kept idle in the pool; returns beyond it are left to the GC.
    let mutable MaxPooledBytes = 2L * 1024L * 1024L * 1024L

    let private fresh (dtype: DType) (n: int) : Array =
        match dtype with
        | DType.Float32 -> GC.AllocateUninitializedArray<float32> n
        | DType.Float64 -> GC.AllocateUninitializedArray<float> n
        | DType.Int32 -> GC.AllocateUninitializedArray<int> n
        | DType.Int64 -> GC.AllocateUninitializedArray<int64> n
        | DType.Bool -> GC.AllocateUninitializedArray<bool> n

    /// An array of exactly n elements; its contents are unspecified.
    let rent (dtype: DType) (n: int) : Array =
        let pooled =
            lock gate (fun () ->
                match free.TryGetValue(struct (dtype, n)) with
                | true, st when st.Count > 0 ->
                    pooledBytes <- pooledBytes - int64 n * int64 dtype.SizeInBytes
                    st.Pop()
                | _ -> null)

        if isNull pooled then
            System.Threading.Interlocked.Increment(&misses) |> ignore
            threadMisses.Value.Value <- threadMisses.Value.Value + 1L
            fresh dtype n
        else
            pooled

    /// Gives an array back for reuse.
    let give (dtype: DType) (a: Array) =
        let bytes = int64 a.Length * int64 dtype.SizeInBytes

        lock gate (fun () ->
            if pooledBytes + bytes <= MaxPooledBytes then
                let key = struct (dtype, a.Length)

                let st =
                    match free.TryGetValue key with
                    | true, st -> st
                    | _ ->
                        let st = Stack<Array>()
                        free[key] <- st
                        st

                st.Push a
                pooledBytes <- pooledBytes + bytes)

    /// Per thread: arrays of collected storages that left that thread's outermost scope, waiting for its next
    /// outermost scope to hand them to the pool. They wait because only there is it certain that no kernel of the
    /// thread still reads one: the collector may find a storage dead while a kernel is still using its array.
    let private reclaimed =
        new System.Threading.ThreadLocal<System.Collections.Concurrent.ConcurrentQueue<struct (DType * Array)>>(fun () ->
            System.Collections.Concurrent.ConcurrentQueue())

    /// The calling thread's queue of reclaimed arrays (see reclaimed), for a storage to put its array on when it is collected.
    let reclaimQueue () = reclaimed.Value

    /// Gives the calling thread's reclaimed arrays to the pool. Only for the start of an outermost scope.
    let drainReclaimed () =
        if reclaimed.IsValueCreated then
            let queue = reclaimed.Value
            let mutable item = struct (DType.Float32, null)

            while queue.TryDequeue(&item) do
                let struct (dtype, a) = item
                give dtype a

    /// How many rents so far found no idle array of their size and allocated a new one.
    let missCount () =
        System.Threading.Interlocked.Read(&misses)

    /// Like missCount, for rents made on the calling thread only (isolates one loop from parallel work).
    let threadMissCount () = threadMisses.Value.Value

    /// Bytes idle in the pool now.
    let idleBytes () = lock gate (fun () -> pooledBytes)

    /// Drops every idle array.
    let clear () =
        lock gate (fun () ->
            free.Clear()
            pooledBytes <- 0L)
