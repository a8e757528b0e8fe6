using FunctionalNets;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>Scope.Open as a using statement, and Net as IDisposable.</summary>
public class ScopeAndDisposeTests
{
    [Fact]
    public void A_scope_releases_what_it_created_except_what_it_keeps()
    {
        Tensor dropped, kept;
        using (var scope = Scope.Open())
        {
            var a = Tensor.OfArray(new float[] { 1, 2, 3 }, [3]);
            dropped = a * 2.0;
            kept = scope.Keep(dropped + 1.0);
            Assert.True(scope.Count >= 3, $"the scope owns {scope.Count} storages");
        }
        Assert.Equal(new double[] { 3, 5, 7 }, kept.ToDoubleArray());
        Assert.Throws<ReleasedTensorException>(() => dropped.ToDoubleArray());
    }

    [Fact]
    public void Kept_trees_and_tuples_survive_and_scopes_nest()
    {
        using var net = Net.Sequential(Layers.Linear(2, 2)).Build([2], seed: 0);
        ParameterTree doubled;
        Tensor inner;
        using (var outer = Scope.Open())
        {
            using (var scope = Scope.Open())
            {
                doubled = net.Parameters.Map(t => t * 2.0);
                inner = Tensor.Ones([2]);
                scope.Keep((doubled, inner));
            }
            // Moved to the enclosing scope: still readable here, released with it.
            Assert.Equal(net.Parameters["0.bias"].ToDoubleArray().Select(v => 2 * v), doubled["0.bias"].ToDoubleArray());
        }
        Assert.Throws<ReleasedTensorException>(() => inner.ToDoubleArray());
        // The net's own tensors were created outside the scopes and are untouched.
        Assert.Equal(2, net.Parameters["0.bias"].ToDoubleArray().Length);
    }

    [Fact]
    public void Scopes_must_end_innermost_first()
    {
        var outer = Scope.Open();
        var inner = Scope.Open();
        var e = Assert.Throws<InvalidOperationException>(() => outer.Dispose());
        Assert.Contains("innermost", e.Message);
        inner.Dispose();
        outer.Dispose();
        outer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => inner.Keep(Tensor.Ones([1])));
    }

    [Fact]
    public void A_disposed_net_releases_its_tensors_and_names_the_method_called_afterwards()
    {
        var net = Net.Sequential(Layers.Linear(2, 1)).Compile(Optimizers.Adam(), Losses.MSE()).Build([2]);
        var weight = net.Parameters["0.weight"];
        net.Dispose();
        net.Dispose();
        Assert.Throws<ReleasedTensorException>(() => weight.ToDoubleArray());
        Assert.Contains("Net.Parameters", Assert.Throws<ObjectDisposedException>(() => net.Parameters).Message);
        Assert.Contains("Net.Fit", Assert.Throws<ObjectDisposedException>(() =>
            net.Fit(Datasets.FromArrays(new float[,] { { 1, 2 } }, new float[,] { { 1 } }), verbose: false)).Message);
        Assert.Contains("Net.Build", Assert.Throws<ObjectDisposedException>(() => net.Build(2)).Message);
        Assert.Contains("Net.SetParameters", Assert.Throws<ObjectDisposedException>(() => net.SetParameters(ParameterTree.Empty)).Message);
        Assert.Contains("Net.Step", Assert.Throws<ObjectDisposedException>(() => net.Step).Message);
        Assert.Contains("Net.Predict", Assert.Throws<ObjectDisposedException>(() => net.Predict(Tensor.Ones([1, 2]))).Message);
        Assert.False(string.IsNullOrEmpty(net.ToString()));   // ToString still works, for debuggers
    }
}
