using Xunit;

namespace FunctionalNets.Tests;

/// <summary>Issue 14, item 4 from C#: Dataset.Map with Transforms.</summary>
public class AugmentationTests
{
    // Images [n, 1, h, w] with distinct positive pixels 1, 2, 3, ...
    private static Tensor Distinct(int n, int h, int w) =>
        Tensor.OfArray(Enumerable.Range(1, n * h * w).Select(v => (float)v).ToArray(), [n, 1, h, w]);

    [Fact]
    public void RandomCrop_with_padding_is_a_window_of_the_zero_padded_image_found_by_search()
    {
        const int h = 6, w = 6, pad = 2;
        var x = Distinct(5, h, w);
        var xs = x.ToSingleArray();
        var ys = Transforms.RandomCrop(6, padding: pad).Apply(x, seed: 3).ToSingleArray();
        var offsets = new HashSet<(int, int)>();
        for (int b = 0; b < 5; b++)
        {
            // The window's top-left corner in the padded image: the (top, left) in [0, 2 pad] that reproduces the output.
            var found = new List<(int, int)>();
            for (int top = 0; top <= 2 * pad; top++)
                for (int left = 0; left <= 2 * pad; left++)
                {
                    bool fits = true;
                    for (int i = 0; i < h && fits; i++)
                        for (int j = 0; j < w && fits; j++)
                        {
                            int si = top + i - pad, sj = left + j - pad;
                            float expected = si >= 0 && si < h && sj >= 0 && sj < w ? xs[b * h * w + si * w + sj] : 0f;
                            fits = ys[b * h * w + i * w + j] == expected;
                        }
                    if (fits) found.Add((top, left));
                }
            offsets.Add(Assert.Single(found));
        }
        Assert.True(offsets.Count > 1, "five images drew the same crop");
    }

    [Fact]
    public void Mapped_datasets_train_reproducibly_and_fail_at_Map_when_a_transform_does_not_fit()
    {
        var n = 12;
        var data = Datasets.FromTensors(Distinct(n, 6, 6), Tensor.OfArray(Enumerable.Range(0, n).Select(i => (long)(i % 3)).ToArray(), [n]));
        var train = data.Map(Transforms.RandomCrop(6, padding: 1), Transforms.RandomHorizontalFlip(), Transforms.RandomErasing(p: 0.5),
            Transforms.RandomAffine(degrees: 10, translate: 0.1), Transforms.RandomVerticalFlip(p: 0.1));

        double[] Weights(Dataset d)
        {
            var net = Net.Sequential(Layers.Flatten(), Layers.Linear(36, 3)).Compile(Optimizers.SGD(1e-3), Losses.CrossEntropy());
            net.Fit(d, epochs: 2, batchSize: 4, verbose: false, seed: 1);
            return net.Parameters["1.weight"].ToDoubleArray();
        }

        var a = Weights(train);
        Assert.Equal(a, Weights(train));
        Assert.NotEqual(a, Weights(data));

        var e = Assert.Throws<ArgumentException>(() => data.Map(Transforms.RandomCrop(10)));
        Assert.Contains("RandomCrop(10, padding: 0)", e.Message);
        Assert.Contains("[1, 6, 6]", e.Message);
    }
}
