using FunctionalNets;
using Xunit;

namespace FunctionalNets.Tests;

public class TrainingTests
{
    [Fact]
    public void Xor_is_learned()
    {
        var net = Net.Sequential(Layers.Linear(2, 4), Layers.Tanh(), Layers.Linear(4, 1), Layers.Sigmoid());
        var history = net.Compile(Optimizers.Adam(0.05), Losses.BCE())
            .Fit(TestData.Xor(), epochs: 300, batchSize: 4, verbose: false, seed: 3);

        Assert.Equal(300, history.Epochs);
        Assert.True(history["loss"][^1] < 0.1, $"final loss {history["loss"][^1]}");
        var p = net.Predict(Tensor.OfArray(new float[] { 0, 0, 0, 1, 1, 0, 1, 1 }, [4, 2])).ToDoubleArray();
        Assert.True(p[0] < 0.5 && p[1] > 0.5 && p[2] > 0.5 && p[3] < 0.5, "predictions " + string.Join(", ", p));
        Assert.Equal(new[] { 0, 1, 1, 0 }, net.PredictClasses(TestData.Xor()));
    }

    [Fact]
    public void Mnist_subset_reaches_85_percent()
    {
        var train = Datasets.Mnist.Train().Take(2000);
        var test = Datasets.Mnist.Test().Take(1000);
        Assert.Equal(2000, train.Count);
        Assert.Equal(new[] { 1, 28, 28 }, train.InputShape);

        var net = Net.Sequential(Layers.Flatten(), Layers.Linear(784, 128), Layers.ReLU(), Layers.Linear(128, 10));
        var history = net.Compile(Optimizers.Adam(1e-3), Losses.CrossEntropy(), Metrics.Accuracy())
            .Fit(train, epochs: 3, batchSize: 64, validation: test, verbose: false);

        Assert.Equal(new[] { "loss", "accuracy", "val_loss", "val_accuracy", "lr" }, history.Keys);
        var eval = net.Evaluate(test);
        Assert.True(eval["accuracy"] > 0.85, $"accuracy {eval["accuracy"]}");
        Assert.Equal(history["val_accuracy"][^1], eval["accuracy"], 6);
    }

    [Fact]
    public void Evaluate_returns_loss_and_metrics()
    {
        var data = TestData.Blobs();
        var net = Net.Sequential(Layers.Linear(2, 3))
            .Compile(Optimizers.SGD(0.1, momentum: 0.9), Losses.CrossEntropy(), Metrics.Accuracy(), Metrics.F1());
        net.Fit(data, epochs: 20, batchSize: 30, verbose: false);
        var logs = net.Evaluate(data);
        Assert.Equal(new[] { "accuracy", "f1", "loss" }, logs.Keys.Order());
        Assert.True(logs["accuracy"] > 0.95, $"accuracy {logs["accuracy"]}");
        Assert.True(logs["loss"] < 0.3, $"loss {logs["loss"]}");
        Assert.Equal(data.Count, net.PredictClasses(data).Length);
    }

    [Fact]
    public void Custom_layer_with_parameters_is_trained()
    {
        // A C# affine layer y = x W^T + b, its parameters created and used by lambdas.
        var affine = Layers.Custom(
            "MyAffine",
            inputShape => [3],
            inputShape => new Dictionary<string, Tensor>
            {
                ["w"] = Tensor.Randn(Key.Create(7), [3, inputShape[^1]]) * 0.1,
                ["b"] = Tensor.Zeros([3]),
            },
            (p, x) => x.Matmul(p["w"].Transpose()) + p["b"]);
        var net = Net.Sequential(affine).Build(2);
        Assert.Equal(new[] { "0.w", "0.b" }, net.ParameterNames);
        Assert.Equal(9, net.ParameterCount);
        var before = net.Parameters["0.w"].ToDoubleArray();

        var history = net.Compile(Optimizers.Adam(0.05), Losses.CrossEntropy(), Metrics.Accuracy())
            .Fit(TestData.Blobs(), epochs: 15, batchSize: 30, verbose: false);

        var after = net.Parameters["0.w"].ToDoubleArray();
        Assert.NotEqual(before, after);
        Assert.True(history["loss"][^1] < history["loss"][0] * 0.5, "loss " + string.Join(", ", history["loss"]));
        Assert.True(history["accuracy"][^1] > 0.9);
    }

    [Fact]
    public void Lambda_layer_and_custom_loss_train()
    {
        var mse = Losses.Custom("my_mse", (p, t) => (p - t).Square().Mean());
        var net = Net.Sequential(
            Layers.Linear(2, 8), Layers.Lambda(x => x.Tanh() * 2.0, "TwoTanh"), Layers.Linear(8, 1));
        var history = net.Compile(Optimizers.Adam(0.05), mse)
            .Fit(TestData.Xor(), epochs: 200, batchSize: 4, verbose: false, seed: 1);
        Assert.Contains("TwoTanh", net.ToString());
        Assert.True(history["loss"][^1] < 0.05, "loss " + history["loss"][^1]);
        Assert.True(history["loss"][^1] < history["loss"][0]);
        // The custom loss is the built-in MSE's value.
        var y = net.Predict(Tensor.OfArray(new float[] { 0, 1 }, [1, 2]));
        var t = Tensor.OfArray(new float[] { 1 }, [1, 1]);
        Assert.Equal(Losses.MSE().Compute(y, t).ToScalar(), mse.Compute(y, t).ToScalar(), 6);
    }

    [Fact]
    public void Custom_loss_must_return_a_scalar()
    {
        var bad = Losses.Custom("no_reduce", (p, t) => (p - t).Square());
        var net = Net.Sequential(Layers.Linear(2, 1)).Compile(Optimizers.SGD(), bad);
        var e = Assert.Throws<InvalidOperationException>(() => net.Fit(TestData.Xor(), verbose: false));
        Assert.Contains("no_reduce", e.Message);
        Assert.Contains("scalar", e.Message);
    }

    [Fact]
    public void Gradient_clipping_and_schedules_train()
    {
        var lr = Schedules.WarmupCosine(0.0, 0.1, 5, 100);
        Assert.Equal(0.0, lr.ValueAt(0));
        Assert.Equal(0.1, lr.ValueAt(5), 12);
        var net = Net.Sequential(Layers.Linear(2, 3))
            .Compile(Optimizers.SGD(lr, momentum: 0.9).WithGradientClipping(1.0), Losses.CrossEntropy(), Metrics.Accuracy());
        var h = net.Fit(TestData.Blobs(), epochs: 10, batchSize: 30, verbose: false);
        Assert.True(h["accuracy"][^1] > 0.9);
        Assert.Equal(100, net.Step);
    }
}
