using CudaApi = FunctionalNets.Cuda.Cuda;

namespace FunctionalNets;

/// <summary>
/// The devices a net can train on: <see cref="Cpu"/>, an NVIDIA GPU (<see cref="Cuda"/>), or the CUDA backend
/// simulated on the CPU for tests (<see cref="CudaSimulated"/>). Move a net with <c>net.To(device)</c> or train
/// with <c>Fit(..., device: device)</c>. (The values are the core's <see cref="Device"/>; this class only names and
/// initialises them, so the two never disagree.)
/// </summary>
public static class Devices
{
    /// <summary>The CPU.</summary>
    public static Device Cpu => Device.Cpu;

    /// <summary>CUDA GPU <paramref name="index"/>, initialised now. Without a GPU (driver, device) this throws an
    /// <see cref="InvalidOperationException"/> saying what was expected, what was found and what to do; it never
    /// falls back to the simulator, and the CPU keeps working.</summary>
    /// <param name="index">The GPU's index (0 for the first).</param>
    public static Device Cuda(int index = 0)
    {
        if (index < 0) throw new ArgumentOutOfRangeException(nameof(index), index, "Devices.Cuda: the GPU index must be >= 0.");
        return CSharpTerms.Run(() => CudaApi.init(index));
    }

    /// <summary>The CUDA backend run on ILGPU's CPU accelerator (every GPU kernel executes, one OS thread per GPU
    /// thread: for tests and tiny runs only). Choosing it makes CUDA device 0 simulated for the whole process, so
    /// choose it before any GPU tensor is created.</summary>
    public static Device CudaSimulated
    {
        get
        {
            CudaApi.useSimulator();
            return CudaApi.init(0);
        }
    }

    /// <summary>A device from its command-line name: "cpu", "cuda" (GPU 0), "cuda:N" (GPU N) or "cuda-sim"
    /// (<see cref="CudaSimulated"/>); case-insensitive. Unknown names throw an <see cref="ArgumentException"/>
    /// listing the accepted ones.</summary>
    /// <param name="name">The name.</param>
    public static Device Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return CSharpTerms.Run(() => CudaApi.parseDevice(name));
    }

    /// <summary>The command-line form of <see cref="Parse"/> for programs: false, with the message to print, when
    /// the name is unknown or the device cannot be used (e.g. "cuda" on a machine without a GPU says what was
    /// expected, what was found and what to do). It never substitutes another device.</summary>
    /// <param name="name">The name (see <see cref="Parse"/>).</param>
    /// <param name="device">The device, when the result is true.</param>
    /// <param name="error">Why not, when the result is false.</param>
    public static bool TryParse(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Device? device, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        try
        {
            device = Parse(name);
            error = null;
            return true;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            device = null;
            error = e.Message;
            return false;
        }
    }

    /// <summary>What the CUDA backend found: the simulator switch, every native library with each path tried, the
    /// devices in use, and how GEMM and convolution run on them.</summary>
    public static string Describe() => CudaApi.describe();
}
