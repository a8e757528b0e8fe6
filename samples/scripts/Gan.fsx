// DCGAN on MNIST (Radford et al.) with two optimizers in one training fold: the state is a pair of train
// states (generator, discriminator), each with its own Adam state, and Gan.step maps (pair, batch) to the next
// pair, a pure function (the same pair and batch give the same next pair). Writes a grid of samples from a fixed
// set of latent vectors after every epoch, the training curves, and the sample check (how a CNN trained on real
// digits labels 500 generated ones).
//
// CPU budget: 3.5 CPU-minutes for the default 3 epochs (about 70 CPU-s an epoch), 5 minutes on 2 cores;
// the first run of any generative script also trains the check's classifier (about 35 CPU-s).
//
// Build first, from the repository root:   dotnet build -c Release tests/FunctionalNets.Nn.Tests
// then run:                                dotnet fsi samples/scripts/Gan.fsx
// Options:  --epochs E (default 3), --batch B (64), --limit N (first N training images), --samples S (500),
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

let device, o =
    start
        {
            Epochs = 3
            Limit = None
            Data = None
            Out = "generative-output/gan"
            Classifier = "generative-output/mnist-classifier.safetensors"
            Samples = 500
            Seed = 0L
            BatchSize = 64
        }

let data = mnist o
let train = ScriptDevice.data device (trainingSet o data)
let gan = Gan.dcganMnist 64 16
// The DCGAN paper's Adam: learning rate 2e-4, beta1 0.5, one per player.
let generatorTx = Optim.adam (2e-4, b1 = 0.5)
let discriminatorTx = Optim.adam (2e-4, b1 = 0.5)
let initial0 = Gan.init gan generatorTx discriminatorTx (Key.create o.Seed)

let initial =
    {
        Generator = Train.toDevice device initial0.Generator
        Discriminator = Train.toDevice device initial0.Discriminator
    }

let loader = DataLoader.create train o.BatchSize true true

printfn
    "DCGAN: generator %d, discriminator %d parameters; %d training images, batch %d, %d epochs on %O"
    (Layer.numParams initial.Generator.Params)
    (Layer.numParams initial.Discriminator.Params)
    train.Count
    o.BatchSize
    o.Epochs
    device

// The same 64 latent vectors every epoch, so the grids show one set of samples improving.
let fixedZ =
    Tensor.randn (Key.create (o.Seed + 5L), [ 64; gan.Latent ], DType.Float32, device)

let clock = Clock()

let epoch (state: GanState, history: Logs list) (e: int) =
    let state, steps =
        DataLoader.batches loader (Key.foldIn e state.Discriminator.Key)
        |> Seq.fold
            (fun (s, logs) batch ->
                // Pixels to [-1, 1], the range of the generator's tanh.
                let real = 2.0 * toUnit batch.Input - 1.0
                let s, l = Gan.step gan generatorTx discriminatorTx s real
                s, l :: logs)
            (state, [])

    let logs = meanLogs steps
    report (e + 1) o.Epochs logs clock

    saveGrid
        o
        (sprintf "samples_epoch%d" (e + 1))
        -1.0
        1.0
        (sprintf "DCGAN, epoch %d" (e + 1))
        (Gan.generate gan state.Generator fixedZ)

    state, history @ [ logs ]

let trained, history = List.fold epoch (initial, []) [ 0 .. o.Epochs - 1 ]
printfn "training: %s" clock.Text
saveCurves o history
printfn "pictures written to %s" (System.IO.Path.GetFullPath o.Out)

// ---- the check ----

let samples =
    Gan.sample gan trained.Generator o.Samples device (Key.create (o.Seed + 7L))

check o data ((samples + 1.0) / 2.0) |> ignore
printfn "total: %s" clock.Text
