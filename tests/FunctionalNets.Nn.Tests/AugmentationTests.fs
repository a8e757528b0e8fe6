module FunctionalNets.Tests.Nn.AugmentationTests

// Issue 14, item 4: transforms for any dataset, drawing fresh randomness every epoch from the run's key.
// Expected values are written out by hand or found from the output by search (the offset of a shift), never
// taken from the library's own draws.

open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn

let private floats (t: Tensor) = Tensor.toArray t :?> float32[]

// n images [n; 1; h; w] whose pixels are all distinct and > 0: 1 + the flat index.
let private distinct (n: int) (h: int) (w: int) =
    Tensor.ofArray (Array.init (n * h * w) (fun i -> float32 (i + 1)), [ n; 1; h; w ])

let ``randomVerticalFlip with p = 1 reverses the rows, with p = 0 keeps them`` () =
    let x = Tensor.ofArray ([| 1.0f; 2.0f; 3.0f; 4.0f; 5.0f; 6.0f |], [ 1; 1; 3; 2 ])

    Expect.equal
        (floats (Transforms.randomVerticalFlip (Key.create 3L) 1.0 x))
        [| 5.0f; 6.0f; 3.0f; 4.0f; 1.0f; 2.0f |]
        "floats (Transforms.randomVerticalFlip (Key.create 3L) 1.0 x)"

    Expect.equal
        (floats (Transforms.randomVerticalFlip (Key.create 3L) 0.0 x))
        (floats x)
        "floats (Transforms.randomVerticalFlip (Key.create 3L) 0.0 x)"

// The (di, dj) with |di|, |dj| <= r such that out[i, j] = img[i - di, j - dj] inside and 0 where that falls
// outside; None when no shift explains the output.
let private findShift (img: float32[]) (out: float32[]) (h: int) (w: int) (r: int) =
    [
        for di in -r .. r do
            for dj in -r .. r do
                let fits =
                    Seq.forall
                        (fun (i, j) ->
                            let si, sj = i - di, j - dj

                            let expected =
                                if si >= 0 && si < h && sj >= 0 && sj < w then
                                    img[si * w + sj]
                                else
                                    0.0f

                            out[i * w + j] = expected)
                        (Seq.allPairs [ 0 .. h - 1 ] [ 0 .. w - 1 ])

                if fits then
                    yield di, dj
    ]

let ``randomAffine without rotation or scaling is an integer shift with zeros, found by search`` () =
    let n, h, w = 6, 8, 8
    let x = distinct n h w
    let y = floats (Transforms.randomAffine (Key.create 11L) 0.0 0.25 1.0 1.0 x)
    let xs = floats x

    let shifts =
        Array.init n (fun b -> findShift xs[b * h * w .. (b + 1) * h * w - 1] y[b * h * w .. (b + 1) * h * w - 1] h w 2)
    // Each image is its input moved by one shift of at most 0.25 * 8 = 2 pixels, and the draws differ.
    shifts |> Seq.iter (fun s -> Expect.equal s.Length 1 "each shift's length")

    Expect.isTrue
        ((shifts |> Array.map List.head |> Array.distinct).Length > 1)
        "(shifts |> Array.map List.head |> Array.distinct).Length > 1"

    // Identity settings change nothing; a 90-degree range and a scale range keep the shape.
    Expect.equal
        (floats (Transforms.randomAffine (Key.create 11L) 0.0 0.0 1.0 1.0 x))
        xs
        "floats (Transforms.randomAffine (Key.create 11L) 0.0 0.0 1.0 1.0 x)"

    Expect.equal
        ((Transforms.randomAffine (Key.create 1L) 90.0 0.1 0.8 1.2 x).Shape.ToList())
        [ n; 1; h; w ]
        "(Transforms.randomAffine (Key.create 1L) 90.0 0.1 0.8 1.2 x).Shape.ToList()"

