using FunctionalNets.Nn;
using Microsoft.FSharp.Collections;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>Issue 14 item 3 without torch: state_dict names, and weights that load whatever the net was
/// compiled with.</summary>
public class WeightsTests
{
    private static Net Mlp() => Net.Sequential(Layers.Linear(2, 4), Layers.ReLU(), Layers.Linear(4, 3));

    private static void SameParameters(Net expected, Net actual)
    {
        Assert.Equal(expected.ParameterNames, actual.ParameterNames);
        foreach (var (name, t) in expected.Parameters)
            Assert.Equal(t.ToDoubleArray(), actual.Parameters[name].ToDoubleArray());
    }

    private static void InTemp(Action<string> test)
    {
        var path = TestData.TempFile("weights.safetensors");
        try { test(path); }
        finally { File.Delete(path); }
    }

    [Fact]
    public void SaveWeights_writes_PyTorchs_state_dict_names_and_dtypes() => InTemp(path =>
    {
        Net.Sequential(Layers.Conv2d(1, 2, 3), Layers.BatchNorm2d(2), Layers.ReLU(), Layers.Flatten(), Layers.Linear(8, 3))
            .Build(1, 4, 4).SaveWeights(path);
        var (tensors, meta) = SafeTensors.read(path);
        var names = tensors.Select(t => t.Item1).OrderBy(n => n, StringComparer.Ordinal).ToArray();
        // torch: nn.Sequential(Conv2d, BatchNorm2d, ReLU, Flatten, Linear).state_dict().keys()
        Assert.Equal(new[] { "0.bias", "0.weight", "1.bias", "1.num_batches_tracked", "1.running_mean", "1.running_var", "1.weight", "4.bias", "4.weight" }, names);
        Assert.Equal(DType.Int64, tensors.Single(t => t.Item1 == "1.num_batches_tracked").Item2.DType);
        Assert.Equal("pt", meta["format"]);
    });

    [Fact]
    public void A_checkpoint_saved_under_Adam_loads_into_the_same_layers_compiled_with_SGD() => InTemp(path =>
    {
        var adam = Mlp().Compile(Optimizers.Adam(1e-2), Losses.CrossEntropy());
        adam.Fit(TestData.Blobs(30), epochs: 1, batchSize: 10, verbose: false);
        adam.Save(path);

        var sgd = Mlp().Compile(Optimizers.SGD(0.1), Losses.CrossEntropy()).Load(path);
        SameParameters(adam, sgd);
        Assert.Equal(3, sgd.Step);
        // The SGD net trains on at once from the loaded weights.
        sgd.Fit(TestData.Blobs(30), epochs: 1, batchSize: 10, verbose: false);
        Assert.Equal(6, sgd.Step);
    });

    [Fact]
    public void A_weights_only_file_loads_into_a_compiled_net_and_keeps_its_optimizer_state() => InTemp(path =>
    {
        var source = Mlp().Build([2], seed: 1);
        source.SaveWeights(path);
        var target = Mlp().Compile(Optimizers.Adam(), Losses.CrossEntropy());
        target.Fit(TestData.Blobs(30), epochs: 1, batchSize: 10, verbose: false);
        target.LoadWeights(path);
        SameParameters(source, target);
        Assert.Equal(3, target.Step);

        // Load of a plain state_dict reads its weights into a compiled net.
        var viaLoad = Mlp().Compile(Optimizers.SGD(0.1), Losses.CrossEntropy()).Load(path);
        SameParameters(source, viaLoad);
        Assert.True(viaLoad.IsCompiled);

        // Full checkpoints give their weights too, and an unbuilt net builds from the recorded input shape.
        source.Save(path);
        SameParameters(source, Mlp().LoadWeights(path));
    });

    [Fact]
    public void Float64_weights_load_into_a_float32_net() => InTemp(path =>
    {
        double[] w = [1, 2, 3, 4, 5, 6], b = [0.5, -0.5, 0.25];
        SafeTensors.write(path, ListModule.OfSeq(new[]
        {
            Tuple.Create("0.weight", Tensor.OfArray(w, [3, 2])),
            Tuple.Create("0.bias", Tensor.OfArray(b, [3])),
        }), MapModule.Empty<string, string>());
        var net = Net.Sequential(Layers.Linear(2, 3)).Build(2).LoadWeights(path);
        Assert.Equal(DType.Float32, net.Parameters["0.weight"].DType);
        Assert.Equal(w, net.Parameters["0.weight"].ToDoubleArray());
        Assert.Equal(b, net.Parameters["0.bias"].ToDoubleArray());
    });

    [Fact]
    public void Mismatched_weights_list_the_keys_and_leave_the_net_as_it_was() => InTemp(path =>
    {
        Net.Sequential(Layers.Linear(2, 4), Layers.ReLU(), Layers.Linear(4, 3), Layers.ReLU(), Layers.Linear(3, 3)).Build(2).SaveWeights(path);
        var net = Mlp().Build([2], seed: 4);
        var before = Mlp().Build([2], seed: 4);
        var e = Assert.Throws<InvalidDataException>(() => net.LoadWeights(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("Unexpected key(s): 4.bias, 4.weight", e.Message);
        SameParameters(before, net);

        Net.Sequential(Layers.Linear(2, 5), Layers.ReLU(), Layers.Linear(5, 3)).Build(2).SaveWeights(path);
        e = Assert.Throws<InvalidDataException>(() => net.LoadWeights(path));
        Assert.Contains("size mismatch for 0.weight", e.Message);
        Assert.Contains("[5; 2]", e.Message);
        SameParameters(before, net);

        // A file from torch records no input shape: an unbuilt net says to build it first.
        SafeTensors.write(path, SafeTensors.read(path).Item1, MapModule.Empty<string, string>());
        var unbuilt = Mlp();
        Assert.Contains("Build(inputShape)", Assert.Throws<InvalidOperationException>(() => unbuilt.LoadWeights(path)).Message);
        Assert.False(unbuilt.IsBuilt);
    });
}
