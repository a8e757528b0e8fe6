using System.IO.Compression;
using System.Text;
using FunctionalNets;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>The text road from C#: tokenizer, corpus file, sliding windows and Net.Generate, against what their
/// documentation promises, worked out by hand (greedy decoding against the argmax of the net's own logits).</summary>
public class TextFamilyTests
{
    [Fact]
    public void CharTokenizer_numbers_the_distinct_characters_in_ordinal_order()
    {
        var tokenizer = CharTokenizer.FromText("hello");
        Assert.Equal("ehlo", tokenizer.Characters);
        Assert.Equal(4, tokenizer.VocabSize);
        Assert.Equal(new[] { 1, 3, 2, 0 }, tokenizer.Encode("hole"));
        Assert.Equal("hole", tokenizer.Decode(new[] { 1, 3, 2, 0 }));
        var e = Assert.ThrowsAny<ArgumentException>(() => tokenizer.Encode("hex"));
        Assert.Contains("x", e.Message);
        Assert.ThrowsAny<ArgumentException>(() => CharTokenizer.FromText(""));
    }

    [Fact]
    public void TextCorpus_Load_reads_plain_and_gzipped_files_and_names_a_missing_one()
    {
        var dir = Directory.CreateTempSubdirectory("fn-cs-text-").FullName;
        try
        {
            const string text = "In the beginning\nwas the wörd.\n";
            var plain = Path.Combine(dir, "a.txt");
            File.WriteAllText(plain, text, new UTF8Encoding(false));
            var gz = Path.Combine(dir, "b.txt.gz");
            using (var file = File.Create(gz))
            using (var zip = new GZipStream(file, CompressionLevel.Fastest))
                zip.Write(Encoding.UTF8.GetBytes(text));
            Assert.Equal(text, TextCorpus.Load(plain));
            Assert.Equal(text, TextCorpus.Load(gz));

            var missing = Path.Combine(dir, "missing.txt");
            var e = Assert.ThrowsAny<FileNotFoundException>(() => TextCorpus.Load(missing));
            Assert.Contains("missing.txt", e.Message);
            Assert.Contains("TextCorpus.Load", Assert.ThrowsAny<ArgumentException>(() => TextCorpus.Load(" ")).Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void TextWindows_cuts_inputs_and_next_token_targets_at_every_stride()
    {
        // Ten ids, windows of 3 every 2: starts s = 0, 2, 4, 6 (s + 3 + 1 <= 10); input [s, s+3), target [s+1, s+4).
        int[] ids = Enumerable.Range(10, 10).ToArray();
        var data = Datasets.TextWindows(ids, blockSize: 3, stride: 2);
        Assert.Equal(4, data.Count);
        var (inputs, targets) = data.GetBatch(0, 3);
        Assert.Equal(new[] { 2, 3 }, inputs.Dims());
        Assert.Equal(new double[] { 10, 11, 12, 16, 17, 18 }, inputs.ToDoubleArray());
        Assert.Equal(new double[] { 11, 12, 13, 17, 18, 19 }, targets.ToDoubleArray());
        // Without a stride the windows do not overlap: starts 0, 3, 6.
        Assert.Equal(3, Datasets.TextWindows(ids, blockSize: 3).Count);
        Assert.Contains("TextWindows", Assert.ThrowsAny<ArgumentException>(() => Datasets.TextWindows(ids, 0)).Message);
    }

    private static Net SmallGpt() =>
        Net.Sequential(Layers.Gpt(vocabSize: 7, contextLength: 4, dim: 8, heads: 2, layers: 1)).Build([4], seed: 11);

    [Fact]
    public void Generate_greedy_decoding_takes_the_argmax_of_the_last_logits_over_the_context_window()
    {
        using var net = SmallGpt();
        int[] prompt = { 3, 1 };
        var generated = net.Generate(prompt, count: 6, contextLength: 4, temperature: 0.0);

        var ids = prompt.ToList();
        for (int k = 0; k < 6; k++)
        {
            var window = ids.Skip(Math.Max(0, ids.Count - 4)).Select(i => (long)i).ToArray();
            var logits = net.Predict(Tensor.OfArray(window, [1, window.Length])).ToDoubleArray();
            var last = logits[^7..];
            ids.Add(Array.IndexOf(last, last.Max()));
        }
        Assert.Equal(ids.Skip(2), generated);
        // Sampling among the single most likely token is greedy decoding too.
        Assert.Equal(generated, net.Generate(prompt, count: 6, contextLength: 4, temperature: 1.0, topK: 1, seed: 5));
    }

    [Fact]
    public void Generate_samples_count_valid_ids_and_repeats_with_its_seed()
    {
        using var net = SmallGpt();
        var a = net.Generate(new[] { 2 }, count: 12, contextLength: 4, temperature: 1.5, seed: 7);
        Assert.Equal(12, a.Length);
        Assert.All(a, id => Assert.InRange(id, 0, 6));
        Assert.Equal(a, net.Generate(new[] { 2 }, count: 12, contextLength: 4, temperature: 1.5, seed: 7));
        Assert.Empty(net.Generate(new[] { 2 }, count: 0, contextLength: 4));

        var context = Assert.Throws<ArgumentOutOfRangeException>(() => net.Generate(new[] { 2 }, 3, contextLength: 0));
        Assert.Equal("contextLength", context.ParamName);
        Assert.Contains("Net.Generate", context.Message);
        Assert.Contains("Net.Generate", Assert.Throws<ArgumentOutOfRangeException>(() => net.Generate(new[] { 2 }, 3, 4, topK: 0)).Message);
    }
}
