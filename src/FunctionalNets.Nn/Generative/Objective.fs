namespace FunctionalNets.Nn

open System
open FunctionalNets

/// What a custom objective returns for one batch: the scalar loss to minimise, the model's new layer state
/// (BatchNorm running statistics; PTree.empty for a model without any) and named scalars to log beside the loss.
type ObjectiveResult =
    {
        Loss: Tensor
        State: State
        Logs: (string * Tensor) list
    }

/// Training steps for objectives that are not `loss (model input) target`: a VAE's ELBO, a GAN's two players,
/// a diffusion model's noise prediction. Each step is a pure function of the train state and the batch.
[<RequireQualifiedAccess>]
module Objective =
    /// The key a step draws its randomness from (noise, timesteps, dropout): derived from the state's key and
    /// its step count, so a fold of steps is fixed by its initial state, and two states never share a key.
    let stepKey (ts: TrainState) : Key =
        Key.foldIn (int ts.Step) (snd (Key.split ts.Key))

    /// One optimisation step of `objective` (parameters -> result) under `tx`, inside its own scope: every
    /// intermediate is released and only the new state is kept. Logs hold "loss" and the objective's named
    /// scalars, read to the host. A non-finite loss raises ArithmeticException naming `name` and the step.
    let step (name: string) (tx: GradTx) (objective: Params -> ObjectiveResult) (ts: TrainState) : TrainState * Logs =
        let next, logs =
            Scope.runKeeping (fun (next: TrainState, _) -> box [ next.Params; next.State; next.Opt ]) (fun () ->
                let f (p: Params) =
                    let r = objective p
                    let logs = r.Logs |> List.map (fun (k, v) -> k, Leaf v.NoDiff)
                    r.Loss, PTree.node [ "state", r.State; "logs", PTree.node logs ]

                let (value, aux), grads = Diff.valueAndGradTreeAux f ts.Params

                let state, logTree =
                    match aux with
                    | Node [ _, s; _, l ] -> s, l
                    | _ -> invalidOp "Objective.step: unreachable"

                let next = Train.applyGradients tx grads state ts

                let logs =
                    ("loss", Tensor.toScalar value)
                    :: (PTree.leaves logTree |> List.map (fun (k, t) -> k, Tensor.toScalar t))

                next, Map.ofList logs)

        let loss = logs["loss"]

        if Double.IsNaN loss || Double.IsInfinity loss then
            raise (
                ArithmeticException(
                    sprintf
                        "%s: the loss became %g at step %d. Lower the learning rate, check the inputs for NaN or Inf, or clip the gradients (Optim.clipByGlobalNorm)."
                        name
                        loss
                        ts.Step
                )
            )

        next, logs

    /// A fresh train state for parameters and state made elsewhere (a model that is not one Layer): the
    /// optimizer's state from tx, step 0, the given key.
    let init (parameters: Params) (state: State) (tx: GradTx) (key: Key) : TrainState =
        {
            Params = parameters
            State = state
            Opt = tx.Init parameters
            Step = 0L
            Key = key
            LrScale = 1.0
        }
