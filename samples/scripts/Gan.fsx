// DCGAN on MNIST (Radford et al.) with two optimizers in one training fold: the state is a pair of train
// states (generator, discriminator), each with its own Adam state, and Gan.stepAveraged maps (pair, average,
// batch) to the next pair and a moving average of the generator's weights (--ema-e4; off by default: decay 0.999
// scored no better than the last weights over 6 epochs), a pure function. Samples come from the averaged
// generator, the last weights when the decay is 0. Writes a grid of samples from a fixed set of latent vectors
// and both generators' weights after every epoch, the training curves, and the sample check (how a CNN trained on
// real digits labels 500 generated ones).
//
// CPU budget: 3.5 CPU-minutes for the default 3 epochs (about 70 CPU-s an epoch), 5 minutes on 2 cores;
// the first run of any generative script also trains the check's classifier (3 epochs, about 60 CPU-s).
//
// Build first, from the repository root:   dotnet build -c Release tests/FunctionalNets.Nn.Tests
// then run:                                dotnet fsi samples/scripts/Gan.fsx
// Options:  --epochs E (default 3), --width W (16), --ema-e4 D (decay in units of 1e-4, 0: none),
//           --score-epochs 1 (check every epoch four ways), --weights FILE (sample a saved generator instead of
//           training), --batch B (64), --limit N (first N training images), --samples S (500),
//           --seed K, --data DIR, --out DIR (generative-output/gan), --classifier FILE, --device cpu|cuda|cuda-sim
// e.g. a quick run:       dotnet fsi samples/scripts/Gan.fsx --limit 2000 --epochs 1
#I "../../tests/FunctionalNets.Nn.Tests/bin/Release/net10.0"
#I "../../tests/FunctionalNets.Nn.Tests/bin/Debug/net10.0"
#r "FunctionalNets.Kernels.dll"
#r "System.Numerics.Tensors.dll"
#r "FunctionalNets.Core.dll"
#r "FunctionalNets.Data.dll"
#r "FunctionalNets.Nn.dll"
#load "ScriptDevice.fsx"
#load "Generative.fsx"

open FunctionalNets
open FunctionalNets.Nn
open Generative

// --width W (channels scale), --ema-e4 D (the generator's weight average's decay in units of 1e-4: 9990 is
// 0.999) and --score-epochs 1 (score every epoch four ways) are this script's own options; the rest are shared.
let width = takeOption "--width" 16
let emaTenThousandths = takeOption "--ema-e4" 0
let scoreEpochs = takeOption "--score-epochs" 0 = 1
// --weights FILE: sample and score a generator this script saved (generator_ema_epochN.safetensors, or
// generator_epochN for the last step's weights) instead of training; --epochs is ignored.
let weights = takeText "--weights" ""

let device, o =
    start
        {
            Epochs = 3
            Limit = None
            Data = None
            Out = "generative-output/gan"
            Classifier = "generative-output/mnist-classifier-3ep.safetensors"
            Samples = 500
            Seed = 0L
            BatchSize = 64
        }

let data = mnist o
let train = ScriptDevice.data device (trainingSet o data)
let gan = Gan.dcganMnist 64 width
// The DCGAN paper's Adam: learning rate 2e-4, beta1 0.5, one per player.
let generatorTx = Optim.adam (2e-4, b1 = 0.5)
let discriminatorTx = Optim.adam (2e-4, b1 = 0.5)
let emaDecay = float emaTenThousandths * 1e-4
let initial0 = Gan.init gan generatorTx discriminatorTx (Key.create o.Seed)

let initial =
    {
        Generator = Train.toDevice device initial0.Generator
        Discriminator = Train.toDevice device initial0.Discriminator
    }

let loader = DataLoader.create train o.BatchSize true true

printfn
    "DCGAN: width %d, generator %d, discriminator %d parameters; %d training images, batch %d, %d epochs, EMA %g on %O"
    width
    (Layer.numParams initial.Generator.Params)
    (Layer.numParams initial.Discriminator.Params)
    train.Count
    o.BatchSize
    o.Epochs
    emaDecay
    device

// The same 64 latent vectors every epoch, so the grids show one set of samples improving.
let fixedZ =
    Tensor.randn (Key.create (o.Seed + 5L), [ 64; gan.Latent ], DType.Float32, device)

// The check's latent vectors, the same for every epoch and every way of sampling.
let checkZ =
    Tensor.randn (Key.create (o.Seed + 7L), [ o.Samples; gan.Latent ], DType.Float32, device)

let clock = Clock()

/// The check on images in [-1, 1].
let score (images: Tensor) = check o data ((images + 1.0) / 2.0)

// The four ways to sample a trained generator, compared per epoch under --score-epochs 1: the last step's or
// the averaged weights, BatchNorm by running or by batch statistics.
let compare (e: int) (state: GanState) (average: Params) =
    let averaged = Gan.averaged state.Generator average

    for name, images in
        [
            "last weights, running statistics", Gan.generate gan state.Generator checkZ
            "last weights, batch statistics", Gan.generateFromBatch gan state.Generator checkZ
            "EMA weights, running statistics", Gan.generate gan averaged checkZ
            "EMA weights, batch statistics", Gan.generateFromBatch gan averaged checkZ
        ] do
        printf "epoch %d, %s: " e name
        score images |> ignore

let epoch (state: GanState, average: Params, history: Logs list) (e: int) =
    let (state, average), steps =
        DataLoader.batches loader (Key.foldIn e state.Discriminator.Key)
        |> Seq.fold
            (fun (s, logs) batch ->
                // Pixels to [-1, 1], the range of the generator's tanh.
                let real = 2.0 * toUnit batch.Input - 1.0
                let s, l = Gan.stepAveraged gan generatorTx discriminatorTx emaDecay s real
                s, l :: logs)
            ((state, average), [])

    let logs = meanLogs steps
    report (e + 1) o.Epochs logs clock
    let averaged = Gan.averaged state.Generator average

    saveGrid
        o
        (sprintf "samples_epoch%d" (e + 1))
        -1.0
        1.0
        (sprintf "DCGAN, epoch %d%s" (e + 1) (if emaDecay > 0.0 then " (EMA)" else ""))
        (Gan.generate gan averaged fixedZ)

    // Both generators' weights each epoch, so any epoch can be sampled and scored again without retraining.
    for name, g in [ "generator", state.Generator; "generator_ema", averaged ] do
        Checkpoint.saveWeights
            (System.IO.Path.Combine(o.Out, sprintf "%s_epoch%d.safetensors" name (e + 1)))
            g.Params
            g.State
            (Map.ofList [ "epoch", string (e + 1); "width", string width ])

    if scoreEpochs then
        compare (e + 1) state average

    state, average, history @ [ logs ]

let generator =
    if weights <> "" then
        printfn "sampling from %s (no training)" weights

        let ps, ss =
            Checkpoint.loadWeights weights initial.Generator.Params initial.Generator.State

        { initial.Generator with
            Params = ps
            State = ss
        }
    else
        let trained, average, history =
            List.fold epoch (initial, initial.Generator.Params, []) [ 0 .. o.Epochs - 1 ]

        printfn "training: %s" clock.Text
        saveCurves o history
        printfn "pictures written to %s" (System.IO.Path.GetFullPath o.Out)
        Gan.averaged trained.Generator average

// ---- the check: the averaged generator, BatchNorm by its running statistics ----

score (Gan.generate gan generator checkZ) |> ignore
printfn "total: %s" clock.Text
