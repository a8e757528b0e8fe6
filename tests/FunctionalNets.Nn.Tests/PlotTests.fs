module FunctionalNets.Tests.Nn.PlotTests

open System
open System.Globalization
open System.IO
open System.Threading
open System.Xml.Linq
open Xunit
open FunctionalNets
open FunctionalNets.Nn

let private ns = XNamespace.Get "http://www.w3.org/2000/svg"
let private parse (svg: string) = XDocument.Parse svg

/// The root element; a parsed document always has one.
let private root (doc: XDocument) =
    match doc.Root with
    | null -> failwith "no root element"
    | r -> r

let private all (doc: XDocument) (name: string) =
    doc.Descendants(ns + name) |> List.ofSeq

let private attr (name: string) (e: XElement) =
    e.Attribute(XName.Get name) |> Option.ofObj |> Option.map _.Value

let private has (name: string) (value: string) (e: XElement) = attr name e = Some value

let private inv (s: string) =
    Double.Parse(s, CultureInfo.InvariantCulture)

/// The (x, y) points of a polyline.
let private points (e: XElement) =
    (attr "points" e).Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)
    |> Array.map (fun p ->
        let xy = p.Split ','
        inv xy[0], inv xy[1])

let private history (rows: (string * float) list list) =
    {
        Epochs = rows |> List.map Map.ofList
        Messages = []
    }

/// Five epochs of the usual four metrics, as fit logs them.
let private fiveEpochs =
    history
        [
            for e in 0..4 ->
                [
                    "loss", 2.0 / float (e + 1)
                    "accuracy", 0.5 + 0.08 * float e
                    "val_loss", 2.2 / float (e + 1) + 0.05
                    "val_accuracy", 0.45 + 0.07 * float e
                ]
        ]

let private series (doc: XDocument) (key: string) =
    all doc "g"
    |> List.filter (fun g -> has "class" "series" g && has "data-key" key g)

let private pointsOf (doc: XDocument) (key: string) =
    series doc key
    |> List.collect (fun g -> g.Descendants(ns + "polyline") |> List.ofSeq)
    |> List.collect (points >> List.ofArray)

let private panelOf (doc: XDocument) (metric: string) =
    all doc "g"
    |> List.find (fun g -> has "class" "panel" g && has "data-metric" metric g)

let private texts (e: XElement) (cls: string) =
    e.Descendants(ns + "text")
    |> Seq.filter (has "class" cls)
    |> Seq.map _.Value
    |> List.ofSeq

[<Fact>]
let ``training curves: valid SVG, one panel per metric with loss first, one point per epoch per series`` () =
    let doc = parse (Charts.trainingCurves fiveEpochs)
    Assert.Equal("svg", (root doc).Name.LocalName)

    let panels =
        all doc "g"
        |> List.filter (has "class" "panel")
        |> List.choose (attr "data-metric")

    Assert.Equal<string list>([ "loss"; "accuracy" ], panels)

    for key in [ "loss"; "accuracy"; "val_loss"; "val_accuracy" ] do
        Assert.Equal(5, (pointsOf doc key).Length)

    // Validation dashed, training solid.
    let dashed key =
        series doc key
        |> List.collect (fun g -> g.Descendants(ns + "polyline") |> List.ofSeq)
        |> List.forall (fun p -> (attr "stroke-dasharray" p).IsSome)

    Assert.True(dashed "val_loss")
    Assert.False(dashed "loss")
    Assert.Contains("Training curves", (root doc).Value)

[<Fact>]
let ``training curves: y ticks cover the data, points lie inside the frame, legend names train and validation`` () =
    let doc = parse (Charts.trainingCurves fiveEpochs)

    for metric in [ "loss"; "accuracy" ] do
        let panel = panelOf doc metric
        let yticks = texts panel "ytick" |> List.map inv
        let data = fiveEpochs[metric] @ fiveEpochs["val_" + metric]
        Assert.True(List.min yticks <= List.min data, sprintf "%s: lowest tick %g" metric (List.min yticks))
        Assert.True(List.max yticks >= List.max data, sprintf "%s: highest tick %g" metric (List.max yticks))
        Assert.Equal<string list>([ "1"; "2"; "3"; "4"; "5" ], texts panel "xtick")

        let frame = panel.Elements(ns + "rect") |> Seq.find (fun r -> has "fill" "none" r)

        let fx, fy = inv (attr "x" frame).Value, inv (attr "y" frame).Value
        let fw, fh = inv (attr "width" frame).Value, inv (attr "height" frame).Value

        for p in panel.Descendants(ns + "polyline") do
            for x, y in points p do
                Assert.InRange(x, fx - 1e-6, fx + fw + 1e-6)
                Assert.InRange(y, fy - 1e-6, fy + fh + 1e-6)

        let legend = panel.Descendants(ns + "g") |> Seq.find (has "class" "legend")

        let entries = legend.Descendants(ns + "text") |> Seq.map _.Value |> List.ofSeq
        Assert.Equal<string list>([ "train"; "validation" ], entries)

