using FunctionalNets;
using Xunit;

namespace FunctionalNets.Tests;

public class LifecycleTests
{
    private static Net Mlp(int hidden) =>
        Net.Sequential(Layers.Linear(2, hidden), Layers.ReLU(), Layers.Dropout(0.1), Layers.Linear(hidden, 3));

    [Fact]
    public void Save_then_Load_gives_identical_predictions()
    {
        var data = TestData.Blobs();
        var net = Mlp(16).Compile(Optimizers.Adam(0.01), Losses.CrossEntropy(), Metrics.Accuracy());
        net.Fit(data, epochs: 3, batchSize: 32, verbose: false);
        var path = TestData.TempFile("roundtrip.safetensors");
        try
        {
            net.Save(path);
            var expected = net.Predict(data).ToSingleArray();

            // An unbuilt, uncompiled net is built from the shape recorded in the file.
            var fresh = Mlp(16).Load(path);
            Assert.Equal(expected, fresh.Predict(data).ToSingleArray());

            // A compiled net also gets the optimizer state and step, so training resumes.
            var resumed = Mlp(16).Compile(Optimizers.Adam(0.01), Losses.CrossEntropy()).Load(path);
            Assert.Equal(net.Step, resumed.Step);
            Assert.Equal(expected, resumed.Predict(data).ToSingleArray());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Load_into_another_architecture_names_the_parameter_and_both_shapes()
    {
        var path = TestData.TempFile("mismatch.safetensors");
        try
        {
            Mlp(16).Build(2).Save(path);
            var other = Mlp(8).Build(2);
            var e = Assert.Throws<InvalidDataException>(() => other.Load(path));
            Assert.Contains("params.0.weight", e.Message);
            Assert.Contains("[16; 2]", e.Message);
            Assert.Contains("[8; 2]", e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void EarlyStopping_stops_on_a_plateau()
    {
        // A learning rate so small that the loss cannot improve by minDelta: a plateau from epoch 1.
        var net = Mlp(4).Compile(Optimizers.SGD(1e-9), Losses.CrossEntropy());
        var h = net.Fit(TestData.Blobs(), epochs: 20, batchSize: 50, verbose: false,
            callbacks: [Callbacks.EarlyStopping(monitor: "loss", patience: 2, minDelta: 0.1)]);
        Assert.Equal(3, h.Epochs);
        Assert.Equal(3, h["loss"].Count);
    }

    [Fact]
    public void EarlyStopping_on_a_missing_metric_says_what_was_logged()
    {
        var net = Mlp(4).Compile(Optimizers.SGD(), Losses.CrossEntropy());
        var e = Assert.Throws<ArgumentException>(() =>
            net.Fit(TestData.Blobs(), epochs: 2, verbose: false, callbacks: [Callbacks.EarlyStopping()]));
        Assert.Contains("EarlyStopping monitors 'val_loss'", e.Message);
        Assert.Contains("Pass a validation set", e.Message);
        // Before the first epoch: not a step was taken.
        Assert.Equal(0, net.Step);
    }

    [Fact]
    public void Lambda_callback_stops_after_the_first_epoch()
    {
        var seen = new List<(int, double)>();
        var stop = Callbacks.Lambda((epoch, logs) =>
        {
            seen.Add((epoch, logs["loss"]));
            return epoch >= 1;
        });
        var net = Mlp(4).Compile(Optimizers.Adam(), Losses.CrossEntropy());
        var h = net.Fit(TestData.Blobs(), epochs: 10, verbose: false, callbacks: [stop]);
        Assert.Equal(1, h.Epochs);
        Assert.Single(seen);
        Assert.Equal(1, seen[0].Item1);
        Assert.Equal(h["loss"][0], seen[0].Item2);
    }

    [Fact]
    public void ModelCheckpoint_writes_a_loadable_file_per_epoch()
    {
        var dir = Directory.CreateTempSubdirectory("fn-host-ckpt-").FullName;
        try
        {
            var net = Mlp(4).Compile(Optimizers.Adam(), Losses.CrossEntropy());
            net.Fit(TestData.Blobs(), epochs: 2, verbose: false,
                callbacks: [Callbacks.ModelCheckpoint(Path.Combine(dir, "e{epoch}.safetensors"))]);
            Assert.True(File.Exists(Path.Combine(dir, "e1.safetensors")));
            var last = Mlp(4).Compile(Optimizers.Adam(), Losses.CrossEntropy()).Build(2).Load(Path.Combine(dir, "e2.safetensors"));
            Assert.Equal(net.Predict(TestData.Blobs()).ToSingleArray(), last.Predict(TestData.Blobs()).ToSingleArray());
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Summary_lists_layers_shapes_and_parameter_counts()
    {
        var net = Net.Sequential(Layers.Flatten(), Layers.Linear(784, 32), Layers.ReLU(), Layers.Linear(32, 10)).Build(1, 28, 28);
        var s = net.Summary();
        Assert.Contains("Linear(784->32)", s);
        Assert.Contains("[N, 784]", s);
        Assert.Contains("25,120", s);
        Assert.Contains("Total params: 25,450", s);
        Assert.Equal(25450, net.ParameterCount);
        Assert.Equal(new[] { "1.weight", "1.bias", "3.weight", "3.bias" }, net.ParameterNames);
    }

    [Fact]
    public void Split_and_Take_partition_a_dataset()
    {
        var data = TestData.Blobs(100);
        var (train, val) = data.Split(0.8, seed: 4);
        Assert.Equal(80, train.Count);
        Assert.Equal(20, val.Count);
        Assert.Equal(10, data.Take(10).Count);
        Assert.Equal(100, data.Take(1000).Count);
    }
}
