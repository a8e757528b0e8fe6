using FunctionalNets;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>The README's C# example is the host's contract: it must compile as written.</summary>
public class ReadmeTests
{
    // Verbatim from README.md (compiled, not run: ten MNIST epochs are the sample's job, not a unit test's).
    internal static void ReadmeExample()
    {
        var net = Net.Sequential(
            Layers.Flatten(),
            Layers.Linear(784, 512), Layers.ReLU(), Layers.Dropout(0.2),
            Layers.Linear(512, 256), Layers.ReLU(), Layers.Dropout(0.2),
            Layers.Linear(256, 10));

        // download: true fetches the four MNIST files once (sha256-checked) into ~/.cache/functionalnets/mnist.
        var train = Datasets.Mnist.Train(download: true);
        var test = Datasets.Mnist.Test(download: true);

        var history = net
            .Compile(Optimizers.Adam(1e-3), Losses.CrossEntropy(), Metrics.Accuracy())
            .Fit(train, epochs: 10, batchSize: 64, validation: test,
                 callbacks: new[] { Callbacks.EarlyStopping(monitor: "val_loss", patience: 2) });

        Console.WriteLine(net.Evaluate(test)["accuracy"]);
        net.Save("mnist.safetensors");
    }

    // Verbatim from README.md's augmentation and weights paragraph (compiled, not run).
    internal static void ReadmeAugmentationExample(Net net, Dataset train)
    {
        var augmented = train.Map(Transforms.RandomCrop(28, padding: 2), Transforms.RandomErasing(p: 0.5));
        net.Fit(augmented, epochs: 5, callbacks: [Callbacks.TensorBoard("runs/mnist", updateFreq: 100)]);
        net.SaveWeights("mnist-weights.safetensors");   // torch: model.load_state_dict(load_file(path), strict=True)
        Console.WriteLine(net.Summary());
    }

    // Verbatim from README.md's custom-loop paragraph (compiled, not run: CustomLoopTests runs the same loop).
    internal static void ReadmeCustomLoopExample(Dataset train)
    {
        using var net = Net.Sequential(Layers.Flatten(), Layers.Linear(784, 10)).Build([1, 28, 28], seed: 0);
        var (optimizer, loss) = (Optimizers.Adam(1e-3), Losses.CrossEntropy());
        var (parameters, state) = (net.Parameters, net.State);
        var optimizerState = optimizer.Init(parameters);
        var loader = new DataLoader(train, batchSize: 64);
        long step = 0;
        foreach (var (inputs, targets) in loader.Batches(net.EpochKey(1)))
        {
            using var scope = Scope.Open();   // releases the step's intermediate tensors at the end of the iteration
            var (value, newState, grads) = Gradients.ValueAndGrad(p =>
            {
                var (outputs, s) = net.Apply(p, state, inputs, training: true, step: step);
                return (loss.Compute(outputs, targets), s);
            }, parameters);
            (parameters, optimizerState) = optimizer.Update(step, grads, optimizerState, parameters);
            state = newState;
            scope.Keep((parameters, optimizerState, state));
            step++;
        }
        net.SetParameters(parameters).SetState(state);
    }

    [Fact]
    public void Readme_example_runs_on_a_subset()
    {
        var path = TestData.TempFile("readme.safetensors");
        try
        {
            var net = Net.Sequential(
                Layers.Flatten(),
                Layers.Linear(784, 512), Layers.ReLU(), Layers.Dropout(0.2),
                Layers.Linear(512, 256), Layers.ReLU(), Layers.Dropout(0.2),
                Layers.Linear(256, 10));

            var history = net
                .Compile(Optimizers.Adam(1e-3), Losses.CrossEntropy(), Metrics.Accuracy())
                .Fit(Datasets.Mnist.Train().Take(500), epochs: 1, batchSize: 64,
                     validation: Datasets.Mnist.Test().Take(200), verbose: false,
                     callbacks: new[] { Callbacks.EarlyStopping(monitor: "val_loss", patience: 2) });

            Assert.Equal(1, history.Epochs);
            Assert.InRange(net.Evaluate(Datasets.Mnist.Test().Take(200))["accuracy"], 0.5, 1.0);
            net.Save(path);
            Assert.True(File.Exists(path));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
