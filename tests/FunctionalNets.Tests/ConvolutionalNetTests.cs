using FunctionalNets;
using Xunit;

namespace FunctionalNets.Tests;

public class ConvolutionalNetTests
{
    [Fact]
    public void Model_zoo_nets_have_their_PyTorch_parameter_counts()
    {
        // conv 1*32*9+32, conv 32*64*9+64, fc 3136*128+128, fc 128*10+10
        Assert.Equal(320 + 18496 + 401536 + 1290, Net.FromModel(Models.MnistCnn()).Build(1, 28, 28).ParameterCount);
        Assert.Equal(11173962, Net.FromModel(Models.ResNet18()).Build(3, 32, 32).ParameterCount);
    }

    [Fact]
    public void A_small_cnn_fits_an_mnist_subset()
    {
        var train = Datasets.Mnist.Train().Take(1024);
        var test = Datasets.Mnist.Test().Take(500);
        var net = Net.Sequential(
            Layers.Conv2d(1, 8, 3, padding: 1), Layers.BatchNorm2d(8), Layers.ReLU(), Layers.MaxPool2d(2),
            Layers.Conv2d(8, 16, 3, padding: 1), Layers.ReLU(), Layers.AdaptiveAvgPool2d(4),
            Layers.Flatten(), Layers.Linear(16 * 16, 10));
        net.Compile(Optimizers.Adam(3e-3), Losses.CrossEntropy(), Metrics.Accuracy())
            .Fit(train, epochs: 6, batchSize: 32, verbose: false, seed: 1);
        var accuracy = net.Evaluate(test)["accuracy"];
        Assert.True(accuracy > 0.8, $"accuracy {accuracy}");
    }

    [Fact]
    public void Bad_convolution_arguments_and_inputs_are_named()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Layers.Conv2d(3, 8, 3, groups: 2));
        Assert.Contains("groups", e.Message);
        var net = Net.Sequential(Layers.Conv2d(3, 8, 5));
        var e2 = Assert.Throws<ArgumentException>(() => net.Build(3, 4, 4));
        Assert.Contains("Conv2d(3->8", e2.Message);
        Assert.Contains("kernel is larger", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => Net.Sequential(Layers.Conv2d(3, 8, 3)).Build(1, 28, 28));
        Assert.Contains("1 channels, expected 3", e3.Message);
    }
}
