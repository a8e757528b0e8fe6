module FunctionalNets.Tests.Nn.TransformTests

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn

let private floats (t: Tensor) = Tensor.toArray t :?> float32[]

let private images (seed: int64) (n: int) (c: int) (h: int) (w: int) =
    Tensor.rand (Key.create seed, [ n; c; h; w ])

// Element (b, ch, i, j) of a row-major [n; c; h; w] array.
let private at (a: float32[]) (c: int) (h: int) (w: int) b ch i j = a[((b * c + ch) * h + i) * w + j]

let ``normalize subtracts the channel mean and divides by the channel std`` () =
    let x = images 1L 2 3 4 5
    let mean = [| 0.1; 0.5; 0.9 |]
    let std = [| 0.2; 0.25; 4.0 |]
    let y = floats (Transforms.normalize mean std x)
    let xs = floats x
    Expect.equal y.Length xs.Length "y.Length"

    for b in 0..1 do
        for ch in 0..2 do
            for i in 0..3 do
                for j in 0..4 do
                    let expected = (float (at xs 3 4 5 b ch i j) - mean[ch]) / std[ch]

                    Expect.equal
                        (System.Math.Round(float (at y 3 4 5 b ch i j), 5))
                        (System.Math.Round(expected, 5))
                        "float (at y 3 4 5 b ch i j) to 5 places"

let ``normalize by hand on a constant image and a single image`` () =
    // A [3; 1; 2] image of 0.5 everywhere: channel c becomes (0.5 - m_c) / s_c.
    let x = Tensor.full ([ 3; 1; 2 ], 0.5)
    let y = floats (Transforms.normalizeCifar10 x)
    let expected = Array.init 3 (fun c -> (0.5 - Cifar10.Mean[c]) / Cifar10.Std[c])

    for c in 0..2 do
        Expect.equal
            (System.Math.Round(float y[2 * c], 5))
            (System.Math.Round(expected[c], 5))
            "float y[2 * c] to 5 places"

        Expect.equal
            (System.Math.Round(float y[2 * c + 1], 5))
            (System.Math.Round(expected[c], 5))
            "float y[2 * c + 1] to 5 places"

    Expect.equal Cifar10.Mean [| 0.4914; 0.4822; 0.4465 |] "Cifar10.Mean"
    Expect.equal Cifar10.Std [| 0.2470; 0.2435; 0.2616 |] "Cifar10.Std"

let ``normalize rejects a channel count mismatch and non-positive std`` () =
    let x = images 2L 1 4 2 2

    let e =
        Expects.throws<ArgumentException> "Transforms.normalizeCifar10 x" (fun () ->
            Transforms.normalizeCifar10 x |> ignore)

    Expect.stringContains e.Message "4 channels" "e.Message"

    Expects.throws<ArgumentException>
        "Transforms.normalize [| 0.0; 0.0; 0.0; 0.0 |] [| 1.0; 0.0; 1.0; 1.0 |] x"
        (fun () ->
            Transforms.normalize [| 0.0; 0.0; 0.0; 0.0 |] [| 1.0; 0.0; 1.0; 1.0 |] x
            |> ignore)
    |> ignore

let ``random crop keeps the shape and equals a hand-made crop of the zero-padded image`` () =
    let n, c, h, w = 16, 3, 32, 32
    let x = images 3L n c h w
    let key = Key.create 42L
    let y = Transforms.randomCrop key 4 32 x
    Expect.equal (y.Shape.ToArray()) [| n; c; 32; 32 |] "y.Shape.ToArray()"

    let offsets = Transforms.cropOffsets key n 8 8
    let xs, ys = floats x, floats y

    for b in 0 .. n - 1 do
        let top, left = offsets[b]
        Checks.inRange "top" 0 8 top
        Checks.inRange "left" 0 8 left

        for ch in 0 .. c - 1 do
            for i in 0..31 do
                for j in 0..31 do
                    // Padded coordinates (top + i, left + j) are (top + i - 4, left + j - 4) in the original.
                    let si, sj = top + i - 4, left + j - 4

                    let expected =
                        if si >= 0 && si < h && sj >= 0 && sj < w then
                            at xs c h w b ch si sj
                        else
                            0.0f

                    Expect.equal (at ys c 32 32 b ch i j) expected "at ys c 32 32 b ch i j"

let ``random crop offsets cover the range and vary between images`` () =
    let offsets = Transforms.cropOffsets (Key.create 7L) 2000 8 8
    let tops = offsets |> Array.map fst |> Array.distinct |> Array.sort
    let lefts = offsets |> Array.map snd |> Array.distinct |> Array.sort
    Expect.equal tops [| 0..8 |] "tops"
    Expect.equal lefts [| 0..8 |] "lefts"

