/// The samplers of the generative models: the DDIM step against Song et al.'s closed form on hand numbers, both
/// reverse processes against an exact denoiser, and the GAN's averaged generator against the closed form of an
/// exponential moving average.
module FunctionalNets.Tests.Nn.GenerativeSamplingTests

open System
open Expecto
open FunctionalNets
open FunctionalNets.Nn
open FunctionalNets.Testing

let private close (tolerance: float) (expected: float) (actual: float) (what: string) =
    Expect.isTrue (abs (expected - actual) <= tolerance) (sprintf "%s: expected %.9g, got %.9g" what expected actual)

// betas 0.1, 0.2, 0.3: alpha-bar 0.9, 0.72, 0.504 by hand.
let private small = Ddpm.ofBetas [| 0.1; 0.2; 0.3 |]
let private scalar (v: float) = Tensor.create [ v ]
let private value (t: Tensor) = (Tensor.toFloatArray t)[0]

/// The exact noise predictor for data that is always `c`: x_t = sqrt(a) c + sqrt(1 - a) eps, so
/// eps = (x_t - sqrt(a) c) / sqrt(1 - a), with a the alpha-bar of the training timestep t.
let private pointMassDenoiser (trained: NoiseSchedule) (c: float) (x: Tensor) (t: Tensor) =
    let timesteps = Tensor.toFloatArray t
    let a = trained.AlphaBars[int timesteps[0]]
    (x - sqrt a * c) / sqrt (1.0 - a)

let private gan = Gan.dcganMnist 8 2
let private tx () = Optim.adam (2e-3, b1 = 0.5)

// "Real" images: a horizontal bar on a dark background, in [-1, 1].
let private real =
    lazy
        (let bar =
            Array.init (28 * 28) (fun p -> if abs (p / 28 - 14) < 3 then 1.0f else -1.0f)

         Tensor.ofArray (Array.concat (List.replicate 6 bar), [ 6; 1; 28; 28 ]))

let private leaves (ps: Params) =
    PTree.values ps |> List.map Tensor.toFloatArray

