namespace FunctionalNets.Nn

open FunctionalNets
open System

/// How a one-cycle phase moves between its two values (torch's <c>anneal_strategy</c>).
[<RequireQualifiedAccess>]
type Anneal =
    /// Half a cosine: <c>end + (start - end) / 2 * (1 + cos(pi * pct))</c> (torch's default).
    | Cos
    /// A straight line: <c>start + (end - start) * pct</c>.
    | Linear

/// Learning-rate (or any hyper-parameter) schedules: pure functions of the step count. Step 0 is the
/// value used by the first optimizer update (the count in <c>Optim.scaleByLearningRateWith</c> starts
/// at 0), which is also what a PyTorch scheduler created with <c>last_epoch=-1</c> gives for the first
/// <c>optimizer.step()</c> when <c>scheduler.step()</c> is called once per batch.
[<RequireQualifiedAccess>]
module Schedules =
    /// The same value at every step (Optax <c>constant_schedule</c>).
    let constant (value: float) : Schedule = fun _ -> value

    /// PyTorch <c>StepLR</c>: <c>lr * gamma^floor(step / stepSize)</c>.
    let stepDecay (lr: float) (stepSize: int64) (gamma: float) : Schedule =
        if stepSize <= 0L then
            invalidArg "stepSize" (sprintf "Schedules.stepDecay: stepSize must be positive, got %d." stepSize)

        fun step -> lr * Math.Pow(gamma, float (max 0L step / stepSize))

    /// PyTorch <c>ExponentialLR</c>: <c>lr * gamma^step</c>.
    let exponential (lr: float) (gamma: float) : Schedule =
        fun step -> lr * Math.Pow(gamma, float (max 0L step))

    /// Optax <c>exponential_decay</c> (transition_begin = 0, no end value):
    /// <c>init * decayRate^(step / transitionSteps)</c>, with the exponent floored when staircase is true.
    let exponentialDecay (init: float) (decayRate: float) (transitionSteps: int64) (staircase: bool) : Schedule =
        if transitionSteps <= 0L then
            invalidArg
                "transitionSteps"
                (sprintf "Schedules.exponentialDecay: transitionSteps must be positive, got %d." transitionSteps)

        fun step ->
            let step = max 0L step

            let p =
                if staircase then
                    float (step / transitionSteps)
                else
                    float step / float transitionSteps

            init * Math.Pow(decayRate, p)

    /// Optax <c>linear_schedule</c>: from init to endValue linearly over transitionSteps, then held at endValue.
    let linear (init: float) (endValue: float) (transitionSteps: int64) : Schedule =
        if transitionSteps <= 0L then
            constant init
        else
            fun step ->
                let c = float (Math.Clamp(step, 0L, transitionSteps))
                (init - endValue) * (1.0 - c / float transitionSteps) + endValue

    /// Optax <c>cosine_decay_schedule</c>:
    /// <c>init * ((1 - alpha) * 0.5 * (1 + cos(pi * min(step, decaySteps) / decaySteps)) + alpha)</c>;
    /// held at <c>init * alpha</c> after decaySteps (no restarts; build restarts with <c>join</c>).
    let cosine (init: float) (decaySteps: int64) (alpha: float) : Schedule =
        if decaySteps <= 0L then
            invalidArg "decaySteps" (sprintf "Schedules.cosine: decaySteps must be positive, got %d." decaySteps)

        fun step ->
            let c = float (Math.Clamp(step, 0L, decaySteps))
            let cosineDecay = 0.5 * (1.0 + Math.Cos(Math.PI * c / float decaySteps))
            init * ((1.0 - alpha) * cosineDecay + alpha)

    /// Optax <c>join_schedules</c>: <c>schedules[0]</c> until <c>boundaries[0]</c>, then <c>schedules[1]</c>
    /// evaluated at <c>step - boundaries[0]</c>, and so on: the schedule in force at step s is the last one
    /// whose boundary is &lt;= s, and it sees <c>s - boundary</c>. Needs one boundary fewer than schedules.
    let join (schedules: Schedule list) (boundaries: int64 list) : Schedule =
        if List.isEmpty schedules then
            invalidArg "schedules" "Schedules.join: at least one schedule is needed."

        if List.length boundaries <> List.length schedules - 1 then
            invalidArg
                "boundaries"
                (sprintf
                    "Schedules.join: %d schedules need %d boundaries, got %d."
                    schedules.Length
                    (schedules.Length - 1)
                    boundaries.Length)

        let first = List.head schedules
        let rest = List.zip boundaries (List.tail schedules)

        fun step ->
            // Optax's chain of jnp.where: each later schedule takes over once its boundary is reached.
            rest
            |> List.fold (fun value (b, s) -> if step < b then value else s (step - b)) (first step)

    /// Optax <c>warmup_cosine_decay_schedule</c>: linear from init to peak over warmupSteps, then cosine
    /// from peak to endValue over <c>decaySteps - warmupSteps</c>. As in Optax, decaySteps is the total
    /// length of the schedule and includes the warmup; after it the value stays at endValue.
    let warmupCosine (init: float) (peak: float) (warmupSteps: int64) (decaySteps: int64) (endValue: float) : Schedule =
        if decaySteps <= warmupSteps then
            invalidArg
                "decaySteps"
                (sprintf "Schedules.warmupCosine: decaySteps (%d) must exceed warmupSteps (%d)." decaySteps warmupSteps)

        // Optax scales the cosine with alpha = end / peak; the cosine then runs from peak to end exactly.
        let alpha = if peak = 0.0 then 0.0 else endValue / peak
        join [ linear init peak warmupSteps; cosine peak (decaySteps - warmupSteps) alpha ] [ warmupSteps ]

    // torch's OneCycleLR.get_lr: phases (endStep, startValue, endValue); a step belongs to the first phase whose end
    // it has not passed (the last phase takes the rest), and pct is its fraction of the phase since the previous end.
    let private phased (anneal: Anneal) (phases: (float * float * float) list) (totalSteps: int64) : Schedule =
        let interpolate start stop pct =
            match anneal with
            | Anneal.Cos -> stop + (start - stop) / 2.0 * (Math.Cos(Math.PI * pct) + 1.0)
            | Anneal.Linear -> (stop - start) * pct + start

        let last = List.length phases - 1

        fun step ->
            let s = float (Math.Clamp(step, 0L, totalSteps - 1L))

            let rec go i startStep phases =
                match phases with
                | (endStep, a, b) :: rest ->
                    if s <= endStep || i = last then
                        // A phase of zero length (pctStart * totalSteps <= 1) would divide 0 by 0 in torch.
                        if endStep <= startStep then
                            b
                        else
                            interpolate a b ((s - startStep) / (endStep - startStep))
                    else
                        go (i + 1) endStep rest
                | [] -> nan

            go 0 0.0 phases

    let private checkOneCycle (totalSteps: int64) (pctStart: float) (threePhase: bool) =
        if totalSteps <= 1L then
            invalidArg "totalSteps" (sprintf "Schedules.oneCycle: totalSteps must be at least 2, got %d." totalSteps)

        if pctStart <= 0.0 || pctStart >= (if threePhase then 0.5 else 1.0) then
            invalidArg
                "pctStart"
                (sprintf
                    "Schedules.oneCycle: pctStart must lie in (0, %s), got %g."
                    (if threePhase then "0.5) with threePhase" else "1")
                    pctStart)

    // torch's phase ends: pctStart * total - 1, then (three phases) 2 pctStart * total - 2, then total - 1.
    let private oneCycleEnds (totalSteps: int64) (pctStart: float) (threePhase: bool) =
        let e1 = pctStart * float totalSteps - 1.0
        let last = float totalSteps - 1.0

        if threePhase then
            [ e1; 2.0 * pctStart * float totalSteps - 2.0; last ]
        else
            [ e1; last ]

    /// PyTorch <c>OneCycleLR</c>'s learning rate with every option. With <c>initial = maxLr / divFactor</c> and
    /// <c>minLr = initial / finalDivFactor</c>, two phases go initial -> maxLr over steps 0 .. e1 =
    /// <c>pctStart * totalSteps - 1</c>, then maxLr -> minLr until <c>totalSteps - 1</c>; with threePhase, initial ->
    /// maxLr, maxLr -> initial until <c>2 pctStart totalSteps - 2</c>, then initial -> minLr. anneal shapes each phase.
    /// PyTorch raises past totalSteps; here steps are clamped to [0, totalSteps - 1].
    let oneCycleWith
        (anneal: Anneal)
        (threePhase: bool)
        (maxLr: float)
        (totalSteps: int64)
        (pctStart: float)
        (divFactor: float)
        (finalDivFactor: float)
        : Schedule =
        checkOneCycle totalSteps pctStart threePhase
        let initial = maxLr / divFactor
        let minLr = initial / finalDivFactor

        match oneCycleEnds totalSteps pctStart threePhase with
        | [ e1; e2; e3 ] -> phased anneal [ e1, initial, maxLr; e2, maxLr, initial; e3, initial, minLr ] totalSteps
        | ends -> phased anneal [ ends[0], initial, maxLr; ends[1], maxLr, minLr ] totalSteps

    /// PyTorch <c>OneCycleLR</c> with <c>anneal_strategy='cos'</c> and <c>three_phase=False</c>: the learning rate
    /// from maxLr / divFactor up to maxLr by step <c>pctStart * totalSteps - 1</c>, then down to
    /// <c>maxLr / divFactor / finalDivFactor</c> at step totalSteps - 1 (see oneCycleWith). PyTorch's defaults are
    /// pctStart = 0.3, divFactor = 25, finalDivFactor = 1e4. The momentum it cycles is oneCycleMomentum.
    let oneCycle
        (maxLr: float)
        (totalSteps: int64)
        (pctStart: float)
        (divFactor: float)
        (finalDivFactor: float)
        : Schedule =
        oneCycleWith Anneal.Cos false maxLr totalSteps pctStart divFactor finalDivFactor

    /// The momentum (SGD's momentum, Adam's beta1) that PyTorch's <c>OneCycleLR(cycle_momentum=True)</c> sets with
    /// the learning rate of the same phases: maxMomentum -> baseMomentum while the rate rises, back to maxMomentum
    /// while it falls (and held at maxMomentum in the third phase). torch's defaults are 0.85 and 0.95. Give it to
    /// <c>Optim.sgd(..., momentumSchedule = ...)</c> or <c>Optim.adam(..., b1Schedule = ...)</c>.
    let oneCycleMomentum
        (anneal: Anneal)
        (threePhase: bool)
        (baseMomentum: float)
        (maxMomentum: float)
        (totalSteps: int64)
        (pctStart: float)
        : Schedule =
        checkOneCycle totalSteps pctStart threePhase

        match oneCycleEnds totalSteps pctStart threePhase with
        | [ e1; e2; e3 ] ->
            phased
                anneal
                [
                    e1, maxMomentum, baseMomentum
                    e2, baseMomentum, maxMomentum
                    e3, maxMomentum, maxMomentum
                ]
                totalSteps
        | ends -> phased anneal [ ends[0], maxMomentum, baseMomentum; ends[1], baseMomentum, maxMomentum ] totalSteps

    /// PyTorch <c>CosineAnnealingWarmRestarts</c> (SGDR) stepped once per update: within a cycle of length T_i,
    /// <c>etaMin + (lr - etaMin) (1 + cos(pi t / T_i)) / 2</c> with t the step within the cycle; the first cycle
    /// has length t0 and each next one tMult times the previous.
    let cosineWarmRestarts (lr: float) (t0: int64) (tMult: int) (etaMin: float) : Schedule =
        if t0 <= 0L then
            invalidArg "t0" (sprintf "Schedules.cosineWarmRestarts: t0 must be positive, got %d." t0)

        if tMult < 1 then
            invalidArg "tMult" (sprintf "Schedules.cosineWarmRestarts: tMult must be at least 1, got %d." tMult)

        fun step ->
            let step = max 0L step

            // Integer arithmetic, so restarts fall exactly on their steps; the loop runs log_tMult(step) times.
            let rec cycle (t: int64) (ti: int64) =
                if t < ti then t, ti
                elif tMult = 1 then t % ti, ti
                else cycle (t - ti) (ti * int64 tMult)

            let t, ti = cycle step t0
            etaMin + (lr - etaMin) * (1.0 + Math.Cos(Math.PI * float t / float ti)) / 2.0

    /// Optax <c>piecewise_constant_schedule</c>: init multiplied by every scale whose boundary the step has
    /// reached. Optax's code applies a scale when <c>step &gt;= boundary</c> (its docstring says &gt;; the code
    /// wins here), so <c>piecewise 1.0 [100L, 0.1]</c> gives 1.0 at step 99 and 0.1 at step 100.
    /// Boundaries are sorted; scales must be non-negative.
    let piecewise (init: float) (boundariesAndScales: (int64 * float) list) : Schedule =
        if boundariesAndScales |> List.exists (fun (_, s) -> s < 0.0) then
            invalidArg "boundariesAndScales" "Schedules.piecewise: scales must be non-negative."

        let sorted = List.sortBy fst boundariesAndScales

        fun step -> sorted |> List.fold (fun v (b, s) -> if step >= b then v * s else v) init