[<Fact>]
let ``training curves: one epoch gives a marker per series, missing val_ keys give no validation entry`` () =
    let doc =
        parse (Charts.trainingCurves (history [ [ "loss", 0.7; "accuracy", 0.6 ] ]))

    Assert.Equal(1, (pointsOf doc "loss").Length)

    let markers =
        series doc "loss"
        |> List.collect (fun g -> g.Descendants(ns + "circle") |> List.ofSeq)

    Assert.Single markers |> ignore

    Assert.Empty(
        all doc "g"
        |> List.filter (fun g -> has "class" "series" g && has "data-role" "validation" g)
    )

    Assert.Empty(
        all doc "g"
        |> List.filter (fun g -> has "class" "legend-item" g && has "data-role" "validation" g)
    )

    Assert.Equal<string list>([ "1" ], texts (panelOf doc "loss") "xtick")
    // Validation only (no train counterpart): the panel still appears, with just that series.
    let doc =
        parse (Charts.trainingCurves (history [ [ "val_loss", 0.9 ]; [ "val_loss", 0.8 ] ]))

    Assert.Equal(2, (pointsOf doc "val_loss").Length)
    Assert.Equal(Some "loss", attr "data-metric" (panelOf doc "loss"))

[<Fact>]
let ``training curves: NaN and missing values are skipped and break the line`` () =
    let h =
        history
            [
                [ "loss", 1.0; "val_loss", 1.1 ]
                [ "loss", nan; "val_loss", 0.9 ]
                [ "loss", 0.6 ] // no val_loss this epoch
                [ "loss", 0.5; "val_loss", infinity ]
                [ "loss", 0.4; "val_loss", 0.7 ]
            ]

    let svg = Charts.trainingCurves h
    Assert.DoesNotContain("NaN", svg)
    Assert.DoesNotContain("Infinity", svg)
    let doc = parse svg
    Assert.Equal(4, (pointsOf doc "loss").Length)
    Assert.Equal(3, (pointsOf doc "val_loss").Length)
    // The gap at epoch 2 splits the train line in two: [1] and [3; 4; 5].
    let lines key =
        series doc key
        |> List.collect (fun g -> g.Descendants(ns + "polyline") |> List.ofSeq)

    Assert.Equal<int list>([ 1; 3 ], lines "loss" |> List.map (fun p -> (points p).Length))
    // The point after the gap sits at epoch 3, not shifted onto epoch 2.
    let xs = (lines "loss" |> List.map points)[1] |> Array.map fst

    let xtickX =
        (panelOf doc "loss").Descendants(ns + "text")
        |> Seq.filter (has "class" "xtick")
        |> Seq.map (fun t -> t.Value, inv (attr "x" t).Value)
        |> Map.ofSeq

    Assert.Equal(xtickX["3"], xs[0], 6)

[<Fact>]
let ``training curves: an empty history and an all-NaN metric still give valid pictures`` () =
    let doc = parse (Charts.trainingCurves { Epochs = []; Messages = [] })
    Assert.Contains("no epochs", (root doc).Value)

    let doc =
        parse (Charts.trainingCurves (history [ [ "loss", nan ]; [ "loss", nan ] ]))

    Assert.Empty(pointsOf doc "loss")
    Assert.Contains("no finite values", (root doc).Value)

let private cm = array2D [ [ 50; 2; 0 ]; [ 3; 40; 7 ]; [ 0; 1; 9 ] ]

