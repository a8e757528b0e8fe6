module FunctionalNets.Tests.Nn.TextTests

open System
open System.IO
open System.IO.Compression
open System.Text
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn

let private longs (t: Tensor) = Tensor.toFloatArray t |> Array.map int

// ---- tokenizers ----

let ``the character tokenizer numbers the distinct characters in code order and round-trips`` () =
    let tok = CharTokenizer.ofText "hello world" :> ITokenizer
    // Distinct characters sorted by code: ' ' d e h l o r w.
    Expect.equal tok.VocabSize 8 "tok.VocabSize"
    Expect.equal (tok.Encode "hello world") [| 3; 2; 4; 4; 5; 0; 7; 5; 6; 4; 1 |] "tok.Encode \"hello world\""
    Expect.equal (tok.Decode(tok.Encode "hello world")) "hello world" "tok.Decode(tok.Encode \"hello world\")"
    Expect.equal (tok.Decode [| 5; 4; 1 |]) "old" "tok.Decode [| 5; 4; 1 |]"

let ``an unknown character names itself, its position and the vocabulary size`` () =
    let tok = CharTokenizer.ofText "abc" :> ITokenizer

    let e =
        Expects.throws<ArgumentException> "tok.Encode \"abz\"" (fun () -> tok.Encode "abz" |> ignore)

    Expect.stringContains e.Message "'z'" "e.Message"
    Expect.stringContains e.Message "position 2" "e.Message"
    Expect.stringContains e.Message "3 characters" "e.Message"

    let e2 =
        Expects.throws<ArgumentOutOfRangeException> "tok.Decode [| 0; 3 |]" (fun () -> tok.Decode [| 0; 3 |] |> ignore)

    Expect.stringContains e2.Message "id 3" "e2.Message"

let ``ofChars keeps the given order and rejects duplicates`` () =
    let tok = CharTokenizer.ofChars [ 'b'; 'a' ] :> ITokenizer
    Expect.equal (tok.Encode "ab") [| 1; 0 |] "tok.Encode \"ab\""

    Expects.throws<ArgumentException> "CharTokenizer.ofChars [ 'a'; 'a' ]" (fun () ->
        CharTokenizer.ofChars [ 'a'; 'a' ] |> ignore)
    |> ignore

    Expects.throws<ArgumentException> "CharTokenizer.ofText \"\"" (fun () -> CharTokenizer.ofText "" |> ignore)
    |> ignore

let ``the byte tokenizer gives UTF-8 bytes, 256 ids, and round-trips non-ASCII text`` () =
    let tok = ByteTokenizer() :> ITokenizer
    Expect.equal tok.VocabSize 256 "tok.VocabSize"
    // 'é' is U+00E9, two UTF-8 bytes C3 A9; '€' is U+20AC, three bytes E2 82 AC.
    Expect.equal (tok.Encode "aé€") [| 0x61; 0xC3; 0xA9; 0xE2; 0x82; 0xAC |] "tok.Encode \"aé€\""
    let text = "naïve café, 1611 — Ἐν ἀρχῇ"
    Expect.equal (tok.Decode(tok.Encode text)) text "tok.Decode(tok.Encode text)"

    Expects.throws<ArgumentOutOfRangeException> "tok.Decode [| 256 |]" (fun () -> tok.Decode [| 256 |] |> ignore)
    |> ignore

// ---- files ----

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

        Expect.equal (Text.load plain) text "Text.load plain"
        Expect.equal (Text.load gz) text "Text.load gz"
        let missing = Path.Combine(dir, "none.txt")

        let e =
            Expects.throws<FileNotFoundException> "Text.load missing" (fun () -> Text.load missing |> ignore)

        Expect.stringContains e.Message "none.txt" "e.Message"
        let bad = Path.Combine(dir, "bad.txt.gz")
        File.WriteAllText(bad, "not gzip")

        Expects.throws<InvalidDataException> "Text.load bad" (fun () -> Text.load bad |> ignore)
        |> ignore
    finally
        Directory.Delete(dir, true)

