// Trains a small character-level GPT on the King James Bible (data/text/kjv.txt.gz), reports the validation
// loss in bits per character next to the unigram baseline, and prints generated text.
//
//   dotnet run -c Release --project samples/CharGpt -- [--epochs N] [--context T] [--dim D] [--layers L]
//       [--heads H] [--batch B] [--limit CHARS] [--data FILE] [--device cpu|cuda|cuda-sim] [--quiet]
using System.Diagnostics;
using FunctionalNets;

int epochs = 2, context = 128, dim = 128, layers = 4, heads = 4, batch = 16, limit = 0;
string? dataPath = null;
bool verbose = true;
string deviceName = "cpu";
for (int i = 0; i < args.Length; i++)
{
    bool Int(out int v) { v = 0; return i + 1 < args.Length && int.TryParse(args[i + 1], out v) && v > 0; }
    switch (args[i])
    {
        case "--epochs" when Int(out var v): epochs = v; i++; break;
        case "--context" when Int(out var v): context = v; i++; break;
        case "--dim" when Int(out var v): dim = v; i++; break;
        case "--layers" when Int(out var v): layers = v; i++; break;
        case "--heads" when Int(out var v): heads = v; i++; break;
        case "--batch" when Int(out var v): batch = v; i++; break;
        case "--limit" when Int(out var v): limit = v; i++; break;
        case "--data" when i + 1 < args.Length: dataPath = args[++i]; break;
        case "--device" when i + 1 < args.Length: deviceName = args[++i]; break;
        case "--quiet": verbose = false; break;
        default:
            Console.Error.WriteLine($"unknown or incomplete option '{args[i]}'");
            Console.Error.WriteLine("usage: CharGpt [--epochs N] [--context T] [--dim D] [--layers L] [--heads H] [--batch B] [--limit CHARS] [--data FILE] [--device cpu|cuda|cuda-sim] [--quiet]");
            return 2;
    }
}

// "cuda" without a GPU prints what was expected, what was found and what to do, and exits; it never falls back
// to the simulator ("cuda-sim", for tests) or to the CPU.
if (!Devices.TryParse(deviceName, out var device, out var deviceError))
{
    Console.Error.WriteLine(deviceError);
    return 3;
}

var text = TextCorpus.Load(dataPath);
if (limit > 0 && limit < text.Length) text = text[..limit];
var tokenizer = CharTokenizer.FromText(text);
var ids = tokenizer.Encode(text);
// The last tenth is held out whole, so no validation window overlaps a training window.
int cut = ids.Length - ids.Length / 10;
var train = Datasets.TextWindows(ids[..cut], context);
var validation = Datasets.TextWindows(ids[cut..], context).Take(1024);

// The unigram baseline: the entropy of the training characters' frequencies, in bits.
var counts = new double[tokenizer.VocabSize];
foreach (var id in ids[..cut]) counts[id]++;
double unigramBits = -counts.Where(c => c > 0).Sum(c => c / cut * Math.Log2(c / cut));
Console.WriteLine($"{text.Length:N0} characters, vocabulary {tokenizer.VocabSize}, {train.Count:N0} training windows of {context}; unigram baseline {unigramBits:0.000} bits/char");

var net = Net.Sequential(Layers.Gpt(tokenizer.VocabSize, context, dim: dim, heads: heads, layers: layers));
long steps = (long)epochs * ((train.Count + batch - 1) / batch);
net.Compile(Optimizers.AdamW(Schedules.WarmupCosine(0.0, 2e-3, Math.Clamp(steps / 10, 1, 100), steps, 1e-4), weightDecay: 0.01),
    Losses.SequenceCrossEntropy());
if (verbose) Console.WriteLine(net.Build(context).Summary());

var clock = Stopwatch.StartNew();
var report = Callbacks.Lambda((epoch, logs) =>
{
    double seconds = clock.Elapsed.TotalSeconds;
    Console.WriteLine($"epoch {epoch}: {seconds:0.0} s, {train.Count * (double)context / seconds:N0} tokens/s, " +
        $"train {logs["loss"] / Math.Log(2):0.000} bits/char, validation {logs["val_loss"] / Math.Log(2):0.000} bits/char");
    clock.Restart();
    return false;
}, "Report");
net.Fit(train, epochs: epochs, batchSize: batch, validation: validation, callbacks: [report], verbose: verbose, device: device);

double bits = net.Evaluate(validation)["loss"] / Math.Log(2);
Console.WriteLine($"validation: {bits:0.000} bits/char (unigram baseline {unigramBits:0.000})");

var prompt = tokenizer.Encode("And God said");
var sample = net.Generate(prompt, 400, context, temperature: 0.8, topK: 10, seed: 1);
Console.WriteLine("sample:");
Console.WriteLine(tokenizer.Decode(prompt) + tokenizer.Decode(sample));
return 0;
