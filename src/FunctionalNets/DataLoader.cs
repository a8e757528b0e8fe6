using NnDataLoader = FunctionalNets.Nn.DataLoaderModule;

namespace FunctionalNets;

/// <summary>Cuts a dataset into mini-batches, as Fit does: with shuffling, the order of an epoch is a
/// permutation drawn from a key alone, and the next batch is prepared on a worker thread while the current one
/// trains. For a hand-written loop:
/// <code>
/// var loader = new DataLoader(train, batchSize: 64);
/// foreach (var (inputs, targets) in loader.Batches(net.EpochKey(epoch))) { ... }
/// </code></summary>
public sealed class DataLoader
{
    private readonly Nn.DataLoader inner;

    /// <summary>A loader over a dataset.</summary>
    /// <param name="data">The examples.</param>
    /// <param name="batchSize">Examples per batch (&gt;= 1).</param>
    /// <param name="shuffle">Draw a new order every epoch from the key given to <see cref="Batches"/>.</param>
    /// <param name="dropLast">Leave out the last batch when it is smaller than the others.</param>
    public DataLoader(Dataset data, int batchSize = 32, bool shuffle = true, bool dropLast = false)
    {
        Guard.NotNull(data, nameof(data), "DataLoader");
        if (batchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "DataLoader: batchSize must be >= 1.");
        inner = NnDataLoader.create(data.Inner, batchSize, shuffle, dropLast);
    }

    /// <summary>Number of batches per epoch.</summary>
    public int Count => NnDataLoader.count(inner);

    /// <summary>The batches of one epoch (inputs with a leading batch dim, targets); with shuffling, their order
    /// is fixed by the key (e.g. <see cref="Net.EpochKey"/>, the key Fit shuffles that epoch with).</summary>
    /// <param name="key">The epoch's key.</param>
    public IEnumerable<(Tensor Inputs, Tensor Targets)> Batches(Key key)
    {
        foreach (var b in NnDataLoader.batches(inner, key)) yield return (b.Input, b.Target);
    }
}
