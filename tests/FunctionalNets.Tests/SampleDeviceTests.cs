using System.Diagnostics;
using FunctionalNets;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>The samples' --device option, run as a separate process (the CUDA simulator is a per-process
/// choice, so "cuda" must be asked in a process that never chose it).</summary>
public class SampleDeviceTests
{
    /// <summary>Runs the MnistMlp sample built beside this test assembly's configuration; returns its exit code
    /// and its standard error.</summary>
    private static (int Code, string Error) RunMnistMlp(params string[] args)
    {
        var here = AppContext.BaseDirectory; // .../tests/FunctionalNets.Tests/bin/<Configuration>/net10.0/
        var dir = new DirectoryInfo(here);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "FunctionalNets.sln"))) dir = dir.Parent;
        Assert.NotNull(dir);
        var framework = new DirectoryInfo(here.TrimEnd(Path.DirectorySeparatorChar)).Name;
        var configuration = new DirectoryInfo(here.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        var dll = Path.Combine(dir!.FullName, "samples", "MnistMlp", "bin", configuration, framework, "MnistMlp.dll");
        Assert.True(File.Exists(dll), $"the sample was not built at {dll}");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment.Remove("FUNCTIONALNETS_CUDA_SIMULATE");
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, stderr.Result + stdout.Result);
    }

    [Fact]
    public void Cuda_without_a_gpu_says_what_to_do_and_exits_nonzero()
    {
        if (Devices.Describe().Contains("cuda: found", StringComparison.Ordinal))
        {
            Console.WriteLine("skipped: this machine has a CUDA driver, so --device cuda would train");
            return;
        }
        var (code, error) = RunMnistMlp("--device", "cuda", "--epochs", "1");
        Assert.Equal(3, code);
        Assert.Contains("expected an NVIDIA GPU", error);
        Assert.Contains("FUNCTIONALNETS_CUDA_SIMULATE=1", error);
        Assert.Contains("Device.Cpu", error);
        // In the C# host's words, not the F# core's.
        Assert.Contains("Devices.Cuda(0):", error);
        Assert.Contains("Devices.CudaSimulated", error);
        Assert.Contains("Devices.Describe()", error);
        Assert.DoesNotContain("Cuda.useSimulator", error);
    }

    [Fact]
    public void An_unknown_device_lists_the_accepted_names()
    {
        var (code, error) = RunMnistMlp("--device", "tpu");
        Assert.Equal(3, code);
        Assert.Contains("cpu, cuda, cuda:N", error);
    }
}