[<Fact>]
let ``confusion matrix: C*C cells with the counts as text, rows true and columns predicted`` () =
    let doc = parse (Charts.confusionMatrix cm (Some [| "cat"; "dog"; "<bird & co>" |]))
    let groups = all doc "g" |> List.filter (has "class" "cell-group")
    Assert.Equal(9, groups.Length)
    Assert.Equal(9, all doc "rect" |> List.filter (has "class" "cell") |> List.length)

    for g in groups do
        let r = int (attr "data-row" g).Value
        let k = int (attr "data-col" g).Value
        let count = g.Elements(ns + "text") |> Seq.find (has "class" "count")
        Assert.Equal(string cm[r, k], count.Value)

    let rowLabels =
        all doc "text" |> List.filter (has "class" "row-label") |> List.map _.Value

    Assert.Equal<string list>([ "cat"; "dog"; "<bird & co>" ], rowLabels)
    // A control character has no XML spelling; it is dropped so the picture still parses.
    let doc = parse (Charts.confusionMatrix cm (Some [| "a\u0001b"; "dog"; "cat" |]))
    Assert.Contains("ab", all doc "text" |> List.filter (has "class" "row-label") |> List.map _.Value)
    Assert.Contains("Predicted", (root doc).Value)
    Assert.Contains("True", (root doc).Value)

[<Fact>]
let ``confusion matrix: text flips to white on dark cells, normalized colours follow row shares`` () =
    let cellOf (doc: XDocument) r k =
        all doc "g"
        |> List.find (fun g ->
            has "class" "cell-group" g
            && has "data-row" (string r) g
            && has "data-col" (string k) g)

    let fillOf (g: XElement) =
        attr "fill" (g.Elements(ns + "rect") |> Seq.head) |> Option.get

    let textFill (g: XElement) =
        attr "fill" (g.Elements(ns + "text") |> Seq.head) |> Option.get

    let doc = parse (Charts.confusionMatrix cm None)
    Assert.Equal("#ffffff", textFill (cellOf doc 0 0)) // the largest count: darkest cell
    Assert.Equal("#000000", textFill (cellOf doc 0 2)) // zero: palest cell
    // By count, row 2's diagonal (9) is pale; by row share (90%) it is dark.
    Assert.Equal("#000000", textFill (cellOf doc 2 2))
    let normalized = parse (Charts.confusionMatrixWith true cm None)
    Assert.Equal("#ffffff", textFill (cellOf normalized 2 2))
    Assert.NotEqual<string>(fillOf (cellOf doc 2 2), fillOf (cellOf normalized 2 2))
    Assert.Equal("9", (cellOf normalized 2 2).Elements(ns + "text") |> Seq.head |> _.Value)

[<Fact>]
let ``confusion matrix: bad shapes and name counts are refused; an all-zero matrix still draws`` () =
    Assert.Throws<ArgumentException>(fun () -> Charts.confusionMatrix (Array2D.zeroCreate 2 3) None |> ignore)
    |> ignore

    Assert.Throws<ArgumentException>(fun () -> Charts.confusionMatrix cm (Some [| "a"; "b" |]) |> ignore)
    |> ignore

    let doc = parse (Charts.confusionMatrix (Array2D.zeroCreate 2 2) None)
    Assert.Equal(4, all doc "rect" |> List.filter (has "class" "cell") |> List.length)

    // From real predictions, through Metrics.confusionMatrix.
    let preds = Tensor.ofArray ([| 0.9f; 0.1f; 0.2f; 0.8f; 0.7f; 0.3f |], [ 3; 2 ])
    let targets = Tensor.ofArray ([| 0L; 1L; 1L |], [ 3 ])
    let m = Metrics.confusionMatrix preds targets
    let doc = parse (Charts.confusionMatrix m None)
    let counts = all doc "text" |> List.filter (has "class" "count") |> List.map _.Value
    Assert.Equal<string list>([ "1"; "0"; "1"; "1" ], counts)

let private filterTiles (doc: XDocument) =
    all doc "g" |> List.filter (has "class" "filter")

let private pixelFills (tile: XElement) =
    tile.Elements(ns + "rect")
    |> Seq.filter (fun r -> not (has "class" "border" r))
    |> Seq.map (attr "fill" >> Option.get)
    |> List.ofSeq