let ``crop without padding at offset zero is the identity and a smaller crop is the window`` () =
    let x = images 4L 2 3 6 5
    let square = images 14L 2 3 5 5

    Expect.equal
        (floats (Transforms.cropAt [| (0, 0); (0, 0) |] 0 5 square))
        (floats square)
        "floats (Transforms.cropAt [| (0, 0); (0, 0) |] 0 5 square)"

    let y = Transforms.cropAt [| (1, 2); (0, 0) |] 0 3 x
    Expect.equal (y.Shape.ToArray()) [| 2; 3; 3; 3 |] "y.Shape.ToArray()"
    let xs, ys = floats x, floats y

    for ch in 0..2 do
        for i in 0..2 do
            for j in 0..2 do
                Expect.equal (at ys 3 3 3 0 ch i j) (at xs 3 6 5 0 ch (1 + i) (2 + j)) "at ys 3 3 3 0 ch i j"
                Expect.equal (at ys 3 3 3 1 ch i j) (at xs 3 6 5 1 ch i j) "at ys 3 3 3 1 ch i j"

let ``crop rejects windows that do not fit`` () =
    let x = images 5L 1 3 8 8

    Expects.throws<ArgumentException> "Transforms.randomCrop (Key.create 1L) 0 9 x" (fun () ->
        Transforms.randomCrop (Key.create 1L) 0 9 x |> ignore)
    |> ignore

    Expects.throws<ArgumentOutOfRangeException> "Transforms.cropAt [| (3, 0) |] 1 8 x" (fun () ->
        Transforms.cropAt [| (3, 0) |] 1 8 x |> ignore)
    |> ignore

let ``flip reverses the last dim exactly for flipped images and copies the others`` () =
    let n, c, h, w = 64, 3, 4, 7
    let x = images 6L n c h w
    let key = Key.create 9L
    let y = Transforms.randomHorizontalFlip key 0.5 x
    let flags = Transforms.flipFlags key n 0.5
    let xs, ys = floats x, floats y
    let flipped = flags |> Array.filter id |> Array.length
    Checks.inRange "flipped" 16 48 flipped

    for b in 0 .. n - 1 do
        for ch in 0 .. c - 1 do
            for i in 0 .. h - 1 do
                for j in 0 .. w - 1 do
                    let sj = if flags[b] then w - 1 - j else j
                    Expect.equal (at ys c h w b ch i j) (at xs c h w b ch i sj) "at ys c h w b ch i j"

let ``flip with p 0 is the identity and with p 1 mirrors everything`` () =
    let x = images 7L 5 3 4 6

    Expect.equal
        (floats (Transforms.randomHorizontalFlip (Key.create 1L) 0.0 x))
        (floats x)
        "floats (Transforms.randomHorizontalFlip (Key.create 1L) 0.0 x)"

    let all = floats (Transforms.randomHorizontalFlip (Key.create 1L) 1.0 x)
    Expect.equal all (floats (Transforms.horizontalFlip x)) "all"
    // Mirroring twice gives the input back.
    Expect.equal
        (floats (Transforms.horizontalFlip (Transforms.horizontalFlip x)))
        (floats x)
        "floats (Transforms.horizontalFlip (Transforms.horizontalFlip x))"

    Expect.equal (at all 3 4 6 2 1 3 5) (at (floats x) 3 4 6 2 1 3 0) "at all 3 4 6 2 1 3 5"

let ``same key same result, different keys differ`` () =
    let x = images 8L 32 3 32 32

    let run (seed: int64) =
        floats (Transforms.cifar10Train (Key.create seed) x)

    Expect.equal (run 1L) (run 1L) "run 1L"
    Expect.notEqual (run 2L) (run 1L) "run 2L"

    let crop (seed: int64) =
        floats (Transforms.randomCrop (Key.create seed) 4 32 x)

    Expect.equal (crop 3L) (crop 3L) "crop 3L"
    Expect.notEqual (crop 4L) (crop 3L) "crop 4L"

    let flip (seed: int64) =
        floats (Transforms.randomHorizontalFlip (Key.create seed) 0.5 x)

    Expect.equal (flip 5L) (flip 5L) "flip 5L"
    Expect.notEqual (flip 6L) (flip 5L) "flip 6L"

let ``compose applies the transforms in order with separate keys`` () =
    let x = images 9L 2 3 4 4

    let t =
        Transforms.compose
            [
                Transforms.ignoreKey (fun x -> x + 1.0)
                Transforms.ignoreKey (fun x -> x * 2.0)
            ]

    let expected = floats x |> Array.map (fun v -> (v + 1.0f) * 2.0f)
    Expect.equal (floats (t (Key.create 1L) x)) expected "floats (t (Key.create 1L) x)"

    // The pipeline's flip uses key 1 of splitN 2: the same as calling it by hand with that key.
    let key = Key.create 11L
    let keys = Key.splitN 2 key

    let byHand =
        Transforms.randomHorizontalFlip keys[1] 0.5 (Transforms.randomCrop keys[0] 4 4 x)

    let composed =
        Transforms.compose
            [
                (fun k -> Transforms.randomCrop k 4 4)
                (fun k -> Transforms.randomHorizontalFlip k 0.5)
            ]

    Expect.equal (floats (composed key x)) (floats byHand) "floats (composed key x)"

