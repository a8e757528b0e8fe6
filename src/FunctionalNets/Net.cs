using System.Globalization;
using System.Text;
using FunctionalNets.Nn;
using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;
using NnLayer = FunctionalNets.Nn.Layer;
using NnLayerModule = FunctionalNets.Nn.LayerModule;
using NnMetric = FunctionalNets.Nn.Metric;
using NnCallback = FunctionalNets.Nn.Callback;

namespace FunctionalNets;

/// <summary>
/// A neural network: layers run one after another, with its parameters, optimizer state and training
/// state inside. Build it with <see cref="Sequential"/>, configure it with <see cref="Compile"/>, train
/// it with <see cref="Fit"/>:
/// <code>
/// var net = Net.Sequential(Layers.Flatten(), Layers.Linear(784, 10));
/// net.Compile(Optimizers.Adam(1e-3), Losses.CrossEntropy(), Metrics.Accuracy())
///    .Fit(Datasets.Mnist.Train(), epochs: 5);
/// </code>
/// The net is mutable as a Keras model is: Fit, Compile and Load replace its state. The state itself
/// is an immutable F# value that training folds over, so nothing else ever sees a half-updated net.
/// A net is not meant to be trained from two threads at once.
/// </summary>
public sealed partial class Net
{
    private const string InputShapeKey = "input_shape";
    private readonly NnLayer model;
    private readonly Layer[] layers;
    private Optimizer? optimizer;
    private Loss? loss;
    private Metric[] metrics = [];
    private TrainState? state;
    // Why the last Load could not compile the net from its checkpoint, for the "not compiled" message.
    private string? uncompiledReason;
    private int[]? inputShape;

    private Net(Layer[] layers)
    {
        this.layers = layers;
        model = NnLayerModule.sequential(Interop.List(layers.Select(l => l.Inner)));
    }

    private Net(Layer model)
    {
        layers = [model];
        this.model = model.Inner;
    }

    /// <summary>A net around one model (e.g. from <see cref="Models"/>), whose parameter names are the model's
    /// own (no positional prefix).</summary>
    /// <param name="model">The model.</param>
    public static Net FromModel(Layer model)
    {
        Guard.NotNull(model, nameof(model), "Net.FromModel");
        return new Net(model);
    }

    /// <summary>A net running the layers one after another; their parameters are named by position as
    /// PyTorch's nn.Sequential names them ("0.weight", "0.bias", "2.weight", ...).</summary>
    /// <param name="layers">The layers, at least one.</param>
    public static Net Sequential(params Layer[] layers)
    {
        Guard.NotNull(layers, nameof(layers), "Net.Sequential");
        if (layers.Length == 0) throw new ArgumentException("Net.Sequential needs at least one layer.", nameof(layers));
        for (int i = 0; i < layers.Length; i++)
            if (layers[i] is null) throw new ArgumentException($"Net.Sequential: layer {i} is null.", nameof(layers));
        return new Net((Layer[])layers.Clone());
    }

    /// <summary>The layers, in order.</summary>
    public IReadOnlyList<Layer> Layers => Alive(nameof(Layers), layers);

    /// <summary>Whether the parameters exist (after <see cref="Build(int[])"/>, <see cref="Fit"/> or <see cref="Load"/>).</summary>
    public bool IsBuilt => Alive(nameof(IsBuilt), state is not null);

    /// <summary>Whether <see cref="Compile"/> has been called.</summary>
    public bool IsCompiled => Alive(nameof(IsCompiled), optimizer is not null);

    /// <summary>The per-example input shape the net was built for (without the batch dim), or null.</summary>
    public int[]? InputShape => Alive(nameof(InputShape), inputShape?.ToArray());

    /// <summary>Number of optimizer steps taken so far.</summary>
    public long Step => Alive(nameof(Step), state?.Step ?? 0);

    /// <summary>The optimizer given to <see cref="Compile"/>, or null.</summary>
    public Optimizer? Optimizer => Alive(nameof(Optimizer), optimizer);

