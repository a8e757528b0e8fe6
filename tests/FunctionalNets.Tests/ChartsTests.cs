using FunctionalNets;
using SkiaSharp;
using Xunit;

namespace FunctionalNets.Tests;

public class ChartsTests
{
    private static SKBitmap Decode(string path) =>
        SKBitmap.Decode(path) ?? throw new InvalidOperationException($"{path} does not decode as an image");

    [Fact]
    public void Every_chart_of_a_small_fit_is_written_as_a_decodable_picture()
    {
        var dir = Directory.CreateTempSubdirectory("fn-cs-charts-").FullName;
        try
        {
            var net = Net.Sequential(Layers.Linear(2, 8), Layers.ReLU(), Layers.Linear(8, 3))
                .Compile(Optimizers.Adam(0.01), Losses.CrossEntropy(), Metrics.Accuracy());
            var history = net.Fit(TestData.Blobs(), epochs: 2, batchSize: 30, verbose: false);

            Charts.SaveTrainingCurves(history, Path.Combine(dir, "curves.png"));
            Charts.SaveConfusionMatrix(new[] { 0, 1, 2, 2 }, new[] { 0, 2, 2, 1 }, Path.Combine(dir, "cm.svg"), new[] { "a", "b", "c" });
            Charts.SaveWeightHistograms(net.Parameters, Path.Combine(dir, "weights.png"));
            // Two 4x4 images, black then white, drawn from [0, 1].
            var images = Tensor.OfArray(Enumerable.Repeat(0f, 16).Concat(Enumerable.Repeat(1f, 16)).ToArray(), [2, 4, 4]);
            Charts.SaveImageGrid(images, Path.Combine(dir, "samples.png"), title: "two");

            using (var curves = Decode(Path.Combine(dir, "curves.png")))
            {
                // A 480 x 360 panel per metric (loss, accuracy and whatever else the history holds, a "val_"
                // series sharing its metric's panel), two panels a row.
                int panels = history.Keys.Select(k => k.StartsWith("val_") ? k[4..] : k).Distinct().Count();
                Assert.Equal(960, curves.Width);
                Assert.Equal(360 * ((panels + 1) / 2), curves.Height);
            }
            // Four parameters (two weights, two biases): three panels a row, 360 x 280 each.
            using (var weights = Decode(Path.Combine(dir, "weights.png")))
            {
                Assert.Equal(3 * 360, weights.Width);
                Assert.Equal(2 * 280, weights.Height);
            }
            using (var samples = Decode(Path.Combine(dir, "samples.png"))) Assert.True(samples.Width > 0);
            var svg = System.Xml.Linq.XDocument.Load(Path.Combine(dir, "cm.svg"));
            Assert.Equal("svg", svg.Root!.Name.LocalName);
            Assert.Equal(4, Directory.GetFiles(dir).Length);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void A_path_without_png_or_svg_is_refused_before_anything_is_written()
    {
        var dir = Directory.CreateTempSubdirectory("fn-cs-charts-").FullName;
        try
        {
            var e = Assert.Throws<ArgumentException>(() =>
                Charts.SaveConfusionMatrix(new[] { 0 }, new[] { 0 }, Path.Combine(dir, "cm.bmp")));
            Assert.Contains("cm.bmp", e.Message);
            Assert.Contains(".png or .svg", e.Message);
            Assert.Empty(Directory.GetFiles(dir));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
