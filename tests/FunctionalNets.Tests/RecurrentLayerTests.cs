using FunctionalNets;
using Xunit;

namespace FunctionalNets.Tests;

public class RecurrentLayerTests
{
    [Fact]
    public void Lstm_has_PyTorchs_parameter_names_and_count()
    {
        var net = Net.Sequential(Layers.RowsAsSequence(), Layers.Lstm(28, 16, numLayers: 2, bidirectional: true, returnSequences: false), Layers.Linear(32, 10));
        net.Build(1, 28, 28);
        // torch.nn.LSTM(28, 16, num_layers=2, bidirectional=True): per direction 4H x in, 4H x H and two 4H biases;
        // the second layer's input is 2H.
        int layer0 = 2 * (64 * 28 + 64 * 16 + 2 * 64), layer1 = 2 * (64 * 32 + 64 * 16 + 2 * 64);
        Assert.Equal(layer0 + layer1 + 32 * 10 + 10, net.ParameterCount);
        Assert.Contains("1.weight_ih_l0", net.ParameterNames);
        Assert.Contains("1.bias_hh_l1_reverse", net.ParameterNames);
        Assert.Equal(new[] { 64, 32 }, net.Parameters["1.weight_ih_l1"].Dims());
        Assert.Equal(new[] { 3, 10 }, net.Predict(Tensor.Zeros([3, 1, 28, 28])).Dims());
    }

    [Fact]
    public void Sequence_outputs_have_time_and_directions()
    {
        foreach (var layer in new[] { Layers.Rnn(4, 5, bidirectional: true), Layers.Gru(4, 5, bidirectional: true), Layers.Lstm(4, 5, bidirectional: true) })
        {
            var net = Net.Sequential(layer);
            net.Build(7, 4);
            Assert.Equal(new[] { 2, 7, 10 }, net.Predict(Tensor.Zeros([2, 7, 4])).Dims());
        }
        var last = Net.Sequential(Layers.Gru(4, 5), Layers.LastStep());
        last.Build(7, 4);
        Assert.Equal(new[] { 2, 5 }, last.Predict(Tensor.Zeros([2, 7, 4])).Dims());
    }

    [Fact]
    public void An_lstm_learns_to_remember_the_first_step()
    {
        // Label = whether the first of 6 noisy steps is positive: only a state carried through time can tell.
        const int n = 256, t = 6;
        var rng = new Random(5);
        var x = new float[n * t];
        var y = new long[n];
        for (int i = 0; i < n; i++)
        {
            for (int s = 0; s < t; s++) x[i * t + s] = (float)(rng.NextDouble() * 2 - 1);
            y[i] = x[i * t] > 0 ? 1 : 0;
        }
        var data = Datasets.FromTensors(Tensor.OfArray(x, [n, t, 1]), Tensor.OfArray(y, [n]));
        var net = Net.Sequential(Layers.Lstm(1, 12, returnSequences: false), Layers.Linear(12, 2))
            .Compile(Optimizers.Adam(0.02), Losses.CrossEntropy(), Metrics.Accuracy());
        net.Fit(data, epochs: 30, batchSize: 32, verbose: false, seed: 1);
        var accuracy = net.Evaluate(data)["accuracy"];
        Assert.True(accuracy > 0.9, $"accuracy {accuracy}");
    }

    [Fact]
    public void Bad_arguments_and_inputs_name_the_layer()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Layers.Lstm(0, 4));
        Assert.Contains("LSTM(0->4)", e.Message);
        Assert.Equal("inputSize", e.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => Layers.Gru(3, 4, dropout: 1.0));
        Assert.Throws<ArgumentException>(() => Layers.Rnn(3, 4, nonlinearity: "sigmoid"));
        var net = Net.Sequential(Layers.Lstm(3, 4));
        var build = Assert.ThrowsAny<ArgumentException>(() => net.Build(7, 5));
        Assert.Contains("LSTM(3->4)", build.Message);
        Assert.Contains("[7; 5]", build.Message);
    }
}
