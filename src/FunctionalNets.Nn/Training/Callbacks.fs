namespace FunctionalNets.Nn

open FunctionalNets
open System
open System.Globalization
open System.IO

/// What a callback sees at the end of an epoch (epochs count from 1).
type EpochEnd =
    {
        Epoch: int
        Logs: Logs
        State: TrainState
    }

/// What a callback sees every StepFrequency optimizer steps: the step count after the update, the logs so
/// far in the epoch ("loss" is the epoch's running mean, as Keras logs it per batch; "lr" where known) and
/// the state.
type StepEnd =
    {
        Epoch: int
        Step: int64
        Logs: Logs
        State: TrainState
    }

/// A callback is a pure state machine in Keras's places: at each epoch end it may change the train state
/// (ReduceLROnPlateau lowers LrScale), ask to stop, say what it did, and it returns the callback to use for
/// the next epoch, which carries its own memory (best value so far, epochs waited). No mutable state is
/// shared.
type Callback =
    {
        Name: string
        /// The log names the callback reads ("val_loss"): fit checks before the first epoch that it will log them.
        Monitors: string list
        /// Run OnStepEnd every this many optimizer steps; 0 never.
        StepFrequency: int
        OnStepEnd: StepEnd -> Callback
        OnEpochEnd: EpochEnd -> CallbackResult
        OnTrainEnd: TrainState -> TrainState
    }

/// The outcome of a callback at an epoch end.
and CallbackResult =
    {
        State: TrainState
        Stop: bool
        Next: Callback
        /// What the callback did, in a sentence fit prints and keeps in the history ("Epoch 7: early stopping ...").
        Message: string option
    }

/// Whether a monitored value should go down (a loss) or up (an accuracy).
[<RequireQualifiedAccess>]
type MonitorMode =
    | Min
    | Max
    /// Max for names containing accuracy, precision, recall or f1; Min otherwise.
    | Auto

