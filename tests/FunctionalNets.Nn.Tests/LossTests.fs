module FunctionalNets.Tests.Nn.LossTests

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn

/// A Float64 tensor from rows of plain floats.
let private f64 (rows: float[][]) =
    Tensor.ofArray (Array.concat rows, [ rows.Length; rows[0].Length ])

let private vec (xs: float[]) = Tensor.ofArray (xs, [ xs.Length ])
let private labels64 (xs: int64[]) = Tensor.ofArray (xs, [ xs.Length ])
let private labels32 (xs: int[]) = Tensor.ofArray (xs, [ xs.Length ])
let private values (t: Tensor) = Tensor.toFloatArray t

let private close (tol: float) (expected: float) (actual: float) =
    Expect.isTrue
        (abs (expected - actual) <= tol * (1.0 + abs expected))
        (sprintf "expected %.12g, got %.12g" expected actual)

let private closeArrays tol (expected: float[]) (actual: float[]) =
    Expect.equal actual.Length expected.Length "actual.Length"
    Array.iter2 (close tol) expected actual

// Hand formulas in plain floats.
let private logSoftmaxRow (row: float[]) =
    let m = Array.max row
    let lse = m + log (row |> Array.sumBy (fun v -> exp (v - m)))
    row |> Array.map (fun v -> v - lse)

let private sigmoid (x: float) = 1.0 / (1.0 + exp -x)

// ---- Regression ----

let ``mse and mae are the means of squared and absolute differences`` () =
    let pred = f64 [| [| 1.0; 2.0 |]; [| 3.0; 4.0 |] |]
    let target = f64 [| [| 1.0; 1.0 |]; [| 1.0; 1.0 |] |]
    close 1e-12 ((0.0 + 1.0 + 4.0 + 9.0) / 4.0) (Tensor.toScalar (Losses.mse pred target))
    close 1e-12 ((0.0 + 1.0 + 2.0 + 3.0) / 4.0) (Tensor.toScalar (Losses.mae pred target))
    close 1e-12 1.5 (Tensor.toScalar (Losses.l1 pred target))
    Expect.equal ((Losses.mse pred target).Rank) 0 "(Losses.mse pred target).Rank"

let ``mse gradient is 2 (pred - target) / n`` () =
    let pred = vec [| 0.5; -1.0; 2.0 |]
    let target = vec [| 1.0; 1.0; 1.0 |]
    let g = Diff.grad (fun p -> Losses.mse p target) pred
    closeArrays 1e-12 [| 2.0 * -0.5 / 3.0; 2.0 * -2.0 / 3.0; 2.0 * 1.0 / 3.0 |] (values g)

let ``losses name both shapes when they differ`` () =
    let pred = Tensor.zeros [ 4; 1 ]
    let target = Tensor.zeros [ 4 ]

    for loss, name in
        [
            Losses.mse, "mse"
            Losses.mae, "mae"
            Losses.bce, "bce"
            Losses.bceWithLogits, "bceWithLogits"
        ] do
        let e =
            Expects.throwsAny<ArgumentException> "loss pred target" (fun () -> loss pred target |> ignore)

        Expect.stringContains e.Message ("Losses." + name) "e.Message"
        Expect.stringContains e.Message "[4; 1]" "e.Message"
        Expect.stringContains e.Message "[4]" "e.Message"

// ---- Binary cross-entropy ----

let ``bce of probabilities matches the formula`` () =
    let p = [| 0.9; 0.2; 0.6; 0.35 |]
    let y = [| 1.0; 0.0; 1.0; 0.0 |]

    let expected =
        -(Array.map2 (fun p y -> y * log p + (1.0 - y) * log (1.0 - p)) p y
          |> Array.average)

    close 1e-12 expected (Tensor.toScalar (Losses.bce (vec p) (vec y)))

let ``bce clamps each log at -100 and keeps the gradient finite`` () =
    // log 0 = -inf is clamped to -100, as in PyTorch: a confident wrong answer costs 100.
    close 1e-12 100.0 (Tensor.toScalar (Losses.bce (vec [| 0.0 |]) (vec [| 1.0 |])))
    close 1e-12 100.0 (Tensor.toScalar (Losses.bce (vec [| 1.0 |]) (vec [| 0.0 |])))
    close 1e-12 0.0 (Tensor.toScalar (Losses.bce (vec [| 0.0; 1.0 |]) (vec [| 0.0; 1.0 |])))

    let g =
        Diff.grad (fun p -> Losses.bce p (vec [| 1.0; 0.0; 0.0; 1.0 |])) (vec [| 0.0; 1.0; 0.0; 1.0 |])

    Expect.isTrue (values g |> Array.forall Double.IsFinite) (sprintf "gradient %A" (values g))

