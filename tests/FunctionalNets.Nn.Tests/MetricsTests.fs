module FunctionalNets.Tests.Nn.MetricsTests

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn

let private scores (rows: float32[][]) =
    Tensor.ofArray (Array.concat rows, [ rows.Length; rows[0].Length ])

let private labels (ls: int64[]) = Tensor.ofArray (ls, [ ls.Length ])

/// The value of a metric over one batch.
let private value (m: Metric) (p: Tensor) (t: Tensor) = m.Compute(m.Update p t)

let private close (expected: float) (actual: float) =
    Expect.equal (System.Math.Round(actual, 12)) (System.Math.Round(expected, 12)) "actual to 12 places"

// Six rows, three classes. Targets 0 0 1 1 2 2; the highest scores pick 0 1 1 1 0 1, so class 2 is
// never predicted. By hand (row = target, column = predicted):
//          p0 p1 p2
//   t0  [  1  1  0 ]
//   t1  [  0  2  0 ]
//   t2  [  1  1  0 ]
// accuracy 3/6; precision per class 1/2, 2/4, 0 (never predicted); recall 1/2, 2/2, 0/2;
// F1 per class 1/2, 2*(1/2*1)/(3/2) = 2/3, 0.
let private example =
    scores
        [|
            [| 0.7f; 0.2f; 0.1f |]
            [| 0.1f; 0.8f; 0.1f |]
            [| 0.2f; 0.5f; 0.3f |]
            [| 0.0f; 0.9f; 0.1f |]
            [| 0.6f; 0.1f; 0.3f |]
            [| 0.3f; 0.4f; 0.3f |]
        |]

let private exampleTargets = labels [| 0L; 0L; 1L; 1L; 2L; 2L |]

let ``accuracy, macro precision, recall and F1 on a hand-computed example with a class never predicted`` () =
    close 0.5 (value Metrics.accuracy example exampleTargets)
    close ((0.5 + 0.5 + 0.0) / 3.0) (value Metrics.macroPrecision example exampleTargets)
    close ((0.5 + 1.0 + 0.0) / 3.0) (value Metrics.macroRecall example exampleTargets)
    close ((0.5 + 2.0 / 3.0 + 0.0) / 3.0) (value Metrics.macroF1 example exampleTargets)

let ``the confusion matrix counts (target, predicted) pairs`` () =
    let cm = Metrics.confusionMatrix example exampleTargets
    Expect.equal (Array2D.length1 cm) 3 "Array2D.length1 cm"
    Expect.equal (Array2D.length2 cm) 3 "Array2D.length2 cm"
    let rows = Array.init 3 (fun r -> Array.init 3 (fun c -> cm[r, c]))
    Expect.equal rows [| [| 1; 1; 0 |]; [| 0; 2; 0 |]; [| 1; 1; 0 |] |] "rows"

let ``one-hot float targets give the same values as class indices`` () =
    let oneHot =
        scores
            [|
                [| 1.0f; 0.0f; 0.0f |]
                [| 1.0f; 0.0f; 0.0f |]
                [| 0.0f; 1.0f; 0.0f |]
                [| 0.0f; 1.0f; 0.0f |]
                [| 0.0f; 0.0f; 1.0f |]
                [| 0.0f; 0.0f; 1.0f |]
            |]

    for m in
        [
            Metrics.accuracy
            Metrics.macroPrecision
            Metrics.macroRecall
            Metrics.macroF1
            Metrics.topKAccuracy 2
        ] do
        Expect.equal (value m example oneHot) (value m example exampleTargets) "value m example oneHot"

