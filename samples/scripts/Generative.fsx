// What the generative scripts (Vae.fsx, Gan.fsx, Diffusion.fsx) share: their arguments, the MNIST images in
// the range each model wants, per-epoch logs and timing, the pictures of the training curves, and the sample
// check (SampleQuality: a CNN trained on real MNIST labels the generated digits). Loaded by those scripts after
// the assemblies and ScriptDevice.fsx; not run on its own.
#r "SkiaSharp.dll"
#r "ScottPlot.dll"
#r "FunctionalNets.Plots.dll"

open System
open System.Diagnostics
open System.IO
open FunctionalNets
open FunctionalNets.Nn
open FunctionalNets.Plots

/// The options every generative script takes.
type Options =
    {
        Epochs: int
        Limit: int option
        Data: string option
        Out: string
        /// Where the check's classifier is kept between runs (trained on first use).
        Classifier: string
        /// How many samples the check scores.
        Samples: int
        Seed: int64
        BatchSize: int
    }

let usage =
    "--epochs E, --limit N, --batch B, --samples S, --seed K, --data DIR, --out DIR, --classifier FILE, --device cpu|cuda|cuda-sim"

/// The options from the command line (after ScriptDevice.take removed --device), over the script's defaults.
let parse (defaults: Options) (args: string list) : Options =
    let rec go (o: Options) args =
        match args with
        | [] -> o
        | "--epochs" :: v :: rest -> go { o with Epochs = int v } rest
        | "--limit" :: v :: rest -> go { o with Limit = Some(int v) } rest
        | "--batch" :: v :: rest -> go { o with BatchSize = int v } rest
        | "--samples" :: v :: rest -> go { o with Samples = int v } rest
        | "--seed" :: v :: rest -> go { o with Seed = int64 v } rest
        | "--data" :: v :: rest -> go { o with Data = Some v } rest
        | "--out" :: v :: rest -> go { o with Out = v } rest
        | "--classifier" :: v :: rest -> go { o with Classifier = v } rest
        | a :: _ ->
            eprintfn "unknown argument '%s'; use %s" a usage
            exit 2

    let o = go defaults args
    Directory.CreateDirectory o.Out |> ignore
    o

/// Takes a script's own option "name VALUE" out of the command line (before `start` reads the rest); fallback
/// when it is absent.
let takeText (name: string) (fallback: string) : string =
    let a = List.ofArray fsi.CommandLineArgs

    match List.tryFindIndex ((=) name) a with
    | Some i when i + 1 < a.Length ->
        fsi.CommandLineArgs <- Array.ofList (a[.. i - 1] @ a[i + 2 ..])
        a[i + 1]
    | _ -> fallback

/// Takes a script's own integer option "name VALUE" out of the command line; fallback when it is absent.
let takeOption (name: string) (fallback: int) : int =
    let text = takeText name (string fallback)

    match System.Int32.TryParse text with
    | true, v -> v
    | _ ->
        eprintfn "%s takes an integer, got '%s'; use %s" name text usage
        exit 2

/// The device and the options of this run.
let start (defaults: Options) : Device * Options =
    let device, rest =
        fsi.CommandLineArgs
        |> Array.skip 1
        |> Array.filter ((<>) "--")
        |> List.ofArray
        |> ScriptDevice.take

    device, parse defaults rest

/// MNIST from --data or DataLocation.findMnist.
type Data = { Train: IDataset; Test: IDataset }

/// Both splits.
let mnist (o: Options) : Data =
    let m = Mnist.load (DataLocation.findMnist o.Data)
    { Train = m.Train; Test = m.Test }

/// The training images, the first --limit of them when given.
let trainingSet (o: Options) (data: Data) =
    match o.Limit with
    | Some n -> Dataset.take n data.Train
    | None -> data.Train

/// Mnist.load's normalised pixels back to [0, 1].
let toUnit (x: Tensor) = x * Mnist.Std + Mnist.Mean

/// Wall-clock and process CPU time since creation.
type Clock() =
    let wall = Stopwatch.StartNew()
    let proc = Process.GetCurrentProcess()
    let cpu0 = proc.TotalProcessorTime

    member _.Wall = wall.Elapsed.TotalSeconds

    member _.Cpu =
        proc.Refresh()
        (proc.TotalProcessorTime - cpu0).TotalSeconds

    member c.Text = sprintf "%.1f s wall, %.1f CPU-s" c.Wall c.Cpu

/// The mean of each logged value over an epoch's steps.
let meanLogs (steps: Logs list) : Logs =
    steps
    |> List.collect Map.toList
    |> List.groupBy fst
    |> List.map (fun (k, vs) -> k, List.averageBy snd vs)
    |> Map.ofList

/// Prints one epoch's line.
let report (epoch: int) (epochs: int) (logs: Logs) (clock: Clock) =
    let values =
        logs
        |> Map.toList
        |> List.map (fun (k, v) -> sprintf "%s %.4f" k v)
        |> String.concat ", "

    printfn "epoch %d/%d: %s (%s)" epoch epochs values clock.Text

/// Writes the curves of the per-epoch logs as training_curves.svg and .png.
let saveCurves (o: Options) (epochs: Logs list) =
    let history = { Epochs = epochs; Messages = [] }

    for ext in [ "svg"; "png" ] do
        TrainingCurves.save (Path.Combine(o.Out, "training_curves." + ext)) history

/// Writes images [N; 1; H; W] with pixels from low (black) to high (white) as name.png.
let saveGrid (o: Options) (name: string) (low: float) (high: float) (title: string) (images: Tensor) =
    ImageGrid.saveSamples (Path.Combine(o.Out, name + ".png")) low high title images

let mutable private realScored = false

/// The check's classifier's training epochs: after 1 it classifies 96.7% of the real test digits with confidence
/// above 0.9, after 3 98.0%, and generated digits score about 10 points higher with it than with the 1-epoch one
/// (measured on one GAN checkpoint: 41.0% and 51.6%), so a weak judge understates the samples.
let classifierEpochs = 3

/// The sample check: the classifier (kept in --classifier, trained for classifierEpochs on the first use and its
/// test accuracy printed) labels images [N; 1; 28; 28] with pixels in [0, 1]; prints the quality of as many real test
/// digits (on the first call), then of the images, and returns the latter.
let check (o: Options) (data: Data) (images: Tensor) : SampleQuality =
    let clock = Clock()
    let trained = File.Exists o.Classifier |> not

    let classifier =
        SampleQuality.mnistClassifier o.Classifier data.Train classifierEpochs (Key.create 2026L)

    if trained then
        let accuracy =
            (Train.evaluate
                (SampleQuality.classifierModel ())
                Losses.crossEntropy
                [ Metrics.accuracy ]
                classifier
                data.Test
                1000)["accuracy"]

        printfn
            "check: classifier trained for %d epochs, test accuracy %.4f, saved to %s (%s)"
            classifierEpochs
            accuracy
            o.Classifier
            clock.Text

    // The same count of real test digits through the same path (Mnist.load's pixels back to [0, 1], then the
    // classifier's normalisation), the ceiling the generated digits are measured against.
    // Once a run.
    if not realScored then
        realScored <- true

        let real =
            toUnit (data.Test.GetBatch(Array.init (min images.Shape[0] data.Test.Count) id)).Input

        printfn "check (real test digits): %s" (SampleQuality.describe (SampleQuality.scoreMnist classifier 0.9 real))

    let q = SampleQuality.scoreMnist classifier 0.9 images
    printfn "check: %s" (SampleQuality.describe q)
    q
