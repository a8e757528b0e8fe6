using FunctionalNets.Plots;

namespace FunctionalNets;

/// <summary>The pictures people look at after training, drawn with ScottPlot: loss and metric curves, a
/// confusion-matrix heatmap, a grid of first-layer filters, a grid of image samples and weight histograms.
/// Each is written as PNG or SVG, chosen by the path's extension (.png or .svg); files are replaced
/// atomically.</summary>
public static class Charts
{
    /// <summary>Loss and every metric per epoch, a panel per metric with the training and validation
    /// ("val_") series.</summary>
    /// <param name="history">What <see cref="Net.Fit"/> returned.</param>
    /// <param name="path">The file to write (.png or .svg).</param>
    public static void SaveTrainingCurves(History history, string path)
    {
        ArgumentNullException.ThrowIfNull(history);
        TrainingCurves.save(path, history.Inner);
    }

    /// <summary>A confusion-matrix heatmap: row = true class, column = predicted class, each cell labelled
    /// with its count.</summary>
    /// <param name="actual">The true class of each example.</param>
    /// <param name="predicted">The predicted class of each example.</param>
    /// <param name="path">The file to write (.png or .svg).</param>
    /// <param name="classNames">Names for the axes, one per class, or null for indices.</param>
    /// <param name="normalize">Colour and label each cell by its share of the row's examples.</param>
    public static void SaveConfusionMatrix(int[] actual, int[] predicted, string path, IReadOnlyList<string>? classNames = null, bool normalize = false)
    {
        ArgumentNullException.ThrowIfNull(actual);
        ArgumentNullException.ThrowIfNull(predicted);
        var matrix = ConfusionMatrix.count(classNames?.Count ?? 0, actual, predicted);
        ConfusionMatrix.save(path, normalize, Interop.Option(classNames?.ToArray()), matrix);
    }

    /// <summary>A grid of convolution filters, one tile per output channel (colour for 3 input channels,
    /// grey otherwise), each stretched to its own range.</summary>
    /// <param name="weights">A convolution weight [out, in, k, k], e.g. <c>net.Parameters["0.weight"]</c>.</param>
    /// <param name="path">The file to write (.png or .svg).</param>
    public static void SaveFilterGrid(Tensor weights, string path)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ImageGrid.saveFilters(path, weights);
    }

    /// <summary>A grid of images, e.g. generated digits or augmented inputs.</summary>
    /// <param name="images">Images [N, C, H, W] (C = 1 or 3) or [N, H, W].</param>
    /// <param name="path">The file to write (.png or .svg).</param>
    /// <param name="low">The value drawn black.</param>
    /// <param name="high">The value drawn white.</param>
    /// <param name="title">The title above the grid.</param>
    public static void SaveImageGrid(Tensor images, string path, double low = 0.0, double high = 1.0, string title = "samples")
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(title);
        ImageGrid.saveSamples(path, low, high, title, images);
    }

    /// <summary>A histogram of each parameter's values, one panel per parameter.</summary>
    /// <param name="parameters">Named tensors, e.g. <c>net.Parameters</c>.</param>
    /// <param name="path">The file to write (.png or .svg).</param>
    public static void SaveWeightHistograms(IReadOnlyDictionary<string, Tensor> parameters, string path)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        WeightHistograms.save(path, Interop.List(parameters.Select(kv => Tuple.Create(kv.Key, kv.Value))));
    }
}
