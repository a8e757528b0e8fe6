module FunctionalNets.Tests.Nn.PlotTests

open System
open System.IO
open System.Xml.Linq
open SkiaSharp
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn
open FunctionalNets.Plots

let private history (rows: (string * float) list list) =
    {
        Epochs = rows |> List.map Map.ofList
        Messages = []
    }

let private withFolder body = TestFiles.withTemp "fn-plots-" body

let private decode (path: string) =
    match SKBitmap.Decode path with
    | null -> failwithf "%s does not decode as an image" path
    | bitmap -> bitmap

/// Pixels (x, y) of a bitmap that satisfy the predicate.
let private pixelsWhere (bitmap: SKBitmap) (predicate: SKColor -> bool) =
    [
        for y in 0 .. bitmap.Height - 1 do
            for x in 0 .. bitmap.Width - 1 do
                if predicate (bitmap.GetPixel(x, y)) then
                    yield x, y
    ]

let private tensor (shape: int list) (values: float list) =
    Tensor.ofArray (values |> List.map float32 |> Array.ofList, shape)

let ``training-curve panels: loss first, then metrics by name, validation paired, non-finite epochs left out`` () =
    let h =
        history
            [
                [ "accuracy", 0.5; "loss", 2.0; "val_loss", 2.5; "val_top5", 0.9 ]
                [ "accuracy", 0.7; "loss", nan; "val_loss", 1.5; "val_top5", 0.95 ]
                [ "accuracy", 0.8; "loss", 1.0; "val_loss", infinity ]
            ]

    let panels = TrainingCurves.panels h
    Expect.equal (panels |> List.map _.Metric) [ "loss"; "accuracy"; "top5" ] "panels |> List.map _.Metric"
    let loss = panels[0]
    Expect.equal loss.Train [ 1.0, 2.0; 3.0, 1.0 ] "loss.Train"
    Expect.equal loss.Validation [ 1.0, 2.5; 2.0, 1.5 ] "loss.Validation"
    Expect.equal (panels[1].Train) [ 1.0, 0.5; 2.0, 0.7; 3.0, 0.8 ] "panels[1].Train"
    Expect.isEmpty panels[1].Validation "panels[1].Validation"
    Expect.isEmpty panels[2].Train "panels[2].Train"
    Expect.equal (panels[2].Validation) [ 1.0, 0.9; 2.0, 0.95 ] "panels[2].Validation"

let ``confusion counts and row shares match a hand count`` () =
    let actual = [| 0; 0; 1; 2; 2; 2 |]
    let predicted = [| 0; 1; 1; 2; 0; 2 |]
    let m = ConfusionMatrix.count 4 actual predicted
    // Rows are true classes: class 0 -> {0, 1}, class 1 -> {1}, class 2 -> {2, 0, 2}; class 3 unseen.
    let expected =
        array2D [ [ 1; 1; 0; 0 ]; [ 0; 1; 0; 0 ]; [ 1; 0; 2; 0 ]; [ 0; 0; 0; 0 ] ]

    Expect.equal m expected "m"
    let shares = ConfusionMatrix.intensities true m
    Expect.equal (System.Math.Round(shares[0, 1], 12)) (System.Math.Round(0.5, 12)) "shares[0, 1] to 12 places"
    Expect.equal (System.Math.Round(shares[2, 0], 12)) (System.Math.Round(1.0 / 3.0, 12)) "shares[2, 0] to 12 places"
    Expect.equal (System.Math.Round(shares[2, 2], 12)) (System.Math.Round(2.0 / 3.0, 12)) "shares[2, 2] to 12 places"
    Expect.equal (System.Math.Round(shares[3, 3], 12)) (System.Math.Round(0.0, 12)) "shares[3, 3] to 12 places"

    Expect.equal
        (System.Math.Round((ConfusionMatrix.intensities false m)[2, 2], 12))
        (System.Math.Round(2.0, 12))
        "(ConfusionMatrix.intensities false m)[2, 2] to 12 places"

