namespace FunctionalNets.Plots

open System
open ScottPlot
open FunctionalNets.Nn

/// The objective of every trial of a hyperparameter search against each hyperparameter.
module SearchPlot =

    /// Per hyperparameter: its axis title, the x position of each successful trial, the tick labels of a
    /// categorical axis (empty for numbers) and the trials' scores. Log-uniform ranges are placed by
    /// log10, labels by their order of appearance.
    let points (result: SearchResult) : (string * float[] * string[] * float[]) list =
        let ok =
            result.Trials
            |> List.filter (fun t -> t.Error.IsNone && not (Double.IsNaN t.Score || Double.IsInfinity t.Score))

        let names =
            ok
            |> List.collect (fun t -> Map.keys t.Config.Values |> List.ofSeq)
            |> List.distinct

        names
        |> List.map (fun name ->
            let values = ok |> List.map (fun t -> t.Config.Values[name])
            let scores = ok |> List.map _.Score |> Array.ofList

            let labels =
                values
                |> List.choose (function
                    | HyperValue.Label l -> Some l
                    | _ -> None)
                |> List.distinct

            if not labels.IsEmpty then
                let xs =
                    values
                    |> List.map (fun v -> float (List.findIndex ((=) (string v)) labels))
                    |> Array.ofList

                name, xs, Array.ofList labels, scores
            else
                let xs =
                    values
                    |> List.map (function
                        | HyperValue.Real v -> v
                        | HyperValue.Integer v -> float v
                        | HyperValue.Label _ -> nan)
                    |> Array.ofList

                let logScale =
                    result.Space.Ranges
                    |> List.exists (fun (n, range) ->
                        n = name
                        && (match range with
                            | HyperRange.LogUniform _ -> true
                            | _ -> false))

                if logScale then
                    "log10 " + name, Array.map log10 xs, [||], scores
                else
                    name, xs, [||], scores)

    /// Writes one scatter panel per hyperparameter, the objective on the y axis and the best trial
    /// marked (.png or .svg by extension).
    let save (path: string) (result: SearchResult) : unit =
        let caller = "SearchPlot.save"
        let panels = points result

        if panels.IsEmpty then
            invalidArg "result" (sprintf "%s: no successful trial to plot." caller)

        let best = result.Best

        let plots =
            panels
            |> List.map (fun (name, xs, labels, scores) ->
                let plot = new Plot()
                let dots = plot.Add.ScatterPoints(xs, scores, Colors.C0)
                dots.MarkerSize <- 7.0f
                let i = Array.IndexOf(scores, best.Score)

                if i >= 0 then
                    let star = plot.Add.ScatterPoints([| xs[i] |], [| scores[i] |], Colors.C3)
                    star.MarkerSize <- 12.0f
                    star.MarkerShape <- MarkerShape.FilledDiamond

                if labels.Length > 0 then
                    plot.Axes.Bottom.TickGenerator <-
                        TickGenerators.NumericManual(Array.init labels.Length float, labels)

                plot.XLabel name
                plot.YLabel "objective"
                plot)

        Figure.saveGrid caller path 3 360 300 plots