let ``bceWithLogits equals bce of the sigmoid and the formula`` () =
    let x = [| -2.0; -0.5; 0.0; 0.7; 3.0 |]
    let y = [| 0.0; 1.0; 1.0; 0.0; 1.0 |]

    let formula =
        Array.map2 (fun x y -> max x 0.0 - x * y + log (1.0 + exp (-(abs x)))) x y
        |> Array.average

    let viaLogits = Tensor.toScalar (Losses.bceWithLogits (vec x) (vec y))
    close 1e-12 formula viaLogits
    close 1e-12 (Tensor.toScalar (Losses.bce (Tensor.sigmoid (vec x)) (vec y))) viaLogits

let ``bceWithLogits stays finite at +-100 and its gradient is (sigmoid x - y) / n`` () =
    // Right answers cost ~0, wrong ones cost ~100 (|x|), without overflow.
    close 1e-9 0.0 (Tensor.toScalar (Losses.bceWithLogits (vec [| 100.0; -100.0 |]) (vec [| 1.0; 0.0 |])))
    close 1e-9 100.0 (Tensor.toScalar (Losses.bceWithLogits (vec [| 100.0; -100.0 |]) (vec [| 0.0; 1.0 |])))

    let f32 =
        Losses.bceWithLogits (Tensor.ofArray ([| 100.0f; -100.0f |], [ 2 ])) (Tensor.ofArray ([| 0.0f; 1.0f |], [ 2 ]))

    close 1e-5 100.0 (Tensor.toScalar f32)

    let x = [| -100.0; -1.0; 0.0; 2.0; 100.0 |]
    let y = [| 1.0; 0.0; 1.0; 1.0; 0.0 |]
    let g = Diff.grad (fun l -> Losses.bceWithLogits l (vec y)) (vec x)
    closeArrays 1e-12 (Array.map2 (fun x y -> (sigmoid x - y) / 5.0) x y) (values g)

// ---- Cross-entropy ----

let ``crossEntropy of logits [1; 2; 3] with label 2 is -log(e^3 / (e + e^2 + e^3))`` () =
    let e = Math.E
    let expected = -log(e ** 3.0 / (e + e ** 2.0 + e ** 3.0))
    let logits = f64 [| [| 1.0; 2.0; 3.0 |] |]
    close 1e-12 expected (Tensor.toScalar (Losses.crossEntropy logits (labels64 [| 2L |])))
    close 1e-12 expected (Tensor.toScalar (Losses.crossEntropy logits (labels32 [| 2 |])))
    // Float32 logits too.
    let l32 = Tensor.ofArray ([| 1.0f; 2.0f; 3.0f |], [ 1; 3 ])
    close 1e-6 expected (Tensor.toScalar (Losses.crossEntropy l32 (labels64 [| 2L |])))

let ``crossEntropy averages -log softmax at the label over the batch`` () =
    let rows = [| [| 1.0; 2.0; 3.0 |]; [| 1.0; 0.0; -1.0 |]; [| 0.5; 0.5; 4.0 |] |]
    let ys = [| 2; 0; 1 |]

    let expected =
        Array.map2 (fun row y -> -(logSoftmaxRow row)[y]) rows ys |> Array.average

    close 1e-12 expected (Tensor.toScalar (Losses.crossEntropy (f64 rows) (labels32 ys)))

let ``label smoothing is (1 - eps) nll + eps * mean over classes of -logp`` () =
    let rows = [| [| 1.0; 2.0; 3.0 |]; [| 1.0; 0.0; -1.0 |] |]
    let ys = [| 2; 1 |]
    let eps = 0.1

    let perExample (row: float[]) (y: int) =
        let lp = logSoftmaxRow row
        (1.0 - eps) * -lp[y] + eps * (lp |> Array.averageBy (fun v -> -v))

    let expected = Array.map2 perExample rows ys |> Array.average
    close 1e-12 expected (Tensor.toScalar (Criterion.crossEntropy (labelSmoothing = eps) (f64 rows) (labels32 ys)))

let ``crossEntropy gradient w.r.t. logits is (softmax - onehot) / N`` () =
    let rows =
        [|
            [| 1.0; 2.0; 3.0; 0.0 |]
            [| -1.0; 0.5; 0.0; 2.0 |]
            [| 0.0; 0.0; 0.0; 0.0 |]
        |]

    let ys = [| 2; 0; 3 |]
    let n = float rows.Length

    let g =
        Diff.grad (fun l -> Losses.crossEntropy l (labels64 (Array.map int64 ys))) (f64 rows)

    let expected =
        Array.map2
            (fun (row: float[]) y ->
                logSoftmaxRow row
                |> Array.mapi (fun c lp -> (exp lp - (if c = y then 1.0 else 0.0)) / n))
            rows
            ys
        |> Array.concat

    closeArrays 1e-12 expected (values g)