let ``confusion counts reject mismatched lengths and negative classes, naming the operation`` () =
    let e1 =
        Expects.throws<ArgumentException> "ConfusionMatrix.count 0 [| 0; 1 |] [| 0 |]" (fun () ->
            ConfusionMatrix.count 0 [| 0; 1 |] [| 0 |] |> ignore)

    Expect.stringContains e1.Message "ConfusionMatrix.count" "e1.Message"
    Expect.stringContains e1.Message "2 true classes but 1 predictions" "e1.Message"

    let e2 =
        Expects.throws<ArgumentException> "ConfusionMatrix.count 0 [| 0; -1 |] [| 0; 0 |]" (fun () ->
            ConfusionMatrix.count 0 [| 0; -1 |] [| 0; 0 |] |> ignore)

    Expect.stringContains e2.Message ">= 0" "e2.Message"

let ``filter tiles are stretched per filter; a constant filter is mid grey; three channels stay colour`` () =
    // Two grey filters [2; 1; 1; 2]: (-1, 3) stretches to (0, 1); (5, 5) is constant.
    let grey = ImageGrid.filterTiles (tensor [ 2; 1; 1; 2 ] [ -1.0; 3.0; 5.0; 5.0 ])
    Expect.equal (grey[0].Pixels) [| 0.0, 0.0, 0.0; 1.0, 1.0, 1.0 |] "grey[0].Pixels"
    Expect.equal (grey[1].Pixels) [| 0.5, 0.5, 0.5; 0.5, 0.5, 0.5 |] "grey[1].Pixels"
    // One RGB filter [1; 3; 1; 1] = (r, g, b) = (0, 2, 4): stretched over all channels together.
    let rgb = ImageGrid.filterTiles (tensor [ 1; 3; 1; 1 ] [ 0.0; 2.0; 4.0 ])
    Expect.equal (rgb[0].Pixels) [| 0.0, 0.5, 1.0 |] "rgb[0].Pixels"

let ``sample tiles map low to black and high to white with clamping`` () =
    let tiles =
        ImageGrid.sampleTiles -1.0 1.0 (tensor [ 1; 1; 4 ] [ -1.0; 0.0; 1.0; 7.0 ])

    Expect.equal (tiles[0].Pixels) [| 0.0, 0.0, 0.0; 0.5, 0.5, 0.5; 1.0, 1.0, 1.0; 1.0, 1.0, 1.0 |] "tiles[0].Pixels"

    let e =
        Expects.throws<ArgumentException> "ImageGrid.sampleTiles 1.0 1.0 (tensor [ 1; 1; 1 ] [ 0.0 ])" (fun () ->
            ImageGrid.sampleTiles 1.0 1.0 (tensor [ 1; 1; 1 ] [ 0.0 ]) |> ignore)

    Expect.stringContains e.Message "low < high" "e.Message"

let ``the composed grid places tile i at row i / columns, column i % columns, with white gaps`` () =
    let tile v =
        {
            Height = 1
            Width = 1
            Pixels = [| v, v, v |]
        }

    // Three 1x1 tiles -> a 2 x 2 grid; zoom 2: each pixel a 2x2 block, cells of 4 pixels (tile + gap) and
    // a leading 2-pixel gap: 2 + 2 * 4 = 10 pixels a side.
    let image = ImageGrid.compose 2 [| tile 0.0; tile 0.2; tile 0.4 |]
    Expect.equal (Array3D.length1 image) 10 "Array3D.length1 image"
    Expect.equal (Array3D.length2 image) 10 "Array3D.length2 image"
    let at y x = image[y, x, 0]
    Expect.equal (at 2 2) 0uy "at 2 2" // tile 0: rows 2-3, columns 2-3
    Expect.equal (at 3 6) 51uy "at 3 6" // tile 1: rows 2-3, columns 6-7 (0.2 * 255 = 51)
    Expect.equal (at 7 3) 102uy "at 7 3" // tile 2: rows 6-7, columns 2-3
    Expect.equal (at 0 0) 255uy "at 0 0" // gap
    Expect.equal (at 6 6) 255uy "at 6 6" // the fourth cell is empty