let ``randomErasing sets one rectangle per image in every channel, within the area and ratio bounds`` () =
    let n, c, h, w = 8, 2, 10, 10
    let x = Tensor.ones [ n; c; h; w ]

    let y =
        floats (Transforms.randomErasing (Key.create 4L) 1.0 (0.1, 0.3) (0.5, 2.0) -1.0 x)

    for b in 0 .. n - 1 do
        let erased ch =
            [
                for i in 0 .. h - 1 do
                    for j in 0 .. w - 1 do
                        if y[((b * c + ch) * h + i) * w + j] = -1.0f then
                            yield i, j
            ]

        let cells = erased 0
        Expect.equal (erased 1) cells "erased 1"
        // Every other pixel keeps its value.
        Expect.equal
            (y[b * c * h * w .. (b + 1) * c * h * w - 1]
             |> Array.filter ((=) 1.0f)
             |> Array.length)
            (h * w * c - 2 * cells.Length)
            "y[b * c * h * w .. (b + 1) * c * h * w - 1] |> Array.filter ((=) 1.0f) |> Array.length"

        let rows = cells |> List.map fst |> List.distinct
        let cols = cells |> List.map snd |> List.distinct
        // A full rectangle: rows x cols cells.
        Expect.equal cells.Length (rows.Length * cols.Length) "cells.Length"
        let area = float cells.Length / float (h * w)
        // Rounding the sides moves the area a little past the drawn share.
        Checks.inRange "area" 0.05 0.4 area
        Checks.inRange "float rows.Length / float cols.Length" 0.3 3.0 (float rows.Length / float cols.Length)

    Expect.equal
        (floats (Transforms.randomErasing (Key.create 4L) 0.0 (0.1, 0.3) (0.5, 2.0) -1.0 x))
        (floats x)
        "floats (Transforms.randomErasing (Key.create 4L) 0.0 (0.1, 0.3) (0.5, 2.0) -1.0 x)"

let private augmented () =
    let n = 16

    let ds =
        Dataset.ofTensors (distinct n 6 6) (Tensor.ofArray (Array.init n int64, [ n ]))

    Dataset.mapWithKey
        (fun k b ->
            { b with
                Input = Transforms.randomCrop k 2 6 b.Input
            })
        ds

let private epoch (ds: IDataset) (key: Key) =
    // No shuffling: the same examples in the same order every epoch, so any change is the augmentation's.
    DataLoader.batches (DataLoader.create ds 4 false false) key
    |> Seq.map (fun b -> floats b.Input)
    |> Array.concat

let ``Dataset.mapWithKey draws from the loader's key: the same key repeats an epoch, another epoch differs`` () =
    let ds = augmented ()
    let run = Key.create 9L
    let e1 = epoch ds (Key.foldIn 1 run)
    Expect.equal (epoch ds (Key.foldIn 1 run)) e1 "epoch ds (Key.foldIn 1 run)"
    Expect.equal (epoch (augmented ()) (Key.foldIn 1 run)) e1 "epoch (augmented ()) (Key.foldIn 1 run)"
    Expect.notEqual (epoch ds (Key.foldIn 2 run)) e1 "epoch ds (Key.foldIn 2 run)"
    // Subsets keep the augmentation keyed by the loader.
    let sub = Dataset.take 8 ds
    Expect.notEqual (epoch sub (Key.foldIn 2 run)) (epoch sub (Key.foldIn 1 run)) "epoch sub (Key.foldIn 2 run)"

let ``Under fit, augmentation differs across epochs without shuffling and repeats with the same seed`` () =
    let seen = System.Collections.Generic.List<float32[]>()

    let recorder =
        Layer.stateless "Record" id (fun ctx x ->
            if ctx.Mode = Mode.Train then
                seen.Add(floats x)

            x)

    let model = recorder >-> Layers.flatten () >-> Layers.linear (36, 16)
    let tx = Optim.sgd 0.01

    let run () =
        seen.Clear()

        let options =
            { FitOptions.defaults with
                Epochs = 2
                BatchSize = 16
                Shuffle = false
            }

        Train.fit model Losses.crossEntropy tx options (augmented ()) (Train.init model [ 1; 6; 6 ] tx (Key.create 2L))
        |> ignore

        List.ofSeq seen

    let first = run ()
    Expect.equal first.Length 2 "first.Length"
    Expect.notEqual first[1] first[0] "first[1]"
    Expect.equal (run ()) first "run ()"

/// The tests of this module.
let tests =
    testList
        "Augmentation"
        [
            testCase
                "randomVerticalFlip with p = 1 reverses the rows, with p = 0 keeps them"
                ``randomVerticalFlip with p = 1 reverses the rows, with p = 0 keeps them``
            testCase
                "randomAffine without rotation or scaling is an integer shift with zeros, found by search"
                ``randomAffine without rotation or scaling is an integer shift with zeros, found by search``
            testCase
                "randomErasing sets one rectangle per image in every channel, within the area and ratio bounds"
                ``randomErasing sets one rectangle per image in every channel, within the area and ratio bounds``
            testCase
                "Dataset.mapWithKey draws from the loader's key: the same key repeats an epoch, another epoch differs"
                ``Dataset.mapWithKey draws from the loader's key: the same key repeats an epoch, another epoch differs``
            testCase
                "Under fit, augmentation differs across epochs without shuffling and repeats with the same seed"
                ``Under fit, augmentation differs across epochs without shuffling and repeats with the same seed``
        ]
