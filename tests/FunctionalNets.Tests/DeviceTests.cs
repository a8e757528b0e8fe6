using FunctionalNets;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>Nets on the CUDA backend through the C# API, run on the simulated device (ILGPU's CPU accelerator):
/// training and checkpoints must give what the CPU gives.</summary>
public class DeviceTests
{
    private static Net NewNet() =>
        Net.Sequential(Layers.Linear(2, 4), Layers.Tanh(), Layers.Linear(4, 3))
            .Compile(Optimizers.Adam(0.05), Losses.CrossEntropy(), Metrics.Accuracy());

    private static void AssertClose(double[] expected, double[] actual, double tol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol, $"{what}: element {i}: expected {expected[i]}, got {actual[i]}");
    }

    [Fact]
    public void Device_names_parse_and_unknown_names_list_the_accepted_ones()
    {
        Assert.Equal(Device.Cpu, Devices.Parse(" CPU "));
        var e = Assert.Throws<ArgumentException>(() => Devices.Parse("gpu"));
        Assert.Contains("cuda-sim", e.Message);
        Assert.Contains("'gpu'", e.Message);
        Assert.Throws<ArgumentException>(() => Devices.Parse("cuda:x"));
        Assert.Throws<ArgumentOutOfRangeException>(() => Devices.Cuda(-1));
    }

    [Fact]
    public void Fit_on_the_simulated_device_matches_the_cpu_and_checkpoints_cross_devices()
    {
        var data = TestData.Blobs(n: 12, seed: 5);
        var probe = Tensor.OfArray(new float[] { -2, 0, 2, 0, 0, 2.5f, 0.3f, -0.4f }, [4, 2]);

        var cpu = NewNet();
        var hCpu = cpu.Fit(data, epochs: 2, batchSize: 6, verbose: false, seed: 3);
        var sim = NewNet();
        var device = Devices.CudaSimulated;
        var hSim = sim.Fit(data, epochs: 2, batchSize: 6, verbose: false, seed: 3, device: device);

        Assert.Equal(device, sim.Device);
        Assert.All(sim.Parameters.Values, p => Assert.Equal(device, p.Device));
        AssertClose(hCpu["loss"].ToArray(), hSim["loss"].ToArray(), 1e-4, "loss history");
        var expected = cpu.Predict(probe).ToDoubleArray();
        AssertClose(expected, sim.Predict(probe).ToDoubleArray(), 1e-4, "predictions");
        Assert.Equal(cpu.Evaluate(data)["accuracy"], sim.Evaluate(data)["accuracy"]);

        // Saved on the simulated device, loaded onto the CPU (and the other way round): the same outputs.
        var fromSim = TestData.TempFile("sim.safetensors");
        var fromCpu = TestData.TempFile("cpu.safetensors");
        try
        {
            sim.Save(fromSim);
            var onCpu = NewNet().Load(fromSim);
            Assert.Equal(Device.Cpu, onCpu.Device);
            // The weights arrive bit for bit; the outputs differ only by the two backends' float32 rounding.
            foreach (var (name, p) in sim.Parameters)
                AssertClose(p.ToDoubleArray(), onCpu.Parameters[name].ToDoubleArray(), 0.0, "sim -> cpu weight " + name);
            AssertClose(sim.Predict(probe).ToDoubleArray(), onCpu.Predict(probe).ToDoubleArray(), 1e-6, "sim -> cpu checkpoint");

            cpu.Save(fromCpu);
            var onSim = NewNet().To(device).Load(fromCpu);
            var output = onSim.Predict(probe);
            Assert.Equal(device, output.Device);
            AssertClose(expected, output.ToDoubleArray(), 1e-6, "cpu -> sim checkpoint");

            // Back to the CPU: parameters move, outputs stay.
            Assert.Equal(Device.Cpu, onSim.To(Devices.Cpu).Predict(probe).Device);
        }
        finally
        {
            File.Delete(fromSim);
            File.Delete(fromCpu);
        }
    }
}
