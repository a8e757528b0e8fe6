namespace FunctionalNets.Nn

open FunctionalNets

/// One mini-batch: inputs with a leading batch dim and their targets.
type Batch = { Input: Tensor; Target: Tensor }

/// A dataset of (input, target) examples with random access by index.
type IDataset =
    /// Number of examples.
    abstract Count: int
    /// The examples at the given indices stacked into one batch (inputs [n; ...], targets [n; ...] or [n]).
    abstract GetBatch: indices: int[] -> Batch

/// A dataset whose batches draw randomness (augmentation) from a key. The DataLoader gives every batch of an
/// epoch its own key derived from the epoch's key, so a run's augmentation is fixed by its seed and differs
/// from epoch to epoch; GetBatch without a key uses a key derived from the indices alone.
type IKeyedDataset =
    inherit IDataset
    /// The examples at the given indices, with the batch's randomness drawn from key.
    abstract GetBatchWithKey: key: Key * indices: int[] -> Batch
