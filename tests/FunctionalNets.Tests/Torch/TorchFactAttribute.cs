using System.Diagnostics;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>A fact that needs PyTorch: skipped, with the reason in the test output, where python3 or its
/// torch package is missing.</summary>
public sealed class TorchFactAttribute : FactAttribute
{
    public TorchFactAttribute()
    {
        if (Torch.Missing.Value is { } reason) Skip = reason;
    }
}

/// <summary>Runs the PyTorch side of a test in a python3 process.</summary>
internal static class Torch
{
    private static string Python => File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

    /// <summary>Why torch cannot run here, or null when it can.</summary>
    internal static readonly Lazy<string?> Missing = new(() =>
    {
        try
        {
            var (code, output) = Run("-c \"import torch, numpy\"");
            return code == 0 ? null : $"PyTorch is not importable by {Python} ({output.Trim()}); install torch and numpy to run the interop tests.";
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return $"No python3 to run PyTorch ({e.Message}); install python3 with torch to run the interop tests.";
        }
    });

    /// <summary>Runs a script copied beside the tests with arguments; the exit code and stdout + stderr.</summary>
    internal static (int Code, string Output) Script(string script, params string[] args) =>
        Run(string.Join(" ", new[] { Path.Combine(AppContext.BaseDirectory, "Torch", script) }.Concat(args).Select(a => $"\"{a}\"")));

    private static (int Code, string Output) Run(string arguments)
    {
        var info = new ProcessStartInfo(Python, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // One thread: the models are tiny, and the machine is shared.
        info.Environment["OMP_NUM_THREADS"] = "1";
        using var p = Process.Start(info)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout + stderr.Result);
    }
}
