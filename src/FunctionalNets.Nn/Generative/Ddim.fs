namespace FunctionalNets.Nn

open FunctionalNets

/// The DDIM sampler (Song et al. 2021) for a model trained with the DDPM objective: a non-Markovian reverse
/// process with the same marginals, deterministic at eta = 0, which reaches clean samples in fewer steps than the
/// ancestral sampler over the same (respaced) schedule.
[<RequireQualifiedAccess>]
module Ddim =
    /// One step from step i of the schedule to the step before it: the clean image implied by the predicted noise,
    /// x0 = (x - sqrt(1 - a) eps) / sqrt(a) with a = alpha-bar_i, clipped to [-clip, clip]; the noise that clipped
    /// x0 implies, eps' = (x - sqrt(a) x0) / sqrt(1 - a); then sqrt(a') x0 + sqrt(1 - a' - sigma^2) eps' + sigma z
    /// with a' = alpha-bar_{i-1} (1 before the first step), sigma = eta sqrt((1 - a') / (1 - a)) sqrt(1 - a / a')
    /// (Song et al., eq. 12 and 16) and z fresh noise from key (none when sigma is 0). eta = 0 is the
    /// deterministic DDIM; eta = 1 has the ancestral sampler's variance.
    let step
        (schedule: NoiseSchedule)
        (eta: float)
        (clip: float)
        (i: int)
        (x: Tensor)
        (predictedNoise: Tensor)
        (key: Key)
        : Tensor =
        if i < 0 || i >= schedule.Length then
            invalidArg "i" (sprintf "Ddim.step: step %d is outside [0, %d)." i schedule.Length)

        if not (eta >= 0.0 && eta <= 1.0) then
            invalidArg "eta" (sprintf "Ddim.step: eta must be in [0, 1] (0 deterministic, 1 ancestral), got %g." eta)

        if predictedNoise.Shape <> x.Shape then
            invalidArg
                "predictedNoise"
                (sprintf "Ddim.step: the predicted noise %O must have x's shape %O." predictedNoise.Shape x.Shape)

        let a, prev = schedule.AlphaBars[i], schedule.AlphaBarPrev i

        let x0 =
            Tensor.clamp ((x - sqrt (1.0 - a) * predictedNoise) / sqrt a, min = -clip, max = clip)

        let eps = (x - sqrt a * x0) / sqrt (1.0 - a)

        let sigma = eta * sqrt ((1.0 - prev) / (1.0 - a)) * sqrt (1.0 - a / prev)

        let mean = sqrt prev * x0 + sqrt (max 0.0 (1.0 - prev - sigma * sigma)) * eps

        if sigma = 0.0 then
            mean
        else
            mean + sigma * Tensor.randn (key, x.Shape.ToArray(), x.DType, x.Device)

    /// Samples from pure noise of the given shape ([N; C; H; W]) with Ddim.step over every step of the schedule
    /// (respace it with Ddpm.respace to take fewer), each step's noise from Key.foldIn i key. predictNoise gets x_i
    /// and the training timesteps as Float32 [N].
    let sample
        (schedule: NoiseSchedule)
        (eta: float)
        (predictNoise: Tensor -> Tensor -> Tensor)
        (clip: float)
        (shape: int list)
        (device: Device)
        (key: Key)
        : Tensor =
        Ddpm.reverse schedule (step schedule eta clip) predictNoise shape device key
