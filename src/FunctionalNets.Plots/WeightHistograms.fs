namespace FunctionalNets.Plots

open System
open ScottPlot
open FunctionalNets

/// Histograms of parameter values, one panel per named tensor: how the weights are spread.
module WeightHistograms =

    /// The counts of finite values in `bins` equal bins over [min, max] of the finite values, with the
    /// bin edges (bins + 1 of them); a constant tensor gets one bin of width 1 around its value.
    let counts (bins: int) (values: float[]) : int[] * float[] =
        if bins < 1 then
            invalidArg "bins" (sprintf "WeightHistograms.counts: bins must be >= 1, got %d." bins)

        let finite =
            values |> Array.filter (fun v -> not (Double.IsNaN v || Double.IsInfinity v))

        if finite.Length = 0 then
            Array.zeroCreate bins, Array.init (bins + 1) float
        else
            let lo, hi = Array.min finite, Array.max finite
            let lo, hi, bins = if hi > lo then lo, hi, bins else lo - 0.5, lo + 0.5, 1
            let width = (hi - lo) / float bins
            let result = Array.zeroCreate bins

            for v in finite do
                let b = min (bins - 1) (int ((v - lo) / width))
                result[b] <- result[b] + 1

            result, Array.init (bins + 1) (fun i -> lo + float i * width)

    /// Writes one histogram panel per (name, tensor) (.png or .svg by extension).
    let save (path: string) (parameters: (string * Tensor) list) : unit =
        let caller = "WeightHistograms.save"

        if parameters.IsEmpty then
            invalidArg "parameters" (sprintf "%s: no parameters given; there is nothing to draw." caller)

        let plots =
            parameters
            |> List.map (fun (name, tensor) ->
                let counts, edges = counts 40 (Tensor.toFloatArray tensor)
                let plot = new Plot()

                let bars =
                    counts
                    |> Array.mapi (fun i c ->
                        Bar(
                            Position = (edges[i] + edges[i + 1]) / 2.0,
                            Value = float c,
                            Size = edges[i + 1] - edges[i],
                            FillColor = Colors.C0
                        ))

                plot.Add.Bars bars |> ignore
                plot.Title name
                plot.Axes.Margins(bottom = 0.0) |> ignore
                plot)

        Figure.saveGrid caller path 3 360 280 plots
