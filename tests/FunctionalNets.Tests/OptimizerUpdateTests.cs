using FunctionalNets;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>Optimizer.Init and Optimizer.Update step by step, against PyTorch's documented update rules
/// written out by hand with fixed gradients.</summary>
public class OptimizerUpdateTests
{
    private static (Net Net, ParameterTree Params) Linear()
    {
        var net = Net.Sequential(Layers.Linear(2, 1)).Build([2], seed: 5);
        return (net, net.Parameters);
    }

    private static double[] Flat(ParameterTree t) => t.Values.SelectMany(v => v.ToDoubleArray()).ToArray();

    private static void Close(double[] expected, double[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6 * (1 + Math.Abs(expected[i])), $"[{i}]: expected {expected[i]}, got {actual[i]}");
    }

    /// <summary>Gradients 0.5, -1, 2 for (w0, w1, b) on the first step, 1.5 times those on the second.</summary>
    private static ParameterTree Grads(ParameterTree p, double scale) =>
        p.Zip(p, (t, _) => t.Dims().Length == 2 ? Tensor.OfArray(new float[] { (float)(0.5 * scale), (float)(-1.0 * scale) }, [1, 2]) : Tensor.OfArray(new float[] { (float)(2.0 * scale) }, [1]));

    [Fact]
    public void SGD_with_momentum_follows_torch_s_rule_over_two_steps()
    {
        var (net, p0) = Linear();
        using var _ = net;
        var sgd = Optimizers.SGD(0.1, momentum: 0.9);
        var s0 = sgd.Init(p0);
        var (p1, s1) = sgd.Update(0, Grads(p0, 1), s0, p0);
        var (p2, _) = sgd.Update(1, Grads(p0, 1.5), s1, p1);
        double[] g = { 0.5, -1.0, 2.0 }, start = Flat(p0);
        // torch.optim.SGD: buf_1 = g_1; buf_2 = 0.9 buf_1 + g_2; p -= lr buf.
        Close(start.Select((v, i) => v - 0.1 * g[i]).ToArray(), Flat(p1));
        Close(start.Select((v, i) => v - 0.1 * g[i] - 0.1 * (0.9 * g[i] + 1.5 * g[i])).ToArray(), Flat(p2));
        // Update changes nothing it is given.
        Close(start, Flat(net.Parameters));
    }

    [Fact]
    public void Adam_follows_torch_s_bias_corrected_rule_over_two_steps()
    {
        var (net, p0) = Linear();
        using var _ = net;
        const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
        var adam = Optimizers.Adam(lr);
        var (p1, s1) = adam.Update(0, Grads(p0, 1), adam.Init(p0), p0);
        var (p2, _) = adam.Update(1, Grads(p0, 1.5), s1, p1);
        double[] g = { 0.5, -1.0, 2.0 }, p = Flat(p0), expected1 = new double[3], expected2 = new double[3];
        for (int i = 0; i < 3; i++)
        {
            double m1 = (1 - b1) * g[i], v1 = (1 - b2) * g[i] * g[i];
            expected1[i] = p[i] - lr * (m1 / (1 - b1)) / (Math.Sqrt(v1 / (1 - b2)) + eps);
            double g2 = 1.5 * g[i], m2 = b1 * m1 + (1 - b1) * g2, v2 = b2 * v1 + (1 - b2) * g2 * g2;
            expected2[i] = expected1[i] - lr * (m2 / (1 - b1 * b1)) / (Math.Sqrt(v2 / (1 - b2 * b2)) + eps);
        }
        Close(expected1, Flat(p1));
        Close(expected2, Flat(p2));
    }

    [Fact]
    public void A_schedule_is_read_at_the_step_given_to_Update()
    {
        var (net, p0) = Linear();
        using var _ = net;
        // StepLR(lr=0.1, step_size=1, gamma=0.5): 0.1 at step 0, 0.05 at step 1, 0.025 at step 2.
        var sgd = Optimizers.SGD(Schedules.StepDecay(0.1, 1, 0.5));
        var s = sgd.Init(p0);
        var (p1, _) = sgd.Update(2, Grads(p0, 1), s, p0);
        double[] g = { 0.5, -1.0, 2.0 };
        Close(Flat(p0).Select((v, i) => v - 0.025 * g[i]).ToArray(), Flat(p1));
    }

    [Fact]
    public void Update_names_gradients_that_do_not_match_the_parameters()
    {
        var (net, p0) = Linear();
        using var _ = net;
        var adam = Optimizers.Adam();
        using var other = Net.Sequential(Layers.Linear(2, 2)).Build([2]);
        var e = Assert.Throws<ArgumentException>(() => adam.Update(0, other.Parameters, adam.Init(p0), p0));
        Assert.Equal("gradients", e.ParamName);
        Assert.Contains("Optimizer.Update", e.Message);
        Assert.Contains("0.weight", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => adam.Update(-1, p0, adam.Init(p0), p0));
        Assert.Equal("state", Assert.Throws<ArgumentNullException>(() => adam.Update(0, p0, null!, p0)).ParamName);
    }

    [Fact]
    public void Bad_arguments_to_the_factories_and_to_Fit_name_the_method_and_the_parameter()
    {
        var beta = Assert.Throws<ArgumentOutOfRangeException>(() => Optimizers.Adam(beta1: 1.5));
        Assert.Equal("beta1", beta.ParamName);
        Assert.Contains("Optimizers.Adam", beta.Message);
        var lr = Assert.Throws<ArgumentOutOfRangeException>(() => Optimizers.RMSprop(-1.0));
        Assert.Equal("learningRate", lr.ParamName);
        Assert.Contains("Optimizers.RMSprop", lr.Message);
        using var net = Net.Sequential(Layers.Linear(2, 1)).Compile(Optimizers.SGD(), Losses.MSE());
        var train = Assert.Throws<ArgumentNullException>(() => net.Fit(null!));
        Assert.Equal("train", train.ParamName);
        Assert.Contains("Net.Fit", train.Message);
        Assert.Contains("Net.Build", Assert.Throws<ArgumentOutOfRangeException>(() => net.Build(2, -1)).Message);
    }
}
