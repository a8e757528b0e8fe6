// A small character-level GPT on the King James Bible (data/text/kjv.txt.gz) in the functional F# style:
// the tokenizer, the window datasets and the model are values, training is Train.fit's fold, the loss is
// cross-entropy over every position, and sampling folds the model over its own output.
//
// Build first, from the repository root:   dotnet build -c Release tests/FunctionalNets.Nn.Tests
// then run:                                dotnet fsi samples/scripts/CharGpt.fsx
// Options:  --limit N    use the first N characters of the corpus
//           --epochs E   number of epochs (default 2)
//           --layers L   Transformer blocks (default 4); --dim D (default 128)
// e.g. a quick run:       dotnet fsi samples/scripts/CharGpt.fsx --limit 100000 --layers 2
#I "../../tests/FunctionalNets.Nn.Tests/bin/Release/net10.0"
#I "../../tests/FunctionalNets.Nn.Tests/bin/Debug/net10.0"
#r "FunctionalNets.Kernels.dll"
#r "System.Numerics.Tensors.dll"
#r "FunctionalNets.Core.dll"
#r "FunctionalNets.Data.dll"
#r "FunctionalNets.Nn.dll"
#load "ScriptDevice.fsx"

open System
open System.Diagnostics
open FunctionalNets
open FunctionalNets.Nn

let device, args =
    fsi.CommandLineArgs
    |> Array.skip 1
    |> Array.filter ((<>) "--")
    |> List.ofArray
    |> ScriptDevice.take

let rec parse (limit, epochs, layers, dim) args =
    match args with
    | [] -> limit, epochs, layers, dim
    | "--limit" :: n :: rest -> parse (Some(int n), epochs, layers, dim) rest
    | "--epochs" :: n :: rest -> parse (limit, int n, layers, dim) rest
    | "--layers" :: n :: rest -> parse (limit, epochs, int n, dim) rest
    | "--dim" :: n :: rest -> parse (limit, epochs, layers, int n) rest
    | a :: _ ->
        failwithf "unknown argument '%s'; use --limit N, --epochs E, --layers L, --dim D, --device cpu|cuda|cuda-sim" a

let limit, epochs, layers, dim = parse (None, 2, 4, 128) args
let context, batchSize = 128, 16

let text =
    let all = Text.load (Text.findCorpus None)

    match limit with
    | Some n when n < all.Length -> all[.. n - 1]
    | _ -> all

let tokenizer = CharTokenizer.ofText text :> ITokenizer
let ids = tokenizer.Encode text
let train, heldOut = Text.trainValidation context context 0.1 ids
let validation = Dataset.take 1024 heldOut

// The unigram baseline: the entropy of the character frequencies, in bits.
let unigramBits =
    ids
    |> Array.countBy id
    |> Array.sumBy (fun (_, c) ->
        let p = float c / float ids.Length
        -p * Math.Log2 p)

printfn
    "%d characters, vocabulary %d, %d training windows; unigram baseline %.3f bits/char"
    text.Length
    tokenizer.VocabSize
    train.Count
    unigramBits

let model =
    Layers.gpt (tokenizer.VocabSize, context, dim = dim, heads = 4, layers = layers)

/// Cross-entropy of next-token logits [N; T; V] against ids [N; T], averaged over every position.
let sequenceLoss (logits: Tensor) (targets: Tensor) =
    Losses.crossEntropy (Tensor.reshape (logits, [ -1; tokenizer.VocabSize ])) (Tensor.reshape (targets, [ -1 ]))

let steps = int64 epochs * int64 ((train.Count + batchSize - 1) / batchSize)

let optimizer =
    Optim.adamw (Schedules.warmupCosine 0.0 2e-3 (max 1L (min 100L (steps / 10L))) steps 1e-4)

let initial = Train.init model [ context ] optimizer (Key.create 0L)
printfn "%s, %d parameters" model.Name (Layer.numParams initial.Params)

let clock = Stopwatch.StartNew()

let report =
    Callbacks.create "Report" (fun e ->
        let seconds = clock.Elapsed.TotalSeconds

        printfn
            "epoch %d: %.1f s, %.0f tokens/s, validation %.3f bits/char"
            e.Epoch
            seconds
            (float (train.Count * context) / seconds)
            (e.Logs["val_loss"] / log 2.0)

        clock.Restart()
        false)

let options =
    { FitOptions.defaults with
        Epochs = epochs
        BatchSize = batchSize
        Validation = Some(ScriptDevice.data device validation)
        Callbacks = [ report ]
    }

let trained, _ =
    Train.fit model sequenceLoss optimizer options (ScriptDevice.data device train) (Train.toDevice device initial)

let bits =
    (Train.evaluate model sequenceLoss [] trained (ScriptDevice.data device validation) 64)["loss"]
    / log 2.0

printfn "validation: %.3f bits/char (unigram baseline %.3f)" bits unigramBits

let prompt = tokenizer.Encode "And God said"

let sample =
    Generation.generate
        (fun ids -> Layer.predict model trained.Params trained.State (Tensor.toDevice (device, ids)))
        {
            Temperature = 0.8
            TopK = Some 10
            ContextLength = context
        }
        (Key.create 1L)
        prompt
        400

printfn "sample:\n%s%s" (tokenizer.Decode prompt) (tokenizer.Decode sample)
