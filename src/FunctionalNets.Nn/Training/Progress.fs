namespace FunctionalNets.Nn

open FunctionalNets
open System
open System.Diagnostics
open Spectre.Console

/// Console progress for fit: a live epoch bar with loss, accuracy and samples/s on a terminal; one plain
/// line per epoch when output is redirected (logs, CI) or when asked for quiet output.
type internal Progress(epochs: int, batchesPerEpoch: int, live: bool) =
    let mutable ctxTask: ProgressTask option = None
    let watch = Stopwatch()

    static member Create(epochs: int, batchesPerEpoch: int, verbose: bool) =
        let interactive =
            verbose
            && not Console.IsOutputRedirected
            && AnsiConsole.Profile.Capabilities.Interactive

        Progress(epochs, batchesPerEpoch, interactive)

    member _.Live = live

    /// Runs the epoch with a live bar when interactive; body gets a report function (batches done, text).
    member _.RunEpoch(epoch: int, body: (int -> string -> unit) -> 'T) : 'T =
        watch.Restart()

        if live then
            let mutable result = Unchecked.defaultof<'T>

            AnsiConsole
                .Progress()
                .AutoClear(false)
                .Columns(
                    [|
                        TaskDescriptionColumn() :> ProgressColumn
                        ProgressBarColumn()
                        PercentageColumn()
                        RemainingTimeColumn()
                    |]
                )
                .Start(fun ctx ->
                    let task =
                        ctx.AddTask(sprintf "epoch %d/%d" epoch epochs, true, float batchesPerEpoch)

                    ctxTask <- Some task

                    result <-
                        body (fun done' text ->
                            task.Value <- float done'
                            task.Description <- sprintf "epoch %d/%d %s" epoch epochs (Markup.Escape text)))

            result
        else
            body (fun _ _ -> ())

    member _.Elapsed = watch.Elapsed.TotalSeconds

    /// The epoch's closing line (printed in both modes unless quiet).
    member _.EpochLine(verbose: bool, epoch: int, logs: Logs, samplesPerSecond: float) =
        if verbose then
            let parts = EpochLog.line logs

            Console.WriteLine(
                sprintf
                    "epoch %d/%d %s %.0f samples/s %.1fs"
                    epoch
                    epochs
                    parts
                    samplesPerSecond
                    watch.Elapsed.TotalSeconds
            )
