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

/// A callback is a pure state machine in Keras's places: at each epoch end it may change the train state
/// (ReduceLROnPlateau lowers LrScale), ask to stop, and it returns the callback to use for the next epoch,
/// which carries its own memory (best value so far, epochs waited). No mutable state is shared.
type Callback =
    {
        Name: string
        OnEpochEnd: EpochEnd -> CallbackResult
        OnTrainEnd: TrainState -> TrainState
    }

/// The outcome of a callback at an epoch end.
and CallbackResult =
    {
        State: TrainState
        Stop: bool
        Next: Callback
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
        let rec cb =
            {
                Name = name
                OnEpochEnd =
                    fun e ->
                        {
                            State = e.State
                            Stop = onEpochEnd e
                            Next = cb
                        }
                OnTrainEnd = id
            }

        cb

    /// Stops when the monitored value has not improved by more than minDelta for patience epochs; with
    /// restoreBest the final parameters and state are those of the best epoch.
    let earlyStopping
        (monitor: string)
        (patience: int)
        (minDelta: float)
        (mode: MonitorMode)
        (restoreBest: bool)
        : Callback =
        let maximize = isMax mode monitor

        let rec make (best: float option) (bestState: TrainState option) (wait: int) =
            {
                Name = "EarlyStopping"
                OnEpochEnd =
                    fun e ->
                        let v = read "EarlyStopping" monitor e

                        if improved maximize minDelta best v then
                            {
                                State = e.State
                                Stop = false
                                Next = make (Some v) (Some e.State) 0
                            }
                        else
                            let wait = wait + 1

                            {
                                State = e.State
                                Stop = wait >= patience
                                Next = make best bestState wait
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
                OnEpochEnd =
                    fun e ->
                        let v = read "ReduceLROnPlateau" monitor e

                        if improved maximize 0.0 best v then
                            {
                                State = e.State
                                Stop = false
                                Next = make (Some v) 0
                            }
                        elif wait + 1 >= patience then
                            let scale = max minScale (e.State.LrScale * factor)

                            {
                                State = { e.State with LrScale = scale }
                                Stop = false
                                Next = make best 0
                            }
                        else
                            {
                                State = e.State
                                Stop = false
                                Next = make best (wait + 1)
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
                            }
                        | Some m ->
                            let v = read "ModelCheckpoint" m e

                            if improved (isMax mode m) 0.0 best v then
                                Checkpoint.save file e.State meta

                                {
                                    State = e.State
                                    Stop = false
                                    Next = make (Some v)
                                }
                            else
                                {
                                    State = e.State
                                    Stop = false
                                    Next = make best
                                }
                OnTrainEnd = id
            }

        make None

    // Keras's order in an epoch line: the loss, the metrics, then the same for validation.
    let private columnOrder (key: string) =
        let isVal = key.StartsWith("val_", StringComparison.Ordinal)
        let baseName = if isVal then key.Substring 4 else key
        (isVal, baseName <> "loss", baseName)

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
                OnEpochEnd =
                    fun e ->
                        let known = columns.IsSome

                        let columns =
                            columns
                            |> Option.defaultWith (fun () -> e.Logs |> Map.keys |> Seq.sortBy columnOrder |> List.ofSeq)

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
                        }
                OnTrainEnd = id
            }

        make None

    /// Writes TensorBoard event files into logDir (`tensorboard --logdir DIR` reads them): at each epoch end,
    /// every logged value as a scalar (tags as logged: "loss", "accuracy", "val_loss", ...) at step = epoch,
    /// and with histograms a histogram of every parameter under its path ("0.weight").
    let tensorBoard (logDir: string) (histograms: bool) : Callback =
        if String.IsNullOrWhiteSpace logDir then
            invalidArg "logDir" "TensorBoard: the log folder must not be empty."

        let rec make (file: string option) =
            {
                Name = "TensorBoard"
                OnEpochEnd =
                    fun e ->
                        let file =
                            file
                            |> Option.defaultWith (fun () ->
                                Path.Combine(logDir, EventFile.fileName DateTimeOffset.UtcNow))

                        let scalars =
                            e.Logs
                            |> Map.toList
                            |> List.sortBy (fst >> columnOrder)
                            |> List.map (fun (k, v) -> k, SummaryValue.Scalar v)

                        let weights =
                            if histograms then
                                PTree.leaves e.State.Params
                                |> List.map (fun (path, w) ->
                                    path, SummaryValue.Histogram(EventFile.histogram 30 (Tensor.toFloatArray w)))
                            else
                                []

                        let wallTime = float (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()) / 1000.0

                        EventFile.append
                            file
                            [
                                EventFile.encodeEvent wallTime (int64 e.Epoch) (Choice2Of2(scalars @ weights))
                            ]

                        {
                            State = e.State
                            Stop = false
                            Next = make (Some file)
                        }
                OnTrainEnd = id
            }

        make None
