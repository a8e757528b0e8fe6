module FunctionalNets.Tests.Nn.NoiseScheduleTests

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn

let private close (tolerance: float) (expected: float) (actual: float) =
    Expect.isTrue (abs (expected - actual) <= tolerance) (sprintf "expected %.9g, got %.9g" expected actual)

// betas 0.1, 0.2, 0.3 by hand: alpha-bar = 0.9, 0.9 * 0.8 = 0.72, 0.72 * 0.7 = 0.504.
let private small = Ddpm.ofBetas [| 0.1; 0.2; 0.3 |]

let ``alpha-bar is the running product of 1 - beta`` () =
    Array.iter2 (close 1e-12) [| 0.9; 0.72; 0.504 |] small.AlphaBars

let ``the linear schedule spans its ends and its last alpha-bar is exp of the summed log(1 - beta)`` () =
    let s = Ddpm.linear 1000 1e-4 0.02
    close 1e-15 1e-4 s.Betas[0]
    close 1e-15 0.02 s.Betas[999]
    close 1e-15 (1e-4 + 0.0199 * 500.0 / 999.0) s.Betas[500]
    // Summing logs is an independent route to the product (Ho et al. quote alpha-bar_T of about 4e-5).
    let logSum =
        Seq.sum (seq { for i in 0..999 -> log (1.0 - (1e-4 + 0.0199 * float i / 999.0)) })

    close 1e-9 (exp logSum) s.AlphaBars[999]
    Checks.inRange "s.AlphaBars[999]" (3e-5) (5e-5) s.AlphaBars[999]

let ``the cosine schedule's alpha-bar is cos^2 of the shifted time over its value at 0`` () =
    let steps, offset = 1000, 0.008
    let s = Ddpm.cosine steps offset

    let f (t: float) =
        Math.Pow(cos ((t / float steps + offset) / (1.0 + offset) * Math.PI / 2.0), 2.0)

    for i in [ 0; 1; 250; 500; 900 ] do
        close 1e-9 (f (float (i + 1)) / f 0.0) s.AlphaBars[i]

    // The last betas are clipped at 0.999 as in Nichol and Dhariwal's code.
    Expect.isTrue
        (s.Betas |> Array.forall (fun b -> b > 0.0 && b <= 0.999))
        "s.Betas |> Array.forall (fun b -> b > 0.0 && b <= 0.999)"

let ``posterior variance and mean match the Gaussian conditioning formulas`` () =
    // q(x_{t-1} | x_t, x_0) from the product of N(x_{t-1}; sqrt(ab') x0, 1 - ab') and
    // N(x_t; sqrt(alpha) x_{t-1}, beta): precision 1 / (1 - ab') + alpha / beta, and mean
    // var * (sqrt(ab') x0 / (1 - ab') + sqrt(alpha) x_t / beta).
    for s in [ small; Ddpm.linear 50 1e-3 0.05; Ddpm.cosine 40 0.008 ] do
        for i in 1 .. s.Length - 1 do
            let beta, prev = s.Betas[i], s.AlphaBars[i - 1]
            let alpha = 1.0 - beta
            let variance = 1.0 / (1.0 / (1.0 - prev) + alpha / beta)
            close 1e-12 variance (s.PosteriorVariance i)
            let c0, ct = s.PosteriorMeanCoefficients i
            close 1e-10 (variance * sqrt prev / (1.0 - prev)) c0
            close 1e-10 (variance * sqrt alpha / beta) ct

    // Hand values at i = 2 of the small schedule: 0.3 * (1 - 0.72) / (1 - 0.504).
    close 1e-12 (0.3 * 0.28 / 0.496) (small.PosteriorVariance 2)
    // At the first step there is no noise before it: variance 0, the mean is x0.
    close 1e-15 0.0 (small.PosteriorVariance 0)
    let c0, ct = small.PosteriorMeanCoefficients 0
    close 1e-12 1.0 c0
    close 1e-12 0.0 ct

let ``qSample mixes signal and noise per example by its own step`` () =
    let x0 = Tensor.create [ [ 1.0; 2.0 ]; [ 3.0; 4.0 ] ]
    let noise = Tensor.create [ [ 10.0; 20.0 ]; [ 30.0; 40.0 ] ]
    let t = Tensor.create ([ 2; 0 ], DType.Int64)
    let y = Tensor.toFloatArray (Ddpm.qSample small x0 t noise)
    let a2, a0 = 0.504, 0.9

    let expected =
        [|
            sqrt a2 * 1.0 + sqrt (1.0 - a2) * 10.0
            sqrt a2 * 2.0 + sqrt (1.0 - a2) * 20.0
            sqrt a0 * 3.0 + sqrt (1.0 - a0) * 30.0
            sqrt a0 * 4.0 + sqrt (1.0 - a0) * 40.0
        |]

    Array.iter2 (close 1e-5) expected y

