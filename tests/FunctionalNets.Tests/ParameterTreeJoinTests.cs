using FunctionalNets;
using Xunit;

namespace FunctionalNets.Tests;

public class ParameterTreeJoinTests
{
    private static Net Small(int inputs) => Net.Sequential(Layers.Linear(inputs, 2)).Build([inputs], seed: 1);

    [Fact]
    public void JoinedTreesReadUnderTheirNamesAndComeBackWhole()
    {
        using var a = Small(3);
        using var b = Small(4);
        var joined = ParameterTree.Join(("encoder", a.Parameters), ("decoder", b.Parameters));
        Assert.Equal(new[] { "encoder.0.weight", "encoder.0.bias", "decoder.0.weight", "decoder.0.bias" }, joined.Keys);
        Assert.Equal(a.Parameters["0.weight"].ToDoubleArray(), joined["encoder.0.weight"].ToDoubleArray());
        var back = joined.Subtree("decoder");
        Assert.Equal(b.Parameters.Keys, back.Keys);
        Assert.Equal(b.Parameters["0.weight"].ToDoubleArray(), back["0.weight"].ToDoubleArray());
        // The decoder's net takes the part back as its parameters.
        b.SetParameters(back.Map(t => t * 2.0));
        Assert.Equal(joined["decoder.0.bias"].ToDoubleArray().Select(v => 2 * v), b.Parameters["0.bias"].ToDoubleArray());
    }

    [Fact]
    public void OneGradientReachesBothPartsOfAJoinedTree()
    {
        using var a = Small(3);
        using var b = Small(4);
        var joined = ParameterTree.Join(("a", a.Parameters), ("b", b.Parameters));
        // d/dp of sum(p) over every leaf is 1 for every element, in both parts.
        var grads = Gradients.Grad(p => p["a.0.weight"].Sum() + p["b.0.bias"].Sum(), joined);
        Assert.All(grads["a.0.weight"].ToDoubleArray(), g => Assert.Equal(1.0, g));
        Assert.All(grads["b.0.bias"].ToDoubleArray(), g => Assert.Equal(1.0, g));
        Assert.All(grads["b.0.weight"].ToDoubleArray(), g => Assert.Equal(0.0, g));
    }

    [Fact]
    public void BadNamesAreRefusedNamingTheProblem()
    {
        using var a = Small(3);
        Assert.Contains("given twice", Assert.Throws<ArgumentException>(() => ParameterTree.Join(("x", a.Parameters), ("x", a.Parameters))).Message);
        Assert.Contains("without dots", Assert.Throws<ArgumentException>(() => ParameterTree.Join(("x.y", a.Parameters))).Message);
        Assert.Contains("the parts are x", Assert.Throws<KeyNotFoundException>(() => ParameterTree.Join(("x", a.Parameters)).Subtree("y")).Message);
    }

    [Fact]
    public void UnflattenIsTheInverseOfFlatten()
    {
        var x = Tensor.OfArray(Enumerable.Range(0, 12).Select(i => (float)i).ToArray(), [2, 6]);
        using var net = Net.Sequential(Layers.Unflatten(2, 3), Layers.Flatten()).Build([6], seed: 0);
        Assert.Equal(x.ToDoubleArray(), net.Predict(x).ToDoubleArray());
        using var shaped = Net.Sequential(Layers.Unflatten(3, 1, 2)).Build([6], seed: 0);
        Assert.Equal(new[] { 2, 3, 1, 2 }, shaped.Predict(x).Dims());
    }
}

public class HistoryFromEpochsTests
{
    [Fact]
    public void AHandWrittenLoopsLogsReadAndDrawAsFits()
    {
        var logs = new List<IReadOnlyDictionary<string, double>>
        {
            new Dictionary<string, double> { ["loss"] = 0.9, ["val_loss"] = 1.0 },
            new Dictionary<string, double> { ["loss"] = 0.4, ["val_loss"] = 0.6 },
        };
        var history = History.FromEpochs(logs);
        Assert.Equal(2, history.Epochs);
        Assert.Equal(new[] { 0.9, 0.4 }, history["loss"]);
        Assert.Equal(new[] { 1.0, 0.6 }, history["val_loss"]);
        var dir = Directory.CreateTempSubdirectory("fn-history-");
        try
        {
            var path = Path.Combine(dir.FullName, "curves.png");
            Charts.SaveTrainingCurves(history, path);
            var bytes = File.ReadAllBytes(path);
            Assert.True(bytes.Length > 8 && bytes[1] == (byte)'P' && bytes[2] == (byte)'N' && bytes[3] == (byte)'G', "a PNG file");
        }
        finally { dir.Delete(recursive: true); }
        Assert.Throws<ArgumentException>(() => History.FromEpochs(new IReadOnlyDictionary<string, double>[] { null! }));
    }
}
