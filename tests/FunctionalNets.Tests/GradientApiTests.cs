using FunctionalNets;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>Diff's members and Gradients from C#, against derivatives worked out by hand.</summary>
public class GradientApiTests
{
    private static readonly double[] X = { 1.0, 2.0, -3.0 };

    private static Tensor T(params double[] values) => Tensor.OfArray(values, [values.Length]);

    private static void Equal(double[] expected, Tensor actual, double tol = 1e-12)
    {
        var a = actual.ToDoubleArray();
        Assert.Equal(expected.Length, a.Length);
        for (int i = 0; i < a.Length; i++)
            Assert.True(Math.Abs(expected[i] - a[i]) <= tol * (1 + Math.Abs(expected[i])), $"[{i}]: expected {expected[i]}, got {a[i]}");
    }

    private static Tensor Cube(Tensor x) => x * x * x;

    [Fact]
    public void Grad_and_ValueAndGrad_of_a_sum_of_cubes_are_3x2()
    {
        Equal(X.Select(x => 3 * x * x).ToArray(), Diff.Grad(x => Cube(x).Sum(), T(X)));
        var (value, gradient) = Diff.ValueAndGrad(x => Cube(x).Sum(), T(X));
        Assert.Equal(1.0 + 8.0 - 27.0, value.ToScalar(), 12);
        Equal(X.Select(x => 3 * x * x).ToArray(), gradient);
    }

