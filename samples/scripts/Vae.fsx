// A convolutional VAE on MNIST (Kingma and Welling): the encoder gives a Gaussian over a 16-D latent space,
// a sample is drawn with the reparameterisation trick from the step's key, and the loss is the Bernoulli
// reconstruction term plus the KL divergence from the prior. Each epoch is a fold of Objective.step over the
// batches. Writes reconstructions, samples from the prior, a grid interpolating between four test digits, the
// training curves, and the sample check (how a CNN trained on real digits labels 500 samples from the prior).
//
// CPU budget: 1.5 CPU-minutes for the default 3 epochs (about 30 CPU-s an epoch), 2 minutes on 2 cores;
// the first run of any generative script also trains the check's classifier (3 epochs, about 60 CPU-s).
//
// Build first, from the repository root:   dotnet build -c Release tests/FunctionalNets.Nn.Tests
// then run:                                dotnet fsi samples/scripts/Vae.fsx
// Options:  --epochs E (default 3), --latent L (default 16), --batch B (128), --limit N (first N training images),
//           --samples S (500), --seed K, --data DIR, --out DIR (generative-output/vae), --classifier FILE,
//           --device cpu|cuda|cuda-sim
// e.g. a quick run:       dotnet fsi samples/scripts/Vae.fsx --limit 2000 --epochs 1
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

// --latent is this script's own option; the rest are shared.
let latent = takeOption "--latent" 16

let device, o =
    start
        {
            Epochs = 3
            Limit = None
            Data = None
            Out = "generative-output/vae"
            Classifier = "generative-output/mnist-classifier-3ep.safetensors"
            Samples = 500
            Seed = 0L
            BatchSize = 128
        }

let data = mnist o
let train = ScriptDevice.data device (trainingSet o data)
let vae = Vae.mnist latent
let tx = Optim.adam 1e-3
let ps, ss = Vae.init vae (Key.create o.Seed)

let initial =
    Train.toDevice device (Objective.init ps ss tx (Key.create (o.Seed + 1L)))

let loader = DataLoader.create train o.BatchSize true true

printfn
    "VAE, latent %d, %d parameters; %d training images, batch %d, %d epochs on %O"
    latent
    (Layer.numParams ps)
    train.Count
    o.BatchSize
    o.Epochs
    device

let clock = Clock()

// An epoch is a fold of Objective.step over the batches; the epoch's logs are the means of the steps'.
let epoch (ts: TrainState, history: Logs list) (e: int) =
    let ts, steps =
        DataLoader.batches loader (Key.foldIn e ts.Key)
        |> Seq.fold
            (fun (ts: TrainState, logs) batch ->
                let x = toUnit batch.Input

                let ts, l =
                    Objective.step "VAE" tx (Vae.objective vae ts.State (Objective.stepKey ts) x) ts

                ts, l :: logs)
            (ts, [])

    let logs = meanLogs steps
    report (e + 1) o.Epochs logs clock
    ts, history @ [ logs ]

let trained, history = List.fold epoch (initial, []) [ 0 .. o.Epochs - 1 ]
printfn "training: %s" clock.Text

// ---- pictures ----

let test = (ScriptDevice.data device data.Test).GetBatch(Array.init 64 id)
let originals = toUnit test.Input
let reconstructions = Vae.reconstruct vae trained.Params trained.State originals

// Originals and reconstructions interleaved row by row: 8 originals, then their 8 reconstructions.
let pairs =
    Tensor.cat (
        [
            for r in 0..3 do
                Tensor.slice (originals, 0, 8 * r, 8 * r + 8)
                Tensor.slice (reconstructions, 0, 8 * r, 8 * r + 8)
        ],
        0
    )

saveGrid o "reconstructions" 0.0 1.0 "digits / reconstructions" pairs

let samples =
    Vae.sample vae trained.Params trained.State o.Samples device (Key.create (o.Seed + 7L))

saveGrid o "samples" 0.0 1.0 "samples from the prior" (Tensor.slice (samples, 0, 0, min 100 o.Samples))

let corners =
    let mean, _, _ =
        Vae.encode vae trained.Params trained.State Ctx.eval (Tensor.slice (originals, 0, 0, 4))

    mean

saveGrid
    o
    "interpolation"
    0.0
    1.0
    "between 4 test digits"
    (Vae.generate vae trained.Params trained.State (Vae.interpolationGrid 10 10 corners))

saveCurves o history
printfn "pictures written to %s" (System.IO.Path.GetFullPath o.Out)

// ---- the check ----

check o data samples |> ignore
printfn "total: %s" clock.Text
