namespace FunctionalNets.Plots

open System
open ScottPlot
open FunctionalNets.Nn

/// One panel of the training curves: a metric's training and validation values by epoch (1-based);
/// epochs whose value is missing or not finite are left out of the series.
type CurvePanel =
    {
        /// The metric's name as logged, without the "val_" prefix.
        Metric: string
        /// (epoch, value) of the training series.
        Train: (float * float) list
        /// (epoch, value) of the validation series ("val_" + Metric), empty when none was logged.
        Validation: (float * float) list
    }

/// Loss and metric curves per epoch from a training history.
module TrainingCurves =

    let private isFinite (x: float) =
        not (Double.IsNaN x || Double.IsInfinity x)

    let private seriesOf (history: History) (key: string) =
        history.Epochs
        |> List.mapi (fun i epoch ->
            match Map.tryFind key epoch with
            | Some v when isFinite v -> Some(float (i + 1), v)
            | _ -> None)
        |> List.choose id

    /// One panel per metric, loss first and the rest in name order; a metric logged only for validation
    /// still gets a panel.
    let panels (history: History) : CurvePanel list =
        let keys = history.Epochs |> Seq.collect (fun e -> e.Keys) |> Set.ofSeq

        let metrics =
            keys
            |> Set.map (fun k -> if k.StartsWith "val_" then k.Substring 4 else k)
            |> Set.toList
            |> List.sortBy (fun m -> (m <> "loss"), m)

        metrics
        |> List.map (fun m ->
            {
                Metric = m
                Train = seriesOf history m
                Validation = seriesOf history ("val_" + m)
            })

    let private plotOf (panel: CurvePanel) =
        let plot = new Plot()
        plot.Title panel.Metric
        plot.XLabel "epoch"

        let both = not panel.Train.IsEmpty && not panel.Validation.IsEmpty

        let add (label: string) (color: Color) (points: (float * float) list) =
            if not points.IsEmpty then
                let line =
                    plot.Add.ScatterLine(
                        points |> List.map fst |> Array.ofList,
                        points |> List.map snd |> Array.ofList,
                        color
                    )

                // A legend item makes ScottPlot draw the legend; one series needs none.
                if both then
                    line.LegendText <- label

                line.MarkerSize <- 5.0f

        add "train" (Colors.C0) panel.Train
        add "validation" (Colors.C1) panel.Validation

        plot.Axes.Bottom.TickGenerator <- TickGenerators.NumericAutomatic(IntegerTicksOnly = true)
        let values = panel.Train @ panel.Validation |> List.map snd

        // A constant series (a fixed learning rate) would otherwise sit on an axis scaled to [-1, 1].
        match values with
        | [] -> ()
        | _ ->
            let lo, hi = List.min values, List.max values

            if hi - lo <= 1e-9 * max 1.0 (abs hi) then
                let pad = max (0.5 * abs hi) 1e-12
                plot.Axes.SetLimitsY(lo - pad, hi + pad)

        plot

    /// Writes the curves of every metric as one picture, a panel per metric (.png or .svg by extension).
    let save (path: string) (history: History) : unit =
        let caller = "TrainingCurves.save"

        if history.Epochs.IsEmpty then
            invalidArg "history" (sprintf "%s: the history has no epochs; train for at least one epoch first." caller)

        let plots = panels history |> List.map plotOf
        Figure.saveGrid caller path 2 480 360 plots