    [Fact]
    public void NumGrad_approximates_3x2_by_central_differences()
    {
        Equal(X.Select(x => 3 * x * x).ToArray(), Diff.NumGrad(x => Cube(x).Sum(), T(X), 1e-4), 1e-7);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Diff.NumGrad(x => x.Sum(), T(X), 0.0));
        Assert.Equal("eps", e.ParamName);
        Assert.Contains("Diff.NumGrad", e.Message);
    }

    [Fact]
    public void Grad_nests_gradient_of_the_sum_of_a_gradient_is_6x()
    {
        var g2 = Diff.Grad(x => Diff.Grad(y => Cube(y).Sum(), x).Sum(), T(X));
        Equal(X.Select(x => 6 * x).ToArray(), g2);
    }

    [Fact]
    public void Vjp_Jvp_and_Hvp_are_the_products_with_the_derivatives()
    {
        double[] v = { 1.0, 0.5, 2.0 };
        // f(x) = x^2 elementwise: J = diag(2x), so v^T J = 2 x v.
        var (fx, vjp) = Diff.Vjp(x => x * x, T(X), T(v));
        Equal(X.Select(x => x * x).ToArray(), fx);
        Equal(X.Select((x, i) => 2 * x * v[i]).ToArray(), vjp);
        // f(x) = x^3 elementwise: J v = 3 x^2 v.
        var (cube, jvp) = Diff.Jvp(Cube, T(X), T(v));
        Equal(X.Select(x => x * x * x).ToArray(), cube);
        Equal(X.Select((x, i) => 3 * x * x * v[i]).ToArray(), jvp);
        // f(x) = sum x^3: H = diag(6x), H v = 6 x v.
        Equal(X.Select((x, i) => 6 * x * v[i]).ToArray(), Diff.Hvp(x => Cube(x).Sum(), T(X), T(v)));
    }

    [Fact]
    public void Jacobian_and_Hessian_are_diagonal_for_elementwise_functions()
    {
        var jacobian = Diff.Jacobian(x => x * x, T(X));
        var hessian = Diff.Hessian(x => Cube(x).Sum(), T(X));
        Assert.Equal(new[] { 3, 3 }, jacobian.Dims());
        Assert.Equal(new[] { 3, 3 }, hessian.Dims());
        var expectedJ = new double[9];
        var expectedH = new double[9];
        for (int i = 0; i < 3; i++)
        {
            expectedJ[i * 3 + i] = 2 * X[i];
            expectedH[i * 3 + i] = 6 * X[i];
        }
        Equal(expectedJ, jacobian);
        Equal(expectedH, hessian);
    }

    [Fact]
    public void A_null_function_or_tensor_names_the_member_and_the_parameter()
    {
        var e = Assert.Throws<ArgumentNullException>(() => Diff.Grad(null!, T(X)));
        Assert.Equal("f", e.ParamName);
        Assert.Contains("Diff.Grad", e.Message);
        var v = Assert.Throws<ArgumentNullException>(() => Diff.Jvp(Cube, T(X), null!));
        Assert.Equal("v", v.ParamName);
        Assert.Contains("Diff.Jvp", v.Message);
        var t = Assert.Throws<ArgumentNullException>(() => Gradients.Grad(p => p["0.weight"].Sum(), null!));
        Assert.Equal("parameters", t.ParamName);
        Assert.Contains("Gradients.ValueAndGrad", t.Message);
    }

    private static readonly float[,] Inputs = { { 1.0f, -2.0f }, { 0.5f, 1.5f }, { -1.0f, 0.25f }, { 2.0f, 1.0f } };
    private static readonly float[,] Targets = { { 1.0f }, { -0.5f }, { 0.75f }, { 2.0f } };

    [Fact]
    public void ValueAndGrad_over_a_net_s_parameters_is_the_hand_computed_MSE_gradient()
    {
        using var net = Net.Sequential(Layers.Linear(2, 1)).Build([2], seed: 3);
        var (x, y) = Datasets.FromArrays(Inputs, Targets).GetBatch(0, 1, 2, 3);
        var p = net.Parameters;
        double[] w = p["0.weight"].ToDoubleArray(), b = p["0.bias"].ToDoubleArray();
        double loss = 0, gw0 = 0, gw1 = 0, gb = 0;
        for (int r = 0; r < 4; r++)
        {
            double e = w[0] * Inputs[r, 0] + w[1] * Inputs[r, 1] + b[0] - Targets[r, 0];
            loss += e * e / 4;
            gw0 += 0.5 * e * Inputs[r, 0];
            gw1 += 0.5 * e * Inputs[r, 1];
            gb += 0.5 * e;
        }

        var (value, aux, grads) = Gradients.ValueAndGrad(q =>
        {
            var (output, state) = net.Apply(q, net.State, x);
            return (Losses.MSE().Compute(output, y), q.Map(t => t * 2.0));
        }, p);

        Assert.Equal(loss, value.ToScalar(), 5);
        Assert.Equal(new[] { "0.weight", "0.bias" }, grads.Keys);
        Equal(new[] { gw0, gw1 }, grads["0.weight"], 1e-5);
        Equal(new[] { gb }, grads["0.bias"], 1e-5);
        // The auxiliary tree comes back as computed, without derivatives.
        Equal(w.Select(v => 2 * v).ToArray(), aux["0.weight"], 1e-6);
        Equal(grads["0.weight"].ToDoubleArray(), Gradients.Grad(q => Losses.MSE().Compute(net.Apply(q, net.State, x).Output, y), p)["0.weight"]);
    }

    [Fact]
    public void Jvp_and_Vjp_over_a_tree_are_the_products_with_the_derivatives()
    {
        using var net = Net.Sequential(Layers.Linear(2, 3)).Build([2], seed: 1);
        var p = net.Parameters;
        var tangents = p.Map(t => t * 0.0 + 0.5);
        // f(p) = sum(W^2) + sum(b): J v = sum(2 W v_W) + sum(v_b).
        var (value, jvp) = Gradients.Jvp(q => (q["0.weight"] * q["0.weight"]).Sum() + q["0.bias"].Sum(), p, tangents);
        double[] w = p["0.weight"].ToDoubleArray(), b = p["0.bias"].ToDoubleArray();
        Assert.Equal(w.Sum(v => v * v) + b.Sum(), value.ToScalar(), 5);
        Assert.Equal(w.Sum(v => 2 * v * 0.5) + 3 * 0.5, jvp.ToScalar(), 5);

        // f(p) = 3 W: v^T J is 3 v for W and zero for b, which f does not read.
        var cotangent = Tensor.OfArray(new float[] { 1, 2, 3, 4, 5, 6 }, [3, 2]);
        var (fw, vjp) = Gradients.Vjp(q => q["0.weight"] * 3.0, p, cotangent);
        Equal(w.Select(v => 3 * v).ToArray(), fw, 1e-6);
        Equal(new double[] { 3, 6, 9, 12, 15, 18 }, vjp["0.weight"]);
        Equal(new double[] { 0, 0, 0 }, vjp["0.bias"]);

        var bad = Assert.Throws<ArgumentException>(() => Gradients.Jvp(q => q["0.bias"].Sum(), p, Net.Sequential(Layers.Linear(2, 2)).Build([2]).Parameters));
        Assert.Equal("tangents", bad.ParamName);
        Assert.Contains("Gradients.Jvp", bad.Message);
        Assert.Contains("0.weight", bad.Message);
    }

    [Fact]
    public void Hvp_over_a_tree_includes_the_mixed_second_derivatives()
    {
        using var net = Net.Sequential(Layers.Linear(2, 3)).Build([2], seed: 4);
        var p = net.Parameters;
        var v = p.Zip(p, (t, _) => t.Dims().Length == 2
            ? Tensor.OfArray(new float[] { 1, -1, 0.5f, 2, 0, 1 }, [3, 2])
            : Tensor.OfArray(new float[] { 0.5f, -2, 1 }, [3]));
        // f = sum W^3 + (sum W)(sum b): d2f/dW_i dW_k = 6 W_i [i = k], d2f/dW_i db_j = 1, d2f/db db = 0, so
        // (Hv)_W_i = 6 W_i v_W_i + sum_j v_b_j and (Hv)_b_j = sum_i v_W_i.
        var hv = Gradients.Hvp(q => (q["0.weight"] * q["0.weight"] * q["0.weight"]).Sum() + q["0.weight"].Sum() * q["0.bias"].Sum(), p, v);
        double[] w = p["0.weight"].ToDoubleArray(), vw = v["0.weight"].ToDoubleArray(), vb = v["0.bias"].ToDoubleArray();
        Equal(w.Select((x, i) => 6 * x * vw[i] + vb.Sum()).ToArray(), hv["0.weight"], 1e-5);
        Equal(Enumerable.Repeat(vw.Sum(), 3).ToArray(), hv["0.bias"], 1e-5);
        Assert.Contains("Gradients.Hvp", Assert.Throws<ArgumentException>(() => Gradients.Hvp(q => q["0.bias"].Sum(), p, ParameterTree.Empty)).Message);
    }
}
