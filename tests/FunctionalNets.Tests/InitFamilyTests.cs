using FunctionalNets;
using FunctionalNets.Nn;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>FunctionalNets.Nn's Init called from C# as its CompiledNames promise (Init.KaimingUniform with named
/// options, dtype and device left out), against torch.nn.init's documented gains, fans and bounds; the draws are
/// checked by their range and by sample moments within five standard errors.</summary>
public class InitFamilyTests
{
    private static void Close(double expected, double actual, double tolerance, string what) =>
        Assert.True(Math.Abs(expected - actual) <= tolerance, $"{what}: expected {expected} within {tolerance}, got {actual}");

    [Fact]
    public void CalculateGain_and_Fans_are_torch_s()
    {
        Assert.Equal(1.0, Init.CalculateGain(Nonlinearity.Linear));
        Assert.Equal(1.0, Init.CalculateGain(Nonlinearity.Sigmoid));
        Assert.Equal(5.0 / 3.0, Init.CalculateGain(Nonlinearity.Tanh));
        Assert.Equal(Math.Sqrt(2.0), Init.CalculateGain(Nonlinearity.Relu));
        Assert.Equal(Math.Sqrt(2.0 / (1 + 0.2 * 0.2)), Init.CalculateGain(Nonlinearity.LeakyRelu, 0.2));
        Assert.Equal(0.75, Init.CalculateGain(Nonlinearity.Selu));
        // [out, in, kh, kw]: fan_in = in kh kw, fan_out = out kh kw.
        Assert.Equal(Tuple.Create(3 * 5 * 5, 16 * 5 * 5), Init.Fans(new[] { 16, 3, 5, 5 }));
    }

    [Fact]
    public void Zeros_and_Constant_fill_the_shape()
    {
        var zeros = Init.Zeros(new[] { 2, 3 });
        Assert.Equal(new[] { 2, 3 }, zeros.Dims());
        Assert.All(zeros.ToDoubleArray(), v => Assert.Equal(0.0, v));
        var sevens = Init.Constant(new[] { 4 }, 7.0);
        Assert.Equal(new double[] { 7, 7, 7, 7 }, sevens.ToDoubleArray());
        Assert.Contains("Init.Constant", Assert.ThrowsAny<ArgumentException>(() => Init.Constant(new[] { -1 }, 1.0)).Message);
    }

    /// <summary>Checks that draws lie in [-bound, bound] and have mean 0 and variance bound^2 / 3 (uniform) within
    /// five standard errors.</summary>
    private static void UniformWithin(Tensor t, double bound, string what)
    {
        var v = t.ToDoubleArray();
        int n = v.Length;
        Assert.All(v, x => Assert.True(Math.Abs(x) <= bound, $"{what}: {x} outside +-{bound}"));
        double variance = bound * bound / 3;
        Close(0.0, v.Average(), 5 * Math.Sqrt(variance / n), $"{what} mean");
        // The variance of x^2 for U(-b, b) is b^4 / 5 - b^4 / 9.
        double b4 = Math.Pow(bound, 4);
        Close(variance, v.Average(x => x * x), 5 * Math.Sqrt((b4 / 5 - b4 / 9) / n), $"{what} second moment");
    }

    private static void NormalWith(Tensor t, double mean, double std, string what)
    {
        var v = t.ToDoubleArray();
        int n = v.Length;
        Close(mean, v.Average(), 5 * std / Math.Sqrt(n), $"{what} mean");
        double m = v.Average();
        // The sample variance of a normal has standard error sigma^2 sqrt(2 / n).
        Close(std * std, v.Average(x => (x - m) * (x - m)), 5 * std * std * Math.Sqrt(2.0 / n), $"{what} variance");
    }

    [Fact]
    public void Uniform_and_Normal_draw_with_the_moments_asked_for()
    {
        var u = Init.Uniform(Key.Create(1), new[] { 100, 100 }, low: 2.0, high: 4.0);
        Assert.All(u.ToDoubleArray(), x => Assert.InRange(x, 2.0, 4.0));
        UniformWithin(u - 3.0, 1.0, "U(2, 4) - 3");
        NormalWith(Init.Normal(Key.Create(2), new[] { 20000 }, mean: -1.0, std: 0.5), -1.0, 0.5, "N(-1, 0.25)");
        Assert.Equal(u.ToDoubleArray(), Init.Uniform(Key.Create(1), new[] { 100, 100 }, low: 2.0, high: 4.0).ToDoubleArray());
        var e = Assert.ThrowsAny<ArgumentException>(() => Init.Normal(Key.Create(2), new[] { 3 }, std: -1));
        Assert.Contains("Init.Normal", e.Message);
    }

    [Fact]
    public void Xavier_and_Kaiming_scale_by_the_fans_as_torch_nn_init()
    {
        // A [200, 100] weight: fan_in 100, fan_out 200.
        int[] shape = { 200, 100 };
        UniformWithin(Init.XavierUniform(Key.Create(3), shape, gain: 2.0), 2.0 * Math.Sqrt(6.0 / 300), "xavier_uniform_(gain=2)");
        NormalWith(Init.XavierNormal(Key.Create(4), shape), 0.0, Math.Sqrt(2.0 / 300), "xavier_normal_");
        // kaiming_uniform_ defaults (a=0, fan_in, leaky_relu): bound = sqrt(3) sqrt(2) / sqrt(fan_in).
        UniformWithin(Init.KaimingUniform(Key.Create(5), shape), Math.Sqrt(6.0 / 100), "kaiming_uniform_");
        // kaiming_normal_(mode='fan_out', nonlinearity='tanh'): std = (5/3) / sqrt(fan_out).
        NormalWith(Init.KaimingNormal(Key.Create(6), shape, mode: FanMode.FanOut, nonlinearity: Nonlinearity.Tanh),
            0.0, 5.0 / 3.0 / Math.Sqrt(200), "kaiming_normal_(fan_out, tanh)");
    }
}
