using System.Globalization;
using FunctionalNets;
using Xunit;

namespace FunctionalNets.Tests;

public class LoggingCallbackTests
{
    [Fact]
    public void CsvLogger_and_TensorBoard_record_every_epoch_of_Fit()
    {
        var dir = Directory.CreateTempSubdirectory("fn-cs-logging-").FullName;
        try
        {
            var csv = Path.Combine(dir, "log.csv");
            var net = Net.Sequential(Layers.Linear(2, 8), Layers.ReLU(), Layers.Linear(8, 3))
                .Compile(Optimizers.Adam(0.01), Losses.CrossEntropy(), Metrics.Accuracy());
            var history = net.Fit(TestData.Blobs(), epochs: 2, batchSize: 30, verbose: false,
                callbacks: new[] { Callbacks.CsvLogger(csv), Callbacks.TensorBoard(Path.Combine(dir, "tb")) });

            var lines = File.ReadAllLines(csv);
            Assert.Equal("epoch,loss,accuracy,lr", lines[0]);
            Assert.Equal(3, lines.Length);
            Assert.Equal(history["loss"][1], double.Parse(lines[2].Split(',')[1], CultureInfo.InvariantCulture));

            var events = Assert.Single(Directory.GetFiles(Path.Combine(dir, "tb")));
            Assert.Contains("tfevents", Path.GetFileName(events));
            // The first record is the file-version event: wall_time (1 + 8 bytes), step 0 (1 + 1) and
            // file_version "brain.Event:2" (1 + 1 + 13) = 26 bytes of protobuf.
            Assert.Equal(26UL, BitConverter.ToUInt64(File.ReadAllBytes(events), 0));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Blank_paths_are_rejected_with_the_callback_named()
    {
        Assert.Contains("CsvLogger", Assert.Throws<ArgumentException>(() => Callbacks.CsvLogger(" ")).Message);
        Assert.Contains("TensorBoard", Assert.Throws<ArgumentException>(() => Callbacks.TensorBoard("")).Message);
    }
}