    /// <summary>The loss given to <see cref="Compile"/>, or null.</summary>
    public Loss? Loss => Alive(nameof(Loss), loss);

    /// <summary>Sets the optimizer, the loss and the metrics to log. Compiling a built net keeps its
    /// weights and starts the optimizer's state afresh (compile before <see cref="Load"/> to resume a run).</summary>
    /// <param name="optimizer">The optimizer, e.g. <c>Optimizers.Adam(1e-3)</c>.</param>
    /// <param name="loss">The loss, e.g. <c>Losses.CrossEntropy()</c>.</param>
    /// <param name="metrics">Metrics to log besides the loss, e.g. <c>Metrics.Accuracy()</c>.</param>
    /// <returns>This net, for chaining.</returns>
    public Net Compile(Optimizer optimizer, Loss loss, params Metric[] metrics)
    {
        Alive(nameof(Compile));
        Guard.NotNull(optimizer, nameof(optimizer), "Net.Compile");
        Guard.NotNull(loss, nameof(loss), "Net.Compile");
        metrics ??= [];
        for (int i = 0; i < metrics.Length; i++)
            if (metrics[i] is null) throw new ArgumentException($"Net.Compile: metric {i} is null.", nameof(metrics));
        var dup = metrics.GroupBy(m => m.Name).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new ArgumentException($"Net.Compile: the metric '{dup.Key}' is given twice.", nameof(metrics));
        if (metrics.Any(m => m.Name == "loss")) throw new ArgumentException("Net.Compile: a metric may not be named 'loss'.", nameof(metrics));

        this.optimizer = optimizer;
        this.loss = loss;
        this.metrics = (Metric[])metrics.Clone();
        if (state is { } ts)
            state = new TrainState(ts.Params, ts.State, optimizer.Inner.Init.Invoke(ts.Params), ts.Step, ts.Key, ts.LrScale);
        return this;
    }

    /// <summary>Creates the parameters for inputs of the given per-example shape (without the batch dim),
    /// e.g. <c>Build(1, 28, 28)</c> for MNIST images. Fit builds the net from its data when needed.
    /// Building again re-initializes the parameters.</summary>
    /// <param name="inputShape">The per-example input shape.</param>
    /// <returns>This net, for chaining.</returns>
    public Net Build(params int[] inputShape) => Build(inputShape, 0);

    /// <summary>Creates the parameters for inputs of the given per-example shape, drawn from
    /// <paramref name="seed"/>; the seed also drives the shuffling and dropout of a later Fit.</summary>
    /// <param name="inputShape">The per-example input shape, e.g. <c>[1, 28, 28]</c>.</param>
    /// <param name="seed">Seeds the initialization, shuffling and dropout.</param>
    /// <returns>This net, for chaining.</returns>
    public Net Build(int[] inputShape, int seed)
    {
        Alive(nameof(Build));
        var shape = inputShape;
        Guard.NotNull(shape, nameof(inputShape), "Net.Build");
        foreach (var d in shape)
            if (d < 1)
                throw new ArgumentOutOfRangeException(nameof(inputShape), $"Net.Build: every dim must be >= 1, got {Interop.ShapeText(shape)}.");
        state = Placed(Initial(shape, seed));
        this.inputShape = shape.ToArray();
        return this;
    }

    /// <summary>A freshly initialized state for the input shape; changes nothing in the net.</summary>
    private TrainState Initial(int[] shape, int seed)
    {
        var keys = KeyModule.split(KeyModule.create(seed));
        // Train.init's split: the first key initializes, the second drives shuffling and dropout.
        var init = model.Init.Invoke(keys.Item1).Invoke(Shape.Create(shape));
        var p = init.Item2;
        var opt = optimizer is null ? Interop.EmptyTree : optimizer.Inner.Init.Invoke(p);
        return new TrainState(p, init.Item3, opt, 0L, keys.Item2, 1.0);
    }

    private TrainState Built(string operation)
    {
        Alive(operation);
        return Placed(state) ?? throw new InvalidOperationException(
            $"Net.{operation}: the net is not built yet; call Build(inputShape), e.g. net.Build(1, 28, 28), or Fit first.");
    }

