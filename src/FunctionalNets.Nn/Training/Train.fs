namespace FunctionalNets.Nn

open FunctionalNets
open System
open System.Diagnostics

/// Per-epoch logs of a fit: metric names (with val_ prefixes for validation) to their values by epoch.
type History =
    {
        Epochs: Logs list
        /// What the callbacks did, in order ("Epoch 7: early stopping: ..."); fit also prints them when verbose.
        Messages: string list
    }

    /// The values of one metric, epoch by epoch.
    member h.Item(name: string) =
        h.Epochs |> List.choose (Map.tryFind name)

    /// The metric names logged, in Keras's order (loss, metrics, val_ ones, lr).
    member h.Keys =
        h.Epochs
        |> List.collect (Map.toList >> List.map fst)
        |> List.distinct
        |> List.sortBy EpochLog.columnOrder

    /// The history as a map from metric name to per-epoch values.
    member h.ToMap() =
        h.Keys |> List.map (fun k -> k, h[k]) |> Map.ofList

/// How fit runs.
type FitOptions =
    {
        Epochs: int
        BatchSize: int
        Shuffle: bool
        DropLast: bool
        Validation: IDataset option
        Metrics: Metric list
        Callbacks: Callback list
        /// Show progress: a line per epoch, or what Progress shows.
        Verbose: bool
        /// How progress is shown when Verbose (None: one console line per epoch).
        Progress: IFitProgress option
        /// Epochs already done (resuming from a checkpoint saved after that epoch).
        InitialEpoch: int
    }

/// Defaults for FitOptions.
[<RequireQualifiedAccess>]
module FitOptions =
    /// 1 epoch, batch 32, shuffled, last partial batch kept, quiet, no validation, metrics or callbacks.
    let defaults =
        {
            Epochs = 1
            BatchSize = 32
            Shuffle = true
            DropLast = false
            Validation = None
            Metrics = []
            Callbacks = []
            Verbose = false
            Progress = None
            InitialEpoch = 0
        }