/// The built-in callbacks.
[<RequireQualifiedAccess>]
module Callbacks =
    let private isMax (mode: MonitorMode) (monitor: string) =
        match mode with
        | MonitorMode.Min -> false
        | MonitorMode.Max -> true
        | MonitorMode.Auto ->
            let m = monitor.ToLowerInvariant()

            m.Contains "acc"
            || m.Contains "precision"
            || m.Contains "recall"
            || m.Contains "f1"

    let private read (name: string) (monitor: string) (e: EpochEnd) =
        match Map.tryFind monitor e.Logs with
        | Some v -> v
        | None ->
            invalidOp (
                sprintf
                    "%s monitors '%s', but epoch %d logged only: %s. Pass a validation set for val_ metrics or monitor one of these."
                    name
                    monitor
                    e.Epoch
                    (e.Logs |> Map.toList |> List.map fst |> String.concat ", ")
            )

    let private improved (maximize: bool) (minDelta: float) (best: float option) (v: float) =
        match best with
        | None -> not (Double.IsNaN v)
        | Some b -> if maximize then v > b + minDelta else v < b - minDelta

    /// A callback from a function that sees each epoch's end and returns true to stop training.
    let create (name: string) (onEpochEnd: EpochEnd -> bool) : Callback =
        let rec make () =
            {
                Name = name
                OnEpochEnd =
                    fun e ->
                        {
                            State = e.State
                            Stop = onEpochEnd e
                            Next = make ()
                            Message = None
                        }
                OnTrainEnd = id
                Monitors = []
                StepFrequency = 0
                OnStepEnd = fun _ -> make ()
            }

        make ()

    /// Stops when the monitored value has not improved by more than minDelta for patience epochs; with
    /// restoreBest the final parameters and state are those of the best epoch. When it stops, its message
    /// says at which epoch, why, and which weights the net keeps.
    let earlyStopping
        (monitor: string)
        (patience: int)
        (minDelta: float)
        (mode: MonitorMode)
        (restoreBest: bool)
        : Callback =
        let maximize = isMax mode monitor

        let rec make (best: (float * int) option) (bestState: TrainState option) (wait: int) =
            {
                Name = "EarlyStopping"
                Monitors = [ monitor ]
                StepFrequency = 0
                OnStepEnd = fun _ -> make best bestState wait
                OnEpochEnd =
                    fun e ->
                        let v = read "EarlyStopping" monitor e

                        if improved maximize minDelta (Option.map fst best) v then
                            {
                                State = e.State
                                Stop = false
                                Next = make (Some(v, e.Epoch)) (Some e.State) 0
                                Message = None
                            }
                        else
                            let wait = wait + 1
                            let stop = wait >= patience

                            let message =
                                if not stop then
                                    None
                                else
                                    let kept =
                                        match best with
                                        | Some(b, at) when restoreBest ->
                                            sprintf
                                                "best %s = %.6g at epoch %d; restoring the weights of epoch %d"
                                                monitor
                                                b
                                                at
                                                at
                                        | Some(b, at) ->
                                            sprintf
                                                "best %s = %.6g at epoch %d; keeping the weights of epoch %d (restoreBestWeights is off)"
                                                monitor
                                                b
                                                at
                                                e.Epoch
                                        | None -> sprintf "%s was never a number; keeping the last weights" monitor

                                    Some(
                                        sprintf
                                            "Epoch %d: early stopping: %s has not %s by more than %g for %d epoch%s (%s)."
                                            e.Epoch
                                            monitor
                                            (if maximize then "increased" else "decreased")
                                            minDelta
                                            patience
                                            (if patience = 1 then "" else "s")
                                            kept
                                    )

                            {
                                State = e.State
                                Stop = stop
                                Next = make best bestState wait
                                Message = message
                            }
                OnTrainEnd =
                    fun ts ->
                        match bestState with
                        | Some b when restoreBest ->
                            { ts with
                                Params = b.Params
                                State = b.State
                            }
                        | _ -> ts
            }

        make None None 0

    /// Multiplies the learning-rate scale by factor when the monitored value has not improved for
    /// patience epochs, never below minScale; then counts patience epochs afresh (there is no cooldown).
    let reduceLROnPlateau
        (monitor: string)
        (factor: float)
        (patience: int)
        (minScale: float)
        (mode: MonitorMode)
        : Callback =
        if factor <= 0.0 || factor >= 1.0 then
            invalidArg "factor" (sprintf "ReduceLROnPlateau: factor must be in (0, 1), got %g." factor)

        let maximize = isMax mode monitor

        let rec make (best: float option) (wait: int) =
            {
                Name = "ReduceLROnPlateau"
                Monitors = [ monitor ]
                StepFrequency = 0
                OnStepEnd = fun _ -> make best wait
                OnEpochEnd =
                    fun e ->
                        let v = read "ReduceLROnPlateau" monitor e

                        if improved maximize 0.0 best v then
                            {
                                State = e.State
                                Stop = false
                                Next = make (Some v) 0
                                Message = None
                            }
                        elif wait + 1 >= patience then
                            let old = e.State.LrScale
                            let scale = max minScale (old * factor)

                            // The rate itself where fit logged it, else the scale of the optimizer's rate.
                            let rate =
                                match e.Logs.TryFind EpochLog.LearningRate with
                                | Some lr when old > 0.0 ->
                                    sprintf "the learning rate from %.6g to %.6g" lr (lr * scale / old)
                                | _ -> sprintf "the learning-rate scale from %.6g to %.6g" old scale

                            {
                                State = { e.State with LrScale = scale }
                                Stop = false
                                Next = make best 0
                                Message =
                                    Some(
                                        if scale = old then
                                            sprintf
                                                "Epoch %d: ReduceLROnPlateau: %s has not improved for %d epoch%s, but the learning-rate scale is already at its minimum %.6g."
                                                e.Epoch
                                                monitor
                                                patience
                                                (if patience = 1 then "" else "s")
                                                minScale
                                        else
                                            sprintf
                                                "Epoch %d: ReduceLROnPlateau: %s has not improved for %d epoch%s; reducing %s."
                                                e.Epoch
                                                monitor
                                                patience
                                                (if patience = 1 then "" else "s")
                                                rate
                                    )
                            }
                        else
                            {
                                State = e.State
                                Stop = false
                                Next = make best (wait + 1)
                                Message = None
                            }
                OnTrainEnd = id
            }

        make None 0

    /// Saves a checkpoint at each epoch end (or only when the monitored value improves). "{epoch}" in the
    /// path is replaced by the epoch number. The metadata records the epoch, so a run resumes with
    /// InitialEpoch = that number.
    let modelCheckpoint (path: string) (monitor: string option) (mode: MonitorMode) : Callback =
        let rec make (best: float option) =
            {
                Name = "ModelCheckpoint"
                Monitors = Option.toList monitor
                StepFrequency = 0
                OnStepEnd = fun _ -> make best
                OnEpochEnd =
                    fun e ->
                        let file = path.Replace("{epoch}", string e.Epoch)
                        let meta = Map.ofList [ "epoch", string e.Epoch ]

                        match monitor with
                        | None ->
                            Checkpoint.save file e.State meta

                            {
                                State = e.State
                                Stop = false
                                Next = make best
                                Message = None
                            }
                        | Some m ->
                            let v = read "ModelCheckpoint" m e

                            if improved (isMax mode m) 0.0 best v then
                                Checkpoint.save file e.State meta

                                {
                                    State = e.State
                                    Stop = false
                                    Next = make (Some v)
                                    Message = None
                                }
                            else
                                {
                                    State = e.State
                                    Stop = false
                                    Next = make best
                                    Message = None
                                }
                OnTrainEnd = id
            }

        make None

    let private ensureFolder (path: string) =
        match Path.GetDirectoryName(Path.GetFullPath path) with
        | null -> ()
        | dir -> Directory.CreateDirectory dir |> ignore

    /// Writes one CSV row per epoch to path (Keras's CSVLogger): an "epoch" column, then the loss, the metrics
    /// and their val_ counterparts, as the first epoch logged them. With append, rows follow an existing
    /// file's (a resumed run); otherwise the file is started afresh, with a header, at the first epoch.
    let csvLogger (path: string) (append: bool) : Callback =
        if String.IsNullOrWhiteSpace path then
            invalidArg "path" "CsvLogger: the path must not be empty."

        let cell (v: float) =
            v.ToString("R", CultureInfo.InvariantCulture)

        let rec make (columns: string list option) =
            {
                Name = "CsvLogger"
                Monitors = []
                StepFrequency = 0
                OnStepEnd = fun _ -> make columns
                OnEpochEnd =
                    fun e ->
                        let known = columns.IsSome

                        let columns =
                            columns
                            |> Option.defaultWith (fun () ->
                                e.Logs |> Map.keys |> Seq.sortBy EpochLog.columnOrder |> List.ofSeq)

                        let line (cells: string list) = String.concat "," cells + "\n"

                        let row =
                            line (
                                string e.Epoch
                                :: (columns
                                    |> List.map (fun c ->
                                        Map.tryFind c e.Logs |> Option.map cell |> Option.defaultValue ""))
                            )

                        if known || (append && File.Exists path && FileInfo(path).Length > 0L) then
                            File.AppendAllText(path, row)
                        else
                            ensureFolder path
                            File.WriteAllText(path, line ("epoch" :: columns) + row)

                        {
                            State = e.State
                            Stop = false
                            Next = make (Some columns)
                            Message = None
                        }
                OnTrainEnd = id
            }

        make None

    /// Writes TensorBoard event files into logDir (`tensorboard --logdir DIR` reads them): at each epoch end,
    /// every logged value as a scalar (tags as logged: "loss", "accuracy", "val_loss", ..., "lr") at step =
    /// epoch, and with histograms a histogram of every parameter under its path ("0.weight"); with updateFreq
    /// n > 0 also, every n optimizer steps, the epoch's running loss and the learning rate under
    /// "batch_loss" and "batch_lr" at step = the optimizer step (Keras's update_freq).
    let tensorBoardWith (logDir: string) (histograms: bool) (updateFreq: int) : Callback =
        if String.IsNullOrWhiteSpace logDir then
            invalidArg "logDir" "TensorBoard: the log folder must not be empty."

        if updateFreq < 0 then
            invalidArg
                "updateFreq"
                (sprintf
                    "TensorBoard: updateFreq must be >= 0 (0 writes per epoch only, n every n steps), got %d."
                    updateFreq)

        let wallTime () =
            float (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()) / 1000.0

        let fileOf (file: string option) =
            file
            |> Option.defaultWith (fun () -> Path.Combine(logDir, EventFile.fileName DateTimeOffset.UtcNow))

        let rec make (file: string option) =
            {
                Name = "TensorBoard"
                Monitors = []
                StepFrequency = updateFreq
                OnStepEnd =
                    fun s ->
                        let file = fileOf file

                        let scalars =
                            EpochLog.ordered s.Logs
                            |> List.map (fun (k, v) -> "batch_" + k, SummaryValue.Scalar v)

                        EventFile.append file [ EventFile.encodeEvent (wallTime ()) s.Step (Choice2Of2 scalars) ]
                        make (Some file)
                OnEpochEnd =
                    fun e ->
                        let file = fileOf file

                        let scalars =
                            EpochLog.ordered e.Logs |> List.map (fun (k, v) -> k, SummaryValue.Scalar v)

                        let weights =
                            if histograms then
                                PTree.leaves e.State.Params
                                |> List.map (fun (path, w) ->
                                    path, SummaryValue.Histogram(EventFile.histogram 30 (Tensor.toFloatArray w)))
                            else
                                []

                        EventFile.append
                            file
                            [
                                EventFile.encodeEvent (wallTime ()) (int64 e.Epoch) (Choice2Of2(scalars @ weights))
                            ]

                        {
                            State = e.State
                            Stop = false
                            Next = make (Some file)
                            Message = None
                        }
                OnTrainEnd = id
            }

        make None

    /// tensorBoardWith logDir histograms 0: scalars (and histograms) per epoch only.
    let tensorBoard (logDir: string) (histograms: bool) : Callback = tensorBoardWith logDir histograms 0
