using FunctionalNets;
using Xunit;

namespace FunctionalNets.Tests;

public class ArgumentTests
{
    [Fact]
    public void Linear_with_zero_features_is_rejected()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Layers.Linear(0, 3));
        Assert.Equal("inFeatures", e.ParamName);
        Assert.Contains("Linear(0->3)", e.Message);
        Assert.Equal("outFeatures", Assert.Throws<ArgumentOutOfRangeException>(() => Layers.Linear(3, 0)).ParamName);
    }

    [Fact]
    public void Dropout_outside_0_1_is_rejected()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Layers.Dropout(1.5));
        Assert.Equal("p", e.ParamName);
        Assert.Contains("[0, 1)", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Layers.Dropout(-0.1));
    }

    // Each bad argument is checked once, by the F# layer or loss the host wraps: the exception names the argument
    // (ParamName) and the layer (its message), whichever language called.
    public static TheoryData<string, string, Func<object>> BadLayerArguments => new()
    {
        { "inChannels", "Conv2d", () => Layers.Conv2d(-1, 8, 3) },
        { "stride", "Conv1d", () => Layers.Conv1d(3, 8, 3, stride: 0) },
        { "outputPadding", "ConvTranspose2d", () => Layers.ConvTranspose2d(3, 8, 3, stride: 2, outputPadding: 2) },
        { "kernelSize", "MaxPool2d", () => Layers.MaxPool2d(0) },
        { "width", "AdaptiveAvgPool2d", () => Layers.AdaptiveAvgPool2d(2, -3) },
        { "features", "BatchNorm1d", () => Layers.BatchNorm1d(0) },
        { "momentum", "BatchNorm2d", () => Layers.BatchNorm2d(4, momentum: 2.0) },
        { "groups", "GroupNorm", () => Layers.GroupNorm(3, 4) },
        { "p", "Dropout2d", () => Layers.Dropout2d(1.0) },
        { "slope", "LeakyReLU", () => Layers.LeakyReLU(double.NaN) },
        { "beta", "Softplus", () => Layers.Softplus(beta: -1) },
        { "body", "Residual", () => Layers.Residual(null!) },
        { "stride", "BasicBlock", () => Layers.BasicBlock(3, 8, stride: 0) },
        { "hiddenSize", "GRU", () => Layers.Gru(3, -2) },
        { "projSize", "LSTM", () => Layers.Lstm(3, 4, projSize: 4) },
        { "numEmbeddings", "Embedding", () => Layers.Embedding(0, 4) },
        { "paddingIdx", "Embedding", () => Layers.Embedding(5, 4, paddingIdx: 5) },
        { "normalizedShape", "LayerNorm", () => Layers.LayerNorm((int[])null!) },
        { "eps", "RMSNorm", () => Layers.RMSNorm(4, eps: 0) },
        { "maxLen", "PositionalEncoding", () => Layers.PositionalEncoding(0, 4, learned: true) },
        { "heads", "MultiHeadAttention", () => Layers.MultiHeadAttention(8, 3) },
        { "feedForward", "TransformerEncoderLayer", () => Layers.TransformerEncoderLayer(8, 2, feedForward: 0) },
        { "layers", "Gpt", () => Layers.Gpt(10, 8, layers: -1) },
        { "numClasses", "ResNet18", () => Models.ResNet18(0) },
        { "delta", "Huber", () => Losses.Huber(delta: 0) },
        { "beta", "SmoothL1", () => Losses.SmoothL1(beta: -1) },
    };

    [Theory]
    [MemberData(nameof(BadLayerArguments))]
    public void A_bad_layer_or_loss_argument_names_the_parameter_and_the_layer(string parameter, string layer, Func<object> make)
    {
        var e = Assert.ThrowsAny<ArgumentException>(make);
        Assert.Equal(parameter, e.ParamName);
        Assert.Contains(layer, e.Message);
    }

    [Fact]
    public void Fit_before_Compile_says_to_compile()
    {
        var net = Net.Sequential(Layers.Linear(2, 1));
        var e = Assert.Throws<InvalidOperationException>(() => net.Fit(TestData.Xor()));
        Assert.Contains("Compile", e.Message);
        Assert.Throws<InvalidOperationException>(() => net.Evaluate(TestData.Xor()));
    }

    [Fact]
    public void Unbuilt_net_says_to_build()
    {
        var net = Net.Sequential(Layers.Linear(2, 1));
        Assert.Contains("Build", Assert.Throws<InvalidOperationException>(() => net.ParameterCount).Message);
        Assert.Contains("Build", Assert.Throws<InvalidOperationException>(() => net.Summary()).Message);
    }

    [Fact]
    public void Other_bad_arguments_name_the_parameter()
    {
        Assert.Equal("layers", Assert.Throws<ArgumentException>(() => Net.Sequential()).ParamName);
        Assert.Equal("learningRate", Assert.Throws<ArgumentOutOfRangeException>(() => Optimizers.Adam(-1)).ParamName);
        Assert.Equal("beta1", Assert.Throws<ArgumentOutOfRangeException>(() => Optimizers.Adam(beta1: 1.0)).ParamName);
        Assert.Equal("momentum", Assert.Throws<ArgumentOutOfRangeException>(() => Optimizers.SGD(momentum: -0.5)).ParamName);
        Assert.Equal("nesterov", Assert.Throws<ArgumentException>(() => Optimizers.SGD(nesterov: true)).ParamName);
        Assert.Equal("maxNorm", Assert.Throws<ArgumentOutOfRangeException>(() => Optimizers.Adam().WithGradientClipping(0)).ParamName);
        Assert.Equal("labelSmoothing", Assert.Throws<ArgumentOutOfRangeException>(() => Losses.CrossEntropy(2)).ParamName);
        Assert.Equal("k", Assert.Throws<ArgumentOutOfRangeException>(() => Metrics.TopKAccuracy(0)).ParamName);
        Assert.Equal("patience", Assert.Throws<ArgumentOutOfRangeException>(() => Callbacks.EarlyStopping(patience: -1)).ParamName);
        Assert.Equal("factor", Assert.Throws<ArgumentOutOfRangeException>(() => Callbacks.ReduceLROnPlateau(factor: 1.5)).ParamName);
        Assert.Equal("stepSize", Assert.Throws<ArgumentOutOfRangeException>(() => Schedules.StepDecay(0.1, 0)).ParamName);
        Assert.Equal("boundaries", Assert.Throws<ArgumentException>(() =>
            Schedules.Join([Schedules.Constant(1), Schedules.Constant(2)], [])).ParamName);
        Assert.Equal("labels", Assert.Throws<ArgumentException>(() =>
            Datasets.FromArrays(new float[2, 2], new[] { 0 })).ParamName);
        Assert.Equal("trainFraction", Assert.Throws<ArgumentOutOfRangeException>(() => TestData.Xor().Split(1.5)).ParamName);

        var net = Net.Sequential(Layers.Linear(2, 1)).Compile(Optimizers.SGD(), Losses.MSE());
        Assert.Equal("epochs", Assert.Throws<ArgumentOutOfRangeException>(() => net.Fit(TestData.Xor(), epochs: 0)).ParamName);
        Assert.Equal("batchSize", Assert.Throws<ArgumentOutOfRangeException>(() => net.Fit(TestData.Xor(), batchSize: 0)).ParamName);
    }

    [Fact]
    public void Wrong_input_shape_gives_the_layer_message()
    {
        var net = Net.Sequential(Layers.Linear(3, 1)).Compile(Optimizers.SGD(), Losses.MSE());
        var e = Assert.ThrowsAny<ArgumentException>(() => net.Fit(TestData.Xor(), verbose: false));
        Assert.Contains("Linear(3->1)", e.Message);
    }

    [Fact]
    public void Missing_mnist_folder_lists_where_it_looked()
    {
        var missing = Path.Combine(Path.GetTempPath(), "fn-no-such-mnist-" + Guid.NewGuid().ToString("N"));
        var e = Assert.Throws<FileNotFoundException>(() => Datasets.Mnist.Train(missing));
        Assert.Contains(missing, e.Message);
    }
}
