// A denoising diffusion model (DDPM, Ho et al. 2020) on MNIST: a small U-Net (sinusoidal time embedding,
// residual blocks with GroupNorm, self-attention at the 7 x 7 level) learns to predict the noise that
// Ddpm.qSample mixed into a digit at a random step of a 1000-step linear schedule; each epoch is a fold of
// Objective.step, and an exponential moving average of the weights (Ema.update) is what samples. Sampling starts
// from pure noise and takes the posterior step of a schedule respaced to 100 steps (Ddpm.respace), or the DDIM
// step (Ddim, --sampler ddim). Writes the samples, the training curves, the averaged weights after every epoch
// and the sample check (how a CNN trained on real digits labels the samples).
//
// CPU budget: 10 CPU-minutes for the default 2 epochs (about 280 CPU-s an epoch) and 200 samples in 100 steps
// (about 30 CPU-s), 7 to 8 minutes on 2 quiet cores (25 minutes at load 8-49); the first run of any generative script also trains the
// check's classifier (3 epochs, about 60 CPU-s).
//
// Build first, from the repository root:   dotnet build -c Release tests/FunctionalNets.Nn.Tests
// then run:                                dotnet fsi samples/scripts/Diffusion.fsx
// Options:  --epochs E (default 2), --channels C (16), --steps S (sampling steps, 100), --lr-e4 L (Adam's
//           learning rate in units of 1e-4, 20), --sampler ddpm|ddim (ddpm), --weights FILE (sample a saved
//           diffusion_ema_epochN.safetensors instead of training), --score-epochs 1 (check after every epoch),
//           --batch B (64),
//           --limit N (first N training images), --samples S (200), --seed K, --data DIR,
//           --out DIR (generative-output/diffusion), --classifier FILE, --device cpu|cuda|cuda-sim
// e.g. a quick run:       dotnet fsi samples/scripts/Diffusion.fsx --limit 2000 --epochs 1 --samples 16 --steps 20
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

// --channels, --steps and --lr-e4 (Adam's learning rate in units of 1e-4, an integer like the other options:
// 20 is 2e-3) are this script's own options; the rest are shared.
let channels = takeOption "--channels" 16
let samplingSteps = takeOption "--steps" 100
let lrTenThousandths = takeOption "--lr-e4" 20
// --sampler ddim|ddpm (DDIM with eta 0, or the ancestral posterior step), --weights FILE (sample from these
// averaged weights, a diffusion_ema_epochN.safetensors this script wrote, instead of training: --epochs is
// ignored) and --score-epochs 1 (sample and score after every epoch).
let samplerName = takeText "--sampler" "ddpm"
let weights = takeText "--weights" ""
let scoreEpochs = takeOption "--score-epochs" 0 = 1

if samplerName <> "ddim" && samplerName <> "ddpm" then
    eprintfn "--sampler takes ddim or ddpm, got '%s'" samplerName
    exit 2

let device, o =
    start
        {
            Epochs = 2
            Limit = None
            Data = None
            Out = "generative-output/diffusion"
            Classifier = "generative-output/mnist-classifier-3ep.safetensors"
            Samples = 200
            Seed = 0L
            BatchSize = 64
        }

let data = mnist o
let train = ScriptDevice.data device (trainingSet o data)
let cfg = UNet.config channels
let denoiser = UNet.apply cfg
let schedule = Ddpm.linear 1000 1e-4 0.02

let tx =
    Optim.chain [ Optim.clipByGlobalNorm 1.0; Optim.adam (float lrTenThousandths * 1e-4) ]

let emaDecay = 0.995
let parameters = UNet.init cfg (Key.create o.Seed)

let initial =
    Train.toDevice device (Objective.init parameters PTree.empty tx (Key.create (o.Seed + 1L)))

let loader = DataLoader.create train o.BatchSize true true

printfn
    "DDPM U-Net, %d channels, %d parameters; %d training images, batch %d, %d epochs on %O"
    channels
    (Layer.numParams parameters)
    train.Count
    o.BatchSize
    o.Epochs
    device

let clock = Clock()
let sampler = Ddpm.respace samplingSteps schedule

/// o.Samples images in [-1, 1] from pure noise with the averaged weights, by --sampler over the respaced
/// schedule, x0 clipped to [-1, 1].
let draw (average: Params) =
    let shape = [ o.Samples; 1; 28; 28 ]
    let key = Key.create (o.Seed + 7L)

    if samplerName = "ddim" then
        Ddim.sample sampler 0.0 (denoiser average) 1.0 shape device key
    else
        Ddpm.sample sampler (denoiser average) 1.0 shape device key

let score (samples: Tensor) =
    check o data (Tensor.clamp ((samples + 1.0) / 2.0, min = 0.0, max = 1.0))

// The fold's state: the train state and the moving average of its weights.
let epoch (ts: TrainState, ema: Params, history: Logs list) (e: int) =
    let (ts, ema), steps =
        DataLoader.batches loader (Key.foldIn e ts.Key)
        |> Seq.fold
            (fun ((ts: TrainState, ema), logs) batch ->
                let x0 = 2.0 * toUnit batch.Input - 1.0

                let next, l =
                    Objective.step
                        "DDPM"
                        tx
                        (fun ps ->
                            {
                                Loss = Ddpm.noiseLoss schedule (denoiser ps) (Objective.stepKey ts) x0
                                State = PTree.empty
                                Logs = []
                            })
                        ts

                (next, Ema.update emaDecay ema next.Params), l :: logs)
            ((ts, ema), [])

    let logs = meanLogs steps
    report (e + 1) o.Epochs logs clock
    // The averaged weights each epoch, so any epoch can be sampled again (--weights) without retraining.
    Checkpoint.saveWeights
        (System.IO.Path.Combine(o.Out, sprintf "diffusion_ema_epoch%d.safetensors" (e + 1)))
        ema
        PTree.empty
        (Map.ofList [ "epoch", string (e + 1); "channels", string channels ])

    if scoreEpochs then
        printf "epoch %d, %s, %d steps: " (e + 1) samplerName samplingSteps
        score (draw ema) |> ignore

    ts, ema, history @ [ logs ]

let ema =
    if weights <> "" then
        printfn "sampling from %s (no training)" weights
        fst (Checkpoint.loadWeights weights parameters PTree.empty)
    else
        let _, ema, history =
            List.fold epoch (initial, initial.Params, []) [ 0 .. o.Epochs - 1 ]

        printfn "training: %s" clock.Text
        saveCurves o history
        ema

// ---- samples from pure noise ----

let sampleClock = Clock()
let samples = draw ema
printfn "sampling %d images in %d steps (%s): %s" o.Samples samplingSteps samplerName sampleClock.Text

saveGrid
    o
    "samples"
    -1.0
    1.0
    (sprintf "%s, %d steps" (samplerName.ToUpperInvariant()) samplingSteps)
    (Tensor.slice (samples, 0, 0, min 100 o.Samples))

printfn "pictures written to %s" (System.IO.Path.GetFullPath o.Out)

// ---- the check ----

score samples |> ignore
printfn "total: %s" clock.Text
