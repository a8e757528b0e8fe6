namespace FunctionalNets.Nn

open System
open FunctionalNets

/// The pictures people look at after training: training curves, a confusion-matrix heatmap and a
/// grid of first-layer filters, as standalone SVG text (and save functions that write them to disk).
module Charts =

    // ---- shared helpers ----------------------------------------------------------------------

    let private isFinite (x: float) =
        not (Double.IsNaN x || Double.IsInfinity x)

    /// A "nice" tick step (1, 2, 2.5 or 5 times a power of ten) giving about target intervals over span.
    let private niceStep (span: float) (target: int) =
        let raw = span / float (max 1 target)
        let mag = 10.0 ** floor (log10 raw)
        let f = raw / mag

        let nice =
            if f <= 1.0 then 1.0
            elif f <= 2.0 then 2.0
            elif f <= 2.5 then 2.5
            elif f <= 5.0 then 5.0
            else 10.0

        nice * mag

    /// Widens [lo, hi] outward to multiples of a nice step; a degenerate range (one value, or all
    /// values equal) is padded first, since a zero span has no scale at all.
    let private niceRange (lo: float) (hi: float) =
        let lo, hi =
            if hi - lo > 1e-12 * max 1.0 (max (abs lo) (abs hi)) then
                lo, hi
            elif lo = 0.0 then
                -1.0, 1.0
            else
                lo - 0.1 * abs lo, hi + 0.1 * abs hi

        let step = niceStep (hi - lo) 5
        floor (lo / step + 1e-9) * step, ceil (hi / step - 1e-9) * step, step

    /// The ticks of a nice range: multiples of step from lo to hi.
    let private ticks (lo: float) (hi: float) (step: float) =
        let n = int (Math.Round((hi - lo) / step))
        [ for i in 0..n -> lo + float i * step ]

    /// How many decimals a tick step needs so that neighbouring labels differ (2.5 needs one, 0.02 two).
    let private decimalsFor (step: float) =
        let rec go d =
            let scaled = step * 10.0 ** float d

            if d >= 10 || abs (scaled - Math.Round scaled) < 1e-6 * scaled then
                d
            else
                go (d + 1)

        go 0

    let private fmt (decimals: int) (x: float) =
        let s =
            x.ToString("F" + string decimals, Globalization.CultureInfo.InvariantCulture)
        // Rounding can give "-0.00"; a minus sign on zero reads as a bug.
        if s.TrimStart('-') |> Seq.forall (fun c -> c = '0' || c = '.') then
            s.TrimStart '-'
        else
            s

    /// Rough width of a label in pixels (sans-serif averages about 0.6 em per character); layout only
    /// needs it to reserve room, not to be exact.
    let private textWidth (fontSize: float) (s: string) = 0.6 * fontSize * float s.Length

    // ---- training curves ---------------------------------------------------------------------

    let private trainColor = "#1f77b4"
    let private valColor = "#ff7f0e"

    /// One metric's per-epoch values; NaN marks an epoch where it is missing or not finite.
    type private Series =
        {
            Key: string
            Validation: bool
            Values: float[]
        }

    /// The metrics of a history grouped into panels: each base name with its train series and its
    /// val_ series when present. "loss" comes first (it is what people look at first); the rest keep
    /// the history's key order. A val_ metric without a train counterpart still gets a panel.
    let private panelsOf (history: History) =
        let epochs = Array.ofList history.Epochs

        let values (key: string) =
            // Per epoch rather than h[key]: History.Item skips missing epochs, which would shift the
            // later points left onto the wrong epochs.
            epochs
            |> Array.map (fun logs ->
                match Map.tryFind key logs with
                | Some v when isFinite v -> v
                | _ -> nan)

        let keys = history.Keys

        let baseOf (k: string) =
            if k.StartsWith "val_" && k.Length > 4 then
                k.Substring 4
            else
                k

        let bases =
            keys
            |> List.map baseOf
            |> List.distinct
            |> List.sortBy (fun b -> if b = "loss" then 0 else 1) // stable: the rest keep their order

        bases
        |> List.map (fun b ->
            let train =
                if List.contains b keys then
                    [
                        {
                            Key = b
                            Validation = false
                            Values = values b
                        }
                    ]
                else
                    []

            let v = "val_" + b

            let valid =
                if v <> b && List.contains v keys then
                    [
                        {
                            Key = v
                            Validation = true
                            Values = values v
                        }
                    ]
                else
                    []

            b, train @ valid)

    /// Splits a series into runs of consecutive finite points, as (epoch, value) lists: a NaN epoch
    /// breaks the line instead of being bridged, so a gap in the data is visible as a gap.
    let private runs (values: float[]) =
        let result = ResizeArray<(float * float) list>()
        let current = ResizeArray<float * float>()

        let flush () =
            if current.Count > 0 then
                result.Add(List.ofSeq current)
                current.Clear()

        values
        |> Array.iteri (fun i v ->
            if isFinite v then
                current.Add(float (i + 1), v)
            else
                flush ())

        flush ()
        List.ofSeq result

    let private panelWidth = 440.0
    let private panelHeight = 320.0

    /// One panel: a metric's train and validation series over epochs in a box at (x0, y0).
    let private panel (x0: float) (y0: float) (name: string) (series: Series list) (epochCount: int) : Svg.Node =
        let px0, px1 = x0 + 70.0, x0 + panelWidth - 20.0
        let py0, py1 = y0 + 44.0, y0 + panelHeight - 50.0

        // x: epochs 1..E. One epoch gets half an epoch either side so its point sits mid-panel.
        let xlo, xhi = if epochCount <= 1 then 0.5, 1.5 else 1.0, float epochCount

        let xstep =
            // Integer steps only: there is no epoch 2.5.
            let s = niceStep (xhi - xlo) 8
            if s <= 1.0 then 1.0 else Math.Ceiling s

        let xticks =
            [
                for k in int (ceil (xlo / xstep)) .. int (floor (xhi / xstep)) -> float k * xstep
            ]
            |> List.filter (fun t -> t >= 1.0)

        let finite =
            series
            |> List.collect (fun s -> s.Values |> Array.filter isFinite |> List.ofArray)

        let ylo, yhi, ystep =
            match finite with
            | [] -> niceRange 0.0 1.0
            | xs -> niceRange (List.min xs) (List.max xs)

        let decimals = decimalsFor ystep

        let sx (e: float) =
            px0 + (e - xlo) / (xhi - xlo) * (px1 - px0)

        let sy (v: float) =
            py1 - (v - ylo) / (yhi - ylo) * (py1 - py0)

        let small = [ "font-size", "11"; "fill", "#333333" ]

        let grid =
            [
                for t in ticks ylo yhi ystep do
                    let y = sy t
                    Svg.line px0 y px1 y [ "stroke", "#e5e5e5"; "stroke-width", "1" ]
                    Svg.line (px0 - 5.0) y px0 y [ "stroke", "#444444" ]
                    Svg.label (px0 - 8.0) (y + 4.0) "end" (fmt decimals t) ([ "class", "ytick" ] @ small)
                for t in xticks do
                    let x = sx t
                    Svg.line x py0 x py1 [ "stroke", "#f0f0f0"; "stroke-width", "1" ]
                    Svg.line x py1 x (py1 + 5.0) [ "stroke", "#444444" ]
                    Svg.label x (py1 + 18.0) "middle" (string (int t)) ([ "class", "xtick" ] @ small)
            ]

        let markersWanted = epochCount <= 40

        let curves =
            series
            |> List.map (fun s ->
                let color = if s.Validation then valColor else trainColor
                let dash = if s.Validation then [ "stroke-dasharray", "7,4" ] else []

                let parts =
                    runs s.Values
                    |> List.collect (fun run ->
                        let pts = run |> List.map (fun (e, v) -> sx e, sy v)

                        [
                            Svg.polyline
                                pts
                                ([
                                    "stroke", color
                                    "stroke-width", "2"
                                    "stroke-linejoin", "round"
                                    "stroke-linecap", "round"
                                 ]
                                 @ dash)
                            // A lone point draws no line, so it always gets a marker; short runs get
                            // them too, to show where the epochs are.
                            if markersWanted || run.Length = 1 then
                                for x, y in pts do
                                    Svg.circle x y 3.0 [ "fill", color; "class", "marker" ]
                        ])

                Svg.group
                    [
                        "class", "series"
                        "data-key", s.Key
                        "data-role", (if s.Validation then "validation" else "train")
                    ]
                    (Svg.title s.Key :: parts))

        // The legend sits in the top margin, right-aligned, so it never covers data.
        let legend =
            let items =
                series
                |> List.map (fun s ->
                    let text = if s.Validation then "validation" else "train"
                    s, text)

            let widths = items |> List.map (fun (_, t) -> 30.0 + textWidth 12.0 t + 14.0)
            let mutable x = px1 - List.sum widths

            Svg.group
                [ "class", "legend" ]
                [
                    for (s, t), w in List.zip items widths do
                        let color = if s.Validation then valColor else trainColor
                        let dash = if s.Validation then [ "stroke-dasharray", "7,4" ] else []
                        let y = py0 - 12.0

                        Svg.group
                            [
                                "class", "legend-item"
                                "data-role", (if s.Validation then "validation" else "train")
                            ]
                            [
                                Svg.line x y (x + 24.0) y ([ "stroke", color; "stroke-width", "2" ] @ dash)
                                Svg.label (x + 30.0) (y + 4.0) "start" t [ "font-size", "12"; "fill", "#222222" ]
                            ]

                        x <- x + w
                ]

        let empty =
            if finite.IsEmpty then
                [
                    Svg.label
                        ((px0 + px1) / 2.0)
                        ((py0 + py1) / 2.0)
                        "middle"
                        "no finite values"
                        [ "font-size", "13"; "fill", "#888888" ]
                ]
            else
                []

        Svg.group
            [ "class", "panel"; "data-metric", name ]
            ([
                Svg.label px0 (y0 + 20.0) "start" name [ "font-size", "15"; "font-weight", "bold"; "fill", "#222222" ]
                legend
             ]
             @ grid
             @ [
                 Svg.rect px0 py0 (px1 - px0) (py1 - py0) [ "fill", "none"; "stroke", "#444444" ]
                 Svg.label ((px0 + px1) / 2.0) (py1 + 38.0) "middle" "epoch" [ "font-size", "12"; "fill", "#222222" ]
                 Svg.label
                     0.0
                     0.0
                     "middle"
                     name
                     [
                         "font-size", "12"
                         "fill", "#222222"
                         "transform",
                         sprintf "translate(%s,%s) rotate(-90)" (Svg.num (x0 + 18.0)) (Svg.num ((py0 + py1) / 2.0))
                     ]
             ]
             @ empty
             @ curves)

    /// Training curves as SVG text: one panel per metric (loss first, then the others, such as
    /// accuracy), side by side, with the training series solid and the val_ series dashed, axes with
    /// ticks and labels, a legend and a title. Epochs where a metric is missing or not finite are
    /// left out (the line breaks there); a history with no epochs gives a picture that says so.
    let trainingCurves (history: History) : string =
        let epochCount = history.Epochs.Length
        let panels = panelsOf history
        let n = max 1 panels.Length
        // Side by side up to three; more wrap into a near-square grid so the picture stays readable.
        let cols = if n <= 3 then n else int (ceil (sqrt (float n)))
        let rows = (n + cols - 1) / cols
        let top = 44.0
        let width = float cols * panelWidth
        let height = top + float rows * panelHeight

        let title =
            sprintf "Training curves (%d epoch%s)" epochCount (if epochCount = 1 then "" else "s")

        let body =
            match panels with
            | [] ->
                [
                    Svg.label
                        (width / 2.0)
                        (top + panelHeight / 2.0)
                        "middle"
                        "no epochs logged yet"
                        [ "font-size", "14"; "fill", "#888888" ]
                ]
            | _ ->
                panels
                |> List.mapi (fun i (name, series) ->
                    panel (float (i % cols) * panelWidth) (top + float (i / cols) * panelHeight) name series epochCount)

        Svg.document
            width
            height
            (Svg.label (width / 2.0) 28.0 "middle" title [ "font-size", "18"; "font-weight", "bold"; "fill", "#111111" ]
             :: body)

    /// Writes trainingCurves history to path atomically, creating the folder if needed.
    let saveTrainingCurves (path: string) (history: History) : unit =
        PlotFiles.writeTextAtomic path (trainingCurves history)

    // ---- confusion matrix --------------------------------------------------------------------

    /// The sequential colour map of the heatmap (light to dark blue, like matplotlib's "Blues"):
    /// t in [0, 1] to linear-interpolated RGB components in [0, 1].
    let heatColor (t: float) : float * float * float =
        let stops =
            [|
                0.97, 0.984, 1.0
                0.776, 0.859, 0.937
                0.42, 0.682, 0.839
                0.129, 0.443, 0.71
                0.031, 0.188, 0.42
            |]

        let t = Math.Clamp((if Double.IsNaN t then 0.0 else t), 0.0, 1.0)
        let f = t * float (stops.Length - 1)
        let i = min (stops.Length - 2) (int f)
        let u = f - float i
        let r0, g0, b0 = stops[i]
        let r1, g1, b1 = stops[i + 1]
        r0 + u * (r1 - r0), g0 + u * (g1 - g0), b0 + u * (b1 - b0)

    /// Whether text on this background should be dark: relative luminance (Rec. 709 weights) above a
    /// middle grey. Dark blue cells get white counts, pale ones black.
    let darkTextOn ((r, g, b): float * float * float) =
        0.2126 * r + 0.7152 * g + 0.0722 * b > 0.5

    let private checkSquare (fn: string) (matrix: int[,]) =
        let c = Array2D.length1 matrix

        if Array2D.length2 matrix <> c then
            invalidArg
                "matrix"
                (sprintf "Charts.%s: the matrix is %dx%d; a confusion matrix is square." fn c (Array2D.length2 matrix))

        if c = 0 then
            invalidArg "matrix" (sprintf "Charts.%s: the matrix is empty (no classes)." fn)

        c

    /// The colour intensity of each cell: its share of the largest cell, or, normalized, of its row
    /// (the true class), which shows per-class recall even when classes are unbalanced.
    let internal cellIntensities (normalize: bool) (matrix: int[,]) =
        let c = Array2D.length1 matrix
        let maxCount = matrix |> Seq.cast<int> |> Seq.fold max 0

        Array2D.init c c (fun r k ->
            if normalize then
                let rowSum = Seq.sum [ for j in 0 .. c - 1 -> float matrix[r, j] ]
                if rowSum > 0.0 then float matrix[r, k] / rowSum else 0.0
            elif maxCount > 0 then
                float matrix[r, k] / float maxCount
            else
                0.0)

    /// A confusion-matrix heatmap as SVG text: row = true class, column = predicted class, the count
    /// written in each cell (white on dark cells, black on light ones), class names along both axes
    /// and a colour bar. With normalize the colour is the cell's share of its row; the text stays the
    /// count. classNames, when given, must have one name per class.
    let confusionMatrixWith (normalize: bool) (matrix: int[,]) (classNames: string[] option) : string =
        let c = checkSquare "confusionMatrix" matrix

        let names =
            match classNames with
            | Some ns when ns.Length <> c ->
                invalidArg
                    "classNames"
                    (sprintf "Charts.confusionMatrix: %d class names for a %dx%d matrix." ns.Length c c)
            | Some ns -> ns
            | None -> Array.init c string

        let cell = Math.Clamp(floor (560.0 / float c), 12.0, 56.0)
        let countFont = Math.Min(14.0, cell * 0.36)
        let labelFont = if cell >= 20.0 then 12.0 else max 7.0 (cell * 0.6)
        let longest = names |> Array.map (textWidth labelFont) |> Array.max
        // Column names rotate when they would not fit under their column.
        let rotate = longest > cell - 4.0
        let gx = 40.0 + longest + 10.0
        let gy = 62.0
        let gridSize = cell * float c
        let below = (if rotate then longest * 0.72 + 16.0 else 22.0) + 28.0
        let barX = gx + gridSize + 24.0
        let intensity = cellIntensities normalize matrix
        let total = matrix |> Seq.cast<int> |> Seq.sumBy int64
        let correct = Seq.sum [ for i in 0 .. c - 1 -> int64 matrix[i, i] ]
        let maxCount = matrix |> Seq.cast<int> |> Seq.fold max 0

        let title =
            let acc =
                if total > 0L then
                    sprintf " - accuracy %s%% of %d" (fmt 1 (100.0 * float correct / float total)) total
                else
                    ""

            (if normalize then
                 "Confusion matrix (colour = share of true class)"
             else
                 "Confusion matrix")
            + acc

        // Wide enough for the title too: a small matrix must not clip it. When the title is what sets
        // the width, the matrix is centred under it (shift) instead of hugging the left edge.
        let contentWidth = barX + 18.0 + 56.0
        let width = max contentWidth (textWidth 16.0 title + 40.0)
        let shift = (width - contentWidth) / 2.0
        let height = gy + gridSize + below

        let cells =
            [
                for r in 0 .. c - 1 do
                    let rowSum = Seq.sum [ for j in 0 .. c - 1 -> int64 matrix[r, j] ]

                    for k in 0 .. c - 1 do
                        let color = heatColor intensity[r, k]
                        let cr, cg, cb = color
                        let x = gx + float k * cell
                        let y = gy + float r * cell
                        let n = matrix[r, k]

                        let share =
                            if rowSum > 0L then
                                sprintf " (%s%% of true %s)" (fmt 1 (100.0 * float n / float rowSum)) names[r]
                            else
                                ""

                        Svg.group
                            [ "class", "cell-group"; "data-row", string r; "data-col", string k ]
                            [
                                Svg.title (sprintf "true %s, predicted %s: %d%s" names[r] names[k] n share)
                                Svg.rect x y cell cell [ "class", "cell"; "fill", Svg.rgb cr cg cb ]
                                Svg.label
                                    (x + cell / 2.0)
                                    (y + cell / 2.0 + countFont * 0.35)
                                    "middle"
                                    (string n)
                                    [
                                        "class", "count"
                                        "font-size", Svg.num countFont
                                        "fill", (if darkTextOn color then "#000000" else "#ffffff")
                                    ]
                            ]
            ]

        let rowLabels =
            [
                for r in 0 .. c - 1 do
                    Svg.label
                        (gx - 6.0)
                        (gy + (float r + 0.5) * cell + labelFont * 0.35)
                        "end"
                        names[r]
                        [ "class", "row-label"; "font-size", Svg.num labelFont; "fill", "#222222" ]
            ]

        let colLabels =
            [
                for k in 0 .. c - 1 do
                    let x = gx + (float k + 0.5) * cell
                    let y = gy + gridSize + 6.0

                    if rotate then
                        Svg.label
                            0.0
                            0.0
                            "end"
                            names[k]
                            [
                                "class", "col-label"
                                "font-size", Svg.num labelFont
                                "fill", "#222222"
                                "transform",
                                sprintf
                                    "translate(%s,%s) rotate(-45)"
                                    (Svg.num (x + labelFont * 0.3))
                                    (Svg.num (y + 4.0))
                            ]
                    else
                        Svg.label
                            x
                            (y + labelFont)
                            "middle"
                            names[k]
                            [ "class", "col-label"; "font-size", Svg.num labelFont; "fill", "#222222" ]
            ]

        // The colour bar: stacked bands from the map, labelled at both ends and the middle.
        let bar =
            let bands = 32
            let bh = gridSize / float bands

            [
                for i in 0 .. bands - 1 do
                    // Top band is the high end, like the colour bars people are used to.
                    let t = 1.0 - (float i + 0.5) / float bands
                    let r, g, b = heatColor t
                    Svg.rect barX (gy + float i * bh) 18.0 (bh + 0.5) [ "fill", Svg.rgb r g b ]
                Svg.rect barX gy 18.0 gridSize [ "fill", "none"; "stroke", "#444444" ]
                for t in [ 0.0; 0.5; 1.0 ] do
                    let text =
                        if normalize then
                            sprintf "%d%%" (int (100.0 * t))
                        elif t = 0.0 then
                            "0"
                        else
                            fmt (if maxCount > 1 || t = 1.0 then 0 else 1) (t * float maxCount)

                    Svg.label
                        (barX + 24.0)
                        (gy + (1.0 - t) * gridSize + 4.0)
                        "start"
                        text
                        [ "class", "bar-label"; "font-size", "11"; "fill", "#333333" ]
            ]

        let content =
            [
                Svg.group [ "class", "cells"; "shape-rendering", "crispEdges" ] cells
                Svg.rect gx gy gridSize gridSize [ "fill", "none"; "stroke", "#444444" ]
                Svg.label
                    (gx + gridSize / 2.0)
                    (height - 12.0)
                    "middle"
                    "Predicted class"
                    [ "font-size", "13"; "fill", "#111111" ]
                Svg.label
                    0.0
                    0.0
                    "middle"
                    "True class"
                    [
                        "font-size", "13"
                        "fill", "#111111"
                        "transform", sprintf "translate(18,%s) rotate(-90)" (Svg.num (gy + gridSize / 2.0))
                    ]
            ]
            @ rowLabels
            @ colLabels
            @ bar

        Svg.document
            width
            height
            [
                Svg.label
                    (width / 2.0)
                    28.0
                    "middle"
                    title
                    [ "font-size", "16"; "font-weight", "bold"; "fill", "#111111" ]
                Svg.group [ "transform", sprintf "translate(%s,0)" (Svg.num shift) ] content
            ]

    /// A confusion-matrix heatmap with colour by count (see confusionMatrixWith).
    let confusionMatrix (matrix: int[,]) (classNames: string[] option) : string =
        confusionMatrixWith false matrix classNames

    /// Writes confusionMatrixWith normalize matrix classNames to path atomically, creating the folder.
    let saveConfusionMatrixWith (path: string) (normalize: bool) (matrix: int[,]) (classNames: string[] option) =
        PlotFiles.writeTextAtomic path (confusionMatrixWith normalize matrix classNames)

    /// Writes confusionMatrix matrix classNames to path atomically, creating the folder if needed.
    let saveConfusionMatrix (path: string) (matrix: int[,]) (classNames: string[] option) : unit =
        saveConfusionMatrixWith path false matrix classNames

    // ---- filter grid -------------------------------------------------------------------------

    /// The filters of a first-layer convolution weight [O; C; kH; kW] as images: for each filter, kH*kW
    /// RGB pixels in [0, 1] (row-major). C = 3 is shown as colour, C = 1 as grey, any other C as the
    /// grey mean over channels. Each filter is stretched to [0, 1] on its own (over all its channels
    /// together, so an RGB filter keeps its hue): filters differ in scale, and one global scale would
    /// leave most of them flat grey. A constant filter is mid grey. Returns (images, kH, kW).
    let internal filterImages (weights: Tensor) : (float * float * float)[][] * int * int =
        let shape = weights.Shape.ToArray()

        let o, ch, kh, kw =
            match shape with
            | [| o; c; h; w |] -> o, c, h, w
            // [O; kH; kW] is a single-channel bank without its channel axis; read it as C = 1.
            | [| o; h; w |] -> o, 1, h, w
            | _ ->
                invalidArg
                    "weights"
                    (sprintf
                        "Charts.filterGrid: expected conv weights [O; C; kH; kW], got shape [%s]."
                        (shape |> Array.map string |> String.concat "; "))

        if o = 0 || ch = 0 || kh = 0 || kw = 0 then
            invalidArg "weights" "Charts.filterGrid: the weights have an empty dimension; there is nothing to draw."

        let data = Tensor.toFloatArray weights
        let px = kh * kw

        let images =
            Array.init o (fun f ->
                let at c i = data[(f * ch + c) * px + i]

                // Raw values per pixel, then stretched below.
                let raw =
                    Array.init px (fun i ->
                        if ch = 3 then
                            at 0 i, at 1 i, at 2 i
                        else
                            let m = (Seq.sum [ for c in 0 .. ch - 1 -> at c i ]) / float ch
                            m, m, m)

                let all =
                    raw |> Array.collect (fun (r, g, b) -> [| r; g; b |]) |> Array.filter isFinite

                let lo = if all.Length = 0 then 0.0 else Array.min all
                let hi = if all.Length = 0 then 0.0 else Array.max all

                let stretch v =
                    if not (isFinite v) then 0.5
                    elif hi - lo <= 0.0 then 0.5
                    else (v - lo) / (hi - lo)

                raw |> Array.map (fun (r, g, b) -> stretch r, stretch g, stretch b))

        images, kh, kw

    /// Grid layout of n tiles: columns (about the square root, so the grid is near square) and rows.
    let internal gridShape (n: int) =
        let cols = max 1 (int (ceil (sqrt (float n))))
        cols, (n + cols - 1) / cols

    /// First-layer convolution filters [O; C; kH; kW] as SVG text: each filter a small image (see
    /// filterImages for colour and scaling) drawn as square pixels, with a thin border, laid out in a
    /// near-square grid in filter order (left to right, top to bottom).
    let filterGrid (weights: Tensor) : string =
        let images, kh, kw = filterImages weights
        let shape = weights.Shape.ToArray()
        let o = images.Length
        // Each filter about 48 pixels across, each weight at least 4 pixels so it stays visible.
        let pixel = max 4.0 (floor (48.0 / float (max kh kw)))
        let tileW, tileH = pixel * float kw, pixel * float kh
        let gap = 8.0
        let cols, rows = gridShape o
        let top = 48.0

        let title =
            sprintf
                "First-layer filters [%s]%s"
                (shape |> Array.map string |> String.concat " x ")
                (match shape with
                 | [| _; 3; _; _ |] -> " RGB"
                 | [| _; 1; _; _ |]
                 | [| _; _; _ |] -> " grey"
                 | _ -> " channel mean")

        let width =
            max (textWidth 15.0 title * 1.1 + 40.0) (2.0 * gap + float cols * (tileW + gap))

        let left = (width - float cols * (tileW + gap) + gap) / 2.0
        let height = top + float rows * (tileH + gap) + gap

        let tiles =
            images
            |> Array.mapi (fun f img ->
                let x0 = left + float (f % cols) * (tileW + gap)
                let y0 = top + float (f / cols) * (tileH + gap)

                Svg.group
                    [ "class", "filter"; "data-index", string f ]
                    [
                        Svg.title (sprintf "filter %d" f)
                        for y in 0 .. kh - 1 do
                            for x in 0 .. kw - 1 do
                                let r, g, b = img[y * kw + x]

                                Svg.rect
                                    (x0 + float x * pixel)
                                    (y0 + float y * pixel)
                                    pixel
                                    pixel
                                    [ "fill", Svg.rgb r g b ]
                        // The border sits one pixel outside the tile, so it never covers a weight.
                        Svg.rect
                            (x0 - 1.0)
                            (y0 - 1.0)
                            (tileW + 2.0)
                            (tileH + 2.0)
                            [ "fill", "none"; "stroke", "#888888"; "stroke-width", "1"; "class", "border" ]
                    ])
            |> List.ofArray

        Svg.document
            width
            height
            (Svg.label (width / 2.0) 28.0 "middle" title [ "font-size", "15"; "font-weight", "bold"; "fill", "#111111" ]
             // crispEdges: neighbouring pixel squares must not blend into faint seams.
             :: [ Svg.group [ "class", "filters"; "shape-rendering", "crispEdges" ] tiles ])

    /// Writes filterGrid weights to path atomically, creating the folder if needed.
    let saveFilterGrid (path: string) (weights: Tensor) : unit =
        PlotFiles.writeTextAtomic path (filterGrid weights)

    // ---- PNG versions ------------------------------------------------------------------------
    // The same pictures rasterized in pure .NET. The raster font has only digits, '.', '-' and '%',
    // so the PNGs carry numbers (counts, tick labels, class indices) but no words: titles, axis names
    // and class names are in the SVG versions.

    let private pngTextScale (s: string) (room: int) =
        // The largest scale (up to 3) at which s fits in a room x room square with a margin.
        [ 3; 2; 1 ]
        |> List.tryFind (fun k -> Raster.TextWidth(s, k) <= room - 4 && 5 * k <= room - 4)

    /// The confusion-matrix heatmap as a raster: cells coloured as in confusionMatrixWith, counts in
    /// the cells where they fit (white on dark, black on light), class indices along both axes.
    let confusionMatrixRaster (normalize: bool) (matrix: int[,]) : Raster =
        let c = checkSquare "confusionMatrixRaster" matrix
        let cell = Math.Clamp(512 / c, 8, 48)
        let indexScale = if cell >= 14 then 2 else 1
        let margin = 10
        let gx = margin + Raster.TextWidth(string (c - 1), indexScale) + 6
        let gy = margin + 5 * indexScale + 6
        let grid = cell * c
        let r = Raster(gx + grid + margin, gy + grid + margin)
        let intensity = cellIntensities normalize matrix

        for row in 0 .. c - 1 do
            for k in 0 .. c - 1 do
                let color = heatColor intensity[row, k]
                let cr, cg, cb = color
                let x, y = gx + k * cell, gy + row * cell
                r.FillRect(x, y, cell, cell, Png.rgb cr cg cb)
                let text = string matrix[row, k]

                match pngTextScale text cell with
                | Some s ->
                    let tw = Raster.TextWidth(text, s)
                    let ink = if darkTextOn color then 0x000000 else 0xFFFFFF
                    r.Text(x + (cell - tw) / 2, y + (cell - 5 * s) / 2, text, ink, s) |> ignore
                | None -> ()

        // Indices: rows (true class) on the left, columns (predicted) on top.
        for i in 0 .. c - 1 do
            let t = string i
            let tw = Raster.TextWidth(t, indexScale)

            if cell >= 5 * indexScale + 2 then
                r.Text(gx - 6 - tw, gy + i * cell + (cell - 5 * indexScale) / 2, t, 0x333333, indexScale)
                |> ignore

            if cell >= tw + 2 then
                r.Text(gx + i * cell + (cell - tw) / 2, gy - 6 - 5 * indexScale, t, 0x333333, indexScale)
                |> ignore

        r.StrokeRect(gx - 1, gy - 1, grid + 2, grid + 2, 0x444444)
        r

    /// confusionMatrixRaster as PNG bytes.
    let confusionMatrixPng (normalize: bool) (matrix: int[,]) : byte[] =
        Png.fromRaster (confusionMatrixRaster normalize matrix)

    /// Writes confusionMatrixPng normalize matrix to path atomically, creating the folder if needed.
    let saveConfusionMatrixPng (path: string) (normalize: bool) (matrix: int[,]) : unit =
        PlotFiles.writeAtomic path (confusionMatrixPng normalize matrix)

    /// The filter grid as a raster: the layout of filterGrid, each weight a square block of pixels,
    /// each filter framed by a one-pixel grey border one pixel outside it.
    let filterGridRaster (weights: Tensor) : Raster =
        let images, kh, kw = filterImages weights
        let pixel = max 4 (48 / max kh kw)
        let tileW, tileH = pixel * kw, pixel * kh
        let gap = 8
        let cols, rows = gridShape images.Length
        let r = Raster(gap + cols * (tileW + gap), gap + rows * (tileH + gap))

        images
        |> Array.iteri (fun f img ->
            let x0 = gap + (f % cols) * (tileW + gap)
            let y0 = gap + (f / cols) * (tileH + gap)

            for y in 0 .. kh - 1 do
                for x in 0 .. kw - 1 do
                    let cr, cg, cb = img[y * kw + x]
                    r.FillRect(x0 + x * pixel, y0 + y * pixel, pixel, pixel, Png.rgb cr cg cb)

            r.StrokeRect(x0 - 2, y0 - 2, tileW + 4, tileH + 4, 0x888888))

        r

    /// filterGridRaster as PNG bytes.
    let filterGridPng (weights: Tensor) : byte[] =
        Png.fromRaster (filterGridRaster weights)

    /// Writes filterGridPng weights to path atomically, creating the folder if needed.
    let saveFilterGridPng (path: string) (weights: Tensor) : unit =
        PlotFiles.writeAtomic path (filterGridPng weights)

    /// Training curves as a raster: the panels of trainingCurves (loss first), train solid blue and
    /// validation dashed orange, grid lines and numeric tick labels; no titles or legend text (the
    /// raster font has no letters), so the colours and dashes carry the meaning.
    let trainingCurvesRaster (history: History) : Raster =
        let epochCount = history.Epochs.Length
        let panels = panelsOf history
        let n = max 1 panels.Length
        let cols = if n <= 3 then n else int (ceil (sqrt (float n)))
        let rows = (n + cols - 1) / cols
        let pw, ph = 440, 300
        let r = Raster(cols * pw, rows * ph)
        let blue, orange = 0x1f77b4, 0xff7f0e

        panels
        |> List.iteri (fun i (_, series) ->
            let x0, y0 = (i % cols) * pw, (i / cols) * ph
            let px0, px1 = x0 + 64, x0 + pw - 20
            let py0, py1 = y0 + 20, y0 + ph - 34
            let xlo, xhi = if epochCount <= 1 then 0.5, 1.5 else 1.0, float epochCount

            let xstep =
                let s = niceStep (xhi - xlo) 8
                if s <= 1.0 then 1.0 else Math.Ceiling s

            let finite =
                series
                |> List.collect (fun s -> s.Values |> Array.filter isFinite |> List.ofArray)

            let ylo, yhi, ystep =
                match finite with
                | [] -> niceRange 0.0 1.0
                | xs -> niceRange (List.min xs) (List.max xs)

            let decimals = decimalsFor ystep

            let sx (e: float) =
                px0 + int (Math.Round((e - xlo) / (xhi - xlo) * float (px1 - px0)))

            let sy (v: float) =
                py1 - int (Math.Round((v - ylo) / (yhi - ylo) * float (py1 - py0)))

            for t in ticks ylo yhi ystep do
                let y = sy t
                r.FillRect(px0, y, px1 - px0, 1, 0xe5e5e5)
                r.FillRect(px0 - 5, y, 5, 1, 0x444444)
                let s = fmt decimals t
                r.Text(px0 - 9 - Raster.TextWidth(s, 2), y - 5, s, 0x333333, 2) |> ignore

            for k in int (ceil (xlo / xstep)) .. int (floor (xhi / xstep)) do
                let t = float k * xstep

                if t >= 1.0 then
                    let x = sx t
                    r.FillRect(x, py0, 1, py1 - py0, 0xf0f0f0)
                    r.FillRect(x, py1, 1, 5, 0x444444)
                    let s = string (int t)
                    r.Text(x - Raster.TextWidth(s, 2) / 2, py1 + 9, s, 0x333333, 2) |> ignore

            r.StrokeRect(px0, py0, px1 - px0 + 1, py1 - py0 + 1, 0x444444)

            for s in series do
                let color = if s.Validation then orange else blue
                let dash = if s.Validation then Some(7, 4) else None

                for run in runs s.Values do
                    let pts = run |> List.map (fun (e, v) -> sx e, sy v)
                    let mutable phase = 0

                    for (ax, ay), (bx, by) in List.pairwise pts do
                        phase <- r.Line(ax, ay, bx, by, color, 2, dash, phase)

                    if epochCount <= 40 || run.Length = 1 then
                        for x, y in pts do
                            r.FillRect(x - 2, y - 2, 5, 5, color))

        r

    /// trainingCurvesRaster as PNG bytes.
    let trainingCurvesPng (history: History) : byte[] =
        Png.fromRaster (trainingCurvesRaster history)

    /// Writes trainingCurvesPng history to path atomically, creating the folder if needed.
    let saveTrainingCurvesPng (path: string) (history: History) : unit =
        PlotFiles.writeAtomic path (trainingCurvesPng history)
