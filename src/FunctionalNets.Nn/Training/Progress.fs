namespace FunctionalNets.Nn

open FunctionalNets
open System
open System.Diagnostics

/// How fit shows its progress while it runs. The library prints one plain line per epoch; a host with a
/// terminal supplies a live display (the C# host draws a bar with Spectre.Console).
type IFitProgress =
    /// Whether the display wants updates after batches (each costs a read of the loss and metrics).
    abstract Live: bool

    /// Runs one epoch's body; while Live, the body calls the report function it is given with the number of
    /// batches done and a short text of the running loss and metrics.
    abstract RunEpoch<'T> : epoch: int * epochs: int * batches: int * body: ((int -> string -> unit) -> 'T) -> 'T

    /// Shows the line that closes an epoch.
    abstract EpochEnded: line: string -> unit

/// The progress fit shows when the caller supplies none: one line per epoch on the console.
type ConsoleLines() =
    interface IFitProgress with
        member _.Live = false
        member _.RunEpoch(_, _, _, body) = body (fun _ _ -> ())
        member _.EpochEnded line = Console.WriteLine line

/// Fit's progress: times the epoch and passes it to the display, if fit is verbose.
type internal Progress(epochs: int, batchesPerEpoch: int, display: IFitProgress option) =
    let watch = Stopwatch()

    static member Create(epochs: int, batchesPerEpoch: int, verbose: bool, display: IFitProgress option) =
        let display =
            if verbose then
                Some(defaultArg display (ConsoleLines() :> IFitProgress))
            else
                None

        Progress(epochs, batchesPerEpoch, display)

    member _.Live = display |> Option.exists _.Live

    /// Runs the epoch through the display; body gets a report function (batches done, text).
    member _.RunEpoch(epoch: int, body: (int -> string -> unit) -> 'T) : 'T =
        watch.Restart()

        match display with
        | Some d -> d.RunEpoch(epoch, epochs, batchesPerEpoch, body)
        | None -> body (fun _ _ -> ())

    member _.Elapsed = watch.Elapsed.TotalSeconds

    /// The epoch's closing line (printed in both modes unless quiet).
    member _.EpochLine(epoch: int, logs: Logs, samplesPerSecond: float) =
        match display with
        | None -> ()
        | Some d ->
            let parts = EpochLog.line logs

            d.EpochEnded(
                sprintf
                    "epoch %d/%d %s %.0f samples/s %.1fs"
                    epoch
                    epochs
                    parts
                    samplesPerSecond
                    watch.Elapsed.TotalSeconds
            )
