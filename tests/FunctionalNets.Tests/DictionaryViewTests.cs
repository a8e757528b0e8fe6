using FunctionalNets;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>History and ParameterTree read as the IReadOnlyDictionary they are: indexer, ContainsKey, TryGetValue
/// and enumeration agree with what was put in.</summary>
public class DictionaryViewTests
{
    [Fact]
    public void History_reads_back_the_logged_values_by_name_in_the_order_logged()
    {
        var history = History.FromEpochs(new[]
        {
            new Dictionary<string, double> { ["loss"] = 0.5, ["accuracy"] = 0.25 },
            new Dictionary<string, double> { ["loss"] = 0.125, ["accuracy"] = 0.75 },
        });
        Assert.Equal(new[] { 0.5, 0.125 }, history["loss"]);
        Assert.True(history.ContainsKey("accuracy"));
        Assert.False(history.ContainsKey("val_loss"));
        Assert.True(history.TryGetValue("accuracy", out var accuracy));
        Assert.Equal(new[] { 0.25, 0.75 }, accuracy);
        Assert.False(history.TryGetValue("val_loss", out _));
        var pairs = new List<(string, double)>();
        using (var e = history.GetEnumerator())
            while (e.MoveNext()) pairs.Add((e.Current.Key, e.Current.Value[^1]));
        Assert.Equal(new[] { ("loss", 0.125), ("accuracy", 0.75) }, pairs);
        Assert.Throws<KeyNotFoundException>(() => history["val_loss"]);
    }

    [Fact]
    public void ParameterTree_reads_back_each_tensor_by_its_path()
    {
        using var net = Net.Sequential(Layers.Linear(3, 2)).Build([3], seed: 1);
        var p = net.Parameters;
        Assert.Equal(new[] { 2, 3 }, p["0.weight"].Dims());
        Assert.True(p.ContainsKey("0.bias"));
        Assert.False(p.ContainsKey("0.running_mean"));
        Assert.True(p.TryGetValue("0.bias", out var bias));
        Assert.Equal(new[] { 2 }, bias.Dims());
        Assert.False(p.TryGetValue("1.weight", out _));
        var paths = new List<string>();
        using (var e = p.GetEnumerator())
            while (e.MoveNext()) paths.Add(e.Current.Key);
        Assert.Equal(new[] { "0.weight", "0.bias" }, paths);
        var missing = Assert.Throws<KeyNotFoundException>(() => p["1.weight"]);
        Assert.Contains("0.weight", missing.Message);
    }
}
