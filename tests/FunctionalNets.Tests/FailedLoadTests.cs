using FunctionalNets;
using FunctionalNets.Nn;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>Issue 13: a net is never half-loaded, and a checkpoint's input shape is checked on load.</summary>
public class FailedLoadTests
{
    private static Net Mlp(int hidden) =>
        Net.Sequential(Layers.Linear(2, hidden), Layers.ReLU(), Layers.Linear(hidden, 3));

    [Fact]
    public void A_failed_Load_into_an_unbuilt_net_leaves_it_unbuilt()
    {
        var path = TestData.TempFile("mismatch.safetensors");
        try
        {
            Mlp(16).Build(2).Save(path);
            var other = Mlp(8);
            var e = Assert.Throws<InvalidDataException>(() => other.Load(path));
            Assert.Contains(path, e.Message);
            // Not built with random weights: exactly as it was before the call.
            Assert.False(other.IsBuilt);
            Assert.Null(other.InputShape);
            Assert.Throws<InvalidOperationException>(() => other.Save(TestData.TempFile("never.safetensors")));

            // A compiled net too, and a built net keeps its weights.
            var compiled = Mlp(8).Compile(Optimizers.Adam(), Losses.CrossEntropy());
            Assert.Throws<InvalidDataException>(() => compiled.Load(path));
            Assert.False(compiled.IsBuilt);
            Assert.Equal(0, compiled.Step);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("1,x")]
    [InlineData("")]
    [InlineData("2,-1")]
    [InlineData("0")]
    [InlineData("99999999999")]
    public void A_malformed_input_shape_names_the_file_and_the_entry(string shape)
    {
        var path = TestData.TempFile("shape.safetensors");
        try
        {
            Mlp(4).Build(2).Save(path);
            var (tensors, meta) = SafeTensors.read(path);
            SafeTensors.write(path, tensors, meta.Add("input_shape", shape));
            var net = Mlp(4);
            var e = Assert.Throws<InvalidDataException>(() => net.Load(path));
            Assert.Contains(path, e.Message);
            Assert.Contains("input_shape", e.Message);
            Assert.False(net.IsBuilt);

            // A built net does not need the entry, but a malformed one is still an error, and the net keeps its state.
            var built = Mlp(4).Build(2);
            Assert.Throws<InvalidDataException>(() => built.Load(path));
            Assert.True(built.IsBuilt);
            Assert.Equal(new[] { 2 }, built.InputShape);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
