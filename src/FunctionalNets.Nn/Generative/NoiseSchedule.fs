namespace FunctionalNets.Nn

open System
open FunctionalNets

/// A DDPM noise schedule (Ho et al. 2020) over the steps a sampler takes, with the closed forms the forward
/// process and the reverse (posterior) step need, all in float64 on the host. Index i is the sampler's i-th step;
/// Timesteps[i] is the training timestep the model is told at that step (i itself, unless the schedule was
/// respaced to fewer steps).
type NoiseSchedule =
    {
        /// beta_i, the variance each step adds.
        Betas: float[]
        /// alpha-bar_i = prod_{j <= i} (1 - beta_j): x_i = sqrt(alpha-bar_i) x_0 + sqrt(1 - alpha-bar_i) noise.
        AlphaBars: float[]
        /// The training timestep of each step.
        Timesteps: int[]
    }

    /// The number of steps.
    member s.Length = s.Betas.Length

    /// alpha-bar_{i-1}, with alpha-bar_{-1} = 1 (no noise before the first step).
    member s.AlphaBarPrev(i: int) =
        if i = 0 then 1.0 else s.AlphaBars[i - 1]

    /// The variance of q(x_{i-1} | x_i, x_0): beta_i (1 - alpha-bar_{i-1}) / (1 - alpha-bar_i) (Ho et al., eq. 7).
    member s.PosteriorVariance(i: int) =
        s.Betas[i] * (1.0 - s.AlphaBarPrev i) / (1.0 - s.AlphaBars[i])

    /// The coefficients (c0, ct) of the posterior mean c0 x_0 + ct x_i: c0 = beta_i sqrt(alpha-bar_{i-1}) /
    /// (1 - alpha-bar_i), ct = (1 - alpha-bar_{i-1}) sqrt(1 - beta_i) / (1 - alpha-bar_i) (Ho et al., eq. 7).
    member s.PosteriorMeanCoefficients(i: int) =
        let denominator = 1.0 - s.AlphaBars[i]

        s.Betas[i] * sqrt (s.AlphaBarPrev i) / denominator,
        (1.0 - s.AlphaBarPrev i) * sqrt (1.0 - s.Betas[i]) / denominator