[<Fact>]
let ``filter grid: one image per filter, normalized per filter, grey for one channel`` () =
    // Filter 0 spans 0..3, filter 1 spans -100..100: each is stretched to black..white on its own.
    let w =
        Tensor.ofArray (
            [|
                0.0f
                1.0f
                2.0f
                3.0f
                -100.0f
                0.0f
                0.0f
                100.0f
                5.0f
                5.0f
                5.0f
                5.0f
            |],
            [ 3; 1; 2; 2 ]
        )

    let doc = parse (Charts.filterGrid w)
    let tiles = filterTiles doc
    Assert.Equal(3, tiles.Length)
    Assert.Equal<string list>([ "#000000"; "#555555"; "#aaaaaa"; "#ffffff" ], pixelFills tiles[0])
    Assert.Equal<string list>([ "#000000"; "#808080"; "#808080"; "#ffffff" ], pixelFills tiles[1])
    // A constant filter has no contrast to stretch: mid grey.
    Assert.Equal<string list>(List.replicate 4 "#808080", pixelFills tiles[2])

    for t in tiles do
        Assert.Single(t.Elements(ns + "rect") |> Seq.filter (has "class" "border"))
        |> ignore

[<Fact>]
let ``filter grid: three channels are colour, other channel counts their mean`` () =
    // A 1x2 RGB filter: pixel 0 pure red, pixel 1 black (a 1x1 one would be constant).
    let rgb = Tensor.ofArray ([| 1.0f; 0.0f; 0.0f; 0.0f; 0.0f; 0.0f |], [ 1; 3; 1; 2 ])
    Assert.Equal<string list>([ "#ff0000"; "#000000" ], pixelFills (filterTiles (parse (Charts.filterGrid rgb))).[0])
    // Two channels: mean of (0, 2) = 1 and (4, 4) = 4 -> black and white.
    let two = Tensor.ofArray ([| 0.0f; 4.0f; 2.0f; 4.0f |], [ 1; 2; 1; 2 ])
    Assert.Equal<string list>([ "#000000"; "#ffffff" ], pixelFills (filterTiles (parse (Charts.filterGrid two))).[0])

    Assert.Throws<ArgumentException>(fun () -> Charts.filterGrid (Tensor.ofArray ([| 1.0f; 2.0f |], [ 2 ])) |> ignore)
    |> ignore

[<Fact>]
let ``save functions write atomically into a new folder and leave no temp file`` () =
    let dir =
        Path.Combine(Path.GetTempPath(), "fn-plots-" + Guid.NewGuid().ToString "N", "nested")

    try
        let w =
            Tensor.ofArray (Array.init (8 * 3 * 3 * 3) (fun i -> float32 (sin (float i))), [ 8; 3; 3; 3 ])

        Charts.saveTrainingCurves (Path.Combine(dir, "curves.svg")) fiveEpochs
        Charts.saveConfusionMatrix (Path.Combine(dir, "cm.svg")) cm None
        Charts.saveFilterGrid (Path.Combine(dir, "filters.svg")) w
        // Overwrite: the rename replaces the old file.
        Charts.saveConfusionMatrix (Path.Combine(dir, "cm.svg")) cm (Some [| "a"; "b"; "c" |])

        let files =
            Directory.GetFiles dir |> Array.map (Path.GetFileName >> string) |> Array.sort

        Assert.Equal<string[]>([| "cm.svg"; "curves.svg"; "filters.svg" |], files)
        Assert.Equal(Charts.trainingCurves fiveEpochs, File.ReadAllText(Path.Combine(dir, "curves.svg")))
        Assert.Equal(8, filterTiles (XDocument.Load(Path.Combine(dir, "filters.svg"))) |> List.length)
        Assert.Contains(">a<", File.ReadAllText(Path.Combine(dir, "cm.svg")))

        // Sample pictures for a person to look at, when asked for.
        match Environment.GetEnvironmentVariable "FUNCTIONALNETS_PLOT_SAMPLES" with
        | null
        | "" -> ()
        | out ->
            Charts.saveTrainingCurves (Path.Combine(out, "curves.svg")) fiveEpochs
            Charts.saveConfusionMatrix (Path.Combine(out, "cm.svg")) cm (Some [| "cat"; "dog"; "bird" |])
            Charts.saveConfusionMatrixWith (Path.Combine(out, "cm-normalized.svg")) true cm None
            Charts.saveFilterGrid (Path.Combine(out, "filters.svg")) w
            // Bigger cases: ten named classes, 60 epochs with a gap, 32 smooth 7x7 RGB filters.
            let rng = Random 7

            let cifar =
                [|
                    "airplane"
                    "automobile"
                    "bird"
                    "cat"
                    "deer"
                    "dog"
                    "frog"
                    "horse"
                    "ship"
                    "truck"
                |]

            let big =
                Array2D.init 10 10 (fun r k -> if r = k then 700 + rng.Next 250 else rng.Next 40)

            Charts.saveConfusionMatrix (Path.Combine(out, "cm-cifar.svg")) big (Some cifar)

            let long =
                history
                    [
                        for e in 1..60 ->
                            [
                                "loss",
                                (if e = 30 then
                                     nan
                                 else
                                     2.0 * exp (-0.05 * float e) + 0.02 * rng.NextDouble())
                                "val_loss", 2.1 * exp (-0.04 * float e) + 0.1
                                "accuracy", 1.0 - 0.9 * exp (-0.06 * float e)
                                "val_accuracy", 0.95 - 0.9 * exp (-0.05 * float e)
                                "top5", 1.0 - 0.5 * exp (-0.1 * float e)
                            ]
                    ]

            Charts.saveTrainingCurves (Path.Combine(out, "curves-long.svg")) long

            let gabor =
                Array.init (32 * 3 * 7 * 7) (fun i ->
                    let x, y, c, o = i % 7 - 3, (i / 7) % 7 - 3, (i / 49) % 3, i / 147
                    let th = float o * Math.PI / 8.0

                    float32 (
                        exp (-(float (x * x + y * y)) / 8.0)
                        * cos (1.3 * (float x * cos th + float y * sin th) + float c)
                    ))

            let gw = Tensor.ofArray (gabor, [ 32; 3; 7; 7 ])
            Charts.saveFilterGrid (Path.Combine(out, "filters-gabor.svg")) gw
            Charts.saveFilterGridPng (Path.Combine(out, "raster-filters-gabor.png")) gw
            Charts.saveConfusionMatrixPng (Path.Combine(out, "raster-cm-cifar.png")) false big
            Charts.saveTrainingCurvesPng (Path.Combine(out, "raster-curves-long.png")) long
    finally
        let top = string (Path.GetDirectoryName dir)

        if Directory.Exists top then
            Directory.Delete(top, true)

