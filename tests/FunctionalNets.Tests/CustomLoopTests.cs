using CustomLoop;
using FunctionalNets;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>The hand-written loop of samples/CustomLoop gives Fit's weights bit for bit.</summary>
public class CustomLoopTests
{
    private static void SameAsFit(Func<Net> make, int[] inputShape, Dataset data, int epochs, int batchSize, int seed)
    {
        using var fitted = make().Compile(Optimizers.Adam(1e-2), Losses.CrossEntropy()).Build(inputShape, seed);
        fitted.Fit(data, epochs: epochs, batchSize: batchSize, verbose: false);
        using var looped = make().Build(inputShape, seed);
        var losses = HandWrittenLoop.Train(looped, Optimizers.Adam(1e-2), Losses.CrossEntropy(), data, epochs, batchSize);

        Assert.Equal(epochs, losses.Length);
        Assert.Equal(0.0, HandWrittenLoop.MaxAbsDifference(fitted.Parameters, looped.Parameters));
        Assert.Equal(0.0, HandWrittenLoop.MaxAbsDifference(fitted.State, looped.State));
        // And the loop did train: its weights moved from the initial ones.
        using var initial = make().Build(inputShape, seed);
        Assert.True(HandWrittenLoop.MaxAbsDifference(initial.Parameters, looped.Parameters) > 1e-3);
    }

    [Fact]
    public void The_MNIST_MLP_on_a_subset_matches_Fit_bit_for_bit()
    {
        SameAsFit(
            () => Net.Sequential(
                Layers.Flatten(),
                Layers.Linear(784, 512), Layers.ReLU(), Layers.Dropout(0.2),
                Layers.Linear(512, 256), Layers.ReLU(), Layers.Dropout(0.2),
                Layers.Linear(256, 10)),
            [1, 28, 28], Datasets.Mnist.Train().Take(200), epochs: 1, batchSize: 64, seed: 7);
    }

    [Fact]
    public void BatchNorm_dropout_shuffling_and_a_partial_batch_over_two_epochs_match_Fit_bit_for_bit()
    {
        var rng = new Random(11);
        var x = new float[50, 6];
        var y = new int[50];
        for (int i = 0; i < 50; i++)
        {
            for (int j = 0; j < 6; j++) x[i, j] = (float)(rng.NextDouble() * 2 - 1);
            y[i] = rng.Next(3);
        }
        SameAsFit(
            () => Net.Sequential(Layers.Linear(6, 8), Layers.BatchNorm1d(8), Layers.ReLU(), Layers.Dropout(0.3), Layers.Linear(8, 3)),
            [6], Datasets.FromArrays(x, y), epochs: 2, batchSize: 16, seed: 3);
    }
}
