/// Regression metrics (MAE, RMSE, R²) and the per-class classification report, against hand computations and
/// scikit-learn's documented examples.
module FunctionalNets.Tests.Nn.RegressionReportTests

open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn

let private v (xs: float[]) = Tensor.ofArray (xs, [ xs.Length ])

let private close (expected: float) (actual: float) =
    Expect.isTrue
        (abs (expected - actual) <= 1e-12 * (1.0 + abs expected))
        (sprintf "expected %.17g, got %.17g" expected actual)

/// The metric over batches of rows [lo, hi) of predictions and targets.
let private overBatches (metric: Metric) (batches: (Tensor * Tensor) list) =
    batches
    |> List.fold (fun sums (p, t) -> Some(Metrics.accumulate metric sums p t)) None
    |> Option.get
    |> metric.Compute

let ``mae, rmse and r2 of scikit-learn's example, accumulated over two batches`` () =
    // y_true = [3, -0.5, 2, 7], y_pred = [2.5, 0.0, 2, 8]: r2_score 0.9486081370449679 (sklearn's docs);
    // mae = (0.5 + 0.5 + 0 + 1) / 4, rmse = sqrt((0.25 + 0.25 + 0 + 1) / 4)
    let batches =
        [ v [| 2.5; 0.0 |], v [| 3.0; -0.5 |]; v [| 2.0; 8.0 |], v [| 2.0; 7.0 |] ]

    close 0.5 (overBatches Metrics.mae batches)
    close (sqrt 0.375) (overBatches Metrics.rmse batches)
    close 0.9486081370449679 (overBatches Metrics.r2 batches)

let ``r2 of several outputs averages the columns, and a constant column scores 1 only when exact`` () =
    // y_true = [[0.5, 1], [-1, 1], [7, -6]], y_pred = [[0, 2], [-1, 2], [8, -5]]: r2_score 0.9368005266622779
    let m (rows: float[][]) =
        Tensor.ofArray (Array.concat rows, [ rows.Length; 2 ])

    let p = m [| [| 0.0; 2.0 |]; [| -1.0; 2.0 |]; [| 8.0; -5.0 |] |]
    let t = m [| [| 0.5; 1.0 |]; [| -1.0; 1.0 |]; [| 7.0; -6.0 |] |]
    close 0.9368005266622779 (overBatches Metrics.r2 [ p, t ])
    close 1.0 (overBatches Metrics.r2 [ v [| 2.0; 2.0 |], v [| 2.0; 2.0 |] ])
    close 0.0 (overBatches Metrics.r2 [ v [| 2.0; 3.0 |], v [| 2.0; 2.0 |] ])

let ``regression metrics name mismatched shapes`` () =
    let e =
        Expects.throws<System.ArgumentException> "Metrics.mae.Update (v [| 1.0; 2.0 |]) (v [| 1.0 |])" (fun () ->
            Metrics.mae.Update (v [| 1.0; 2.0 |]) (v [| 1.0 |]) |> ignore)

    Expect.stringContains e.Message "Metrics.mae" "e.Message"

// Targets [0,0,0,1,1,2,2,2,2,3] and predicted classes [0,1,0,1,1,2,0,2,2,1] (class 3 never predicted). By hand:
// class 0: TP 2 of 3 predicted, support 3: P = R = F1 = 2/3; class 1: TP 2 of 4 predicted, support 2: P 1/2, R 1,
// F1 2/3; class 2: TP 3 of 3, support 4: P 1, R 3/4, F1 6/7; class 3: 0, 0, 0, support 1. Accuracy 7/10.
let private targets =
    Tensor.ofArray ([| 0L; 0L; 0L; 1L; 1L; 2L; 2L; 2L; 2L; 3L |], [ 10 ])

let private scores =
    let predicted = [| 0; 1; 0; 1; 1; 2; 0; 2; 2; 1 |]
    Tensor.ofArray (Array.init 40 (fun i -> if predicted[i / 4] = i % 4 then 1.0 else 0.0), [ 10; 4 ])

let ``the classification report has each class's precision, recall, F1 and support`` () =
    let r = ClassificationReport.compute None scores targets

    let expected =
        [
            2.0 / 3.0, 2.0 / 3.0, 2.0 / 3.0, 3
            0.5, 1.0, 2.0 / 3.0, 2
            1.0, 0.75, 6.0 / 7.0, 4
            0.0, 0.0, 0.0, 1
        ]

    Expect.equal r.Classes.Length 4 "r.Classes.Length"

    for row, (p, rc, f, s) in List.zip r.Classes expected do
        close p row.Precision
        close rc row.Recall
        close f row.F1
        Expect.equal row.Support s "row.Support"

    close 0.7 r.Accuracy
    let mp, mr, mf = r.MacroAverage
    close ((2.0 / 3.0 + 0.5 + 1.0) / 4.0) mp
    close ((2.0 / 3.0 + 1.0 + 0.75) / 4.0) mr
    close ((4.0 / 3.0 + 6.0 / 7.0) / 4.0) mf
    let wp, wr, wf = r.WeightedAverage
    close 0.7 wp
    close 0.7 wr
    close ((2.0 + 4.0 / 3.0 + 24.0 / 7.0) / 10.0) wf
    Expect.equal r.Support 10 "r.Support"

let ``the classification report prints as scikit-learn's table`` () =
    let text =
        (ClassificationReport.compute (Some [ "cat"; "dog"; "bird"; "fish" ]) scores targets).Format()

    let lines = text.Split('\n')
    Expect.equal lines[0] "             precision    recall  f1-score   support" "lines[0]"
    Expect.equal lines[2] "         cat      0.67      0.67      0.67         3" "lines[2]"
    Expect.equal lines[4] "        bird      1.00      0.75      0.86         4" "lines[4]"
    Expect.equal lines[7] "    accuracy                          0.70        10" "lines[7]"
    Expect.equal lines[9] "weighted avg      0.70      0.70      0.68        10" "lines[9]"

let ``class names of the wrong count are named`` () =
    let e =
        Expects.throws<System.ArgumentException>
            "ClassificationReport.compute (Some [ \"a\" ]) scores targets"
            (fun () -> ClassificationReport.compute (Some [ "a" ]) scores targets |> ignore)

    Expect.stringContains e.Message "1 class names for 4 classes" "e.Message"

/// The tests of this module.
let tests =
    testList
        "RegressionReport"
        [
            testCase
                "mae, rmse and r2 of scikit-learn's example, accumulated over two batches"
                ``mae, rmse and r2 of scikit-learn's example, accumulated over two batches``
            testCase
                "r2 of several outputs averages the columns, and a constant column scores 1 only when exact"
                ``r2 of several outputs averages the columns, and a constant column scores 1 only when exact``
            testCase "regression metrics name mismatched shapes" ``regression metrics name mismatched shapes``
            testCase
                "the classification report has each class's precision, recall, F1 and support"
                ``the classification report has each class's precision, recall, F1 and support``
            testCase
                "the classification report prints as scikit-learn's table"
                ``the classification report prints as scikit-learn's table``
            testCase "class names of the wrong count are named" ``class names of the wrong count are named``
        ]