/// The tests of this module.
let tests =
    testList
        "Generative samplers"
        [
            testCase "a DDIM step with eta 0 is sqrt(a') x0 + sqrt(1 - a') eps on hand numbers"
            <| fun () ->
                // Step 2 of the small schedule: a = 0.504, a' = 0.72. x = 0.5, eps = 0.3:
                // x0 = (0.5 - sqrt(0.496) 0.3) / sqrt(0.504), inside the clip, so eps is kept.
                let x0 = (0.5 - sqrt 0.496 * 0.3) / sqrt 0.504
                let expected = sqrt 0.72 * x0 + sqrt 0.28 * 0.3
                let got = Ddim.step small 0.0 1.0 2 (scalar 0.5) (scalar 0.3) (Key.create 0L)
                close 1e-6 expected (value got) "unclipped"

                // x = 2, eps = -0.5: x0 = (2 + sqrt(0.496) 0.5) / sqrt(0.504) = 3.31 is clipped to 1, and the noise
                // becomes the one that x0 = 1 implies: (2 - sqrt(0.504)) / sqrt(0.496).
                let eps = (2.0 - sqrt 0.504) / sqrt 0.496
                let clipped = Ddim.step small 0.0 1.0 2 (scalar 2.0) (scalar -0.5) (Key.create 0L)
                close 1e-6 (sqrt 0.72 + sqrt 0.28 * eps) (value clipped) "clipped"

                // At step 0 there is no noise before it: the step returns x0 = (0.5 - sqrt(0.1) 0.3) / sqrt(0.9).
                let last = Ddim.step small 0.0 1.0 0 (scalar 0.5) (scalar 0.3) (Key.create 0L)
                close 1e-6 ((0.5 - sqrt 0.1 * 0.3) / sqrt 0.9) (value last) "step 0"

            testCase "a DDIM step with eta 1 has the ancestral step's mean and variance"
            <| fun () ->
                // Song et al.: eta = 1 gives sigma^2 = beta_i (1 - a') / (1 - a), Ho et al.'s posterior variance,
                // and the mean c0 x0 + ct x of Ho et al.'s eq. 7, with c0 = beta sqrt(a') / (1 - a) and
                // ct = (1 - a') sqrt(1 - beta) / (1 - a). Step 1 of the small schedule: beta 0.2, a 0.72, a' 0.9.
                let beta, a, prev = 0.2, 0.72, 0.9
                let x, eps = 0.7, -0.4
                let x0 = (x - sqrt (1.0 - a) * eps) / sqrt a

                let mean =
                    beta * sqrt prev / (1.0 - a) * x0
                    + (1.0 - prev) * sqrt (1.0 - beta) / (1.0 - a) * x

                let sd = sqrt (beta * (1.0 - prev) / (1.0 - a))
                let n = 4000
                let key = Key.create 9L

                let got =
                    Tensor.toFloatArray (
                        Ddim.step small 1.0 10.0 1 (Tensor.full ([ n ], x)) (Tensor.full ([ n ], eps)) key
                    )

                // The standardised outputs are N(0, 1): their mean within 4 / sqrt(n), their variance within
                // 4 sqrt(2 / n) of 1.
                let z = got |> Array.map (fun v -> (v - mean) / sd)
                let m = Array.average z
                let v = z |> Array.averageBy (fun u -> (u - m) * (u - m))
                close (4.0 / sqrt (float n)) 0.0 m "standardised mean"
                close (4.0 * sqrt (2.0 / float n)) 1.0 v "standardised variance"

            testCase "DDIM and the ancestral sampler recover a point mass from the exact denoiser"
            <| fun () ->
                // With the exact noise predictor every step's x0 is the data point, so both samplers end on it
                // from any start, over the full and over a respaced schedule.
                let trained = Ddpm.linear 200 1e-3 0.05
                let c = 0.4
                let denoiser = pointMassDenoiser trained c

                for schedule in [ trained; Ddpm.respace 12 trained ] do
                    for name, samples in
                        [
                            "DDIM", Ddim.sample schedule 0.0 denoiser 1.0 [ 3; 1; 2; 2 ] Device.Cpu (Key.create 4L)
                            "DDPM", Ddpm.sample schedule denoiser 1.0 [ 3; 1; 2; 2 ] Device.Cpu (Key.create 4L)
                        ] do
                        Expect.equal (samples.Shape.ToArray()) [| 3; 1; 2; 2 |] name

                        for v in Tensor.toFloatArray samples do
                            close 1e-4 c v (sprintf "%s over %d steps" name schedule.Length)

            testCase "Ddim.step refuses eta outside [0, 1] and steps outside the schedule, naming itself"
            <| fun () ->
                for eta, i in [ 1.5, 1; -0.1, 1; 0.0, 3; 0.0, -1 ] do
                    let e =
                        Expects.throws<ArgumentException> "Ddim.step" (fun () ->
                            Ddim.step small eta 1.0 i (scalar 0.5) (scalar 0.3) (Key.create 0L) |> ignore)

                    Expect.stringContains e.Message "Ddim.step" "the message names the operation"

            testCase "the warmed EMA decay is min(decay, (1 + step) / (10 + step)) and refuses bad input"
            <| fun () ->
                close 1e-15 0.1 (Ema.warmedDecay 0.999 0L) "step 0: 1 / 10"
                close 1e-15 (101.0 / 110.0) (Ema.warmedDecay 0.999 100L) "step 100"
                close 1e-15 0.999 (Ema.warmedDecay 0.999 100000L) "capped at decay"

                for decay, step in [ 1.5, 10L; -0.1, 10L; 0.9, -1L ] do
                    let e =
                        Expects.throws<ArgumentException> "Ema.warmedDecay" (fun () ->
                            Ema.warmedDecay decay step |> ignore)

                    Expect.stringContains e.Message "Ema.warmedDecay" "the message names the operation"

            testCase "the GAN's averaged generator is the warmed moving average of the generator's weights, by hand"
            <| fun () ->
                let gtx, dtx = tx (), tx ()
                let s0 = Gan.init gan gtx dtx (Key.create 0L)
                let decay = 0.2

                // Plain steps give the weights p1, p2, p3; the averaged steps must train the same pair and keep the
                // average with the warmed decays d1 = min(0.2, 2 / 11) = 2 / 11, d2 = min(0.2, 3 / 12) = 0.2 and
                // d3 = min(0.2, 4 / 13) = 0.2: d3 d2 d1 p0 + d3 d2 (1 - d1) p1 + d3 (1 - d2) p2 + (1 - d3) p3.
                let plain =
                    List.scan (fun s _ -> fst (Gan.step gan gtx dtx s real.Value)) s0 [ 1..3 ]

                let (last, average), _ =
                    List.fold
                        (fun (pair, _) _ -> Gan.stepAveraged gan gtx dtx decay pair real.Value)
                        ((s0, s0.Generator.Params), Map.empty)
                        [ 1..3 ]

                let p = plain |> List.map (fun s -> leaves s.Generator.Params)
                Expect.equal (leaves last.Generator.Params) p[3] "the averaged steps train as the plain ones"
                let d1, d2, d3 = 2.0 / 11.0, 0.2, 0.2

                let expected =
                    List.init p[0].Length (fun leaf ->
                        Array.init p[0].[leaf].Length (fun j ->
                            d3 * d2 * d1 * float p[0].[leaf].[j]
                            + d3 * d2 * (1.0 - d1) * float p[1].[leaf].[j]
                            + d3 * (1.0 - d2) * float p[2].[leaf].[j]
                            + (1.0 - d3) * float p[3].[leaf].[j]))

                List.iteri2
                    (fun leaf (e: float[]) (g: float[]) ->
                        Array.iteri2 (fun j ev gv -> close 1e-5 ev gv (sprintf "leaf %d [%d]" leaf j)) e g)
                    expected
                    (leaves average)

                // Sampling from it: images in [-1, 1] by running and by batch statistics.
                let averaged = Gan.averaged last.Generator average
                let z = Tensor.randn (Key.create 5L, [ 16; gan.Latent ])

                for images in [ Gan.generate gan averaged z; Gan.generateFromBatch gan averaged z ] do
                    Expect.equal (images.Shape.ToArray()) [| 16; 1; 28; 28 |] "image shape"

                    Expect.isTrue
                        (Tensor.toFloatArray images |> Array.forall (fun v -> v >= -1.0 && v <= 1.0))
                        "tanh range"
        ]

/// The xunit class that runs these tests under `dotnet test` (see tests/README.md).
type GenerativeSampling() =
    inherit ExpectoSuite(tests)