let ``crossEntropy with probability targets is -mean sum y log softmax`` () =
    let rows = [| [| 1.0; 2.0; 3.0 |]; [| 0.0; -1.0; 1.0 |] |]
    let probs = [| [| 0.2; 0.3; 0.5 |]; [| 1.0; 0.0; 0.0 |] |]

    let expected =
        Array.map2 (fun row (y: float[]) -> -(Array.map2 (*) y (logSoftmaxRow row) |> Array.sum)) rows probs
        |> Array.average

    close 1e-12 expected (Tensor.toScalar (Losses.crossEntropy (f64 rows) (f64 probs)))
    close 1e-12 expected (Tensor.toScalar (Losses.crossEntropyProbs (f64 rows) (f64 probs)))

    // One-hot probabilities give the class-index loss.
    let oneHot = [| [| 0.0; 0.0; 1.0 |]; [| 0.0; 1.0; 0.0 |] |]

    close
        1e-12
        (Tensor.toScalar (Losses.crossEntropy (f64 rows) (labels32 [| 2; 1 |])))
        (Tensor.toScalar (Losses.crossEntropy (f64 rows) (f64 oneHot)))

    // Smoothing the probabilities: y (1 - eps) + eps / C.
    let eps = 0.2
    let smoothed = probs |> Array.map (Array.map (fun y -> y * (1.0 - eps) + eps / 3.0))

    let expectedSmooth =
        Array.map2 (fun row (y: float[]) -> -(Array.map2 (*) y (logSoftmaxRow row) |> Array.sum)) rows smoothed
        |> Array.average

    close 1e-12 expectedSmooth (Tensor.toScalar (Criterion.crossEntropy (labelSmoothing = eps) (f64 rows) (f64 probs)))

let ``crossEntropy takes classes in dim 1 for [N; C; d] inputs`` () =
    // logits[n][c][d]; labels[n][d].
    let logits = [| 1.0; 0.0; 2.0; 1.0; 3.0; -1.0; 0.5; 0.5; -0.5; 2.0; 0.0; 0.0 |] // [2; 3; 2]
    let labels = [| 2L; 0L; 1L; 1L |] // [2; 2]

    let expected =
        [
            for n in 0..1 do
                for d in 0..1 do
                    let row = Array.init 3 (fun c -> logits[n * 6 + c * 2 + d])
                    -(logSoftmaxRow row)[int labels[n * 2 + d]]
        ]
        |> List.average

    let loss =
        Losses.crossEntropy (Tensor.ofArray (logits, [ 2; 3; 2 ])) (Tensor.ofArray (labels, [ 2; 2 ]))

    close 1e-12 expected (Tensor.toScalar loss)

let ``nll averages -input at the label`` () =
    let logp = [| [| -0.1; -2.0; -3.0 |]; [| -1.5; -0.3; -2.5 |] |]
    close 1e-12 ((2.0 + 0.3) / 2.0) (Tensor.toScalar (Losses.nll (f64 logp) (labels32 [| 1; 1 |])))

let ``out-of-range labels name the loss, the label and the number of classes`` () =
    let logits = f64 [| [| 1.0; 2.0; 3.0 |]; [| 0.0; 0.0; 0.0 |] |]

    let e =
        Expects.throwsAny<ArgumentException> "Losses.crossEntropy logits (labels32 [| 0; 3 |])" (fun () ->
            Losses.crossEntropy logits (labels32 [| 0; 3 |]) |> ignore)

    Expect.stringContains e.Message "crossEntropy" "e.Message"
    Expect.stringContains e.Message "label 3" "e.Message"
    Expect.stringContains e.Message "3 classes" "e.Message"

    let e2 =
        Expects.throwsAny<ArgumentException> "Losses.nll logits (labels64 [| -1L; 0L |])" (fun () ->
            Losses.nll logits (labels64 [| -1L; 0L |]) |> ignore)

    Expect.stringContains e2.Message "nll" "e2.Message"
    Expect.stringContains e2.Message "label -1" "e2.Message"

