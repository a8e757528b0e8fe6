using Microsoft.FSharp.Core;
using NnCallback = FunctionalNets.Nn.Callback;
using NnCallbacks = FunctionalNets.Nn.Callbacks;
using NnEpochEnd = FunctionalNets.Nn.EpochEnd;
using NnMonitorMode = FunctionalNets.Nn.MonitorMode;

namespace FunctionalNets;

/// <summary>Something that runs at the end of every epoch of <see cref="Net.Fit"/> and may stop training
/// or change the learning rate. Create one with <see cref="Callbacks"/>.</summary>
public sealed class Callback
{
    internal Callback(NnCallback inner) => Inner = inner;

    internal NnCallback Inner { get; }

    /// <summary>The callback's name.</summary>
    public string Name => Inner.Name;

    /// <summary>The callback's name.</summary>
    public override string ToString() => Name;
}

/// <summary>The built-in callbacks (Keras's). A monitored name containing "acc", "precision", "recall"
/// or "f1" is maximized; any other (a loss) is minimized.</summary>
public static class Callbacks
{
    private static void Monitor(string monitor, string paramName)
    {
        if (string.IsNullOrWhiteSpace(monitor))
            throw new ArgumentException("The monitored name must not be empty (e.g. \"val_loss\").", paramName);
    }

    /// <summary>Stops training when the monitored value has not improved by more than minDelta for
    /// patience epochs; with restoreBestWeights the net ends with the best epoch's weights.</summary>
    /// <param name="monitor">The logged value to watch, e.g. "val_loss" (needs a validation set) or "loss".</param>
    /// <param name="patience">Epochs without improvement before stopping (&gt;= 0; 0 stops at the first).</param>
    /// <param name="minDelta">The smallest change that counts as an improvement (&gt;= 0).</param>
    /// <param name="restoreBestWeights">End with the weights of the best epoch.</param>
    public static Callback EarlyStopping(string monitor = "val_loss", int patience = 0, double minDelta = 0.0, bool restoreBestWeights = true)
    {
        Monitor(monitor, nameof(monitor));
        if (patience < 0) throw new ArgumentOutOfRangeException(nameof(patience), patience, "EarlyStopping: patience must be >= 0.");
        if (!(minDelta >= 0.0)) throw new ArgumentOutOfRangeException(nameof(minDelta), minDelta, "EarlyStopping: minDelta must be >= 0.");
        return new(NnCallbacks.earlyStopping(monitor, patience, minDelta, NnMonitorMode.Auto, restoreBestWeights));
    }

    /// <summary>Multiplies the learning rate by factor when the monitored value has not improved for
    /// patience epochs, never below minScale times the optimizer's own rate.</summary>
    /// <param name="monitor">The logged value to watch.</param>
    /// <param name="factor">The reduction factor, in (0, 1).</param>
    /// <param name="patience">Epochs without improvement before reducing (&gt;= 1).</param>
    /// <param name="minScale">The smallest overall scale of the learning rate (&gt;= 0).</param>
    public static Callback ReduceLROnPlateau(string monitor = "val_loss", double factor = 0.1, int patience = 10, double minScale = 0.0)
    {
        Monitor(monitor, nameof(monitor));
        if (!(factor > 0.0 && factor < 1.0)) throw new ArgumentOutOfRangeException(nameof(factor), factor, "ReduceLROnPlateau: factor must be in (0, 1).");
        if (patience < 1) throw new ArgumentOutOfRangeException(nameof(patience), patience, "ReduceLROnPlateau: patience must be >= 1.");
        if (!(minScale >= 0.0)) throw new ArgumentOutOfRangeException(nameof(minScale), minScale, "ReduceLROnPlateau: minScale must be >= 0.");
        return new(NnCallbacks.reduceLROnPlateau(monitor, factor, patience, minScale, NnMonitorMode.Auto));
    }

    /// <summary>Saves a checkpoint (readable by <see cref="Net.Load"/>) at the end of each epoch, or only
    /// when the monitored value improves. "{epoch}" in the path is replaced by the epoch number.</summary>
    /// <param name="path">The file to write, e.g. "ckpt/epoch-{epoch}.safetensors".</param>
    /// <param name="monitor">Save only when this logged value improves; null saves every epoch.</param>
    public static Callback ModelCheckpoint(string path, string? monitor = null)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException("ModelCheckpoint: the path must not be empty.", nameof(path));
        if (monitor is not null) Monitor(monitor, nameof(monitor));
        return new(NnCallbacks.modelCheckpoint(path, Interop.Option(monitor), NnMonitorMode.Auto));
    }

    /// <summary>Writes one CSV row per epoch (Keras's CSVLogger): "epoch", then the loss, the metrics and
    /// their val_ versions, under a header written at the first epoch.</summary>
    /// <param name="path">The CSV file; its folder is created if missing.</param>
    /// <param name="append">Continue an existing file (a resumed run) instead of starting it afresh.</param>
    public static Callback CsvLogger(string path, bool append = false)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException("CsvLogger: the path must not be empty.", nameof(path));
        return new(NnCallbacks.csvLogger(path, append));
    }

    /// <summary>Writes TensorBoard event files into logDir (view with <c>tensorboard --logdir DIR</c>): every
    /// logged value ("loss", metrics, "val_" ones, "lr") as a scalar per epoch and, with histograms, a
    /// histogram of every parameter; with updateFreq n &gt; 0 also the epoch's running loss and the learning
    /// rate every n optimizer steps, as "batch_loss" and "batch_lr" (Keras's update_freq).</summary>
    /// <param name="logDir">The folder for the event files; created if missing.</param>
    /// <param name="histograms">Also write a histogram of each parameter ("0.weight", ...) per epoch.</param>
    /// <param name="updateFreq">Write step scalars every this many optimizer steps; 0 per epoch only.</param>
    public static Callback TensorBoard(string logDir, bool histograms = true, int updateFreq = 0)
    {
        if (string.IsNullOrWhiteSpace(logDir)) throw new ArgumentException("TensorBoard: the log folder must not be empty.", nameof(logDir));
        if (updateFreq < 0) throw new ArgumentOutOfRangeException(nameof(updateFreq), updateFreq, "TensorBoard: updateFreq must be >= 0 (0 writes per epoch only).");
        return new(NnCallbacks.tensorBoardWith(logDir, histograms, updateFreq));
    }

    /// <summary>A callback from a function of (epoch, logs), epochs counting from 1 and logs mapping names
    /// ("loss", "accuracy", "val_loss", ...) to the epoch's values. Returning true stops training.</summary>
    /// <param name="onEpochEnd">The function.</param>
    /// <param name="name">The callback's name.</param>
    public static Callback Lambda(Func<int, IReadOnlyDictionary<string, double>, bool> onEpochEnd, string name = "Lambda")
    {
        ArgumentNullException.ThrowIfNull(onEpochEnd);
        return new(NnCallbacks.create(name, FuncConvert.FromFunc<NnEpochEnd, bool>(e => onEpochEnd(e.Epoch, Interop.Dictionary(e.Logs)))));
    }
}
