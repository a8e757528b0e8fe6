using FunctionalNets.Nn;
using Microsoft.FSharp.Collections;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>Issue 14, item 3: Net.Load of a full checkpoint compiles an uncompiled net as the saved one was
/// (Keras's load_model), so it evaluates and resumes training at once.</summary>
public class CompileRestoreTests
{
    private static Net Mlp() => Net.Sequential(Layers.Linear(2, 6), Layers.ReLU(), Layers.Linear(6, 3));

    private static void InTemp(Action<string> test)
    {
        var path = TestData.TempFile("compiled.safetensors");
        try { test(path); }
        finally { File.Delete(path); }
    }

    [Fact]
    public void A_loaded_net_evaluates_and_resumes_exactly_as_the_saved_one() => InTemp(path =>
    {
        var data = TestData.Blobs(40);
        var saved = Mlp().Compile(
            Optimizers.Adam(0.01, beta1: 0.8).WithGradientClipping(1.0),
            Losses.CrossEntropy(labelSmoothing: 0.1),
            Metrics.Accuracy(), Metrics.TopKAccuracy(2));
        saved.Fit(data, epochs: 1, batchSize: 10, verbose: false);
        saved.Save(path);

        var loaded = Mlp().Load(path);
        Assert.True(loaded.IsCompiled);
        Assert.Equal(saved.Optimizer!.Name, loaded.Optimizer!.Name);
        Assert.Equal(saved.Loss!.Name, loaded.Loss!.Name);
        // Same weights, loss (label smoothing included) and metrics: the same numbers.
        Assert.Equal(saved.Evaluate(data), loaded.Evaluate(data));

        // The optimizer's state came back too: one more epoch on each gives the same weights bit for bit.
        saved.Fit(data, epochs: 2, batchSize: 10, verbose: false, initialEpoch: 1);
        loaded.Fit(data, epochs: 2, batchSize: 10, verbose: false, initialEpoch: 1);
        foreach (var (name, t) in saved.Parameters)
            Assert.Equal(t.ToDoubleArray(), loaded.Parameters[name].ToDoubleArray());
    });

    [Fact]
    public void Checkpoints_without_a_recipe_load_uncompiled_and_say_why() => InTemp(path =>
    {
        // An older checkpoint: no "compile" entry.
        var net = Mlp().Compile(Optimizers.SGD(0.1), Losses.CrossEntropy()).Build(2);
        net.Save(path);
        var (tensors, meta) = SafeTensors.read(path);
        SafeTensors.write(path, tensors, meta.Remove("compile"));
        var old = Mlp().Load(path);
        Assert.False(old.IsCompiled);
        Assert.DoesNotContain("Load could not", Assert.Throws<InvalidOperationException>(() => old.Evaluate(TestData.Blobs())).Message);

        // A custom loss cannot be rebuilt: the net loads uncompiled and Evaluate says why.
        Mlp().Compile(Optimizers.SGD(0.1), Losses.Custom("mine", (p, t) => p.Mean())).Build(2).Save(path);
        var custom = Mlp().Load(path);
        Assert.False(custom.IsCompiled);
        var e = Assert.Throws<InvalidOperationException>(() => custom.Evaluate(TestData.Blobs()));
        Assert.Contains("the loss mine cannot be rebuilt", e.Message);
    });
}