let ``the shipped corpus is over 1 MB of English with a character vocabulary under 100`` () =
    let text = Text.load (Text.findCorpus None)
    Expect.isTrue (text.Length > 1_000_000) (sprintf "only %d characters" text.Length)
    Expect.stringContains text "In the beginning God created the heaven and the earth." "text"
    let tok = CharTokenizer.ofText text :> ITokenizer
    Checks.inRange "tok.VocabSize" 60 100 tok.VocabSize

// ---- window datasets ----

let ``windows give inputs and targets shifted by one at each stride`` () =
    let ids = Array.init 10 (fun i -> 100 + i)
    let ds = Text.windows 3 2 ids
    // Starts 0, 2, 4, 6: the window at 6 needs ids 6..9, the next (8) would need id 11.
    Expect.equal ds.Count 4 "ds.Count"
    let batch = ds.GetBatch [| 1; 3 |]
    Expect.equal (batch.Input.Shape.ToArray()) [| 2; 3 |] "batch.Input.Shape.ToArray()"
    Expect.equal batch.Input.DType DType.Int64 "batch.Input.DType"
    Expect.equal (longs batch.Input) [| 102; 103; 104; 106; 107; 108 |] "longs batch.Input"
    Expect.equal (longs batch.Target) [| 103; 104; 105; 107; 108; 109 |] "longs batch.Target"

    Expects.throws<ArgumentOutOfRangeException> "ds.GetBatch [| 4 |]" (fun () -> ds.GetBatch [| 4 |] |> ignore)
    |> ignore

    Expects.throws<ArgumentException> "Text.windows 10 1 ids" (fun () -> Text.windows 10 1 ids |> ignore)
    |> ignore

let ``the train/validation split is contiguous and keeps every token once`` () =
    let ids = Array.init 100 id
    let train, valid = Text.splitIds 0.1 ids
    Expect.equal train (Array.init 90 id) "train"
    Expect.equal valid (Array.init 10 (fun i -> 90 + i)) "valid"
    let trainDs, validDs = Text.trainValidation 8 8 0.1 ids
    // (90 - 8 - 1) / 8 + 1 = 11 and (10 - 8 - 1) / 8 + 1 = 1.
    Expect.equal trainDs.Count 11 "trainDs.Count"
    Expect.equal validDs.Count 1 "validDs.Count"

    Expect.equal
        (longs (validDs.GetBatch [| 0 |]).Input)
        (Array.init 8 (fun i -> 90 + i))
        "longs (validDs.GetBatch [| 0 |]).Input"

// ---- sampling ----

let private logits = [| 0.3; 2.0; -1.0; 1.2; 0.9 |]

let private softmax (t: float) (xs: float[]) =
    let e = xs |> Array.map (fun x -> exp (x / t))
    let s = Array.sum e
    e |> Array.map (fun v -> v / s)

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
        Expect.equal
            (Generation.sampleFrom topOne (Key.create k) logits)
            1
            "Generation.sampleFrom topOne (Key.create k) logits"

        Expect.equal
            (Generation.sampleFrom greedy (Key.create k) logits)
            1
            "Generation.sampleFrom greedy (Key.create k) logits"

let ``probabilities are softmax(logits / T), restricted to the top k and renormalized`` () =
    let p =
        Generation.probabilities
            { Generation.options 8 with
                Temperature = 0.5
            }
            logits

    let expected = softmax 0.5 logits

    Array.iter2
        (fun (e: float) (a: float) ->
            Expect.equal (System.Math.Round(a, 12)) (System.Math.Round(e, 12)) "a to 12 places")
        expected
        p

    let top2 =
        Generation.probabilities
            { Generation.options 8 with
                TopK = Some 2
            }
            logits
    // The two largest logits are 2.0 (id 1) and 1.2 (id 3).
    let e1, e3 = exp 2.0, exp 1.2

    Array.iter2
        (fun (e: float) (a: float) ->
            Expect.equal (System.Math.Round(a, 12)) (System.Math.Round(e, 12)) "a to 12 places")
        [| 0.0; e1 / (e1 + e3); 0.0; e3 / (e1 + e3); 0.0 |]
        top2

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

    Expect.isTrue
        (at 0.5 < at 1.0 && at 1.0 < at 2.0 && at 2.0 < log 5.0)
        "at 0.5 < at 1.0 && at 1.0 < at 2.0 && at 2.0 < log 5.0"

