using FunctionalNets;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>A net's parameters and state read and set as named trees, and its layer function run on given
/// parameters, against values worked out by hand.</summary>
public class NetParameterTests
{
    private static Net LinearBatchNormLinear() =>
        Net.Sequential(Layers.Linear(2, 3), Layers.BatchNorm1d(3), Layers.Linear(3, 1)).Build([2], seed: 1);

    private static ParameterTree AllHalf(ParameterTree p) => p.Map(t => t * 0.0 + 0.5);

    [Fact]
    public void Parameters_and_State_are_named_as_PyTorch_s_state_dict()
    {
        using var net = LinearBatchNormLinear();
        Assert.Equal(new[] { "0.weight", "0.bias", "1.weight", "1.bias", "2.weight", "2.bias" }, net.Parameters.Keys);
        Assert.Equal(new[] { "1.running_mean", "1.running_var", "1.num_batches_tracked" }, net.State.Keys);
        Assert.Equal(3 * 2 + 3 + 3 + 3 + 3 + 1, net.Parameters.ElementCount);
        Assert.Equal(new[] { 3, 2 }, net.Parameters["0.weight"].Dims());
        var missing = Assert.Throws<KeyNotFoundException>(() => net.Parameters["3.weight"]);
        Assert.Contains("0.weight", missing.Message);
    }

    [Fact]
    public void SetParameters_replaces_the_weights_that_Predict_uses()
    {
        using var net = LinearBatchNormLinear();
        net.SetParameters(AllHalf(net.Parameters));
        Assert.All(net.Parameters.Values.SelectMany(t => t.ToDoubleArray()), v => Assert.Equal(0.5, v));
        // Eval mode with fresh running stats (mean 0, var 1): h = 0.5 (x0 + x1) + 0.5 in each of 3 units,
        // BatchNorm gives 0.5 h / sqrt(1 + 1e-5) + 0.5, the output 0.5 * (sum over the 3 units) + 0.5.
        double x0 = 1.0, x1 = -3.0;
        double h = 0.5 * (x0 + x1) + 0.5, bn = 0.5 * h / Math.Sqrt(1 + 1e-5) + 0.5;
        var y = net.Predict(Tensor.OfArray(new float[] { (float)x0, (float)x1 }, [1, 2])).ToDoubleArray();
        Assert.Equal(0.5 * 3 * bn + 0.5, y[0], 5);
    }

    [Fact]
    public void A_failed_SetParameters_names_the_path_and_leaves_the_net_unchanged()
    {
        using var net = LinearBatchNormLinear();
        var before = net.Parameters.ToDictionary(kv => kv.Key, kv => kv.Value.ToDoubleArray());

        var wrongShape = net.Parameters.ToDictionary(kv => kv.Key, kv => kv.Value);
        wrongShape["2.weight"] = Tensor.Zeros([3, 1]);
        wrongShape["0.bias"] = Tensor.Zeros([3]);
        var e = Assert.Throws<ArgumentException>(() => net.SetParameters(wrongShape));
        Assert.Equal("parameters", e.ParamName);
        Assert.Contains("Net.SetParameters", e.Message);
        Assert.Contains("2.weight", e.Message);
        Assert.Contains("[3, 1]", e.Message);

        var missing = net.Parameters.Where(kv => kv.Key != "2.bias").ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Contains("missing [2.bias]", Assert.Throws<ArgumentException>(() => net.SetParameters(missing)).Message);

        var wrongType = net.Parameters.ToDictionary(kv => kv.Key, kv => kv.Value);
        wrongType["1.bias"] = Tensor.OfArray(new double[] { 1, 2, 3 }, [3]);
        var d = Assert.Throws<ArgumentException>(() => net.SetParameters(wrongType));
        Assert.Contains("1.bias", d.Message);
        Assert.Contains("dtype", d.Message);

        Assert.Equal("parameters", Assert.Throws<ArgumentNullException>(() => net.SetParameters(null!)).ParamName);
        foreach (var (path, values) in net.Parameters)
            Assert.Equal(before[path], values.ToDoubleArray());
    }

    [Fact]
    public void Apply_in_training_mode_returns_BatchNorm_s_updated_running_stats_and_SetState_stores_them()
    {
        using var net = LinearBatchNormLinear();
        net.SetParameters(AllHalf(net.Parameters));
        // Two rows: h = 0.5 (x0 + x1) + 0.5 is 1.5 and -0.5 in every unit: batch mean 0.5, unbiased variance 2.
        var x = Tensor.OfArray(new float[] { 1, 1, -1, -1 }, [2, 2]);
        var (_, state) = net.Apply(net.Parameters, net.State, x, training: true);
        // torch's BatchNorm1d(momentum=0.1): running = 0.9 running + 0.1 batch statistic.
        Assert.All(state["1.running_mean"].ToDoubleArray(), v => Assert.Equal(0.05, v, 6));
        Assert.All(state["1.running_var"].ToDoubleArray(), v => Assert.Equal(0.9 + 0.1 * 2.0, v, 6));
        Assert.Equal(new double[] { 1 }, state["1.num_batches_tracked"].ToDoubleArray());
        Assert.All(net.State["1.running_mean"].ToDoubleArray(), v => Assert.Equal(0.0, v));

        net.SetState(state);
        Assert.All(net.State["1.running_mean"].ToDoubleArray(), v => Assert.Equal(0.05, v, 6));
        var e = Assert.Throws<ArgumentException>(() => net.SetState(net.Parameters));
        Assert.Contains("Net.SetState", e.Message);
        Assert.Contains("1.running_mean", e.Message);
    }

    [Fact]
    public void Apply_draws_Fit_s_dropout_randomness_at_the_given_step()
    {
        using var net = Net.Sequential(Layers.Dropout(0.5)).Build([64], seed: 2);
        var x = Tensor.Ones([1, 64]);
        var eval = net.Apply(net.Parameters, net.State, x).Output.ToDoubleArray();
        Assert.All(eval, v => Assert.Equal(1.0, v));
        var a = net.Apply(net.Parameters, net.State, x, training: true, step: 4).Output.ToDoubleArray();
        var b = net.Apply(net.Parameters, net.State, x, training: true, step: 4).Output.ToDoubleArray();
        var c = net.Apply(net.Parameters, net.State, x, training: true, step: 5).Output.ToDoubleArray();
        // Inverted dropout: kept units are scaled by 1 / (1 - p) = 2.
        Assert.All(a, v => Assert.True(v == 0.0 || v == 2.0, $"{v}"));
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }
}
