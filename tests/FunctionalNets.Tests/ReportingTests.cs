using System.Globalization;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>Issue 14, items 5 and 6 from C#: summaries of nested and zoo models, callback messages in the
/// history, and errors in C# words.</summary>
public class ReportingTests
{
    private static string[] Rows(string summary) =>
        summary.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0 && char.IsDigit(l[0])).ToArray();

    private static long Count(string row) =>
        long.Parse(row.Split(' ', StringSplitOptions.RemoveEmptyEntries)[^1], NumberStyles.AllowThousands, CultureInfo.InvariantCulture);

    [Fact]
    public void Summary_of_the_zoo_MNIST_CNN_has_a_row_per_layer_that_adds_up_to_the_total()
    {
        var net = Net.FromModel(Models.MnistCnn()).Build(1, 28, 28);
        var s = net.Summary();
        var rows = Rows(s);
        // conv, pool, relu, conv, pool, relu, flatten, linear, relu, dropout, linear.
        Assert.Equal(11, rows.Length);
        // By hand: conv1 32*1*9+32 = 320, conv2 64*32*9+64 = 18,496, fc1 3136*128+128 = 401,536, fc2 128*10+10 = 1,290.
        Assert.Equal(new long[] { 320, 0, 0, 18496, 0, 0, 0, 401536, 0, 0, 1290 }, rows.Select(Count).ToArray());
        Assert.Contains("Total params: 421,642", s);
        Assert.Contains("[N, 64, 7, 7]", rows[5]);
        Assert.Contains("[N, 3136]", rows[6]);
        Assert.All(s.Split('\n'), l => Assert.True(l.Length < 120, $"row too wide: {l}"));
    }

    [Fact]
    public void Fit_messages_and_the_learning_rate_reach_the_History()
    {
        var net = Net.Sequential(Layers.Linear(2, 3)).Compile(Optimizers.SGD(0.1), Losses.CrossEntropy(), Metrics.Accuracy());
        var history = net.Fit(TestData.Blobs(30), epochs: 4, batchSize: 10, verbose: false,
            callbacks: [Callbacks.EarlyStopping(monitor: "lr", patience: 1)]);
        // The constant rate never decreases, so it stops at epoch 2 with epoch 1 as the best.
        Assert.Equal(2, history.Epochs);
        Assert.Equal(new[] { "loss", "accuracy", "lr" }, history.Keys.ToArray());
        Assert.Equal(new[] { 0.1, 0.1 }, history["lr"]);
        var message = Assert.Single(history.Messages);
        Assert.StartsWith("Epoch 2: early stopping: lr has not decreased", message);
        Assert.Contains("restoring the weights of epoch 1", message);
    }

    [Fact]
    public void Errors_from_Fit_use_the_CSharp_names_and_shapes()
    {
        // Float labels for cross-entropy: C# names, shapes with commas.
        var x = Tensor.OfArray(new float[12], [4, 3]);
        var labels = Tensor.OfArray(new float[] { 0, 1, 2, 1 }, [4]);
        var net = Net.Sequential(Layers.Linear(3, 3)).Compile(Optimizers.SGD(0.1), Losses.CrossEntropy());
        var e = Assert.Throws<ArgumentException>(() => net.Fit(Datasets.FromTensors(x, labels), verbose: false));
        Assert.Contains("Losses.CrossEntropy", e.Message);
        Assert.Contains("integer class indices", e.Message);
        Assert.Contains("[4]", e.Message);
        Assert.Contains("x.Cast(", e.Message);
        Assert.DoesNotContain("Tensor.cast", e.Message);

        // A validation set of the wrong shape fails before any step, with both shapes as C# writes them.
        var images = Tensor.OfArray(new float[4 * 784], [4, 1, 28, 28]);
        var ids = Tensor.OfArray(new long[] { 0, 1, 2, 3 }, [4]);
        var flat = Tensor.OfArray(new float[4 * 784], [4, 784]);
        var mlp = Net.Sequential(Layers.Flatten(), Layers.Linear(784, 10)).Compile(Optimizers.SGD(0.1), Losses.CrossEntropy());
        e = Assert.Throws<ArgumentException>(() =>
            mlp.Fit(Datasets.FromTensors(images, ids), validation: Datasets.FromTensors(flat, ids), verbose: false));
        Assert.Contains("Net.Fit: the validation input is [784] per example but the training input is [1, 28, 28]", e.Message);
        Assert.Equal(0, mlp.Step);
    }

    [Fact]
    public void The_logged_lr_follows_a_schedule()
    {
        // 30 examples in batches of 10: steps 0-2 in epoch 1, 3-5 in epoch 2, 6-8 in epoch 3. StepDecay(0.1, 3, 0.5)
        // is 0.1 * 0.5^floor(step / 3), and each epoch logs the rate of its last step: 0.1, 0.05, 0.025.
        var net = Net.Sequential(Layers.Linear(2, 3)).Compile(Optimizers.SGD(Schedules.StepDecay(0.1, 3, 0.5)), Losses.CrossEntropy());
        var history = net.Fit(TestData.Blobs(30), epochs: 3, batchSize: 10, verbose: false);
        Assert.Equal(new[] { 0.1, 0.05, 0.025 }, history["lr"]);
    }
}