[<Fact>]
let ``SVG numbers use the invariant culture whatever the thread culture`` () =
    let saved = Thread.CurrentThread.CurrentCulture

    try
        // A comma-decimal culture built by hand: the test host may run in globalization-invariant
        // mode, where named cultures such as de-DE do not exist.
        let comma = CultureInfo.InvariantCulture.Clone() :?> CultureInfo
        comma.NumberFormat.NumberDecimalSeparator <- ","
        comma.NumberFormat.NumberGroupSeparator <- "."
        Thread.CurrentThread.CurrentCulture <- comma
        Assert.Equal("1,5", (1.5).ToString())
        Assert.Equal("1.5", Svg.num 1.5)
        Assert.Equal("0", Svg.num -0.0001)
        let svg = Charts.trainingCurves fiveEpochs
        Assert.Equal(5, (pointsOf (parse svg) "loss").Length)
        Assert.Throws<ArgumentException>(fun () -> Svg.num nan |> ignore) |> ignore
    finally
        Thread.CurrentThread.CurrentCulture <- saved

// ---- PNG ---------------------------------------------------------------------------------------

/// A PNG decoded independently of the encoder: chunks checked against a bit-by-bit CRC, IDAT
/// inflated with ZLibStream and unfiltered (all five filter types). Returns width, height and a
/// pixel reader giving 0xRRGGBB.
let private decodePng (bytes: byte[]) =
    Assert.Equal<byte[]>([| 137uy; 80uy; 78uy; 71uy; 13uy; 10uy; 26uy; 10uy |], bytes[0..7])

    let be (i: int) =
        (int bytes[i] <<< 24)
        ||| (int bytes[i + 1] <<< 16)
        ||| (int bytes[i + 2] <<< 8)
        ||| int bytes[i + 3]

    let bitCrc (data: byte[]) =
        let mutable c = 0xFFFFFFFFu

        for b in data do
            c <- c ^^^ uint32 b

            for _ in 0..7 do
                c <- if c &&& 1u = 1u then (c >>> 1) ^^^ 0xEDB88320u else c >>> 1

        ~~~c

    let mutable pos = 8
    let chunks = ResizeArray<string * byte[]>()

    while pos < bytes.Length do
        let len = be pos
        let kind = Text.Encoding.ASCII.GetString(bytes, pos + 4, 4)
        let data = bytes[pos + 8 .. pos + 8 + len - 1]
        Assert.Equal(bitCrc bytes[pos + 4 .. pos + 8 + len - 1], uint32 (be (pos + 8 + len)))
        chunks.Add(kind, data)
        pos <- pos + 12 + len

    Assert.Equal<string list>([ "IHDR"; "IDAT"; "IEND" ], chunks |> Seq.map fst |> List.ofSeq)
    let ihdr = snd chunks[0]

    let w =
        (int ihdr[0] <<< 24)
        ||| (int ihdr[1] <<< 16)
        ||| (int ihdr[2] <<< 8)
        ||| int ihdr[3]

    let h =
        (int ihdr[4] <<< 24)
        ||| (int ihdr[5] <<< 16)
        ||| (int ihdr[6] <<< 8)
        ||| int ihdr[7]

    Assert.Equal<byte[]>([| 8uy; 2uy; 0uy; 0uy; 0uy |], ihdr[8..12])

    let raw =
        use input = new MemoryStream(snd chunks[1])

        use z =
            new IO.Compression.ZLibStream(input, IO.Compression.CompressionMode.Decompress)

        use out = new MemoryStream()
        z.CopyTo out
        out.ToArray()

    let stride = w * 3
    Assert.Equal(h * (stride + 1), raw.Length)
    let px = Array.zeroCreate<byte>(h * stride)

    for y in 0 .. h - 1 do
        let f = raw[y * (stride + 1)]

        for i in 0 .. stride - 1 do
            let x = raw[y * (stride + 1) + 1 + i]
            let a = if i >= 3 then int px[y * stride + i - 3] else 0
            let b = if y > 0 then int px[(y - 1) * stride + i] else 0

            let c =
                if i >= 3 && y > 0 then
                    int px[(y - 1) * stride + i - 3]
                else
                    0

            let pred =
                match f with
                | 0uy -> 0
                | 1uy -> a
                | 2uy -> b
                | 3uy -> (a + b) / 2
                | 4uy ->
                    let p = a + b - c
                    let pa, pb, pc = abs (p - a), abs (p - b), abs (p - c)

                    if pa <= pb && pa <= pc then a
                    elif pb <= pc then b
                    else c
                | _ -> failwithf "bad filter %d" f

            px[y * stride + i] <- byte ((int x + pred) &&& 0xFF)

    let get x y =
        let i = y * stride + x * 3
        (int px[i] <<< 16) ||| (int px[i + 1] <<< 8) ||| int px[i + 2]

    w, h, get

