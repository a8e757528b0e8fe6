using FunctionalNets;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>Datasets.Mnist.Download as a user's own project meets it. The network is never needed here:
/// the folder is filled from the repository's copy, which is exactly the state after a first download.</summary>
public class MnistDownloadTests
{
    private static string RepositoryMnist()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var candidate = Path.Combine(d.FullName, "data", "mnist");
            if (File.Exists(Path.Combine(candidate, "t10k-labels-idx1-ubyte.gz"))) return candidate;
        }
        throw new InvalidOperationException("data/mnist was not found above the test binaries.");
    }

    private static string CopyOfMnist()
    {
        var dir = Path.Combine(Path.GetTempPath(), "fn-mnist-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(RepositoryMnist(), "*.gz"))
            File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        return dir;
    }

    [Fact]
    public void Download_keeps_valid_files_and_returns_their_folder()
    {
        var dir = CopyOfMnist();
        try
        {
            var before = Directory.GetFiles(dir).ToDictionary(f => f, File.GetLastWriteTimeUtc);
            Assert.Equal(Path.GetFullPath(dir), Datasets.Mnist.Download(dir));
            // Nothing was rewritten (and no temporary files were left beside them).
            Assert.Equal(before.Keys.OrderBy(f => f), Directory.GetFiles(dir).OrderBy(f => f));
            foreach (var (file, time) in before) Assert.Equal(time, File.GetLastWriteTimeUtc(file));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Train_with_download_reads_a_folder_that_already_holds_the_files()
    {
        var dir = CopyOfMnist();
        try
        {
            var test = Datasets.Mnist.Test(dir, download: true);
            Assert.Equal(10_000, test.Count);
            Assert.Equal(new[] { 1, 28, 28 }, test.InputShape);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Blank_path_is_rejected_before_any_download()
    {
        var e = Assert.Throws<ArgumentException>(() => Datasets.Mnist.Download("  "));
        Assert.Contains("MNIST path must not be empty", e.Message);
    }
}