let ``mapWithKey is reproducible per batch and leaves targets alone`` () =
    let n = 40
    let x = images 10L n 3 8 8
    let y = Tensor.ofArray (Array.init n int64, [ n ])
    let ds = Dataset.ofTensors x y

    let aug =
        Transforms.compose
            [
                (fun k -> Transforms.randomCrop k 2 8)
                (fun k -> Transforms.randomHorizontalFlip k 0.5)
            ]

    let a = Transforms.mapWithKey (Key.create 1L) aug ds
    Expect.equal a.Count n "a.Count"
    let ix = [| 3; 17; 5; 0 |]
    let b1, b2 = a.GetBatch ix, a.GetBatch ix
    Expect.equal (floats b2.Input) (floats b1.Input) "floats b2.Input"
    Expect.equal (Tensor.toArray b1.Target :?> int64[]) [| 3L; 17L; 5L; 0L |] "Tensor.toArray b1.Target :?> int64[]"
    // The same as applying the pipeline by hand with the batch key.
    let byHand = aug (Transforms.batchKey (Key.create 1L) ix) (ds.GetBatch ix).Input
    Expect.equal (floats b1.Input) (floats byHand) "floats b1.Input"
    // Other base keys and other batches get other keys.
    let other = Transforms.mapWithKey (Key.create 2L) aug ds
    Expect.notEqual (floats (other.GetBatch ix).Input) (floats b1.Input) "floats (other.GetBatch ix).Input"

    Expect.notEqual
        (Transforms.batchKey (Key.create 1L) [| 3; 17; 5; 1 |])
        (Transforms.batchKey (Key.create 1L) ix)
        "Transforms.batchKey (Key.create 1L) [| 3; 17; 5; 1 |]"

let ``mapWithKey under a prefetching DataLoader gives the same epoch twice`` () =
    let n = 50
    let x = images 12L n 3 8 8
    let ds = Dataset.ofTensors x (Tensor.ofArray (Array.init n int64, [ n ]))

    let a =
        Transforms.mapWithKey (Key.create 5L) (fun k -> Transforms.randomCrop k 2 8) ds

    let loader = DataLoader.create a 8 true false

    let epoch (seed: int64) =
        DataLoader.batches loader (Key.create seed)
        |> Seq.map (fun b -> floats b.Input)
        |> Seq.toArray
        |> Array.concat

    Expect.equal (epoch 1L) (epoch 1L) "epoch 1L"
    Expect.notEqual (epoch 2L) (epoch 1L) "epoch 2L"

let ``oneHotTargets turns class indices into one-hot rows and keeps the inputs`` () =
    let x = images 13L 3 1 2 2

    let b =
        Transforms.oneHotTargets
            4
            {
                Input = x
                Target = Tensor.ofArray ([| 2L; 0L; 3L |], [ 3 ])
            }

    Expect.equal (b.Target.Shape.ToArray()) [| 3; 4 |] "b.Target.Shape.ToArray()"
    Expect.equal (floats b.Target) [| 0f; 0f; 1f; 0f; 1f; 0f; 0f; 0f; 0f; 0f; 0f; 1f |] "floats b.Target"
    Expect.equal (floats b.Input) (floats x) "floats b.Input"

/// The tests of this module.
let tests =
    testList
        "Transform"
        [
            testCase
                "normalize subtracts the channel mean and divides by the channel std"
                ``normalize subtracts the channel mean and divides by the channel std``
            testCase
                "normalize by hand on a constant image and a single image"
                ``normalize by hand on a constant image and a single image``
            testCase
                "normalize rejects a channel count mismatch and non-positive std"
                ``normalize rejects a channel count mismatch and non-positive std``
            testCase
                "random crop keeps the shape and equals a hand-made crop of the zero-padded image"
                ``random crop keeps the shape and equals a hand-made crop of the zero-padded image``
            testCase
                "random crop offsets cover the range and vary between images"
                ``random crop offsets cover the range and vary between images``
            testCase
                "crop without padding at offset zero is the identity and a smaller crop is the window"
                ``crop without padding at offset zero is the identity and a smaller crop is the window``
            testCase "crop rejects windows that do not fit" ``crop rejects windows that do not fit``
            testCase
                "flip reverses the last dim exactly for flipped images and copies the others"
                ``flip reverses the last dim exactly for flipped images and copies the others``
            testCase
                "flip with p 0 is the identity and with p 1 mirrors everything"
                ``flip with p 0 is the identity and with p 1 mirrors everything``
            testCase "same key same result, different keys differ" ``same key same result, different keys differ``
            testCase
                "compose applies the transforms in order with separate keys"
                ``compose applies the transforms in order with separate keys``
            testCase
                "mapWithKey is reproducible per batch and leaves targets alone"
                ``mapWithKey is reproducible per batch and leaves targets alone``
            testCase
                "mapWithKey under a prefetching DataLoader gives the same epoch twice"
                ``mapWithKey under a prefetching DataLoader gives the same epoch twice``
            testCase
                "oneHotTargets turns class indices into one-hot rows and keeps the inputs"
                ``oneHotTargets turns class indices into one-hot rows and keeps the inputs``
        ]