[<Fact>]
let ``PNG: CRC-32 matches the standard check value and a raster round-trips pixel for pixel`` () =
    let check = Text.Encoding.ASCII.GetBytes "123456789"
    Assert.Equal(0xCBF43926u, Png.crc32 check 0 check.Length)
    let r = Raster(7, 5)
    r.FillRect(1, 1, 3, 2, 0x123456)
    r.Set(6, 4, 0xff0000)
    r.Line(0, 4, 5, 4, 0x00ff00, 1, None, 0) |> ignore
    let w, h, get = decodePng (Png.fromRaster r)
    Assert.Equal((7, 5), (w, h))

    for y in 0..4 do
        for x in 0..6 do
            Assert.Equal(r.Get(x, y), get x y)

    Assert.Equal(0x123456, get 2 2)
    Assert.Equal(0xffffff, get 0 0)
    Assert.Equal(0x00ff00, get 3 4)

[<Fact>]
let ``PNG: the filter grid has one framed block per filter with per-filter normalized pixels`` () =
    let w =
        Tensor.ofArray (
            [|
                0.0f
                1.0f
                2.0f
                3.0f
                -100.0f
                0.0f
                0.0f
                100.0f
                5.0f
                5.0f
                5.0f
                5.0f
            |],
            [ 3; 1; 2; 2 ]
        )

    let width, height, get = decodePng (Charts.filterGridPng w)
    // 2x2 filters at 24 pixels per weight (48 / 2), gap 8, two columns and two rows.
    Assert.Equal((8 + 2 * (48 + 8), 8 + 2 * (48 + 8)), (width, height))

    let at f x y =
        get (8 + (f % 2) * 56 + x * 24 + 12) (8 + (f / 2) * 56 + y * 24 + 12)

    Assert.Equal<int list>([ 0x000000; 0x555555; 0xaaaaaa; 0xffffff ], [ at 0 0 0; at 0 1 0; at 0 0 1; at 0 1 1 ])
    Assert.Equal<int list>([ 0x000000; 0x808080; 0x808080; 0xffffff ], [ at 1 0 0; at 1 1 0; at 1 0 1; at 1 1 1 ])
    Assert.Equal(0x808080, at 2 0 0)
    // The border one pixel outside the first filter, and white background between filters.
    Assert.Equal(0x888888, get 6 20)
    Assert.Equal(0xffffff, get 4 20)
    Assert.Equal(0xffffff, get 3 3)

