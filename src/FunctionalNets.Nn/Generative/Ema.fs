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