let ``macro averages leave out a class absent from both targets and predictions (scikit-learn's labels=None)`` () =
    // The example with a fourth class that no row is and no row predicts: scikit-learn averages over the
    // three classes present, so the values are the three-class ones (not 3/4 of them).
    let wide =
        scores
            [|
                [| 0.7f; 0.2f; 0.1f; -1.0f |]
                [| 0.1f; 0.8f; 0.1f; -1.0f |]
                [| 0.2f; 0.5f; 0.3f; -1.0f |]
                [| 0.0f; 0.9f; 0.1f; -1.0f |]
                [| 0.6f; 0.1f; 0.3f; -1.0f |]
                [| 0.3f; 0.4f; 0.3f; -1.0f |]
            |]

    close (1.0 / 3.0) (value Metrics.macroPrecision wide exampleTargets)
    close 0.5 (value Metrics.macroRecall wide exampleTargets)
    close ((0.5 + 2.0 / 3.0) / 3.0) (value Metrics.macroF1 wide exampleTargets)
    // A class that only occurs as a target still counts (recall 0).
    let targets = labels [| 0L; 0L; 1L; 1L; 3L; 3L |]
    // t3 rows are predicted 0 and 1: recall per class 1/2, 2/2, (class 2 absent), 0/2.
    close ((0.5 + 1.0 + 0.0) / 3.0) (value Metrics.macroRecall wide targets)

let ``top-k accuracy, ties count as in the top k`` () =
    let p =
        scores
            [|
                [| 0.5f; 0.5f; 0.1f |] // target 1 ties with class 0 for first place
                [| 0.2f; 0.3f; 0.5f |] // target 0 is third
                [| 0.2f; 0.3f; 0.5f |] // target 1 is second
                [| 0.4f; 0.4f; 0.4f |]
            |] // target 2 ties with everything

    let t = labels [| 1L; 0L; 1L; 2L |]
    // top-1: rows 1 (tie) and 4 (tie) hit; top-2: rows 1, 3, 4; top-3: all.
    close 0.5 (value (Metrics.topKAccuracy 1) p t)
    close 0.75 (value (Metrics.topKAccuracy 2) p t)
    close 1.0 (value (Metrics.topKAccuracy 3) p t)
    Expect.equal ((Metrics.topKAccuracy 2).Name) "top2_accuracy" "(Metrics.topKAccuracy 2).Name"
    // Plain accuracy takes the first of tied maxima (argmax), so the tie rows are misses too: nothing hits.
    close 0.0 (value Metrics.accuracy p t)

let ``binary outputs: accuracy thresholds probabilities at 0.5 instead of an argmax over one column`` () =
    let p = Tensor.ofArray ([| 0.9f; 0.2f; 0.6f; 0.4f |], [ 4; 1 ])
    let t = Tensor.ofArray ([| 1.0f; 0.0f; 0.0f; 0.0f |], [ 4; 1 ])
    // 0.9 -> 1 right, 0.2 -> 0 right, 0.6 -> 1 wrong, 0.4 -> 0 right.
    close 0.75 (value Metrics.accuracy p t)

    close
        0.75
        (value
            Metrics.accuracy
            (Tensor.ofArray ([| 0.9f; 0.2f; 0.6f; 0.4f |], [ 4 ]))
            (Tensor.ofArray ([| 1.0f; 0.0f; 0.0f; 0.0f |], [ 4 ])))
    // Logits: threshold 0.
    let logits = Tensor.ofArray ([| 2.0f; -1.0f; 0.5f; -0.1f |], [ 4; 1 ])
    close 0.75 (value (Metrics.binaryAccuracy 0.0) logits t)
    // Class metrics refuse a single column rather than counting every row as right.
    let e =
        Expects.throwsAny<ArgumentException> "Metrics.confusionMatrix p t" (fun () ->
            Metrics.confusionMatrix p t |> ignore)

    Expect.stringContains e.Message "single column" "e.Message"

    let e =
        Expects.throwsAny<ArgumentException>
            "value Metrics.accuracy p (Tensor.ofArray ([| 1.0f; 2.0f; 0.0f; 0.0f |], [ 4; 1 ]))"
            (fun () ->
                value Metrics.accuracy p (Tensor.ofArray ([| 1.0f; 2.0f; 0.0f; 0.0f |], [ 4; 1 ]))
                |> ignore)

    Expect.stringContains e.Message "not 0 or 1" "e.Message"

let ``counts accumulated over uneven batches give exactly the whole-set value`` () =
    let rng = Random 17
    let n, c = 37, 5
    let data = Array.init (n * c) (fun _ -> float32 (rng.NextDouble()))
    let ys = Array.init n (fun _ -> int64 (rng.Next c))
    let all = Tensor.ofArray (data, [ n; c ])
    let allTargets = labels ys

    // Accuracy by hand, independent of the metric code.
    let argmax i =
        let row = data[i * c .. i * c + c - 1]
        Array.findIndex ((=) (Array.max row)) row

    let expectedAccuracy =
        float (Seq.sum (seq { for i in 0 .. n - 1 -> if int64 (argmax i) = ys[i] then 1 else 0 }))
        / float n

    let sizes = [ 5; 13; 1; 18 ]
    let starts = List.scan (+) 0 sizes

    for m in
        [
            Metrics.accuracy
            Metrics.topKAccuracy 2
            Metrics.macroPrecision
            Metrics.macroRecall
            Metrics.macroF1
        ] do
        let sums =
            List.zip sizes (List.truncate sizes.Length starts)
            |> List.fold
                (fun sums (size, start) ->
                    let p = Tensor.ofArray (data[start * c .. (start + size) * c - 1], [ size; c ])
                    let t = labels ys[start .. start + size - 1]
                    Some(Metrics.accumulate m sums p t))
                None

        let batched = m.Compute(Option.get sums)
        Expect.equal batched (value m all allTargets) "batched"

    Expect.equal
        (System.Math.Round(value Metrics.accuracy all allTargets, 15))
        (System.Math.Round(expectedAccuracy, 15))
        "value Metrics.accuracy all allTargets to 15 places"

    // The mean of per-batch accuracies is not the whole-set value here, so the exactness above is not luck.
    let perBatch =
        List.zip sizes (List.truncate sizes.Length starts)
        |> List.map (fun (size, start) ->
            value
                Metrics.accuracy
                (Tensor.ofArray (data[start * c .. (start + size) * c - 1], [ size; c ]))
                (labels ys[start .. start + size - 1]))

    Expect.notEqual (List.average perBatch) expectedAccuracy "List.average perBatch"

let ``a label out of range or a count mismatch is a clear error`` () =
    for bad in [ 3L; -1L ] do
        let t = labels [| 0L; 1L; 2L; bad; 0L; 1L |]

        for m in [ Metrics.accuracy; Metrics.topKAccuracy 2; Metrics.macroF1 ] do
            let e =
                Expects.throwsAny<ArgumentException> "m.Update example t" (fun () -> m.Update example t |> ignore)

            Expect.stringContains e.Message (sprintf "label %d is out of range for 3 classes" bad) "e.Message"

    let e =
        Expects.throwsAny<ArgumentException> "Metrics.accuracy.Update example (labels [| 0L; 1L |])" (fun () ->
            Metrics.accuracy.Update example (labels [| 0L; 1L |]) |> ignore)

    Expect.stringContains e.Message "2 targets for 6 predictions" "e.Message"

    let e =
        Expects.throwsAny<ArgumentException> "Metrics.topKAccuracy 0" (fun () -> Metrics.topKAccuracy 0 |> ignore)

    Expect.stringContains e.Message "k must be" "e.Message"

let ``accuracy's device counts equal its host counts and flag out-of-range targets`` () =
    let p =
        scores
            [|
                [| 0.1f; 0.9f; 0.0f |]
                [| 0.8f; 0.1f; 0.1f |]
                [| 0.2f; 0.3f; 0.5f |]
                [| 0.6f; 0.3f; 0.1f |]
            |]

    let t = labels [| 1L; 0L; 1L; 2L |]
    let onDevice = Metrics.accuracy.OnDevice.Value p t
    Expect.equal (Tensor.toFloatArray onDevice) [| 2.0; 4.0; 0.0 |] "Tensor.toFloatArray onDevice"

    Expect.equal
        (Metrics.checkDeviceCounts Metrics.accuracy [| 2.0; 4.0; 0.0 |])
        (Metrics.accuracy.Update p t)
        "Metrics.checkDeviceCounts Metrics.accuracy [| 2.0; 4.0; 0.0 |]"

    let bad = Metrics.accuracy.OnDevice.Value p (labels [| 1L; 0L; 7L; -1L |])
    Expect.equal ((Tensor.toFloatArray bad)[2]) 2.0 "(Tensor.toFloatArray bad)[2]"

    let e =
        Expects.throws<ArgumentException>
            "Metrics.checkDeviceCounts Metrics.accuracy (Tensor.toFloatArray bad)"
            (fun () -> Metrics.checkDeviceCounts Metrics.accuracy (Tensor.toFloatArray bad) |> ignore)

    Expect.stringContains e.Message "out of range" "e.Message"

/// The tests of this module.
let tests =
    testList
        "Metrics"
        [
            testCase
                "accuracy, macro precision, recall and F1 on a hand-computed example with a class never predicted"
                ``accuracy, macro precision, recall and F1 on a hand-computed example with a class never predicted``
            testCase
                "the confusion matrix counts (target, predicted) pairs"
                ``the confusion matrix counts (target, predicted) pairs``
            testCase
                "one-hot float targets give the same values as class indices"
                ``one-hot float targets give the same values as class indices``
            testCase
                "macro averages leave out a class absent from both targets and predictions (scikit-learn's labels=None)"
                ``macro averages leave out a class absent from both targets and predictions (scikit-learn's labels=None)``
            testCase "top-k accuracy, ties count as in the top k" ``top-k accuracy, ties count as in the top k``
            testCase
                "binary outputs: accuracy thresholds probabilities at 0.5 instead of an argmax over one column"
                ``binary outputs: accuracy thresholds probabilities at 0.5 instead of an argmax over one column``
            testCase
                "counts accumulated over uneven batches give exactly the whole-set value"
                ``counts accumulated over uneven batches give exactly the whole-set value``
            testCase
                "a label out of range or a count mismatch is a clear error"
                ``a label out of range or a count mismatch is a clear error``
            testCase
                "accuracy's device counts equal its host counts and flag out-of-range targets"
                ``accuracy's device counts equal its host counts and flag out-of-range targets``
        ]
