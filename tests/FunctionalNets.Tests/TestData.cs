using FunctionalNets;

namespace FunctionalNets.Tests;

internal static class TestData
{
    // XOR: the four corners of the unit square, label 1 where exactly one coordinate is 1.
    internal static readonly float[,] XorInputs = { { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 } };
    internal static readonly float[,] XorTargets = { { 0 }, { 1 }, { 1 }, { 0 } };

    internal static Dataset Xor() => Datasets.FromArrays(XorInputs, XorTargets);

    /// <summary>A small linearly separable 3-class problem: 2-d points around three centres.</summary>
    internal static Dataset Blobs(int n = 300, int seed = 1)
    {
        var rng = new Random(seed);
        var x = new float[n, 2];
        var y = new int[n];
        (float, float)[] centres = [(-2f, 0f), (2f, 0f), (0f, 2.5f)];
        for (int i = 0; i < n; i++)
        {
            y[i] = i % 3;
            x[i, 0] = centres[y[i]].Item1 + (float)(rng.NextDouble() - 0.5);
            x[i, 1] = centres[y[i]].Item2 + (float)(rng.NextDouble() - 0.5);
        }
        return Datasets.FromArrays(x, y);
    }

    internal static string TempFile(string name) =>
        Path.Combine(Path.GetTempPath(), $"fn-host-{Environment.ProcessId}-{Guid.NewGuid():N}-{name}");
}
