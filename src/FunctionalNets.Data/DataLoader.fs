namespace FunctionalNets.Nn

open FunctionalNets
open System
open System.Collections
open System.Collections.Concurrent
open System.Collections.Generic
open System.Runtime.ExceptionServices
open System.Threading
open System.Threading.Tasks

/// How a dataset is cut into mini-batches for one epoch. Build it with DataLoader.create.
type DataLoader =
    {
        Dataset: IDataset
        BatchSize: int
        /// Shuffle the examples each epoch with a permutation drawn from the epoch's key.
        Shuffle: bool
        /// Drop the last batch when it is smaller than BatchSize.
        DropLast: bool
        /// How many finished batches a background worker may hold ready ahead of the consumer
        /// (0: build each batch on the consumer's thread, no worker).
        Prefetch: int
    }

/// The batches of one epoch, built on a worker task while the consumer uses the previous batch.
/// At most `prefetch` finished batches wait in the queue, plus one under construction.
type internal PrefetchEnumerator(fetch: int -> int[] -> Batch, batches: int[][], prefetch: int) =
    let queue = new BlockingCollection<Batch>(ConcurrentQueue<Batch>(), prefetch)
    let cts = new CancellationTokenSource()
    let mutable failure: ExceptionDispatchInfo option = None
    let mutable worker: Task option = None
    let mutable current = Unchecked.defaultof<Batch>
    let mutable disposed = false

    let produce () =
        try
            try
                for j in 0 .. batches.Length - 1 do
                    cts.Token.ThrowIfCancellationRequested()
                    let b = fetch j batches[j]
                    // Blocks while the queue is full: that is the bound on work done ahead.
                    queue.Add(b, cts.Token)
            with
            | :? OperationCanceledException when cts.IsCancellationRequested -> ()
            | e -> failure <- Some(ExceptionDispatchInfo.Capture e)
        finally
            queue.CompleteAdding()

    interface IEnumerator<Batch> with
        member _.Current = current

    interface IEnumerator with
        member _.Current = box current

        member _.MoveNext() =
            if disposed then
                raise (ObjectDisposedException("DataLoader enumerator"))

            if worker.IsNone then
                // LongRunning: a dedicated thread, so a busy thread pool (the kernels use it) never starves it.
                worker <-
                    Some(
                        Task.Factory.StartNew(
                            produce,
                            CancellationToken.None,
                            TaskCreationOptions.LongRunning,
                            TaskScheduler.Default
                        )
                    )

            let mutable b = Unchecked.defaultof<Batch>

            if queue.TryTake(&b, Timeout.Infinite) then
                current <- b
                true
            else
                // The worker finished: rethrow its failure (with its own stack trace) on the consumer's thread.
                match failure with
                | None -> false
                | Some f ->
                    failure <- None
                    f.Throw()
                    false

        member _.Reset() =
            raise (NotSupportedException "DataLoader enumerators cannot be reset; call DataLoader.batches again.")

    interface IDisposable with
        member _.Dispose() =
            if not disposed then
                disposed <- true
                // Stop the worker (it may be blocked on a full queue) and wait for it, so nothing keeps
                // running or holding batches after the consumer has left the loop.
                cts.Cancel()

                match worker with
                | Some w ->
                    try
                        w.Wait()
                    with _ ->
                        ()
                | None -> ()

                queue.Dispose()
                cts.Dispose()

/// Creating data loaders and enumerating their batches.
[<RequireQualifiedAccess>]
module DataLoader =
    /// A loader over a dataset with a batch size, shuffling and drop-last; it prefetches one batch
    /// ahead on a worker thread (see withPrefetch).
    let create (dataset: IDataset) (batchSize: int) (shuffle: bool) (dropLast: bool) : DataLoader =
        if batchSize < 1 then
            invalidArg "batchSize" (sprintf "DataLoader.create: batchSize must be >= 1, got %d." batchSize)

        {
            Dataset = dataset
            BatchSize = batchSize
            Shuffle = shuffle
            DropLast = dropLast
            Prefetch = 1
        }

    /// The same loader with another prefetch depth (0 turns the background worker off, which makes
    /// exceptions from GetBatch surface at the exact batch and is handy when debugging a dataset).
    let withPrefetch (batches: int) (loader: DataLoader) : DataLoader =
        if batches < 0 then
            invalidArg "batches" (sprintf "DataLoader.withPrefetch: must be >= 0, got %d." batches)

        { loader with Prefetch = batches }

    /// Number of batches per epoch.
    let count (loader: DataLoader) : int =
        let n = loader.Dataset.Count

        if loader.DropLast then
            n / loader.BatchSize
        else
            (n + loader.BatchSize - 1) / loader.BatchSize

    /// The example indices of each batch of the epoch for this key (the key is only used when shuffling).
    let indices (loader: DataLoader) (key: Key) : int[][] =
        let n = loader.Dataset.Count

        let order =
            if loader.Shuffle then
                Dataset.permutation key n
            else
                Array.init n id

        let bs = loader.BatchSize
        Array.init (count loader) (fun b -> order[b * bs .. min n ((b + 1) * bs) - 1])

    /// The batches of one epoch. With Shuffle, the order is a permutation derived from the key only:
    /// the same key gives the same batches. Each enumeration starts its own background worker, which
    /// builds the next batch while the consumer uses the current one; disposing the enumerator (leaving
    /// a for loop early included) cancels and awaits it. Batches are created outside any Scope.
    let batches (loader: DataLoader) (key: Key) : seq<Batch> =
        let ds = loader.Dataset
        // A keyed dataset (augmentation) gets batch j's key from the epoch's key; the shuffle keeps using the
        // key itself, so adding augmentation does not change the order of the examples.
        let augmentation = snd (Key.split key)

        let fetch (j: int) (ix: int[]) =
            Dataset.getBatchWith (Key.foldIn j augmentation) ds ix

        if loader.Prefetch = 0 then
            seq {
                let all = indices loader key

                for j in 0 .. all.Length - 1 do
                    yield fetch j all[j]
            }
        else
            { new IEnumerable<Batch> with
                member _.GetEnumerator() =
                    new PrefetchEnumerator(fetch, indices loader key, loader.Prefetch) :> IEnumerator<Batch>
              interface IEnumerable with
                  member _.GetEnumerator() =
                      new PrefetchEnumerator(fetch, indices loader key, loader.Prefetch) :> IEnumerator
            }
