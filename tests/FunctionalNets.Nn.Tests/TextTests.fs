module FunctionalNets.Tests.Nn.TextTests

open System
open System.IO
open System.IO.Compression
open System.Text
open Xunit
open FunctionalNets
open FunctionalNets.Nn

let private longs (t: Tensor) = Tensor.toFloatArray t |> Array.map int

// ---- tokenizers ----

[<Fact>]
let ``the character tokenizer numbers the distinct characters in code order and round-trips`` () =
    let tok = CharTokenizer.ofText "hello world" :> ITokenizer
    // Distinct characters sorted by code: ' ' d e h l o r w.
    Assert.Equal(8, tok.VocabSize)
    Assert.Equal<int[]>([| 3; 2; 4; 4; 5; 0; 7; 5; 6; 4; 1 |], tok.Encode "hello world")
    Assert.Equal("hello world", tok.Decode(tok.Encode "hello world"))
    Assert.Equal("old", tok.Decode [| 5; 4; 1 |])

[<Fact>]
let ``an unknown character names itself, its position and the vocabulary size`` () =
    let tok = CharTokenizer.ofText "abc" :> ITokenizer
    let e = Assert.Throws<ArgumentException>(fun () -> tok.Encode "abz" |> ignore)
    Assert.Contains("'z'", e.Message)
    Assert.Contains("position 2", e.Message)
    Assert.Contains("3 characters", e.Message)

    let e2 =
        Assert.Throws<ArgumentOutOfRangeException>(fun () -> tok.Decode [| 0; 3 |] |> ignore)

    Assert.Contains("id 3", e2.Message)

[<Fact>]
let ``ofChars keeps the given order and rejects duplicates`` () =
    let tok = CharTokenizer.ofChars [ 'b'; 'a' ] :> ITokenizer
    Assert.Equal<int[]>([| 1; 0 |], tok.Encode "ab")

    Assert.Throws<ArgumentException>(fun () -> CharTokenizer.ofChars [ 'a'; 'a' ] |> ignore)
    |> ignore

    Assert.Throws<ArgumentException>(fun () -> CharTokenizer.ofText "" |> ignore)
    |> ignore

[<Fact>]
let ``the byte tokenizer gives UTF-8 bytes, 256 ids, and round-trips non-ASCII text`` () =
    let tok = ByteTokenizer() :> ITokenizer
    Assert.Equal(256, tok.VocabSize)
    // 'é' is U+00E9, two UTF-8 bytes C3 A9; '€' is U+20AC, three bytes E2 82 AC.
    Assert.Equal<int[]>([| 0x61; 0xC3; 0xA9; 0xE2; 0x82; 0xAC |], tok.Encode "aé€")
    let text = "naïve café, 1611 — Ἐν ἀρχῇ"
    Assert.Equal(text, tok.Decode(tok.Encode text))

    Assert.Throws<ArgumentOutOfRangeException>(fun () -> tok.Decode [| 256 |] |> ignore)
    |> ignore

// ---- files ----

[<Fact>]
let ``Text.load reads .txt and .txt.gz alike and names a missing file`` () =
    let dir = Path.Combine(Path.GetTempPath(), "fn-text-" + Guid.NewGuid().ToString "N")
    Directory.CreateDirectory dir |> ignore

    try
        let text = "In the beginning\nwas the Word. é\n"
        let plain = Path.Combine(dir, "a.txt")
        File.WriteAllText(plain, text, UTF8Encoding(false))
        let gz = Path.Combine(dir, "a.txt.gz")

        do
            use out = File.Create gz
            use zip = new GZipStream(out, CompressionLevel.Optimal)
            let bytes = Encoding.UTF8.GetBytes text
            zip.Write(bytes, 0, bytes.Length)

        Assert.Equal(text, Text.load plain)
        Assert.Equal(text, Text.load gz)
        let missing = Path.Combine(dir, "none.txt")
        let e = Assert.Throws<FileNotFoundException>(fun () -> Text.load missing |> ignore)
        Assert.Contains("none.txt", e.Message)
        let bad = Path.Combine(dir, "bad.txt.gz")
        File.WriteAllText(bad, "not gzip")
        Assert.Throws<InvalidDataException>(fun () -> Text.load bad |> ignore) |> ignore
    finally
        Directory.Delete(dir, true)

[<Fact>]
let ``the shipped corpus is over 1 MB of English with a character vocabulary under 100`` () =
    let text = Text.load (Text.findCorpus None)
    Assert.True(text.Length > 1_000_000, sprintf "only %d characters" text.Length)
    Assert.Contains("In the beginning God created the heaven and the earth.", text)
    let tok = CharTokenizer.ofText text :> ITokenizer
    Assert.InRange(tok.VocabSize, 60, 100)

// ---- window datasets ----

[<Fact>]
let ``windows give inputs and targets shifted by one at each stride`` () =
    let ids = Array.init 10 (fun i -> 100 + i)
    let ds = Text.windows 3 2 ids
    // Starts 0, 2, 4, 6: the window at 6 needs ids 6..9, the next (8) would need id 11.
    Assert.Equal(4, ds.Count)
    let batch = ds.GetBatch [| 1; 3 |]
    Assert.Equal<int[]>([| 2; 3 |], batch.Input.Shape.ToArray())
    Assert.Equal(DType.Int64, batch.Input.DType)
    Assert.Equal<int[]>([| 102; 103; 104; 106; 107; 108 |], longs batch.Input)
    Assert.Equal<int[]>([| 103; 104; 105; 107; 108; 109 |], longs batch.Target)

    Assert.Throws<ArgumentOutOfRangeException>(fun () -> ds.GetBatch [| 4 |] |> ignore)
    |> ignore

    Assert.Throws<ArgumentException>(fun () -> Text.windows 10 1 ids |> ignore)
    |> ignore