/// Building noise schedules, noising data (q_sample) and the ancestral sampler's posterior step.
[<RequireQualifiedAccess>]
module Ddpm =
    let private check (caller: string) (steps: int) =
        if steps < 1 then
            invalidArg "steps" (sprintf "%s: the number of steps must be >= 1, got %d." caller steps)

    /// A schedule from its betas, each in (0, 1).
    let ofBetas (betas: float[]) : NoiseSchedule =
        check "Ddpm.ofBetas" betas.Length

        match betas |> Array.tryFindIndex (fun b -> not (b > 0.0 && b < 1.0)) with
        | Some i -> invalidArg "betas" (sprintf "Ddpm.ofBetas: beta[%d] = %g; every beta must be in (0, 1)." i betas[i])
        | None -> ()

        {
            Betas = Array.copy betas
            AlphaBars = Array.scan (fun acc b -> acc * (1.0 - b)) 1.0 betas |> Array.tail
            Timesteps = Array.init betas.Length id
        }

    /// Ho et al.'s linear schedule: betas evenly spaced from betaStart to betaEnd (their 1e-4 and 0.02 for
    /// 1000 steps).
    let linear (steps: int) (betaStart: float) (betaEnd: float) : NoiseSchedule =
        check "Ddpm.linear" steps

        if not (betaStart > 0.0 && betaStart <= betaEnd && betaEnd < 1.0) then
            invalidArg
                "betaEnd"
                (sprintf "Ddpm.linear: need 0 < betaStart <= betaEnd < 1, got %g and %g." betaStart betaEnd)

        ofBetas (
            Array.init steps (fun i ->
                if steps = 1 then
                    betaStart
                else
                    betaStart + (betaEnd - betaStart) * float i / float (steps - 1))
        )

    /// Nichol and Dhariwal's cosine schedule: alpha-bar(t) = f(t) / f(0) with f(t) = cos^2(((t / T) + s) / (1 + s)
    /// pi / 2), betas 1 - alpha-bar_t / alpha-bar_{t-1} clipped at 0.999 (their s = 0.008).
    let cosine (steps: int) (s: float) : NoiseSchedule =
        check "Ddpm.cosine" steps

        if not (s >= 0.0) then
            invalidArg "s" (sprintf "Ddpm.cosine: the offset s must be >= 0, got %g." s)

        let f (t: int) =
            let c = cos ((float t / float steps + s) / (1.0 + s) * Math.PI / 2.0)
            c * c

        ofBetas (Array.init steps (fun i -> min 0.999 (1.0 - f (i + 1) / f i)))

    /// The schedule restricted to `count` evenly spaced timesteps (Nichol and Dhariwal's respacing): the same
    /// alpha-bars at the kept timesteps, betas 1 - alpha-bar_k / alpha-bar_{previous kept}, so a model trained on
    /// every timestep samples in fewer steps with the same posterior step.
    let respace (count: int) (schedule: NoiseSchedule) : NoiseSchedule =
        if count < 1 || count > schedule.Length then
            invalidArg
                "count"
                (sprintf "Ddpm.respace: count must be in [1, %d] (the schedule's steps), got %d." schedule.Length count)

        let kept =
            Array.init count (fun k ->
                if count = 1 then
                    schedule.Length - 1
                else
                    int (Math.Round(float k * float (schedule.Length - 1) / float (count - 1))))
            |> Array.distinct

        let alphaBars = kept |> Array.map (fun i -> schedule.AlphaBars[i])

        {
            Betas =
                alphaBars
                |> Array.mapi (fun k a -> 1.0 - a / (if k = 0 then 1.0 else alphaBars[k - 1]))
            AlphaBars = alphaBars
            Timesteps = kept |> Array.map (fun i -> schedule.Timesteps[i])
        }

    /// Per-example values of a per-step table: values[t[n]] as [N; 1; ...; 1] of rank `rank`, in dtype and on
    /// the device of `like`, so they broadcast over images.
    let private perExample (values: float[]) (t: Tensor) (rank: int) (like: Tensor) =
        let table =
            Tensor.ofArray (Array.map float32 values, [ values.Length ], like.Device)

        let picked = Tensor.indexSelect (table, 0, t)
        Tensor.cast (Tensor.reshape (picked, t.Shape[0] :: List.replicate (rank - 1) 1), like.DType)

    let private checkBatch (caller: string) (x: Tensor) (t: Tensor) =
        if t.Rank <> 1 || x.Rank < 1 || t.Shape[0] <> x.Shape[0] then
            invalidArg
                "t"
                (sprintf "%s: the steps t %O must be one per example of x %O (shape [N])." caller t.Shape x.Shape)

    /// Noises clean data to step t (q(x_t | x_0)): sqrt(alpha-bar_t) x0 + sqrt(1 - alpha-bar_t) noise, where t
    /// holds one step index per example ([N], integer) and noise has x0's shape.
    let qSample (schedule: NoiseSchedule) (x0: Tensor) (t: Tensor) (noise: Tensor) : Tensor =
        checkBatch "Ddpm.qSample" x0 t

        if noise.Shape <> x0.Shape then
            invalidArg "noise" (sprintf "Ddpm.qSample: noise %O must have x0's shape %O." noise.Shape x0.Shape)

        let a = schedule.AlphaBars
        let signal = perExample (a |> Array.map sqrt) t x0.Rank x0
        let spread = perExample (a |> Array.map (fun v -> sqrt (1.0 - v))) t x0.Rank x0
        signal * x0 + spread * noise

    /// The training objective of Ho et al.'s simplified loss: draws a step per example and Gaussian noise from
    /// `key`, noises x0 and returns the mean squared error between the noise and predictNoise's estimate of it
    /// (predictNoise gets the noised images and the training timesteps as Float32 [N]).
    let noiseLoss
        (schedule: NoiseSchedule)
        (predictNoise: Tensor -> Tensor -> Tensor)
        (key: Key)
        (x0: Tensor)
        : Tensor =
        let kt, kn = Key.split key
        let n = x0.Shape[0]
        let t = Tensor.randint (kt, 0, schedule.Length, [ n ], device = x0.Device)
        let noise = Tensor.randn (kn, x0.Shape.ToArray(), x0.DType, x0.Device)
        let xt = qSample schedule x0 t noise

        let timesteps =
            Tensor.indexSelect (
                Tensor.ofArray (Array.map float32 schedule.Timesteps, [ schedule.Length ], x0.Device),
                0,
                t
            )

        Losses.mse (predictNoise xt timesteps) noise

    /// One ancestral step of the reverse process from step i (the same for every example): the clean image
    /// implied by the predicted noise, x0 = (x - sqrt(1 - alpha-bar_i) eps) / sqrt(alpha-bar_i), clipped to
    /// [-clip, clip] (data scaled to [-1, 1]: clip 1), then the posterior mean c0 x0 + ct x plus the posterior
    /// standard deviation times fresh noise from key (none at i = 0).
    let posteriorStep (schedule: NoiseSchedule) (clip: float) (i: int) (x: Tensor) (predictedNoise: Tensor) (key: Key) =
        if i < 0 || i >= schedule.Length then
            invalidArg "i" (sprintf "Ddpm.posteriorStep: step %d is outside [0, %d)." i schedule.Length)

        if predictedNoise.Shape <> x.Shape then
            invalidArg
                "predictedNoise"
                (sprintf
                    "Ddpm.posteriorStep: the predicted noise %O must have x's shape %O."
                    predictedNoise.Shape
                    x.Shape)

        let a = schedule.AlphaBars[i]

        let x0 =
            Tensor.clamp ((x - sqrt (1.0 - a) * predictedNoise) / sqrt a, min = -clip, max = clip)

        let c0, ct = schedule.PosteriorMeanCoefficients i
        let mean = c0 * x0 + ct * x

        if i = 0 then
            mean
        else
            mean
            + sqrt (schedule.PosteriorVariance i)
              * Tensor.randn (key, x.Shape.ToArray(), x.DType, x.Device)

    /// Runs a reverse process from pure noise x_{T-1} ~ N(0, I) of the given shape ([N; C; H; W]) down to x_0:
    /// at each step i, from the last to 0, step i x (predictNoise x t) (Key.foldIn i key) gives the next x, where
    /// t holds the training timestep Timesteps[i] as Float32 [N]. Each step runs in its own scope, and each step's
    /// input is released once the next exists. Ddpm.sample and Ddim.sample are this loop with their steps.
    let reverse
        (schedule: NoiseSchedule)
        (step: int -> Tensor -> Tensor -> Key -> Tensor)
        (predictNoise: Tensor -> Tensor -> Tensor)
        (shape: int list)
        (device: Device)
        (key: Key)
        : Tensor =
        let start, stepKeys = Key.split key
        let n = List.head shape

        (Tensor.randn (start, shape, DType.Float32, device), [ schedule.Length - 1 .. -1 .. 0 ])
        ||> List.fold (fun x i ->
            let next =
                Scope.run (fun () ->
                    let t = Tensor.full ([ n ], float schedule.Timesteps[i], DType.Float32, device)
                    step i x (predictNoise x t) (Key.foldIn i stepKeys))
            // Each x is this function's own and read by no one once the next exists: hand its buffer back now
            // rather than holding every step's images until the caller's scope ends.
            Scope.donate (box x) (box next)
            next)

    /// Samples by running the reverse process from pure noise x_{T-1} ~ N(0, I) of the given shape ([N; C; H;
    /// W]) down to x_0 with posteriorStep, each step's noise from Key.foldIn i key. predictNoise gets x_i and the
    /// training timesteps as Float32 [N].
    let sample
        (schedule: NoiseSchedule)
        (predictNoise: Tensor -> Tensor -> Tensor)
        (clip: float)
        (shape: int list)
        (device: Device)
        (key: Key)
        : Tensor =
        reverse schedule (posteriorStep schedule clip) predictNoise shape device key
