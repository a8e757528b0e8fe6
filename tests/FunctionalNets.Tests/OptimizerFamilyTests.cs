using FunctionalNets;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>The scheduled overloads and the options of AdamW, RMSprop and Adagrad over two Optimizer.Update steps,
/// against the update rules of PyTorch's documentation (torch.optim) written out by hand with fixed gradients.</summary>
public class OptimizerFamilyTests
{
    private static double[] Flat(ParameterTree t) => t.Values.SelectMany(v => v.ToDoubleArray()).ToArray();

    private static void Close(double[] expected, double[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6 * (1 + Math.Abs(expected[i])), $"{what}[{i}]: expected {expected[i]}, got {actual[i]}");
    }

    // The gradients of (w0, w1, b) of a Linear(2, 1): G on the first step, Scale2 times G on the second.
    private static readonly double[] G = { 0.5, -1.0, 2.0 };

    private static ParameterTree Grads(ParameterTree p, double scale) =>
        p.Zip(p, (t, _) => t.Dims().Length == 2
            ? Tensor.OfArray(new float[] { (float)(G[0] * scale), (float)(G[1] * scale) }, [1, 2])
            : Tensor.OfArray(new float[] { (float)(G[2] * scale) }, [1]));

    /// <summary>Two updates (steps 0 and 1) from a fresh state; the parameters before, after one and after two.</summary>
    private static (double[] P0, double[] P1, double[] P2) TwoSteps(Optimizer optimizer, double scale2)
    {
        using var net = Net.Sequential(Layers.Linear(2, 1)).Build([2], seed: 7);
        var p0 = net.Parameters;
        var (p1, s1) = optimizer.Update(0, Grads(p0, 1.0), optimizer.Init(p0), p0);
        var (p2, _) = optimizer.Update(1, Grads(p0, scale2), s1, p1);
        return (Flat(p0), Flat(p1), Flat(p2));
    }

    // StepLR(0.1, step_size=1, gamma=0.5): 0.1 for the first update, 0.05 for the second.
    private static Schedule Halving() => Schedules.StepDecay(0.1, 1, 0.5);

    private static readonly double[] Rates = { 0.1, 0.05 };

    [Fact]
    public void AdamW_with_a_schedule_and_amsgrad_decays_and_steps_at_the_scheduled_rate()
    {
        // torch.optim.AdamW(amsgrad=True): p *= 1 - lr wd; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
        // vmax = max(vmax, v); p -= lr (m / (1 - b1^t)) / (sqrt(vmax / (1 - b2^t)) + eps). The second gradient is a
        // tenth of the first and b2 = 0.5, so v falls and vmax keeps the first step's value.
        const double b1 = 0.9, b2 = 0.5, eps = 1e-8, wd = 0.2, scale2 = 0.1;
        var (p0, p1, p2) = TwoSteps(Optimizers.AdamW(Halving(), b1, b2, eps, wd, amsgrad: true), scale2);
        double[] e1 = new double[3], e2 = new double[3];
        for (int i = 0; i < 3; i++)
        {
            double m = (1 - b1) * G[i], v = (1 - b2) * G[i] * G[i], vmax = v;
            e1[i] = p0[i] * (1 - Rates[0] * wd) - Rates[0] * (m / (1 - b1)) / (Math.Sqrt(vmax / (1 - b2)) + eps);
            double g = scale2 * G[i];
            m = b1 * m + (1 - b1) * g;
            v = b2 * v + (1 - b2) * g * g;
            vmax = Math.Max(vmax, v);
            e2[i] = e1[i] * (1 - Rates[1] * wd) - Rates[1] * (m / (1 - b1 * b1)) / (Math.Sqrt(vmax / (1 - b2 * b2)) + eps);
        }
        Close(e1, p1, "AdamW step 1");
        Close(e2, p2, "AdamW step 2");
    }

    [Fact]
    public void RMSprop_centered_with_momentum_and_weight_decay_follows_torch()
    {
        // torch.optim.RMSprop: g += wd p; v = a v + (1 - a) g^2; gavg = a gavg + (1 - a) g; vhat = v - gavg^2;
        // buf = mom buf + g / (sqrt(vhat) + eps); p -= lr buf.
        const double a = 0.9, eps = 1e-8, mom = 0.5, wd = 0.1, scale2 = 1.5;
        var (p0, p1, p2) = TwoSteps(Optimizers.RMSprop(Halving(), a, eps, mom, centered: true, weightDecay: wd), scale2);
        double[] e1 = new double[3], e2 = new double[3];
        for (int i = 0; i < 3; i++)
        {
            double g = G[i] + wd * p0[i], v = (1 - a) * g * g, avg = (1 - a) * g;
            double buf = g / (Math.Sqrt(v - avg * avg) + eps);
            e1[i] = p0[i] - Rates[0] * buf;
            g = scale2 * G[i] + wd * e1[i];
            v = a * v + (1 - a) * g * g;
            avg = a * avg + (1 - a) * g;
            buf = mom * buf + g / (Math.Sqrt(v - avg * avg) + eps);
            e2[i] = e1[i] - Rates[1] * buf;
        }
        Close(e1, p1, "RMSprop step 1");
        Close(e2, p2, "RMSprop step 2");
    }

    [Fact]
    public void Adagrad_with_a_schedule_and_weight_decay_accumulates_squared_gradients()
    {
        // torch.optim.Adagrad(initial_accumulator_value=0.1, weight_decay=0.1): g += wd p; s += g^2;
        // p -= lr g / (sqrt(s) + eps).
        const double init = 0.1, eps = 1e-10, wd = 0.1, scale2 = -0.5;
        var (p0, p1, p2) = TwoSteps(Optimizers.Adagrad(Halving(), init, eps, wd), scale2);
        double[] e1 = new double[3], e2 = new double[3];
        for (int i = 0; i < 3; i++)
        {
            double g = G[i] + wd * p0[i], s = init + g * g;
            e1[i] = p0[i] - Rates[0] * g / (Math.Sqrt(s) + eps);
            g = scale2 * G[i] + wd * e1[i];
            s += g * g;
            e2[i] = e1[i] - Rates[1] * g / (Math.Sqrt(s) + eps);
        }
        Close(e1, p1, "Adagrad step 1");
        Close(e2, p2, "Adagrad step 2");
    }

    [Fact]
    public void The_scheduled_factories_name_themselves_and_the_bad_argument()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Optimizers.AdamW(Halving(), beta2: 1.0));
        Assert.Equal("beta2", e.ParamName);
        Assert.Contains("Optimizers.AdamW", e.Message);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => Optimizers.RMSprop(Halving(), epsilon: 0));
        Assert.Equal("epsilon", e.ParamName);
        Assert.Contains("Optimizers.RMSprop", e.Message);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => Optimizers.Adagrad(Halving(), initialAccumulator: -1));
        Assert.Equal("initialAccumulator", e.ParamName);
        Assert.Contains("Optimizers.Adagrad", e.Message);
        Assert.Contains("Optimizers.Adagrad", Assert.Throws<ArgumentNullException>(() => Optimizers.Adagrad((Schedule)null!)).Message);
    }
}
