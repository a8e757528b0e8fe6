module FunctionalNets.Tests.Nn.VaeTests

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn

let private close (tolerance: float) (expected: float) (actual: float) =
    Expect.isTrue (abs (expected - actual) <= tolerance) (sprintf "expected %.9g, got %.9g" expected actual)

let ``the KL term matches the closed form for diagonal Gaussians`` () =
    // KL(N(m, s^2) || N(0, 1)) = (s^2 + m^2 - 1 - ln s^2) / 2 per dimension, summed, averaged over examples.
    let m = [| [| 0.5; -1.0 |]; [| 0.0; 2.0 |] |]
    let lv = [| [| 0.0; log 2.0 |]; [| -1.0; 0.5 |] |]

    let perExample (i: int) =
        Array.map2 (fun mu l -> (exp l + mu * mu - 1.0 - l) / 2.0) m[i] lv[i]
        |> Array.sum

    let expected = (perExample 0 + perExample 1) / 2.0

    let kl =
        Vae.klDivergence (Tensor.create (m, DType.Float64)) (Tensor.create (lv, DType.Float64))

    close 1e-12 expected (Tensor.toScalar kl)
    close 1e-6 0.0 (Tensor.toScalar (Vae.klDivergence (Tensor.zeros [ 3; 4 ]) (Tensor.zeros [ 3; 4 ])))

let ``reparameterised samples have the posterior's moments and a unit derivative in the mean`` () =
    let mean = Tensor.full ([ 20000; 1 ], 1.5)
    let logVar = Tensor.full ([ 20000; 1 ], log 0.25)
    let z = Tensor.toFloatArray (Vae.reparameterize (Key.create 1L) mean logVar)
    let mu = Array.average z
    let sd = sqrt (z |> Array.averageBy (fun v -> (v - mu) * (v - mu)))
    // 20,000 draws: the standard errors are 0.0035 (mean) and 0.0025 (sd).
    close 0.02 1.5 mu
    close 0.02 0.5 sd

    let g =
        Diff.grad
            (fun m -> Tensor.sum (Vae.reparameterize (Key.create 1L) m (Tensor.zeros [ 3; 2 ])))
            (Tensor.zeros [ 3; 2 ])

    Tensor.toFloatArray g |> Seq.iter (fun v -> close 1e-6 1.0 v)

// The first 16 MNIST test digits with pixels in [0, 1].
let private images =
    lazy
        (let test = (Mnist.load (DataLocation.findMnist None)).Test
         test.GetBatch(Array.init 16 id).Input * Mnist.Std + Mnist.Mean)

let ``shapes and ranges of the MNIST VAE`` () =
    let vae = Vae.mnist 4
    let ps, ss = Vae.init vae (Key.create 0L)
    let mean, logVar, _ = Vae.encode vae ps ss Ctx.eval images.Value
    Expect.equal (mean.Shape.ToArray()) [| 16; 4 |] "mean.Shape.ToArray()"
    Expect.equal (logVar.Shape.ToArray()) [| 16; 4 |] "logVar.Shape.ToArray()"
    let r = Vae.reconstruct vae ps ss images.Value
    let s = Vae.sample vae ps ss 5 Device.Cpu (Key.create 2L)
    Expect.equal (r.Shape.ToArray()) [| 16; 1; 28; 28 |] "r.Shape.ToArray()"
    Expect.equal (s.Shape.ToArray()) [| 5; 1; 28; 28 |] "s.Shape.ToArray()"

    for t in [ r; s ] do
        Tensor.toFloatArray t |> Seq.iter (fun v -> Checks.inRange "a value" 0.0 1.0 v)

let ``the VAE's negative ELBO falls over a few steps`` () =
    let vae = Vae.mnist 4
    let tx = Optim.adam 2e-3
    let ps, ss = Vae.init vae (Key.create 0L)
    let start = Objective.init ps ss tx (Key.create 1L)

    let step (ts: TrainState) =
        Objective.step "vae" tx (Vae.objective vae ts.State (Objective.stepKey ts) images.Value) ts

    let _, first = step start
    let trained = Seq.fold (fun ts _ -> fst (step ts)) start (seq { 1..15 })
    let _, last = step trained
    // An untrained decoder predicts about 1/2 everywhere: 784 ln 2 = 543 nats per image.
    Checks.inRange "first[\"loss\"]" 450.0 650.0 (first["loss"])
    Expect.isTrue (last["loss"] < 0.8 * first["loss"]) (sprintf "loss %g -> %g" first["loss"] last["loss"])

    Expect.isTrue
        (last.ContainsKey "kl" && last.ContainsKey "reconstruction")
        "last.ContainsKey \"kl\" && last.ContainsKey \"reconstruction\""

let ``the interpolation grid has the corners at the corners and their mean in the middle`` () =
    let corners =
        Tensor.create [ [ 0.0; 0.0 ]; [ 4.0; 0.0 ]; [ 0.0; 8.0 ]; [ 4.0; 8.0 ] ]

    let g = Tensor.toFloatArray (Vae.interpolationGrid 3 3 corners)
    Expect.equal g[0..5] [| 0.0; 0.0; 2.0; 0.0; 4.0; 0.0 |] "g[0..5]"
    Expect.equal g[8..9] [| 2.0; 4.0 |] "g[8..9]"
    Expect.equal g[16..17] [| 4.0; 8.0 |] "g[16..17]"

/// The tests of this module.
let tests =
    testList
        "Vae"
        [
            testCase
                "the KL term matches the closed form for diagonal Gaussians"
                ``the KL term matches the closed form for diagonal Gaussians``
            testCase
                "reparameterised samples have the posterior's moments and a unit derivative in the mean"
                ``reparameterised samples have the posterior's moments and a unit derivative in the mean``
            testCase "shapes and ranges of the MNIST VAE" ``shapes and ranges of the MNIST VAE``
            testCase "the VAE's negative ELBO falls over a few steps" ``the VAE's negative ELBO falls over a few steps``
            testCase
                "the interpolation grid has the corners at the corners and their mean in the middle"
                ``the interpolation grid has the corners at the corners and their mean in the middle``
        ]