    private TrainState EnsureBuilt(Dataset data, int seed)
    {
        if (Placed(state) is { } ts) return ts;
        if (data.Count == 0) throw new ArgumentException("The dataset is empty.", nameof(data));
        Build(data.InputShape, seed);
        return Placed(state)!;
    }

    private (Optimizer Optimizer, Loss Loss) Compiled(string operation)
    {
        Alive(operation);
        return optimizer is not null && loss is not null
            ? (optimizer, loss)
            : throw new InvalidOperationException(
                $"Net.{operation}: the net is not compiled; call Compile(optimizer, loss, metrics) first, e.g. " +
                "net.Compile(Optimizers.Adam(1e-3), Losses.CrossEntropy(), Metrics.Accuracy())." +
                (uncompiledReason is null ? "" : $" (Load could not compile it: {uncompiledReason}.)"));
    }

    private FSharpList<NnMetric> NnMetrics => Interop.List(metrics.Select(m => m.Inner));

    /// <summary>Trains the net. Prints one line per epoch (a live progress bar on a terminal) unless
    /// verbose is false. With a validation set, each epoch also logs "val_loss" and "val_" + metric.</summary>
    /// <param name="train">The training examples.</param>
    /// <param name="epochs">The epoch to train up to (counting from initialEpoch, so epochs - initialEpoch epochs run).</param>
    /// <param name="batchSize">Examples per optimizer step.</param>
    /// <param name="validation">Examples evaluated at the end of each epoch, or null.</param>
    /// <param name="callbacks">Callbacks run at the end of each epoch (early stopping, checkpoints, ...).</param>
    /// <param name="shuffle">Shuffle the training examples each epoch.</param>
    /// <param name="verbose">Print progress.</param>
    /// <param name="seed">Seeds the parameters' initialization, shuffling and dropout when this call builds the net.</param>
    /// <param name="initialEpoch">Epochs already done (to resume from a checkpoint saved after that epoch).</param>
    /// <param name="device">Moves the net there first (as <see cref="To"/>); null keeps the net's device.</param>
    /// <returns>The logged values, epoch by epoch.</returns>
    public History Fit(
        Dataset train,
        int epochs = 1,
        int batchSize = 32,
        Dataset? validation = null,
        IEnumerable<Callback>? callbacks = null,
        bool shuffle = true,
        bool verbose = true,
        int seed = 0,
        int initialEpoch = 0,
        Device? device = null)
    {
        Guard.NotNull(train, nameof(train), "Net.Fit");
        if (epochs < 1) throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "Net.Fit: epochs must be >= 1.");
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "Net.Fit: batchSize must be >= 1.");
        if (initialEpoch < 0 || initialEpoch > epochs)
            throw new ArgumentOutOfRangeException(nameof(initialEpoch), initialEpoch, $"Net.Fit: initialEpoch must be in [0, epochs = {epochs}].");
        if (train.Count == 0) throw new ArgumentException("Net.Fit: the training dataset is empty.", nameof(train));
        var cbs = callbacks?.ToArray() ?? [];
        for (int i = 0; i < cbs.Length; i++)
            if (cbs[i] is null) throw new ArgumentException($"Net.Fit: callback {i} is null.", nameof(callbacks));
        var (opt, lossFn) = Compiled(nameof(Fit));
        if (device is not null) To(device);
        var ts = EnsureBuilt(train, seed);
        train = OnDevice(train);
        validation = validation is null ? null : OnDevice(validation);

        var options = new FitOptions(
            epochs,
            batchSize,
            shuffle,
            false,
            validation is null ? FSharpOption<IDataset>.None : FSharpOption<IDataset>.Some(validation.Inner),
            NnMetrics,
            Interop.List(cbs.Select(c => c.Inner)),
            verbose,
            verbose && ConsoleProgress.ForConsole() is { } display ? FSharpOption<IFitProgress>.Some(display) : FSharpOption<IFitProgress>.None,
            initialEpoch);
        var result = CSharpTerms.Run(() => Train.fit(model, lossFn.Inner, opt.Inner, options, train.Inner, ts));
        state = result.Item1;
        return new History(result.Item2);
    }

    /// <summary>The loss and the metrics over a dataset, in evaluation mode (dropout off): a dictionary
    /// with "loss" and each metric's name, e.g. <c>net.Evaluate(test)["accuracy"]</c>.</summary>
    /// <param name="data">The examples.</param>
    /// <param name="batchSize">Examples per forward pass.</param>
    public IReadOnlyDictionary<string, double> Evaluate(Dataset data, int batchSize = 256)
    {
        Guard.NotNull(data, nameof(data), "Net.Evaluate");
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "Net.Evaluate: batchSize must be >= 1.");
        var (_, lossFn) = Compiled(nameof(Evaluate));
        data = OnDevice(data);
        var ts = EnsureBuilt(data, 0);
        return Interop.Dictionary(CSharpTerms.Run(() => Train.evaluate(model, lossFn.Inner, NnMetrics, ts, data.Inner, batchSize)));
    }

    /// <summary>The net's outputs for every example of a dataset, in order, in evaluation mode.</summary>
    /// <param name="data">The examples (their targets are ignored).</param>
    /// <param name="batchSize">Examples per forward pass.</param>
    public Tensor Predict(Dataset data, int batchSize = 256)
    {
        Alive(nameof(Predict));
        Guard.NotNull(data, nameof(data), "Net.Predict");
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "Net.Predict: batchSize must be >= 1.");
        data = OnDevice(data);
        var ts = EnsureBuilt(data, 0);
        if (data.Count == 0) throw new ArgumentException("Net.Predict: the dataset is empty.", nameof(data));
        return CSharpTerms.Run(() => Train.predict(model, ts, data.Inner, batchSize));
    }

    /// <summary>The net's outputs for a batch of inputs (leading batch dim), in evaluation mode.</summary>
    /// <param name="inputs">The inputs [N, ...].</param>
    public Tensor Predict(Tensor inputs)
    {
        Alive(nameof(Predict));
        Guard.NotNull(inputs, nameof(inputs), "Net.Predict");
        Placed(state);
        inputs = OnDevice(inputs);
        var ts = state ?? (inputs.Rank >= 1 ? Build(inputs.Shape!.ToArray()[1..], 0).state! : Built(nameof(Predict)));
        var output = CSharpTerms.Run(() => Scope.run(FuncConvert.FromFunc(() => NnLayerModule.predict(model, ts.Params, ts.State, inputs))));
        return output.NoDiff;
    }

    /// <summary>Continues a prompt with a language model (a net mapping token ids [1, T] to logits [1, T, V],
    /// e.g. <see cref="Layers.Gpt"/>): each new token is drawn from the softmax of the last position's
    /// logits divided by the temperature, among the topK most likely tokens when given; temperature 0
    /// picks the most likely token. The model sees at most the last contextLength tokens.</summary>
    /// <param name="prompt">The ids to start from (at least one).</param>
    /// <param name="count">How many ids to generate.</param>
    /// <param name="contextLength">The model's context length.</param>
    /// <param name="temperature">The sampling temperature (&gt;= 0).</param>
    /// <param name="topK">Sample among the k most likely tokens only.</param>
    /// <param name="seed">The seed of the draws.</param>
    /// <returns>The generated ids (without the prompt).</returns>
    public int[] Generate(int[] prompt, int count, int contextLength, double temperature = 1.0, int? topK = null, int seed = 0)
    {
        Guard.NotNull(prompt, nameof(prompt), "Net.Generate");
        if (contextLength < 1) throw new ArgumentOutOfRangeException(nameof(contextLength), contextLength, "Net.Generate: contextLength must be >= 1.");
        if (topK is < 1) throw new ArgumentOutOfRangeException(nameof(topK), topK, "Net.Generate: topK must be >= 1.");
        var ts = Built(nameof(Generate));
        var options = new global::FunctionalNets.Nn.SamplingOptions(temperature, topK.HasValue ? FSharpOption<int>.Some(topK.Value) : FSharpOption<int>.None, contextLength);
        var forward = Interop.Func<Tensor, Tensor>(ids =>
            Scope.run(FuncConvert.FromFunc(() => NnLayerModule.predict(model, ts.Params, ts.State, OnDevice(ids)))).NoDiff);
        return global::FunctionalNets.Nn.Generation.generate(forward, options, KeyModule.create(seed), prompt, count);
    }

    /// <summary>The predicted class of every example: the index of the highest output for [N, C] outputs,
    /// or 1 where the single output is above 0.5 for [N, 1] or [N] outputs (probabilities from a Sigmoid).</summary>
    /// <param name="data">The examples.</param>
    /// <param name="batchSize">Examples per forward pass.</param>
    public int[] PredictClasses(Dataset data, int batchSize = 256) => Classes(Predict(data, batchSize));

    /// <summary>The predicted class of every row of a batch of inputs (see the dataset overload).</summary>
    /// <param name="inputs">The inputs [N, ...].</param>
    public int[] PredictClasses(Tensor inputs) => Classes(Predict(inputs));

    private static int[] Classes(Tensor outputs)
    {
        var dims = outputs.Shape!.ToArray();
        var v = outputs.ToDoubleArray();
        if (dims.Length == 1 || (dims.Length == 2 && dims[1] == 1))
            return v.Select(x => x > 0.5 ? 1 : 0).ToArray();
        if (dims.Length != 2)
            throw new InvalidOperationException($"Net.PredictClasses: outputs of shape {Interop.ShapeText(dims)} are not [N, C] scores.");
        int n = dims[0], c = dims[1];
        var classes = new int[n];
        for (int i = 0; i < n; i++)
        {
            int best = 0;
            for (int j = 1; j < c; j++)
                if (v[i * c + j] > v[i * c + best]) best = j;
            classes[i] = best;
        }
        return classes;
    }

    /// <summary>Number of trainable parameters (elements).</summary>
    public int ParameterCount => NnLayerModule.numParams(Built(nameof(ParameterCount)).Params);

    /// <summary>The parameters' names in order, as PyTorch's state_dict names them ("0.weight", "0.bias", ...).</summary>
    public IReadOnlyList<string> ParameterNames => Interop.Leaves(Built(nameof(ParameterNames)).Params).Select(kv => kv.Key).ToList();

    /// <summary>A Keras-like table: a row per layer (nested sequential containers and zoo models expanded,
    /// each row named by its state_dict path) with its output shape and parameter count, then the total.</summary>
    public string Summary()
    {
        var ts = Built(nameof(Summary));
        var rows = global::FunctionalNets.Nn.Summary.rows(model, Shape.Create(inputShape!), ts.Params)
            .Select(r => (
                Layer: r.Path.Length == 0 ? r.Name : $"{r.Path}: {r.Name}",
                Shape: Interop.ShapeText([-1, .. r.OutputShape.ToArray()]).Replace("-1", "N"),
                Params: r.Params.ToString("N0", CultureInfo.InvariantCulture)))
            .ToList();

        int w1 = Math.Max("Layer".Length, rows.Max(r => r.Layer.Length));
        int w2 = Math.Max("Output shape".Length, rows.Max(r => r.Shape.Length));
        int w3 = Math.Max("Params".Length, rows.Max(r => r.Params.Length));
        var line = new string('-', w1 + w2 + w3 + 4);
        var sb = new StringBuilder();
        sb.AppendLine($"Net (input {Interop.ShapeText([-1, .. inputShape!]).Replace("-1", "N")})");
        sb.AppendLine(line);
        sb.AppendLine($"{"Layer".PadRight(w1)}  {"Output shape".PadRight(w2)}  {"Params".PadLeft(w3)}");
        sb.AppendLine(line);
        foreach (var r in rows) sb.AppendLine($"{r.Layer.PadRight(w1)}  {r.Shape.PadRight(w2)}  {r.Params.PadLeft(w3)}");
        sb.AppendLine(line);
        sb.Append($"Total params: {NnLayerModule.numParams(ts.Params).ToString("N0", CultureInfo.InvariantCulture)}");
        return sb.ToString();
    }

    /// <summary>Writes a safetensors checkpoint: the parameters (named as PyTorch's state_dict), the
    /// non-trainable state, the optimizer state and the step, atomically (a crash never leaves a torn file).</summary>
    /// <param name="path">The file to write.</param>
    public void Save(string path)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException("Net.Save: the path must not be empty.", nameof(path));
        var ts = Built(nameof(Save));
        var meta = new Dictionary<string, string>
        {
            [InputShapeKey] = string.Join(",", inputShape!),
            ["model"] = model.Name,
        };
        if (optimizer is not null) meta["optimizer"] = optimizer.Name;
        if (optimizer is not null && loss is not null) meta[CompileRecipe.MetadataKey] = CompileRecipe.Record(optimizer, loss, metrics);
        Checkpoint.save(path, ts, Interop.Map(meta));
    }

    /// <summary>Reads a checkpoint written by <see cref="Save"/> (or the ModelCheckpoint callback) into
    /// this net. Every parameter must be in the file with the shape the net has, or an
    /// <see cref="InvalidDataException"/> names the mismatch. A net compiled with the optimizer that wrote
    /// the file also loads the optimizer's state, so training resumes where it stopped; under another
    /// optimizer the weights, the step and the learning-rate scale load and the optimizer starts afresh. An
    /// uncompiled net is compiled with the optimizer, loss and metrics the saved net was compiled with, where the
    /// file records them (files from Save do, unless a part was a schedule or custom), so it can Evaluate and
    /// resume Fit at once; older files load uncompiled. An unbuilt net is built for the
    /// input shape recorded in the file. A load that fails leaves the net exactly as it was (an unbuilt net
    /// stays unbuilt). A plain state_dict (from <see cref="SaveWeights"/> or torch) loads as with
    /// <see cref="LoadWeights"/>.</summary>
    /// <param name="path">The file to read.</param>
    /// <returns>This net, for chaining.</returns>
    public Net Load(string path)
    {
        Alive(nameof(Load));
        if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException("Net.Load: the path must not be empty.", nameof(path));
        if (!File.Exists(path)) throw new FileNotFoundException($"Net.Load: no checkpoint at {Path.GetFullPath(path)}.", path);
        // A plain state_dict (from SaveWeights or torch) has no training state: its weights are what it holds.
        if (!SafeTensors.readMetadata(path).ContainsKey("step")) return LoadWeights(path);

        var raw = Checkpoint.load(path);
        // Everything is read and checked into locals first: a load that fails leaves the net as it was
        // (an unbuilt net stays unbuilt rather than holding random weights).
        var ts = state;
        var shape = inputShape;
        // A recorded input shape is checked whether or not the net needs it.
        var recorded = raw.Item2.TryGetValue(InputShapeKey, out var text) ? ParseInputShape(path, text) : null;
        if (ts is null)
        {
            shape = recorded ?? throw new InvalidOperationException(
                $"Net.Load: {path} does not record the input shape; call Build(inputShape) on the net before Load.");
            ts = Initial(shape, 0);
        }

        // An uncompiled net is compiled as the saved one was, where the file records how (Keras's load_model).
        string? why = null;
        var compiled = optimizer is null && raw.Item2.TryGetValue(CompileRecipe.MetadataKey, out var entry)
            ? CompileRecipe.Rebuild(path, entry, out why)
            : null;
        if (compiled is { } c)
            ts = new TrainState(ts.Params, ts.State, c.Optimizer.Inner.Init.Invoke(ts.Params), ts.Step, ts.Key, ts.LrScale);

        // Without an optimizer the file's optimizer state is kept as it is; with one, the file's optimizer
        // state is restored when it was saved by the same optimizer and started afresh otherwise, so a
        // checkpoint written under Adam loads into a net compiled with SGD. Parameters and state are checked.
        var template = optimizer is null && compiled is null ? new TrainState(ts.Params, ts.State, raw.Item1.Opt, ts.Step, ts.Key, ts.LrScale) : ts;
        var loaded = Checkpoint.loadModel(path, template).Item1;
        state = loaded;
        if (compiled is { } r)
        {
            optimizer = r.Optimizer;
            loss = r.Loss;
            metrics = r.Metrics;
        }
        uncompiledReason = optimizer is null ? why : null;
        inputShape = shape;
        return this;
    }

    /// <summary>Writes the weights alone as a plain safetensors state_dict under PyTorch's names ("0.weight",
    /// "1.running_mean", "1.num_batches_tracked" as int64, "0.weight_ih_l0", ...), the file that
    /// <c>model.load_state_dict(safetensors.torch.load_file(path), strict=True)</c> accepts for the equivalent
    /// torch modules. No optimizer state; written atomically.</summary>
    /// <param name="path">The file to write; its folder must exist.</param>
    public void SaveWeights(string path)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException("Net.SaveWeights: the path must not be empty.", nameof(path));
        var ts = Built(nameof(SaveWeights));
        var meta = new Dictionary<string, string> { [InputShapeKey] = string.Join(",", inputShape!) };
        Checkpoint.saveWeights(path, ts.Params, ts.State, Interop.Map(meta));
    }

    /// <summary>Reads weights into this net, whatever it was compiled with: a state_dict written by
    /// <see cref="SaveWeights"/> or by PyTorch (<c>safetensors.torch.save_file(model.state_dict(), path)</c>),
    /// or the weights of a full checkpoint from <see cref="Save"/>. As torch's <c>load_state_dict(strict=True)</c>,
    /// the file must hold exactly the net's parameters and buffers with the net's shapes, or an
    /// <see cref="InvalidDataException"/> lists the missing and unexpected keys; float64 values load into a
    /// float32 net. The optimizer state and the step are kept. An unbuilt net is built for the input shape the
    /// file records (files from torch record none: call <see cref="Build(int[])"/> first). A failed load leaves
    /// the net as it was.</summary>
    /// <param name="path">The file to read.</param>
    /// <returns>This net, for chaining.</returns>
    public Net LoadWeights(string path)
    {
        Alive(nameof(LoadWeights));
        if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException("Net.LoadWeights: the path must not be empty.", nameof(path));
        if (!File.Exists(path)) throw new FileNotFoundException($"Net.LoadWeights: no weights file at {Path.GetFullPath(path)}.", path);
        var ts = state;
        var shape = inputShape;
        if (ts is null)
        {
            var meta = SafeTensors.readMetadata(path);
            shape = meta.TryFind(InputShapeKey) is { } text ? ParseInputShape(path, text.Value) : throw new InvalidOperationException(
                $"Net.LoadWeights: {path} does not record the input shape (files written by torch do not); call Build(inputShape) on the net first, e.g. net.Build(1, 28, 28).");
            ts = Initial(shape, 0);
        }

        var loaded = Checkpoint.loadWeights(path, ts.Params, ts.State);
        state = new TrainState(loaded.Item1, loaded.Item2, ts.Opt, ts.Step, ts.Key, ts.LrScale);
        inputShape = shape;
        return this;
    }

    /// <summary>The input shape a checkpoint records ("1,28,28"), or an <see cref="InvalidDataException"/>
    /// naming the file and the entry.</summary>
    private static int[] ParseInputShape(string path, string text)
    {
        var parts = text.Split(',');
        var dims = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out dims[i]) || dims[i] < 1)
                throw new InvalidDataException(
                    $"checkpoint {path}: the metadata entry '{InputShapeKey}' is '{text}', but it must be the input dims, " +
                    "comma-separated integers >= 1 such as '1,28,28'. The file is corrupt or was not written by Net.Save.");
        return dims;
    }

    /// <summary>The layers, e.g. <c>Sequential(Flatten, Linear(784->10))</c>.</summary>
    public override string ToString() => model.Name;
}