let ``weight histogram counts match a hand binning`` () =
    // Range [0, 4] in 4 bins of width 1: 0 and 0.5 in bin 0, 1.5 in bin 1, 4 (the maximum) in bin 3.
    let counts, edges = WeightHistograms.counts 4 [| 0.0; 0.5; 1.5; 4.0; nan |]
    Expect.equal counts [| 2; 1; 0; 1 |] "counts"
    Expect.equal edges [| 0.0; 1.0; 2.0; 3.0; 4.0 |] "edges"
    let constant, _ = WeightHistograms.counts 10 [| 2.0; 2.0 |]
    Expect.equal constant [| 2 |] "constant"

let ``training curves render as a PNG of the stated size and an SVG naming every metric`` () =
    withFolder (fun dir ->
        let h =
            history
                [
                    for e in 0..3 ->
                        [
                            "loss", 2.0 / float (e + 1)
                            "accuracy", 0.5 + 0.1 * float e
                            "val_loss", 2.2 / float (e + 1)
                        ]
                ]

        let png = Path.Combine(dir, "curves.png")
        TrainingCurves.save png h
        use bitmap = decode png
        // Two panels side by side, 480 x 360 each.
        Expect.equal bitmap.Width 960 "bitmap.Width"
        Expect.equal bitmap.Height 360 "bitmap.Height"
        let svg = Path.Combine(dir, "curves.svg")
        TrainingCurves.save svg h
        let doc = XDocument.Load svg
        Expect.equal doc.Root.Name.LocalName "svg" "doc.Root.Name.LocalName"
        let text = doc.ToString()
        Expect.stringContains text "loss" "text"
        Expect.stringContains text "accuracy" "text"

        Expect.equal
            (Directory.GetFiles dir |> Array.map Path.GetFileName |> Array.sort)
            [| "curves.png"; "curves.svg" |]
            "Directory.GetFiles dir |> Array.map Path.GetFileName |> Array.sort")

let ``the confusion heatmap draws the true class top to bottom and the prediction left to right`` () =
    withFolder (fun dir ->
        // Every example of class 0 is predicted as class 2: the only dark cell is top right.
        let m = ConfusionMatrix.count 3 [| 0; 0; 0; 0 |] [| 2; 2; 2; 2 |]
        let path = Path.Combine(dir, "cm.png")
        ConfusionMatrix.save path false None m
        use bitmap = decode path
        // Blues at its top is a dark blue; the empty cells are near white.
        let dark = pixelsWhere bitmap (fun c -> int c.Blue - int c.Red > 80 && c.Red < 80uy)
        Expect.isTrue (dark.Length > 1000) (sprintf "expected a dark cell, found %d dark blue pixels" dark.Length)
        let meanX = dark |> List.averageBy (fst >> float)
        let meanY = dark |> List.averageBy (snd >> float)
        Expect.isTrue (meanX > 0.6 * float bitmap.Width) (sprintf "dark cell centre x = %.0f of %d" meanX bitmap.Width)

        Expect.isTrue
            (meanY < 0.45 * float bitmap.Height)
            (sprintf "dark cell centre y = %.0f of %d" meanY bitmap.Height))

let ``a sample grid draws the first image on the left`` () =
    withFolder (fun dir ->
        // Two 8x8 images, black then white: a 2 x 1 grid, the black tile on the left.
        let images =
            tensor [ 2; 8; 8 ] [ yield! List.replicate 64 0.0; yield! List.replicate 64 1.0 ]

        let path = Path.Combine(dir, "samples.png")
        ImageGrid.saveSamples path 0.0 1.0 "two" images
        use bitmap = decode path

        let black =
            pixelsWhere bitmap (fun c -> c.Red < 30uy && c.Green < 30uy && c.Blue < 30uy)

        let left = black |> List.filter (fun (x, _) -> x < bitmap.Width / 2) |> List.length

        Expect.isTrue
            (left > 2000)
            (sprintf "expected the black tile on the left, %d of %d black pixels there" left black.Length)

        Expect.isTrue (float left > 0.9 * float black.Length) "float left > 0.9 * float black.Length")

