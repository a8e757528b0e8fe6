using FunctionalNets;
using SkiaSharp;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>The data, device, tuning, chart and callback members that no other C# test reached, each against what
/// its documentation promises worked out by hand.</summary>
public class DataFamilyTests
{
    private static void Close(double expected, double actual, string what) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-5 * (1 + Math.Abs(expected)), $"{what}: expected {expected}, got {actual}");

    [Fact]
    public void Normalize_and_Lambda_transform_each_channel_as_written()
    {
        // [1, 2, 1, 2]: channel 0 holds 1, 3; channel 1 holds 5, 9.
        var images = Tensor.OfArray(new float[] { 1, 3, 5, 9 }, [1, 2, 1, 2]);
        var normalized = Transforms.Normalize(new[] { 2.0, 4.0 }, new[] { 0.5, 2.0 }).Apply(images).ToDoubleArray();
        double[] expected = { (1 - 2) / 0.5, (3 - 2) / 0.5, (5 - 4) / 2.0, (9 - 4) / 2.0 };
        for (int i = 0; i < 4; i++) Close(expected[i], normalized[i], $"Normalize[{i}]");
        var doubled = Transforms.Lambda(x => x * 2.0, "double");
        Assert.Equal("double", doubled.Name);
        Assert.Equal(new double[] { 2, 6, 10, 18 }, doubled.Apply(images).ToDoubleArray());
    }

    [Fact]
    public void Labels_lists_the_class_of_every_example_and_refuses_regression_targets()
    {
        var x = new float[2500, 1];
        var y = Enumerable.Range(0, 2500).Select(i => i * 7 % 5).ToArray();
        // More examples than one read of 1024, so the chunks must join in order.
        Assert.Equal(y, Datasets.FromArrays(x, y).Labels());
        var e = Assert.Throws<InvalidOperationException>(() => TestData.Xor().Labels());
        Assert.Contains("Labels", e.Message);
    }

    [Fact]
    public void TryParse_returns_the_device_or_the_reason_without_throwing()
    {
        Assert.True(Devices.TryParse("cpu", out var device, out var none));
        Assert.Equal(Devices.Cpu, device);
        Assert.Null(none);
        Assert.False(Devices.TryParse("gpu", out var nothing, out var error));
        Assert.Null(nothing);
        Assert.Contains("gpu", error);
    }

    [Fact]
    public void Cifar10_names_the_folder_it_searched_when_the_data_is_not_there()
    {
        var dir = Directory.CreateTempSubdirectory("fn-cs-cifar-").FullName;
        try
        {
            foreach (var load in new Action[] { () => Datasets.Cifar10.Train(dir), () => Datasets.Cifar10.Test(dir), () => Datasets.Cifar10.Classes(dir) })
            {
                var e = Assert.Throws<FileNotFoundException>(load);
                Assert.Contains(dir, e.Message);
                Assert.Contains("cifar-10-binary.tar.gz", e.Message);
            }
            Assert.Empty(Directory.GetFileSystemEntries(dir));
            // An empty path is a mistake, not a request to search (null searches; Download would go to the network).
            Assert.Contains("Datasets.Cifar10.Download", Assert.Throws<ArgumentException>(() => Datasets.Cifar10.Download(" ")).Message);
            Assert.Contains("Datasets.Cifar10.Train", Assert.Throws<ArgumentException>(() => Datasets.Cifar10.Train("")).Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void A_search_seed_fixes_the_seed_of_every_trial()
    {
        var space = new HyperparameterSpace().Uniform("x", 0.0, 1.0);
        List<int> Seeds(int seed)
        {
            var seeds = new List<int>();
            Tuner.RandomSearch(space, trial =>
            {
                seeds.Add(trial.Seed);
                return _ => trial.Float("x");
            }, trials: 4, epochs: 1, seed: seed, report: _ => { });
            return seeds;
        }
        var first = Seeds(3);
        Assert.Equal(4, first.Count);
        Assert.Equal(first, Seeds(3));
    }

    [Fact]
    public void SaveFilterGrid_writes_a_picture_and_nothing_on_bad_input()
    {
        var dir = Directory.CreateTempSubdirectory("fn-cs-filters-").FullName;
        try
        {
            using var net = Net.Sequential(Layers.Conv2d(3, 4, 3)).Build([3, 8, 8], seed: 1);
            var png = Path.Combine(dir, "filters.png");
            Charts.SaveFilterGrid(net.Parameters["0.weight"], png);
            using (var image = SKBitmap.Decode(png))
            {
                Assert.NotNull(image);
                // Four tiles of 3 x 3 pixels, zoomed, with room for a title: wider and taller than the bare filters.
                Assert.True(image.Width > 4 * 3 && image.Height > 3, $"{image.Width} x {image.Height}");
            }
            var svg = Path.Combine(dir, "filters.svg");
            Charts.SaveFilterGrid(net.Parameters["0.weight"], svg);
            Assert.Equal("svg", System.Xml.Linq.XDocument.Load(svg).Root!.Name.LocalName);

            var flat = Path.Combine(dir, "flat.png");
            var e = Assert.ThrowsAny<ArgumentException>(() => Charts.SaveFilterGrid(Tensor.OfArray(new float[6], [2, 3]), flat));
            Assert.Contains("weights", e.Message);
            Assert.False(File.Exists(flat));
            Assert.Equal(2, Directory.GetFiles(dir).Length);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void ReduceLROnPlateau_scales_the_rate_after_each_epoch_without_improvement_down_to_its_floor()
    {
        // A step of 1e-30 leaves Float32 weights exactly as they were, so the loss of every epoch equals the first
        // and, with patience 1, each later epoch reduces the rate (Keras's rule); "lr" logs the rate the epoch used.
        List<double> Rates(double minScale, out IReadOnlyList<string> messages)
        {
            using var net = Net.Sequential(Layers.Linear(2, 1)).Compile(Optimizers.SGD(1e-30), Losses.MSE());
            var history = net.Fit(TestData.Xor(), epochs: 4, batchSize: 4, shuffle: false, verbose: false, seed: 1,
                callbacks: new[] { Callbacks.ReduceLROnPlateau("loss", factor: 0.5, patience: 1, minScale: minScale) });
            messages = history.Messages;
            return history["lr"].Select(r => r / 1e-30).ToList();
        }
        var rates = Rates(0.0, out var messages);
        Assert.Equal(3, messages.Count);
        Assert.All(messages, m => Assert.Contains("learning rate", m));
        Assert.Equal(4, rates.Count);
        double[] expected = { 1, 1, 0.5, 0.25 };
        for (int i = 0; i < 4; i++) Close(expected[i], rates[i], $"lr scale at epoch {i + 1}");
        var floored = Rates(0.5, out _);
        Close(0.5, floored[3], "lr scale at epoch 4 with minScale 0.5");
    }
}
