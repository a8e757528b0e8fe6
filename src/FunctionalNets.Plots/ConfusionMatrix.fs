namespace FunctionalNets.Plots

open ScottPlot

/// A confusion-matrix heatmap: row = true class, column = predicted class, class 0 at the top left.
module ConfusionMatrix =

    /// Counts of (true class, predicted class) pairs in a classes x classes matrix, classes being one more
    /// than the largest index seen (or `classes` when larger).
    let count (classes: int) (actual: int[]) (predicted: int[]) : int[,] =
        let caller = "ConfusionMatrix.count"

        if actual.Length <> predicted.Length then
            invalidArg
                "predicted"
                (sprintf "%s: %d true classes but %d predictions." caller actual.Length predicted.Length)

        if Array.exists (fun c -> c < 0) actual || Array.exists (fun c -> c < 0) predicted then
            invalidArg "actual" (sprintf "%s: class indices must be >= 0." caller)

        let seen = Array.append actual predicted |> Array.fold max -1
        let n = max classes (seen + 1)

        if n = 0 then
            invalidArg "actual" (sprintf "%s: no examples and no classes; there is nothing to count." caller)

        let matrix = Array2D.zeroCreate n n
        Array.iter2 (fun a p -> matrix[a, p] <- matrix[a, p] + 1) actual predicted
        matrix

    /// The colour intensity of each cell: the count itself, or with `normalize` its share of the row
    /// (a row without examples stays 0).
    let intensities (normalize: bool) (matrix: int[,]) : float[,] =
        let n = Array2D.length1 matrix

        if n = 0 || Array2D.length2 matrix <> n then
            invalidArg
                "matrix"
                (sprintf
                    "ConfusionMatrix: the matrix must be square and non-empty, got %d x %d."
                    n
                    (Array2D.length2 matrix))

        Array2D.init n n (fun r c ->
            let v = float matrix[r, c]

            if normalize then
                let total = Seq.sum (seq { for k in 0 .. n - 1 -> matrix[r, k] })
                if total = 0 then 0.0 else v / float total
            else
                v)

    let private draw (normalize: bool) (matrix: int[,]) (classNames: string[]) (plot: Plot) =
        let n = Array2D.length1 matrix
        let values = intensities normalize matrix
        let heatmap = plot.Add.Heatmap values
        // ScottPlot's Blues runs from dark to light; counts read better dark where they are high.
        heatmap.Colormap <- Colormaps.Reversed(Colormaps.Blues())
        // Cell (r, c) is centred at (c, -r): row 0 on top, as a confusion matrix is read. ScottPlot places
        // the outer cells' centres on the rectangle's edges; a single cell keeps its default place at (0, 0).
        if n > 1 then
            heatmap.Position <- CoordinateRect(0.0, float (n - 1), -(float (n - 1)), 0.0)

        let top = values |> Seq.cast<float> |> Seq.fold max 0.0
        // Zero is always the lightest colour (and a matrix of one value still has a range to map).
        heatmap.ManualRange <- Range(0.0, (if top > 0.0 then top else 1.0))

        // Numbers stay legible up to about 30 classes; beyond that the colours alone tell the story.
        if n <= 30 then
            for r in 0 .. n - 1 do
                for c in 0 .. n - 1 do
                    let text =
                        if normalize then
                            sprintf "%.2f" values[r, c]
                        else
                            string matrix[r, c]

                    let label = plot.Add.Text(text, float c, -(float r))
                    label.Alignment <- Alignment.MiddleCenter
                    label.LabelFontSize <- (if n <= 12 then 12.0f else 8.0f)

                    label.LabelFontColor <-
                        if top > 0.0 && values[r, c] / top > 0.55 then
                            Colors.White
                        else
                            Colors.Black

        let ticks (axisValue: int -> float) =
            let generator = TickGenerators.NumericManual()

            for i in 0 .. n - 1 do
                generator.AddMajor(axisValue i, (if i < classNames.Length then classNames[i] else string i))

            generator

        plot.Axes.Bottom.TickGenerator <- ticks float
        plot.Axes.Left.TickGenerator <- ticks (fun i -> -(float i))
        plot.Axes.SetLimits(-0.5, float n - 0.5, -(float n) + 0.5, 0.5)
        plot.XLabel "predicted class"
        plot.YLabel "true class"

        plot.Title(
            if normalize then
                "confusion matrix (row shares)"
            else
                "confusion matrix"
        )

    /// Writes the heatmap of a square count matrix (.png or .svg by extension), each cell labelled with
    /// its count (or row share with `normalize`); `classNames` label the axes (indices where missing).
    let save (path: string) (normalize: bool) (classNames: string[] option) (matrix: int[,]) : unit =
        intensities normalize matrix |> ignore
        let n = Array2D.length1 matrix
        let side = max 480 (min 1600 (160 + 48 * n))
        use plot = new Plot()
        draw normalize matrix (defaultArg classNames [||]) plot
        Figure.save "ConfusionMatrix.save" path side side (fun canvas area -> plot.Render(canvas, area))
