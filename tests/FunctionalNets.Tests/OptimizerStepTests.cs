using FunctionalNets;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>One full-batch step of AdamW, RMSprop and Adagrad from C#, against PyTorch's update rules written out
/// with the gradient of the mean squared error of a linear model computed by hand.</summary>
public class OptimizerStepTests
{
    private static readonly float[,] X = { { 1.0f, -2.0f }, { 0.5f, 1.5f }, { -1.0f, 0.25f }, { 2.0f, 1.0f } };
    private static readonly float[,] Y = { { 1.0f }, { -0.5f }, { 0.75f }, { 2.0f } };

    /// <summary>Parameters (w0, w1, b) before and after one step, and the gradient at the start.</summary>
    private static (double[] Before, double[] After, double[] Grad) OneStep(Optimizer optimizer)
    {
        var net = Net.Sequential(Layers.Linear(2, 1)).Build([2], seed: 3);
        double[] w = net.Parameters["0.weight"].ToDoubleArray(), b = net.Parameters["0.bias"].ToDoubleArray();
        var before = new[] { w[0], w[1], b[0] };
        // MSE = mean over the 4 rows of (w.x + b - y)^2: d/dw = 2/4 sum (pred - y) x, d/db = 2/4 sum (pred - y).
        var grad = new double[3];
        for (int r = 0; r < 4; r++)
        {
            double e = before[0] * X[r, 0] + before[1] * X[r, 1] + before[2] - Y[r, 0];
            grad[0] += 0.5 * e * X[r, 0];
            grad[1] += 0.5 * e * X[r, 1];
            grad[2] += 0.5 * e;
        }
        net.Compile(optimizer, Losses.MSE());
        net.Fit(Datasets.FromArrays(X, Y), epochs: 1, batchSize: 4, shuffle: false, verbose: false);
        double[] w1 = net.Parameters["0.weight"].ToDoubleArray(), b1 = net.Parameters["0.bias"].ToDoubleArray();
        return (before, new[] { w1[0], w1[1], b1[0] }, grad);
    }

    private static void Close(double expected, double actual, string what) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-6 * (1 + Math.Abs(expected)), $"{what}: expected {expected}, got {actual}");

    [Fact]
    public void AdamW_decays_the_weights_then_takes_a_bias_corrected_step()
    {
        const double lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.05;
        var (p, after, g) = OneStep(Optimizers.AdamW(lr, b1, b2, eps, wd));
        for (int i = 0; i < 3; i++)
        {
            // torch.optim.AdamW, step 1: p *= 1 - lr wd; m = (1 - b1) g; v = (1 - b2) g^2; p -= lr m^ / (sqrt(v^) + eps).
            double mHat = (1 - b1) * g[i] / (1 - b1), vHat = (1 - b2) * g[i] * g[i] / (1 - b2);
            Close(p[i] * (1 - lr * wd) - lr * mHat / (Math.Sqrt(vHat) + eps), after[i], $"parameter {i}");
        }
    }

    [Fact]
    public void RMSprop_divides_by_the_root_of_the_running_mean_square()
    {
        const double lr = 0.01, alpha = 0.9, eps = 1e-8;
        var (p, after, g) = OneStep(Optimizers.RMSprop(lr, alpha, eps));
        for (int i = 0; i < 3; i++)
            // torch.optim.RMSprop, step 1 from v = 0: v = (1 - alpha) g^2; p -= lr g / (sqrt(v) + eps).
            Close(p[i] - lr * g[i] / (Math.Sqrt((1 - alpha) * g[i] * g[i]) + eps), after[i], $"parameter {i}");
    }

    [Fact]
    public void Adagrad_divides_by_the_root_of_the_accumulated_squares()
    {
        const double lr = 0.05, init = 0.1, eps = 1e-10;
        var (p, after, g) = OneStep(Optimizers.Adagrad(lr, init, eps));
        for (int i = 0; i < 3; i++)
            // torch.optim.Adagrad(initial_accumulator_value=0.1), step 1: s = 0.1 + g^2; p -= lr g / (sqrt(s) + eps).
            Close(p[i] - lr * g[i] / (Math.Sqrt(init + g[i] * g[i]) + eps), after[i], $"parameter {i}");
    }
}