let ``the posterior step at step 0 with the true noise recovers the clean image`` () =
    let key = Key.create 3L
    let x0 = Tensor.tanh (Tensor.randn (key, [ 2; 1; 4; 4 ]))
    let noise = Tensor.randn (Key.foldIn 1 key, [ 2; 1; 4; 4 ])
    let xt = Ddpm.qSample small x0 (Tensor.zeros ([ 2 ], DType.Int64)) noise
    let back = Ddpm.posteriorStep small 1.0 0 xt noise (Key.create 9L)
    Array.iter2 (close 1e-5) (Tensor.toFloatArray x0) (Tensor.toFloatArray back)

let ``respacing keeps alpha-bar at the kept timesteps`` () =
    let full = Ddpm.linear 1000 1e-4 0.02
    let r = Ddpm.respace 10 full
    Expect.equal r.Length 10 "r.Length"
    Expect.equal r.Timesteps [| 0; 111; 222; 333; 444; 555; 666; 777; 888; 999 |] "r.Timesteps"
    // The product of the respaced betas reproduces the original alpha-bar at each kept timestep.
    let products = Array.scan (fun acc b -> acc * (1.0 - b)) 1.0 r.Betas |> Array.tail

    Array.iteri (fun k t -> close 1e-12 full.AlphaBars[t] products[k]) r.Timesteps
    Expect.equal ((Ddpm.respace 1000 full).AlphaBars) full.AlphaBars "(Ddpm.respace 1000 full).AlphaBars"

let ``bad schedules and shapes are refused with the operation named`` () =
    let e =
        Expects.throws<ArgumentException> "Ddpm.ofBetas [| 0.1; 1.0 |]" (fun () ->
            Ddpm.ofBetas [| 0.1; 1.0 |] |> ignore)

    Expect.stringContains e.Message "beta[1]" "e.Message"

    let e =
        Expects.throws<ArgumentException>
            "Ddpm.qSample small (Tensor.zeros [ 2; 3 ]) (Tensor.zeros ([ 3 ], DType.Int64)) (Tensor...."
            (fun () ->
                Ddpm.qSample small (Tensor.zeros [ 2; 3 ]) (Tensor.zeros ([ 3 ], DType.Int64)) (Tensor.zeros [ 2; 3 ])
                |> ignore)

    Expect.stringContains e.Message "Ddpm.qSample" "e.Message"

    Expects.throws<ArgumentException> "Ddpm.respace 4 small" (fun () -> Ddpm.respace 4 small |> ignore)
    |> ignore

let ``sinusoidal time embedding is sin then cos at geometric frequencies`` () =
    // dim 4: frequencies 10000^0 = 1 and 10000^(-1/2) = 0.01.
    let e = TimeEmbedding.sinusoidal 4 10000.0 (Tensor.create [ 0.0; 1.0; 2.5 ])
    Expect.equal (e.Shape.ToArray()) [| 3; 4 |] "e.Shape.ToArray()"

    let expected =
        [| 0.0; 1.0; 2.5 |]
        |> Array.collect (fun t -> [| sin t; sin (0.01 * t); cos t; cos (0.01 * t) |])

    Array.iter2 (close 1e-6) expected (Tensor.toFloatArray e)

/// The tests of this module.
let tests =
    testList
        "NoiseSchedule"
        [
            testCase "alpha-bar is the running product of 1 - beta" ``alpha-bar is the running product of 1 - beta``
            testCase
                "the linear schedule spans its ends and its last alpha-bar is exp of the summed log(1 - beta)"
                ``the linear schedule spans its ends and its last alpha-bar is exp of the summed log(1 - beta)``
            testCase
                "the cosine schedule's alpha-bar is cos^2 of the shifted time over its value at 0"
                ``the cosine schedule's alpha-bar is cos^2 of the shifted time over its value at 0``
            testCase
                "posterior variance and mean match the Gaussian conditioning formulas"
                ``posterior variance and mean match the Gaussian conditioning formulas``
            testCase
                "qSample mixes signal and noise per example by its own step"
                ``qSample mixes signal and noise per example by its own step``
            testCase
                "the posterior step at step 0 with the true noise recovers the clean image"
                ``the posterior step at step 0 with the true noise recovers the clean image``
            testCase
                "respacing keeps alpha-bar at the kept timesteps"
                ``respacing keeps alpha-bar at the kept timesteps``
            testCase
                "bad schedules and shapes are refused with the operation named"
                ``bad schedules and shapes are refused with the operation named``
            testCase
                "sinusoidal time embedding is sin then cos at geometric frequencies"
                ``sinusoidal time embedding is sin then cos at geometric frequencies``
        ]