let ``crossEntropy names both shapes when labels do not fit the logits`` () =
    let logits = Tensor.zeros [ 4; 10 ]

    let e =
        Expects.throwsAny<ArgumentException> "Losses.crossEntropy logits (labels32 [| 1; 2; 3 |])" (fun () ->
            Losses.crossEntropy logits (labels32 [| 1; 2; 3 |]) |> ignore)

    Expect.stringContains e.Message "[4; 10]" "e.Message"
    Expect.stringContains e.Message "[3]" "e.Message"

    let e2 =
        Expects.throwsAny<ArgumentException> "Losses.crossEntropy logits (Tensor.zeros [ 4; 9 ])" (fun () ->
            Losses.crossEntropy logits (Tensor.zeros [ 4; 9 ]) |> ignore)

    Expect.stringContains e2.Message "[4; 10]" "e2.Message"
    Expect.stringContains e2.Message "[4; 9]" "e2.Message"

    Expects.throwsAny<ArgumentException>
        "Criterion.crossEntropy (labelSmoothing = 1.5) logits (labels32 [| 0; 0; 0; 0 |])"
        (fun () ->
            Criterion.crossEntropy (labelSmoothing = 1.5) logits (labels32 [| 0; 0; 0; 0 |])
            |> ignore)
    |> ignore

// ---- Penalties ----

let ``l1 and l2 penalties sum |w| and w^2 over the whole tree`` () =
    let ps: Params =
        Node
            [
                "0", Node [ "weight", Leaf(f64 [| [| 1.0; -2.0 |] |]); "bias", Leaf(vec [| 3.0 |]) ]
                "2", Node [ "weight", Leaf(vec [| -0.5 |]) ]
            ]

    close 1e-12 (0.1 * (1.0 + 2.0 + 3.0 + 0.5)) (Tensor.toScalar (Losses.l1Penalty 0.1 ps))
    close 1e-12 (0.1 * (1.0 + 4.0 + 9.0 + 0.25)) (Tensor.toScalar (Losses.l2Penalty 0.1 ps))
    close 1e-12 0.0 (Tensor.toScalar (Losses.l2Penalty 0.1 PTree.empty))

    // d/dw of c * w^2 is 2 c w.
    let g = Diff.gradTree (Losses.l2Penalty 0.1) ps
    closeArrays 1e-12 [| 0.2; -0.4; 0.6; -0.1 |] (PTree.values g |> List.map values |> Array.concat)

/// The tests of this module.
let tests =
    testList
        "Loss"
        [
            testCase
                "mse and mae are the means of squared and absolute differences"
                ``mse and mae are the means of squared and absolute differences``
            testCase "mse gradient is 2 (pred - target) / n" ``mse gradient is 2 (pred - target) / n``
            testCase "losses name both shapes when they differ" ``losses name both shapes when they differ``
            testCase "bce of probabilities matches the formula" ``bce of probabilities matches the formula``
            testCase
                "bce clamps each log at -100 and keeps the gradient finite"
                ``bce clamps each log at -100 and keeps the gradient finite``
            testCase
                "bceWithLogits equals bce of the sigmoid and the formula"
                ``bceWithLogits equals bce of the sigmoid and the formula``
            testCase
                "bceWithLogits stays finite at +-100 and its gradient is (sigmoid x - y) / n"
                ``bceWithLogits stays finite at +-100 and its gradient is (sigmoid x - y) / n``
            testCase
                "crossEntropy of logits [1; 2; 3] with label 2 is -log(e^3 / (e + e^2 + e^3))"
                ``crossEntropy of logits [1; 2; 3] with label 2 is -log(e^3 / (e + e^2 + e^3))``
            testCase
                "crossEntropy averages -log softmax at the label over the batch"
                ``crossEntropy averages -log softmax at the label over the batch``
            testCase
                "label smoothing is (1 - eps) nll + eps * mean over classes of -logp"
                ``label smoothing is (1 - eps) nll + eps * mean over classes of -logp``
            testCase
                "crossEntropy gradient w.r.t. logits is (softmax - onehot) / N"
                ``crossEntropy gradient w.r.t. logits is (softmax - onehot) / N``
            testCase
                "crossEntropy with probability targets is -mean sum y log softmax"
                ``crossEntropy with probability targets is -mean sum y log softmax``
            testCase
                "crossEntropy takes classes in dim 1 for [N; C; d] inputs"
                ``crossEntropy takes classes in dim 1 for [N; C; d] inputs``
            testCase "nll averages -input at the label" ``nll averages -input at the label``
            testCase
                "out-of-range labels name the loss, the label and the number of classes"
                ``out-of-range labels name the loss, the label and the number of classes``
            testCase
                "crossEntropy names both shapes when labels do not fit the logits"
                ``crossEntropy names both shapes when labels do not fit the logits``
            testCase
                "l1 and l2 penalties sum |w| and w^2 over the whole tree"
                ``l1 and l2 penalties sum |w| and w^2 over the whole tree``
        ]
