namespace FunctionalNets.Nn

open System.Runtime.InteropServices
open FunctionalNets

/// Optimizers as chains of gradient transformations (see <c>GradTransform</c>), following PyTorch's update
/// rules and defaults so that ported code gets the same numbers. Each optimizer has one entry point (the type
/// <c>Optim</c> below): <c>Optim.adam(1e-3)</c>, <c>Optim.adam(schedule, b2 = 0.98, weightDecay = 1e-4)</c>.
/// A fixed learning rate is stateless; a schedule is evaluated at the step the training loop passes in
/// (0 on the first update) and keeps a count in the state for the checkpoint layout. Optimizer state paths follow the chain:
/// e.g. Adam's first moment of parameter "0.weight" is at "0.mu.0.weight".
/// The gradient transformations themselves are re-exported here so a whole optimizer reads
/// <c>Optim.chain [ Optim.clipByGlobalNorm 1.0; Optim.adam 1e-3 ]</c>.
[<RequireQualifiedAccess>]
module Optim =

    // ---- re-exported transformations (Optax's flat namespace) ----

    /// Applies transformations in order; see <c>GradTransform.chain</c>.
    let chain (transforms: GradTx list) : GradTx = GradTransform.chain transforms

    /// Adds updates to parameters; see <c>GradTransform.applyUpdates</c>.
    let applyUpdates (parameters: Params) (updates: Params) : Params =
        GradTransform.applyUpdates parameters updates

    /// Passes gradients through; see <c>GradTransform.identity</c>.
    let identity: GradTx = GradTransform.identity
    /// Multiplies gradients by a constant; see <c>GradTransform.scale</c>.
    let scale (factor: float) : GradTx = GradTransform.scale factor
    /// Multiplies gradients by schedule(count); see <c>GradTransform.scaleBySchedule</c>.
    let scaleBySchedule (schedule: Schedule) : GradTx = GradTransform.scaleBySchedule schedule
    /// Multiplies by -lr; see <c>GradTransform.scaleByLearningRate</c>.
    let scaleByLearningRate (lr: float) : GradTx = GradTransform.scaleByLearningRate lr

    /// Multiplies by -lr(count); see <c>GradTransform.scaleByLearningRateWith</c>.
    let scaleByLearningRateWith (lr: Schedule) : GradTx =
        GradTransform.scaleByLearningRateWith lr

    /// Adam's bias-corrected moments; see <c>GradTransform.scaleByAdam</c>.
    let scaleByAdam (b1: float) (b2: float) (eps: float) : GradTx = GradTransform.scaleByAdam b1 b2 eps

    /// AMSGrad's scaling (Adam with the running maximum of the second moment).
    let scaleByAmsgrad (b1: float) (b2: float) (eps: float) : GradTx = GradTransform.scaleByAmsgrad b1 b2 eps

    /// RMSprop scaling (PyTorch's eps placement); see <c>GradTransform.scaleByRms</c>.
    let scaleByRms (decay: float) (eps: float) (centered: bool) : GradTx =
        GradTransform.scaleByRms decay eps centered

    /// Adagrad scaling (PyTorch's convention); see <c>GradTransform.scaleByAdagrad</c>.
    let scaleByAdagrad (initialAccumulator: float) (eps: float) : GradTx =
        GradTransform.scaleByAdagrad initialAccumulator eps

    /// Momentum buffer; see <c>GradTransform.trace</c>.
    let trace (decay: float) (nesterov: bool) : GradTx = GradTransform.trace decay nesterov

    /// Adds weightDecay * param where the mask selects; see <c>GradTransform.addDecayedWeights</c>.
    let addDecayedWeights (weightDecay: float) (mask: DecayMask) : GradTx =
        GradTransform.addDecayedWeights weightDecay mask

    /// Scales all gradients to a global norm of at most maxNorm; see <c>GradTransform.clipByGlobalNorm</c>.
    let clipByGlobalNorm (maxNorm: float) : GradTx = GradTransform.clipByGlobalNorm maxNorm
    /// Clamps gradient elements to [-maxDelta, maxDelta]; see <c>GradTransform.clipByValue</c>.
    let clipByValue (maxDelta: float) : GradTx = GradTransform.clipByValue maxDelta