[<Fact>]
let ``PNG: the heatmap has C*C cells in the map colours with contrasting count digits`` () =
    let raster = Charts.confusionMatrixRaster false cm
    let width, height, get = decodePng (Png.fromRaster raster)
    Assert.Equal((raster.Width, raster.Height), (width, height))
    // cm is 3x3: cells of 48 pixels; find the grid by its frame colour on the diagonal.
    let cell = 48

    let gx =
        Seq.find (fun x -> get x (height - 11) = 0x444444) (seq { 0 .. width - 1 }) + 1

    let gy =
        Seq.find (fun y -> get (width - 11) y = 0x444444) (seq { 0 .. height - 1 }) + 1

    let maxCount = 50.0

    for r in 0..2 do
        for k in 0..2 do
            let red, green, blue = Charts.heatColor (float cm[r, k] / maxCount)
            let bg = Png.rgb red green blue
            // A corner of the cell is background; the count's digits are the contrasting ink.
            Assert.Equal(bg, get (gx + k * cell + 1) (gy + r * cell + 1))

            let ink =
                if Charts.darkTextOn (red, green, blue) then
                    0x000000
                else
                    0xffffff

            let inked =
                seq {
                    for y in gy + r * cell .. gy + (r + 1) * cell - 1 do
                        for x in gx + k * cell .. gx + (k + 1) * cell - 1 -> get x y
                }
                |> Seq.filter ((=) ink)
                |> Seq.length

            Assert.True(inked > 0, sprintf "cell %d,%d has no digits" r k)

[<Fact>]
let ``PNG: training curves draw both series colours and save atomically`` () =
    let width, height, get = decodePng (Charts.trainingCurvesPng fiveEpochs)
    Assert.Equal((2 * 440, 300), (width, height))

    let colours =
        seq {
            for y in 0 .. height - 1 do
                for x in 0 .. width - 1 -> get x y
        }
        |> Set.ofSeq

    Assert.Contains(0x1f77b4, colours)
    Assert.Contains(0xff7f0e, colours)
    // One epoch and an empty history still draw.
    decodePng (Charts.trainingCurvesPng (history [ [ "loss", 1.0 ] ])) |> ignore
    decodePng (Charts.trainingCurvesPng { Epochs = []; Messages = [] }) |> ignore

    let dir =
        Path.Combine(Path.GetTempPath(), "fn-plots-png-" + Guid.NewGuid().ToString "N")

    try
        let w =
            Tensor.ofArray (Array.init (16 * 3 * 5 * 5) (fun i -> float32 (cos (0.37 * float i))), [ 16; 3; 5; 5 ])

        Charts.saveTrainingCurvesPng (Path.Combine(dir, "curves.png")) fiveEpochs
        Charts.saveConfusionMatrixPng (Path.Combine(dir, "cm.png")) true cm
        Charts.saveFilterGridPng (Path.Combine(dir, "filters.png")) w

        let files =
            Directory.GetFiles dir |> Array.map (Path.GetFileName >> string) |> Array.sort

        Assert.Equal<string[]>([| "cm.png"; "curves.png"; "filters.png" |], files)

        for f in files do
            decodePng (File.ReadAllBytes(Path.Combine(dir, f))) |> ignore

        match Environment.GetEnvironmentVariable "FUNCTIONALNETS_PLOT_SAMPLES" with
        | null
        | "" -> ()
        | out ->
            for f in files do
                File.Copy(Path.Combine(dir, f), Path.Combine(out, "raster-" + f), true)
    finally
        if Directory.Exists dir then
            Directory.Delete(dir, true)