/// Training as a fold: trainStep maps (state, batch) to the next state; fit folds it over epochs of batches.
[<RequireQualifiedAccess>]
module Train =
    let private shuffleRoot (ts: TrainState) = fst (Key.split ts.Key)
    let private dropoutRoot (ts: TrainState) = snd (Key.split ts.Key)

    /// The context the model runs in at training step `step` of a run in state ts: Train mode with that step's
    /// dropout key (what trainStep and fit use, so a hand-written loop can draw the same randomness).
    let stepContext (ts: TrainState) (step: int64) : Ctx =
        {
            Mode = Mode.Train
            Key = Some(Key.foldIn (int step) (dropoutRoot ts))
        }

    /// The key fit shuffles epoch `epoch` (counted from 1) of a run in state ts with.
    let epochKey (ts: TrainState) (epoch: int) : Key = Key.foldIn epoch (shuffleRoot ts)

    /// A fresh train state: parameters and state from the model's Init, the optimizer's state, step 0.
    let init (model: Layer) (inputShape: int list) (tx: GradTx) (key: Key) : TrainState =
        let initKey, runKey = Key.split key
        let _, p, s = model.Init initKey (Shape.ofList inputShape)

        {
            Params = p
            State = s
            Opt = tx.Init p
            Step = 0L
            Key = runKey
            LrScale = 1.0
        }

    /// The error for a loss that became NaN or Inf somewhere in steps first..last (read at a log point).
    let private nonFiniteLoss (value: float) (first: int64) (last: int64) =
        let where =
            if first >= last then
                sprintf "at step %d" last
            else
                sprintf "between steps %d and %d" first last

        ArithmeticException(
            sprintf
                "The loss became %g %s. Lower the learning rate, check the inputs and targets for NaN or Inf, or clip the gradients (Optim.clipByGlobalNorm)."
                value
                where
        )

    /// The train state after one update of tx with the given gradients: the parameters moved by the updates (scaled
    /// by the state's learning-rate scale), the layer state replaced by newState, the step advanced. Custom
    /// objectives (Objective.step) finish their steps with it, so every step updates a state the same way.
    let applyGradients (tx: GradTx) (grads: Params) (newState: State) (ts: TrainState) : TrainState =
        // An optimizer with a one-pass form (FusedSteps) updates and applies in one pass, bit for bit the same; a
        // learning-rate scale other than 1 adds a rounding the fused pass does not make, so it takes two passes.
        let fused =
            if ts.LrScale = 1.0 then
                FusedSteps.tryApply tx ts.Step grads ts.Opt ts.Params
            else
                None

        let parameters, opt =
            match fused with
            | Some r -> r
            | None ->
                let updates, opt = tx.Update ts.Step grads ts.Opt ts.Params

                let updates =
                    if ts.LrScale = 1.0 then
                        updates
                    else
                        PTree.map (fun (u: Tensor) -> u * ts.LrScale) updates

                Optim.applyUpdates ts.Params updates, opt

        { ts with
            Params = parameters
            State = newState
            Opt = opt
            Step = ts.Step + 1L
        }

    /// One optimisation step; returns the new state, the loss (a scalar on the tensors' device, not read) and
    /// the predictions (without derivatives).
    let private stepCore (model: Layer) (loss: Loss) (tx: GradTx) (ts: TrainState) (batch: Batch) =
        let ctx = stepContext ts ts.Step

        // The new layer state and the predictions come back as the auxiliary output, without derivatives.
        let objective (p: Params) =
            let y, s = model.Apply p ts.State ctx batch.Input
            loss y batch.Target, PTree.node [ "state", s; "predictions", Leaf y ]

        let (value, aux), grads = Diff.valueAndGradTreeAux objective ts.Params

        let newState, predictions =
            match aux with
            | Node [ _, s; _, Leaf y ] -> s, y
            | _ -> invalidOp "unreachable"

        applyGradients tx grads newState ts, value, predictions

    /// The train state with its parameters, layer state and optimizer state moved to a device (Tensor.toDevice
    /// on every leaf); step, key and learning-rate scale are unchanged, so training continues bit-for-bit where
    /// the devices agree.
    let toDevice (device: Device) (ts: TrainState) : TrainState =
        let move = PTree.map (fun (t: Tensor) -> Tensor.toDevice (device, t))

        { ts with
            Params = move ts.Params
            State = move ts.State
            Opt = move ts.Opt
        }

    let private keepState (ts: TrainState) : obj = box [ ts.Params; ts.State; ts.Opt ]

    /// How many steps fit lets pass between reads of the loss and metrics when it refreshes a live progress bar
    /// or has predictions waiting for the metrics.
    let private logInterval = 10

    /// One training step on a batch, inside its own scope: every intermediate is released, only the new
    /// state is kept. Logs hold "loss" (read to the host, so one device round trip per call; Train.fit reads
    /// only at its log points).
    let trainStep (model: Layer) (loss: Loss) (tx: GradTx) (ts: TrainState) (batch: Batch) : TrainState * Logs =
        let next, l =
            Scope.runKeeping (fun (next, _) -> keepState next) (fun () ->
                let next, l, _ = stepCore model loss tx ts batch
                next, Tensor.toScalar l)

        if Double.IsNaN l || Double.IsInfinity l then
            raise (nonFiniteLoss l ts.Step ts.Step)

        next, Map.ofList [ "loss", l ]

    let private evalBatches
        (model: Layer)
        (ts: TrainState)
        (data: IDataset)
        (batchSize: int)
        (onBatch: Tensor -> Batch -> unit)
        =
        let loader = DataLoader.create data batchSize false false
        let ctx = { Mode = Mode.Eval; Key = None }

        for batch in DataLoader.batches loader ts.Key do
            Scope.run (fun () ->
                let y, _ = model.Apply ts.Params ts.State ctx batch.Input
                onBatch y batch)

    /// Loss and metrics over a dataset in Eval mode.
    let evaluate
        (model: Layer)
        (loss: Loss)
        (metrics: Metric list)
        (ts: TrainState)
        (data: IDataset)
        (batchSize: int)
        : Logs =
        let mutable lossSum = 0.0
        let mutable count = 0
        let sums = Array.create metrics.Length None

        evalBatches model ts data batchSize (fun y batch ->
            let n = y.Shape[0]
            lossSum <- lossSum + Tensor.toScalar (loss y batch.Target) * float n
            count <- count + n

            metrics
            |> List.iteri (fun i m -> sums[i] <- Some(Metrics.accumulate m sums[i] y batch.Target)))

        let metricLogs =
            metrics
            |> List.mapi (fun i m -> m.Name, m.Compute(defaultArg sums[i] [| 0.0; 0.0 |]))

        Map.ofList (("loss", (if count = 0 then nan else lossSum / float count)) :: metricLogs)

    /// The model's outputs for every example of a dataset (Eval mode), concatenated in order.
    let predict (model: Layer) (ts: TrainState) (data: IDataset) (batchSize: int) : Tensor =
        let parts = Collections.Generic.List<Tensor>()
        let loader = DataLoader.create data batchSize false false
        let ctx = { Mode = Mode.Eval; Key = None }

        for batch in DataLoader.batches loader ts.Key do
            parts.Add(Scope.run (fun () -> fst (model.Apply ts.Params ts.State ctx batch.Input)))

        Tensor.cat (parts, 0)

    /// Trains for options.Epochs epochs (counting from InitialEpoch), with validation, metrics and
    /// callbacks; returns the final state and the history. Shuffling and dropout keys derive from the state's
    /// key, the epoch and the step, so a run resumed from a checkpoint continues bit for bit.
    let fit
        (model: Layer)
        (loss: Loss)
        (tx: GradTx)
        (options: FitOptions)
        (train: IDataset)
        (initial: TrainState)
        : TrainState * History =
        if options.BatchSize <= 0 then
            invalidArg "options" (sprintf "fit: BatchSize must be positive, got %d." options.BatchSize)

        let loader =
            DataLoader.create train options.BatchSize options.Shuffle options.DropLast

        let batches = DataLoader.count loader
        let learningRate = LearningRates.tryFind tx

        FitChecks.monitors
            options.Callbacks
            (FitChecks.loggedNames
                (options.Metrics |> List.map (fun m -> m.Name))
                options.Validation.IsSome
                learningRate.IsSome)

        options.Validation |> Option.iter (FitChecks.validation train)
        FitChecks.inputDType initial.Params train

        let progress =
            Progress.Create(options.Epochs, batches, options.Verbose, options.Progress)

        let mutable ts = initial
        // The caller's state and any state a callback may have kept must stay readable; every other
        // state a step replaces is donated back to the allocator.
        let mutable donatable = false
        let mutable callbacks = options.Callbacks
        let mutable history = []
        let mutable messages = []
        let mutable stop = false
        let mutable epoch = options.InitialEpoch

        while not stop && epoch < options.Epochs do
            epoch <- epoch + 1
            let shuffleKey = epochKey ts epoch
            let sums = Array.create options.Metrics.Length None
            // The loss (sum of loss * batch size, Float64) and the counts of metrics that have an OnDevice form
            // are summed on the tensors' device and read at log points only: at the end of the epoch and at each
            // progress refresh. For the other metrics the predictions wait (on the device) until the next read,
            // at most logInterval steps.
            let metrics = Array.ofList options.Metrics
            let mutable lossAcc = Unchecked.defaultof<Tensor>
            let deviceAcc: Tensor[] = Array.zeroCreate metrics.Length
            let hostMetrics = metrics |> Array.exists (fun m -> m.OnDevice.IsNone)
            let mutable lossSum = 0.0
            let mutable firstUnread = ts.Step
            let pending = Collections.Generic.List<Tensor * Tensor>()
            let mutable seen = 0
            let watch = Stopwatch.StartNew()

            let read () =
                if not (isNull (box lossAcc)) then
                    let total = Tensor.toScalar lossAcc

                    if Double.IsNaN total || Double.IsInfinity total then
                        raise (nonFiniteLoss total firstUnread (ts.Step - 1L))

                    lossSum <- lossSum + total
                    lossAcc <- Unchecked.defaultof<Tensor>

                for i in 0 .. metrics.Length - 1 do
                    if not (isNull (box deviceAcc[i])) then
                        let counts = Metrics.checkDeviceCounts metrics[i] (Tensor.toFloatArray deviceAcc[i])

                        sums[i] <-
                            Some(
                                match sums[i] with
                                | Some s -> Array.map2 (+) s counts
                                | None -> counts
                            )

                        deviceAcc[i] <- Unchecked.defaultof<Tensor>

                for predictions, targets in pending do
                    metrics
                    |> Array.iteri (fun i m ->
                        if m.OnDevice.IsNone then
                            sums[i] <- Some(Metrics.accumulate m sums[i] predictions targets))

                pending.Clear()
                firstUnread <- ts.Step

            progress.RunEpoch(
                epoch,
                fun report ->
                    let mutable done' = 0

                    for batch in DataLoader.batches loader shuffleKey do
                        let previous = ts
                        let n = batch.Input.Shape[0]
                        let acc0 = lossAcc
                        let counts0 = Array.copy deviceAcc

                        let next, acc, counts, predictions =
                            Scope.runKeeping
                                (fun (next, acc, counts: Tensor[], predictions) ->
                                    box [ keepState next; box acc; box (List.ofArray counts); box predictions ])
                                (fun () ->
                                    let next, l, predictions = stepCore model loss tx ts batch
                                    let weighted = Tensor.cast (l, DType.Float64) * float n

                                    let add (a0: Tensor) (x: Tensor) = if isNull (box a0) then x else a0 + x

                                    let counts =
                                        metrics
                                        |> Array.mapi (fun i m ->
                                            match m.OnDevice with
                                            | Some f -> add counts0[i] (f predictions batch.Target)
                                            | None -> Unchecked.defaultof<Tensor>)

                                    next,
                                    add acc0 weighted,
                                    counts,
                                    (if hostMetrics then
                                         predictions
                                     else
                                         Unchecked.defaultof<Tensor>))

                        if donatable then
                            Scope.donate (keepState previous) (keepState next)

                        ts <- next
                        donatable <- true
                        lossAcc <- acc
                        Array.blit counts 0 deviceAcc 0 counts.Length

                        if hostMetrics then
                            pending.Add((predictions, batch.Target))

                        seen <- seen + n
                        done' <- done' + 1

                        let due =
                            callbacks
                            |> List.exists (fun cb -> cb.StepFrequency > 0 && ts.Step % int64 cb.StepFrequency = 0L)

                        if due then
                            read ()

                            let stepLogs =
                                Map.ofList (
                                    ("loss", lossSum / float seen)
                                    :: (learningRate
                                        |> Option.map (fun lr -> EpochLog.LearningRate, lr (ts.Step - 1L) * ts.LrScale)
                                        |> Option.toList)
                                )

                            donatable <- false

                            callbacks <-
                                callbacks
                                |> List.map (fun cb ->
                                    if cb.StepFrequency > 0 && ts.Step % int64 cb.StepFrequency = 0L then
                                        cb.OnStepEnd
                                            {
                                                Epoch = epoch
                                                Step = ts.Step
                                                Logs = stepLogs
                                                State = ts
                                            }
                                    else
                                        cb)

                        let refresh = progress.Live && (done' % logInterval = 0 || done' = batches)

                        if refresh || pending.Count >= logInterval then
                            read ()

                        if refresh then
                            report
                                done'
                                (sprintf
                                    "loss=%.4f %.0f samples/s"
                                    (lossSum / float seen)
                                    (float seen / watch.Elapsed.TotalSeconds))
            )

            read ()
            let trainSeconds = watch.Elapsed.TotalSeconds

            let trainLogs =
                ("loss", lossSum / float (max 1 seen))
                :: (options.Metrics
                    |> List.mapi (fun i m -> m.Name, m.Compute(defaultArg sums[i] [| 0.0; 0.0 |])))

            let valLogs =
                match options.Validation with
                | Some v ->
                    evaluate model loss options.Metrics ts v options.BatchSize
                    |> Map.toList
                    |> List.map (fun (k, x) -> "val_" + k, x)
                | None -> []

            let lrLogs =
                match learningRate with
                | Some lr -> [ EpochLog.LearningRate, lr (max 0L (ts.Step - 1L)) * ts.LrScale ]
                | None -> []

            let logs = Map.ofList (trainLogs @ valLogs @ lrLogs)
            progress.EpochLine(epoch, logs, float seen / trainSeconds)

            if not callbacks.IsEmpty then
                donatable <- false

            let results =
                callbacks
                |> List.map (fun cb ->
                    let r =
                        cb.OnEpochEnd
                            {
                                Epoch = epoch
                                Logs = logs
                                State = ts
                            }

                    ts <- r.State
                    r)

            callbacks <- results |> List.map (fun r -> r.Next)

            for r in results do
                match r.Message with
                | Some m ->
                    if options.Verbose then
                        Console.WriteLine m

                    messages <- m :: messages
                | None -> ()

            stop <- results |> List.exists (fun r -> r.Stop)
            history <- history @ [ logs ]

        for cb in callbacks do
            ts <- cb.OnTrainEnd ts

        ts,
        {
            Epochs = history
            Messages = List.rev messages
        }
