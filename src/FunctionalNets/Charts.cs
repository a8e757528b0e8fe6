using NnCharts = FunctionalNets.Nn.Charts;

namespace FunctionalNets;

/// <summary>The pictures people look at after training: loss and accuracy curves, a confusion-matrix
/// heatmap and a grid of first-layer filters. Each is written as SVG or PNG, chosen by the path's
/// extension (.svg or .png); files are replaced atomically.</summary>
public static class Charts
{
    private static bool IsPng(string path, string what)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException($"{what}: the path must not be empty.", nameof(path));
        var ext = Path.GetExtension(path).ToLowerInvariant();
        return ext switch
        {
            ".png" => true,
            ".svg" => false,
            _ => throw new ArgumentException($"{what}: '{path}' must end in .svg or .png, which selects the format.", nameof(path)),
        };
    }

    /// <summary>Loss and every metric per epoch, training and validation ("val_") series side by side.</summary>
    /// <param name="history">What <see cref="Net.Fit"/> returned.</param>
    /// <param name="path">The file to write (.svg or .png).</param>
    public static void SaveTrainingCurves(History history, string path)
    {
        ArgumentNullException.ThrowIfNull(history);
        if (IsPng(path, nameof(SaveTrainingCurves))) NnCharts.saveTrainingCurvesPng(path, history.Inner);
        else NnCharts.saveTrainingCurves(path, history.Inner);
    }

    /// <summary>A confusion-matrix heatmap: row = true class, column = predicted class.</summary>
    /// <param name="actual">The true class of each example.</param>
    /// <param name="predicted">The predicted class of each example.</param>
    /// <param name="path">The file to write (.svg or .png).</param>
    /// <param name="classNames">Names for the axes, one per class (SVG only), or null for indices.</param>
    /// <param name="normalize">Colour each row by its share of the row's examples.</param>
    public static void SaveConfusionMatrix(int[] actual, int[] predicted, string path, IReadOnlyList<string>? classNames = null, bool normalize = false)
    {
        ArgumentNullException.ThrowIfNull(actual);
        ArgumentNullException.ThrowIfNull(predicted);
        if (actual.Length != predicted.Length)
            throw new ArgumentException($"SaveConfusionMatrix: {actual.Length} true classes but {predicted.Length} predictions.", nameof(predicted));
        int classes = Math.Max(classNames?.Count ?? 0, Math.Max(actual.DefaultIfEmpty(-1).Max(), predicted.DefaultIfEmpty(-1).Max()) + 1);
        if (actual.Concat(predicted).Any(c => c < 0))
            throw new ArgumentException("SaveConfusionMatrix: class indices must be >= 0.", nameof(actual));
        if (classes == 0) throw new ArgumentException("SaveConfusionMatrix: no examples.", nameof(actual));
        var matrix = new int[classes, classes];
        for (int i = 0; i < actual.Length; i++) matrix[actual[i], predicted[i]]++;
        if (IsPng(path, nameof(SaveConfusionMatrix))) NnCharts.saveConfusionMatrixPng(path, normalize, matrix);
        else NnCharts.saveConfusionMatrixWith(path, normalize, matrix, Interop.Option(classNames?.ToArray()));
    }

    /// <summary>A grid of convolution filters, one tile per output channel (RGB for 3 input channels,
    /// grey otherwise), each scaled to its own range.</summary>
    /// <param name="weights">A convolution weight [out, in, k, k], e.g. <c>net.Parameters["0.weight"]</c>.</param>
    /// <param name="path">The file to write (.svg or .png).</param>
    public static void SaveFilterGrid(Tensor weights, string path)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (IsPng(path, nameof(SaveFilterGrid))) NnCharts.saveFilterGridPng(path, weights);
        else NnCharts.saveFilterGrid(path, weights);
    }
}