let ``the same key gives the same sample and draws follow the probabilities`` () =
    let o = Generation.options 8

    let draw k =
        Generation.sampleFrom o (Key.create k) logits

    Expect.equal (draw 5L) (draw 5L) "draw 5L"
    let n = 4000
    let counts = Array.zeroCreate 5

    for k in 0 .. n - 1 do
        let i = draw (int64 k)
        counts[i] <- counts[i] + 1

    let p = softmax 1.0 logits
    // Each frequency within 4 binomial standard deviations of its probability.
    for i in 0..4 do
        let sd = sqrt (p[i] * (1.0 - p[i]) / float n)

        Expect.isTrue
            (abs (float counts[i] / float n - p[i]) < 4.0 * sd + 1e-9)
            (sprintf "id %d: %d of %d" i counts[i] n)

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

    Expect.equal
        (Generation.generate model greedy (Key.create 0L) [| 1; 2 |] 6)
        [| 3; 4; 5; 6; 0; 1 |]
        "Generation.generate model greedy (Key.create 0L) [| 1; 2 |] 6"

    Expect.equal longest 3 "longest"

    let sampled k =
        Generation.generate model (Generation.options 3) (Key.create k) [| 1 |] 10

    Expect.equal (sampled 9L) (sampled 9L) "sampled 9L"

    let e =
        Expects.throws<ArgumentException> "Generation.generate model greedy (Key.create 0L) [||] 2" (fun () ->
            Generation.generate model greedy (Key.create 0L) [||] 2 |> ignore)

    Expect.stringContains e.Message "prompt is empty" "e.Message"

/// The tests of this module.
let tests =
    testList
        "Text"
        [
            testCase
                "the character tokenizer numbers the distinct characters in code order and round-trips"
                ``the character tokenizer numbers the distinct characters in code order and round-trips``
            testCase
                "an unknown character names itself, its position and the vocabulary size"
                ``an unknown character names itself, its position and the vocabulary size``
            testCase
                "ofChars keeps the given order and rejects duplicates"
                ``ofChars keeps the given order and rejects duplicates``
            testCase
                "the byte tokenizer gives UTF-8 bytes, 256 ids, and round-trips non-ASCII text"
                ``the byte tokenizer gives UTF-8 bytes, 256 ids, and round-trips non-ASCII text``
            testCase
                "Text.load reads .txt and .txt.gz alike and names a missing file"
                ``Text.load reads .txt and .txt.gz alike and names a missing file``
            testCase
                "the shipped corpus is over 1 MB of English with a character vocabulary under 100"
                ``the shipped corpus is over 1 MB of English with a character vocabulary under 100``
            testCase
                "windows give inputs and targets shifted by one at each stride"
                ``windows give inputs and targets shifted by one at each stride``
            testCase
                "the train/validation split is contiguous and keeps every token once"
                ``the train/validation split is contiguous and keeps every token once``
            testCase
                "top-k 1 and temperature 0 are greedy for every key"
                ``top-k 1 and temperature 0 are greedy for every key``
            testCase
                "probabilities are softmax(logits / T), restricted to the top k and renormalized"
                ``probabilities are softmax(logits / T), restricted to the top k and renormalized``
            testCase "a higher temperature flattens the distribution" ``a higher temperature flattens the distribution``
            testCase
                "the same key gives the same sample and draws follow the probabilities"
                ``the same key gives the same sample and draws follow the probabilities``
            testCase
                "generate feeds back its samples and crops the context to the model's length"
                ``generate feeds back its samples and crops the context to the model's length``
        ]