let ``saving into a missing folder names the folder; a bad extension names the file; nothing is left behind`` () =
    withFolder (fun dir ->
        let h = history [ [ "loss", 1.0 ] ]
        let missing = Path.Combine(dir, "no-such-folder")

        let e =
            Expects.throws<DirectoryNotFoundException>
                "TrainingCurves.save (Path.Combine(missing, \"c.png\")) h"
                (fun () -> TrainingCurves.save (Path.Combine(missing, "c.png")) h)

        Expect.stringContains e.Message missing "e.Message"
        Expect.stringContains e.Message "TrainingCurves.save" "e.Message"

        let bad =
            Expects.throws<ArgumentException> "TrainingCurves.save (Path.Combine(dir, \"c.jpg\")) h" (fun () ->
                TrainingCurves.save (Path.Combine(dir, "c.jpg")) h)

        Expect.stringContains bad.Message "c.jpg" "bad.Message"
        Expect.stringContains bad.Message ".png or .svg" "bad.Message"
        // An existing picture is replaced whole, and no temporary file stays.
        let path = Path.Combine(dir, "c.png")
        File.WriteAllText(path, "old")
        TrainingCurves.save path h
        use bitmap = decode path
        Expect.isTrue (bitmap.Width > 0) "bitmap.Width > 0"

        Expect.equal
            (Directory.GetFiles dir |> Array.map Path.GetFileName)
            [| "c.png" |]
            "Directory.GetFiles dir |> Array.map Path.GetFileName")

let ``weight histograms render one panel per parameter`` () =
    withFolder (fun dir ->
        let path = Path.Combine(dir, "w.png")

        WeightHistograms.save
            path
            [
                "0.weight", tensor [ 2; 3 ] [ 0.1; -0.2; 0.3; 0.0; 0.5; -0.5 ]
                "0.bias", tensor [ 2 ] [ 0.0; 1.0 ]
            ]

        use bitmap = decode path
        // Two panels side by side, 360 x 280 each.
        Expect.equal bitmap.Width 720 "bitmap.Width"
        Expect.equal bitmap.Height 280 "bitmap.Height")

/// The tests of this module.
let tests =
    testList
        "Plot"
        [
            testCase
                "training-curve panels: loss first, then metrics by name, validation paired, non-finite epochs left out"
                ``training-curve panels: loss first, then metrics by name, validation paired, non-finite epochs left out``
            testCase
                "confusion counts and row shares match a hand count"
                ``confusion counts and row shares match a hand count``
            testCase
                "confusion counts reject mismatched lengths and negative classes, naming the operation"
                ``confusion counts reject mismatched lengths and negative classes, naming the operation``
            testCase
                "filter tiles are stretched per filter; a constant filter is mid grey; three channels stay colour"
                ``filter tiles are stretched per filter; a constant filter is mid grey; three channels stay colour``
            testCase
                "sample tiles map low to black and high to white with clamping"
                ``sample tiles map low to black and high to white with clamping``
            testCase
                "the composed grid places tile i at row i / columns, column i % columns, with white gaps"
                ``the composed grid places tile i at row i / columns, column i % columns, with white gaps``
            testCase "weight histogram counts match a hand binning" ``weight histogram counts match a hand binning``
            testCase
                "training curves render as a PNG of the stated size and an SVG naming every metric"
                ``training curves render as a PNG of the stated size and an SVG naming every metric``
            testCase
                "the confusion heatmap draws the true class top to bottom and the prediction left to right"
                ``the confusion heatmap draws the true class top to bottom and the prediction left to right``
            testCase
                "a sample grid draws the first image on the left"
                ``a sample grid draws the first image on the left``
            testCase
                "saving into a missing folder names the folder; a bad extension names the file; nothing is left behind"
                ``saving into a missing folder names the folder; a bad extension names the file; nothing is left behind``
            testCase
                "weight histograms render one panel per parameter"
                ``weight histograms render one panel per parameter``
        ]