/// A learning rate: a constant, or a schedule of the step.
[<RequireQualifiedAccess>]
type LearningRate =
    | Constant of float
    | Scheduled of Schedule

    /// -lr (constant, stateless) or -lr(step) (with a count in its state, as before, so checkpoints keep their
    /// layout).
    member lr.Transform: GradTx =
        match lr with
        | Constant v -> GradTransform.scaleByLearningRate v
        | Scheduled s -> GradTransform.scaleByLearningRateWith s

/// The optimizers, one entry point per algorithm (Optax's shape): each is a chain of gradient transformations, with
/// the learning rate a constant or a schedule (two overloads) and every other hyper-parameter optional with
/// PyTorch's default. Optim's transformations (chain, clipByGlobalNorm, ...) are in the module of the same name.
type Optim =
    static member private CoupledDecay(weightDecay: float) =
        if weightDecay <> 0.0 then
            [ GradTransform.addDecayedWeights weightDecay DecayMask.All ]
        else
            []

    static member private Sgd
        (lr: LearningRate, momentum: float, nesterov: bool, weightDecay: float, dampening: float, momentumSchedule)
        =
        if
            nesterov
            && (momentum <= 0.0 && Option.isNone momentumSchedule || dampening <> 0.0)
        then
            invalidArg "nesterov" "Optim.sgd: Nesterov momentum needs momentum > 0 and dampening 0 (as in PyTorch)."

        if not (dampening >= 0.0 && dampening <= 1.0) then
            invalidArg "dampening" (sprintf "Optim.sgd: dampening must lie in [0, 1], got %g." dampening)

        let momentumTx =
            match momentumSchedule with
            | Some(schedule: Schedule) -> [ GradTransform.traceWith schedule dampening nesterov ]
            | None when momentum <> 0.0 -> [ GradTransform.traceWith (fun _ -> momentum) dampening nesterov ]
            | None -> []

        GradTransform.chain (Optim.CoupledDecay weightDecay @ momentumTx @ [ lr.Transform ])

    // Adam's or AMSGrad's scaling, beta1 constant or scheduled.
    static member private AdamScaling(b1: float, b1Schedule: Schedule option, b2, eps, amsgrad) =
        let b1 = defaultArg b1Schedule (fun _ -> b1)

        if amsgrad then
            GradTransform.scaleByAmsgradWith b1 b2 eps
        else
            GradTransform.scaleByAdamWith b1 b2 eps

    static member private Adam(lr: LearningRate, b1, b2, eps, weightDecay, amsgrad, b1Schedule: Schedule option) =
        let tx =
            GradTransform.chain (
                Optim.CoupledDecay weightDecay
                @ [ Optim.AdamScaling(b1, b1Schedule, b2, eps, amsgrad); lr.Transform ]
            )

        // The plain chain has a one-pass form that the training fold uses (FusedSteps); the others keep two passes.
        if weightDecay = 0.0 && not amsgrad && b1Schedule.IsNone then
            match lr with
            | LearningRate.Constant v -> FusedSteps.annotate (FusedSteps.adam b1 b2 eps (fun _ -> v) false) tx
            | LearningRate.Scheduled s -> FusedSteps.annotate (FusedSteps.adam b1 b2 eps s true) tx
        else
            tx

    static member private AdamW(lr: LearningRate, b1, b2, eps, weightDecay, mask: DecayMask, amsgrad, b1Schedule) =
        let scaling = Optim.AdamScaling(b1, b1Schedule, b2, eps, amsgrad)
        // -lr * (adam + wd * p) is PyTorch's p - lr*wd*p - lr*adam: both terms use the same p and lr_t.
        GradTransform.chain (
            [ scaling ]
            @ (if weightDecay <> 0.0 then
                   [ GradTransform.addDecayedWeights weightDecay mask ]
               else
                   [])
            @ [ lr.Transform ]
        )

    static member private Rmsprop(lr: LearningRate, alpha, eps, momentum, centered, weightDecay) =
        // PyTorch's momentum buffer accumulates the scaled gradient and is multiplied by lr afterwards:
        // a trace between the RMS scaling and the learning rate.
        GradTransform.chain (
            Optim.CoupledDecay weightDecay
            @ [ GradTransform.scaleByRms alpha eps centered ]
            @ (if momentum <> 0.0 then
                   [ GradTransform.trace momentum false ]
               else
                   [])
            @ [ lr.Transform ]
        )

    static member private Adagrad(lr: LearningRate, initialAccumulator, eps, weightDecay) =
        GradTransform.chain (
            Optim.CoupledDecay weightDecay
            @ [ GradTransform.scaleByAdagrad initialAccumulator eps; lr.Transform ]
        )

    /// Stochastic gradient descent (PyTorch's SGD): coupled L2 weightDecay, then momentum with dampening
    /// (Nesterov's when nesterov), then -learningRate. momentumSchedule, when given, replaces momentum by a value
    /// per step (<c>Schedules.oneCycleMomentum</c> is torch's OneCycleLR(cycle_momentum=True)).
    static member sgd
        (
            learningRate: float,
            [<Optional; DefaultParameterValue(0.0)>] momentum: float,
            [<Optional; DefaultParameterValue(false)>] nesterov: bool,
            [<Optional; DefaultParameterValue(0.0)>] weightDecay: float,
            [<Optional; DefaultParameterValue(0.0)>] dampening: float,
            ?momentumSchedule: Schedule
        ) : GradTx =
        Optim.Sgd(LearningRate.Constant learningRate, momentum, nesterov, weightDecay, dampening, momentumSchedule)

    /// sgd with a learning-rate schedule.
    static member sgd
        (
            learningRate: Schedule,
            [<Optional; DefaultParameterValue(0.0)>] momentum: float,
            [<Optional; DefaultParameterValue(false)>] nesterov: bool,
            [<Optional; DefaultParameterValue(0.0)>] weightDecay: float,
            [<Optional; DefaultParameterValue(0.0)>] dampening: float,
            ?momentumSchedule: Schedule
        ) : GradTx =
        Optim.Sgd(LearningRate.Scheduled learningRate, momentum, nesterov, weightDecay, dampening, momentumSchedule)

    /// Adam (PyTorch's, eps outside the square root) with coupled L2 weightDecay; amsgrad keeps the running
    /// maximum of the second moment. b1Schedule, when given, replaces b1 by a value per step
    /// (<c>Schedules.oneCycleMomentum</c> is torch's OneCycleLR(cycle_momentum=True)).
    static member adam
        (
            learningRate: float,
            [<Optional; DefaultParameterValue(0.9)>] b1: float,
            [<Optional; DefaultParameterValue(0.999)>] b2: float,
            [<Optional; DefaultParameterValue(1e-8)>] eps: float,
            [<Optional; DefaultParameterValue(0.0)>] weightDecay: float,
            [<Optional; DefaultParameterValue(false)>] amsgrad: bool,
            ?b1Schedule: Schedule
        ) : GradTx =
        Optim.Adam(LearningRate.Constant learningRate, b1, b2, eps, weightDecay, amsgrad, b1Schedule)

    /// adam with a learning-rate schedule.
    static member adam
        (
            learningRate: Schedule,
            [<Optional; DefaultParameterValue(0.9)>] b1: float,
            [<Optional; DefaultParameterValue(0.999)>] b2: float,
            [<Optional; DefaultParameterValue(1e-8)>] eps: float,
            [<Optional; DefaultParameterValue(0.0)>] weightDecay: float,
            [<Optional; DefaultParameterValue(false)>] amsgrad: bool,
            ?b1Schedule: Schedule
        ) : GradTx =
        Optim.Adam(LearningRate.Scheduled learningRate, b1, b2, eps, weightDecay, amsgrad, b1Schedule)

    /// AdamW (decoupled weight decay, PyTorch's default 0.01), decaying the parameters mask selects (all by
    /// default); b1Schedule as in adam.
    static member adamw
        (
            learningRate: float,
            [<Optional; DefaultParameterValue(0.9)>] b1: float,
            [<Optional; DefaultParameterValue(0.999)>] b2: float,
            [<Optional; DefaultParameterValue(1e-8)>] eps: float,
            [<Optional; DefaultParameterValue(0.01)>] weightDecay: float,
            [<Optional; DefaultParameterValue(false)>] amsgrad: bool,
            ?mask: DecayMask,
            ?b1Schedule: Schedule
        ) : GradTx =
        Optim.AdamW(
            LearningRate.Constant learningRate,
            b1,
            b2,
            eps,
            weightDecay,
            defaultArg mask DecayMask.All,
            amsgrad,
            b1Schedule
        )

    /// adamw with a learning-rate schedule.
    static member adamw
        (
            learningRate: Schedule,
            [<Optional; DefaultParameterValue(0.9)>] b1: float,
            [<Optional; DefaultParameterValue(0.999)>] b2: float,
            [<Optional; DefaultParameterValue(1e-8)>] eps: float,
            [<Optional; DefaultParameterValue(0.01)>] weightDecay: float,
            [<Optional; DefaultParameterValue(false)>] amsgrad: bool,
            ?mask: DecayMask,
            ?b1Schedule: Schedule
        ) : GradTx =
        Optim.AdamW(
            LearningRate.Scheduled learningRate,
            b1,
            b2,
            eps,
            weightDecay,
            defaultArg mask DecayMask.All,
            amsgrad,
            b1Schedule
        )

    /// RMSprop in PyTorch's convention (alpha the smoothing constant, eps outside the square root), with
    /// optional momentum, centering and coupled L2 weightDecay.
    static member rmsprop
        (
            learningRate: float,
            [<Optional; DefaultParameterValue(0.99)>] alpha: float,
            [<Optional; DefaultParameterValue(1e-8)>] eps: float,
            [<Optional; DefaultParameterValue(0.0)>] momentum: float,
            [<Optional; DefaultParameterValue(false)>] centered: bool,
            [<Optional; DefaultParameterValue(0.0)>] weightDecay: float
        ) : GradTx =
        Optim.Rmsprop(LearningRate.Constant learningRate, alpha, eps, momentum, centered, weightDecay)

    /// rmsprop with a learning-rate schedule.
    static member rmsprop
        (
            learningRate: Schedule,
            [<Optional; DefaultParameterValue(0.99)>] alpha: float,
            [<Optional; DefaultParameterValue(1e-8)>] eps: float,
            [<Optional; DefaultParameterValue(0.0)>] momentum: float,
            [<Optional; DefaultParameterValue(false)>] centered: bool,
            [<Optional; DefaultParameterValue(0.0)>] weightDecay: float
        ) : GradTx =
        Optim.Rmsprop(LearningRate.Scheduled learningRate, alpha, eps, momentum, centered, weightDecay)

    /// Adagrad in PyTorch's convention (the accumulator starts at initialAccumulator), with coupled L2 weightDecay.
    static member adagrad
        (
            learningRate: float,
            [<Optional; DefaultParameterValue(0.0)>] initialAccumulator: float,
            [<Optional; DefaultParameterValue(1e-10)>] eps: float,
            [<Optional; DefaultParameterValue(0.0)>] weightDecay: float
        ) : GradTx =
        Optim.Adagrad(LearningRate.Constant learningRate, initialAccumulator, eps, weightDecay)

    /// adagrad with a learning-rate schedule.
    static member adagrad
        (
            learningRate: Schedule,
            [<Optional; DefaultParameterValue(0.0)>] initialAccumulator: float,
            [<Optional; DefaultParameterValue(1e-10)>] eps: float,
            [<Optional; DefaultParameterValue(0.0)>] weightDecay: float
        ) : GradTx =
        Optim.Adagrad(LearningRate.Scheduled learningRate, initialAccumulator, eps, weightDecay)
