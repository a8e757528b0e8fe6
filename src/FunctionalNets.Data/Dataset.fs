namespace FunctionalNets.Nn

open FunctionalNets
open System

/// Building and transforming datasets (IDataset: a count and batched random access).
[<RequireQualifiedAccess>]
module Dataset =
    let private checkIndices (what: string) (count: int) (indices: int[]) =
        for i in indices do
            if i < 0 || i >= count then
                raise (
                    ArgumentOutOfRangeException(
                        "indices",
                        sprintf "%s: index %d is out of range for a dataset of %d examples." what i count
                    )
                )

    /// A uniform integer in [0, bound) from the key's word stream, without modulo bias (Lemire's method
    /// with rejection); `counter` is the next word index and advances by the words used.
    let private uniformBelow (key: Key) (counter: byref<int64>) (bound: uint32) : int =
        let mutable m = uint64 (Key.word key counter) * uint64 bound
        counter <- counter + 1L
        let mutable low = uint32 m

        if low < bound then
            let threshold = (0u - bound) % bound

            while low < threshold do
                m <- uint64 (Key.word key counter) * uint64 bound
                counter <- counter + 1L
                low <- uint32 m

        int (m >>> 32)

    /// A random permutation of 0 .. n-1 that depends only on the key (Fisher-Yates driven by the key's
    /// Threefry word stream), so the same key gives the same order on every machine and device.
    let permutation (key: Key) (n: int) : int[] =
        if n < 0 then
            invalidArg "n" (sprintf "Dataset.permutation: n must be >= 0, got %d." n)

        let p = Array.init n id
        let mutable counter = 0L

        for i in n - 1 .. -1 .. 1 do
            let j = uniformBelow key &counter (uint32 (i + 1))
            let t = p[i]
            p[i] <- p[j]
            p[j] <- t

        p

    /// A dataset over two tensors whose first dim indexes the examples: GetBatch selects rows with
    /// Tensor.indexSelect on dim 0. Derivative levels are dropped (data is a constant). The tensors must
    /// outlive the dataset: create them outside any Scope, or return them from it.
    let ofTensors (inputs: Tensor) (targets: Tensor) : IDataset =
        if inputs.Rank < 1 || targets.Rank < 1 then
            invalidArg
                "inputs"
                (sprintf
                    "Dataset.ofTensors: inputs and targets need a leading example dim; got shapes %O and %O."
                    inputs.Shape
                    targets.Shape)

        let n = inputs.Shape[0]

        if targets.Shape[0] <> n then
            invalidArg
                "targets"
                (sprintf
                    "Dataset.ofTensors: inputs have %d examples (shape %O) but targets have %d (shape %O); their first dims must be equal."
                    n
                    inputs.Shape
                    targets.Shape[0]
                    targets.Shape)

        let inputs = inputs.NoDiff
        let targets = targets.NoDiff

        { new IDataset with
            member _.Count = n

            member _.GetBatch(indices) =
                checkIndices "Dataset.ofTensors" n indices
                let ix = Array.map int64 indices
                let ixIn = Tensor.ofArray (ix, [ ix.Length ], inputs.Device)

                let ixTg =
                    if targets.Device = inputs.Device then
                        ixIn
                    else
                        Tensor.ofArray (ix, [ ix.Length ], targets.Device)

                {
                    Input = Tensor.indexSelect (inputs, 0, ixIn)
                    Target = Tensor.indexSelect (targets, 0, ixTg)
                }
        }

    /// The key of the batch with these example indices when no key is given: the base key with the batch
    /// size and every index folded in, in order. A batch built twice (or on another thread) gets the same key,
    /// batches holding other examples get independent keys.
    let indicesKey (key: Key) (indices: int[]) : Key =
        let mutable k = Key.foldIn indices.Length key

        for i in indices do
            k <- Key.foldIn i k

        k

    /// The examples at indices, drawing any randomness from key when ds is keyed (IKeyedDataset).
    let getBatchWith (key: Key) (ds: IDataset) (indices: int[]) : Batch =
        match ds with
        | :? IKeyedDataset as k -> k.GetBatchWithKey(key, indices)
        | _ -> ds.GetBatch indices

    // A dataset built on ds that passes keys through to it, so augmentation survives subset, take and map.
    let private keyed (count: int) (get: Key -> int[] -> Batch) : IDataset =
        { new IKeyedDataset with
            member _.Count = count
            member _.GetBatch(ix) = get (indicesKey (Key.create 0L) ix) ix
            member _.GetBatchWithKey(key, ix) = get key ix
        }

    /// The examples of ds at the given indices, in that order (indices may repeat).
    let subset (indices: int[]) (ds: IDataset) : IDataset =
        checkIndices "Dataset.subset" ds.Count indices
        let indices = Array.copy indices

        keyed indices.Length (fun key ix ->
            checkIndices "Dataset.subset" indices.Length ix
            getBatchWith key ds (Array.map (fun i -> indices[i]) ix))

    /// The first min(n, Count) examples (n larger than the dataset takes all of it, as a --limit flag wants).
    let take (n: int) (ds: IDataset) : IDataset =
        if n < 0 then
            invalidArg "n" (sprintf "Dataset.take: n must be >= 0, got %d." n)

        subset (Array.init (min n ds.Count) id) ds

    /// Applies a batch transform (normalisation, one-hot targets) to every batch.
    let map (f: Batch -> Batch) (ds: IDataset) : IDataset =
        keyed ds.Count (fun key ix -> f (getBatchWith key ds ix))

    /// Applies a random batch transform (augmentation, see Transforms) to every batch with the batch's key:
    /// under fit, a key from the run's key, the epoch and the batch's position, so the same seed gives the same
    /// augmented batches and every epoch draws afresh. ds gets its own part of the key.
    let mapWithKey (f: Key -> Batch -> Batch) (ds: IDataset) : IDataset =
        keyed ds.Count (fun key ix ->
            let inner, mine = Key.split key
            f mine (getBatchWith inner ds ix))

    /// The dataset with each batch moved to a device as it is read (a batch already there is not copied): what
    /// fit, evaluate and predict need when the model's parameters live on a GPU.
    let toDevice (device: Device) (ds: IDataset) : IDataset =
        ds
        |> map (fun b ->
            {
                Input = Tensor.toDevice (device, b.Input)
                Target = Tensor.toDevice (device, b.Target)
            })

    /// Splits ds at random into (train, validation): a permutation from the key, its first
    /// round(trainFraction * Count) examples for training and the rest for validation.
    /// trainFraction is the share of the TRAINING part, e.g. 0.9 gives 90% / 10%.
    let split (trainFraction: float) (key: Key) (ds: IDataset) : IDataset * IDataset =
        if not (trainFraction >= 0.0 && trainFraction <= 1.0) then
            invalidArg "trainFraction" (sprintf "Dataset.split: trainFraction must be in [0, 1], got %g." trainFraction)

        let p = permutation key ds.Count
        let nTrain = int (Math.Round(trainFraction * float ds.Count))
        subset p[.. nTrain - 1] ds, subset p[nTrain..] ds
