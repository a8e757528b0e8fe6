namespace FunctionalNets.Nn

open FunctionalNets

/// Exponential moving averages of parameters (Polyak averaging), which generative models sample from: the
/// average of the last few thousand steps' weights gives cleaner samples than the last step's weights.
[<RequireQualifiedAccess>]
module Ema =
    /// decay * average + (1 - decay) * parameters, leaf by leaf (derivatives dropped). decay must be in [0, 1];
    /// the trees must have the same structure.
    let update (decay: float) (average: Params) (parameters: Params) : Params =
        if not (decay >= 0.0 && decay <= 1.0) then
            invalidArg "decay" (sprintf "Ema.update: decay must be in [0, 1], got %g." decay)

        Scope.run (fun () ->
            PTree.map2 (fun (a: Tensor) (p: Tensor) -> a.NoDiff * decay + p.NoDiff * (1.0 - decay)) average parameters)

    /// The decay to use after `step` updates: min(decay, (1 + step) / (10 + step)), as TensorFlow's
    /// ExponentialMovingAverage with num_updates, so an average started at the initial weights forgets them within
    /// a few hundred steps instead of keeping decay^step of them (0.999^938 = 39% after an MNIST epoch).
    let warmedDecay (decay: float) (step: int64) : float =
        if not (decay >= 0.0 && decay <= 1.0) then
            invalidArg "decay" (sprintf "Ema.warmedDecay: decay must be in [0, 1], got %g." decay)

        if step < 0L then
            invalidArg "step" (sprintf "Ema.warmedDecay: step must be >= 0, got %d." step)

        min decay ((1.0 + float step) / (10.0 + float step))