[<Fact>]
let ``the train/validation split is contiguous and keeps every token once`` () =
    let ids = Array.init 100 id
    let train, valid = Text.splitIds 0.1 ids
    Assert.Equal<int[]>(Array.init 90 id, train)
    Assert.Equal<int[]>(Array.init 10 (fun i -> 90 + i), valid)
    let trainDs, validDs = Text.trainValidation 8 8 0.1 ids
    // (90 - 8 - 1) / 8 + 1 = 11 and (10 - 8 - 1) / 8 + 1 = 1.
    Assert.Equal(11, trainDs.Count)
    Assert.Equal(1, validDs.Count)
    Assert.Equal<int[]>(Array.init 8 (fun i -> 90 + i), longs (validDs.GetBatch [| 0 |]).Input)

// ---- sampling ----

let private logits = [| 0.3; 2.0; -1.0; 1.2; 0.9 |]

let private softmax (t: float) (xs: float[]) =
    let e = xs |> Array.map (fun x -> exp (x / t))
    let s = Array.sum e
    e |> Array.map (fun v -> v / s)

[<Fact>]
let ``top-k 1 and temperature 0 are greedy for every key`` () =
    let topOne =
        { Generation.options 8 with
            TopK = Some 1
        }

    let greedy =
        { Generation.options 8 with
            Temperature = 0.0
        }

    for k in 0L .. 20L do
        Assert.Equal(1, Generation.sampleFrom topOne (Key.create k) logits)
        Assert.Equal(1, Generation.sampleFrom greedy (Key.create k) logits)

[<Fact>]
let ``probabilities are softmax(logits / T), restricted to the top k and renormalized`` () =
    let p =
        Generation.probabilities
            { Generation.options 8 with
                Temperature = 0.5
            }
            logits

    let expected = softmax 0.5 logits
    Array.iter2 (fun (e: float) (a: float) -> Assert.Equal(e, a, 12)) expected p

    let top2 =
        Generation.probabilities
            { Generation.options 8 with
                TopK = Some 2
            }
            logits
    // The two largest logits are 2.0 (id 1) and 1.2 (id 3).
    let e1, e3 = exp 2.0, exp 1.2

    Array.iter2
        (fun (e: float) (a: float) -> Assert.Equal(e, a, 12))
        [| 0.0; e1 / (e1 + e3); 0.0; e3 / (e1 + e3); 0.0 |]
        top2

[<Fact>]
let ``a higher temperature flattens the distribution`` () =
    let entropy (p: float[]) =
        p |> Array.sumBy (fun v -> if v > 0.0 then -v * log v else 0.0)

    let at t =
        entropy (
            Generation.probabilities
                { Generation.options 8 with
                    Temperature = t
                }
                logits
        )

    Assert.True(at 0.5 < at 1.0 && at 1.0 < at 2.0 && at 2.0 < log 5.0)

[<Fact>]
let ``the same key gives the same sample and draws follow the probabilities`` () =
    let o = Generation.options 8

    let draw k =
        Generation.sampleFrom o (Key.create k) logits

    Assert.Equal(draw 5L, draw 5L)
    let n = 4000
    let counts = Array.zeroCreate 5

    for k in 0 .. n - 1 do
        let i = draw (int64 k)
        counts[i] <- counts[i] + 1

    let p = softmax 1.0 logits
    // Each frequency within 4 binomial standard deviations of its probability.
    for i in 0..4 do
        let sd = sqrt (p[i] * (1.0 - p[i]) / float n)
        Assert.True(abs (float counts[i] / float n - p[i]) < 4.0 * sd + 1e-9, sprintf "id %d: %d of %d" i counts[i] n)

[<Fact>]
let ``generate feeds back its samples and crops the context to the model's length`` () =
    let vocab = 7
    let mutable longest = 0

    // A model that strongly predicts (last id + 1) mod vocab at every position.
    let model (ids: Tensor) =
        let t = ids.Shape[1]
        longest <- max longest t
        let xs = longs ids

        let logits =
            Array.init (t * vocab) (fun j ->
                if j % vocab = (xs[j / vocab] + 1) % vocab then
                    10.0
                else
                    0.0)

        Tensor.ofArray (logits, [ 1; t; vocab ])

    let greedy =
        { Generation.options 3 with
            Temperature = 0.0
        }

    Assert.Equal<int[]>([| 3; 4; 5; 6; 0; 1 |], Generation.generate model greedy (Key.create 0L) [| 1; 2 |] 6)
    Assert.Equal(3, longest)

    let sampled k =
        Generation.generate model (Generation.options 3) (Key.create k) [| 1 |] 10

    Assert.Equal<int[]>(sampled 9L, sampled 9L)

    let e =
        Assert.Throws<ArgumentException>(fun () -> Generation.generate model greedy (Key.create 0L) [||] 2 |> ignore)

    Assert.Contains("prompt is empty", e.Message)
