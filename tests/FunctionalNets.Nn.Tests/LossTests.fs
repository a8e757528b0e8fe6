module FunctionalNets.Tests.Nn.LossTests

open System
open Xunit
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
    Assert.True(
        abs (expected - actual) <= tol * (1.0 + abs expected),
        sprintf "expected %.12g, got %.12g" expected actual
    )

let private closeArrays tol (expected: float[]) (actual: float[]) =
    Assert.Equal(expected.Length, actual.Length)
    Array.iter2 (close tol) expected actual

// Hand formulas in plain floats.
let private logSoftmaxRow (row: float[]) =
    let m = Array.max row
    let lse = m + log (row |> Array.sumBy (fun v -> exp (v - m)))
    row |> Array.map (fun v -> v - lse)

let private sigmoid (x: float) = 1.0 / (1.0 + exp -x)

// ---- Regression ----

[<Fact>]
let ``mse and mae are the means of squared and absolute differences`` () =
    let pred = f64 [| [| 1.0; 2.0 |]; [| 3.0; 4.0 |] |]
    let target = f64 [| [| 1.0; 1.0 |]; [| 1.0; 1.0 |] |]
    close 1e-12 ((0.0 + 1.0 + 4.0 + 9.0) / 4.0) (Tensor.toScalar (Losses.mse pred target))
    close 1e-12 ((0.0 + 1.0 + 2.0 + 3.0) / 4.0) (Tensor.toScalar (Losses.mae pred target))
    close 1e-12 1.5 (Tensor.toScalar (Losses.l1 pred target))
    Assert.Equal(0, (Losses.mse pred target).Rank)

[<Fact>]
let ``mse gradient is 2 (pred - target) / n`` () =
    let pred = vec [| 0.5; -1.0; 2.0 |]
    let target = vec [| 1.0; 1.0; 1.0 |]
    let g = Diff.grad (fun p -> Losses.mse p target) pred
    closeArrays 1e-12 [| 2.0 * -0.5 / 3.0; 2.0 * -2.0 / 3.0; 2.0 * 1.0 / 3.0 |] (values g)

[<Fact>]
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
        let e = Assert.ThrowsAny<ArgumentException>(fun () -> loss pred target |> ignore)
        Assert.Contains("Losses." + name, e.Message)
        Assert.Contains("[4; 1]", e.Message)
        Assert.Contains("[4]", e.Message)

// ---- Binary cross-entropy ----

[<Fact>]
let ``bce of probabilities matches the formula`` () =
    let p = [| 0.9; 0.2; 0.6; 0.35 |]
    let y = [| 1.0; 0.0; 1.0; 0.0 |]

    let expected =
        -(Array.map2 (fun p y -> y * log p + (1.0 - y) * log (1.0 - p)) p y
          |> Array.average)

    close 1e-12 expected (Tensor.toScalar (Losses.bce (vec p) (vec y)))

[<Fact>]
let ``bce clamps each log at -100 and keeps the gradient finite`` () =
    // log 0 = -inf is clamped to -100, as in PyTorch: a confident wrong answer costs 100.
    close 1e-12 100.0 (Tensor.toScalar (Losses.bce (vec [| 0.0 |]) (vec [| 1.0 |])))
    close 1e-12 100.0 (Tensor.toScalar (Losses.bce (vec [| 1.0 |]) (vec [| 0.0 |])))
    close 1e-12 0.0 (Tensor.toScalar (Losses.bce (vec [| 0.0; 1.0 |]) (vec [| 0.0; 1.0 |])))

    let g =
        Diff.grad (fun p -> Losses.bce p (vec [| 1.0; 0.0; 0.0; 1.0 |])) (vec [| 0.0; 1.0; 0.0; 1.0 |])

    Assert.True(values g |> Array.forall Double.IsFinite, sprintf "gradient %A" (values g))

[<Fact>]
let ``bceWithLogits equals bce of the sigmoid and the formula`` () =
    let x = [| -2.0; -0.5; 0.0; 0.7; 3.0 |]
    let y = [| 0.0; 1.0; 1.0; 0.0; 1.0 |]

    let formula =
        Array.map2 (fun x y -> max x 0.0 - x * y + log (1.0 + exp (-(abs x)))) x y
        |> Array.average

    let viaLogits = Tensor.toScalar (Losses.bceWithLogits (vec x) (vec y))
    close 1e-12 formula viaLogits
    close 1e-12 (Tensor.toScalar (Losses.bce (Tensor.sigmoid (vec x)) (vec y))) viaLogits

[<Fact>]
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

[<Fact>]
let ``crossEntropy of logits [1; 2; 3] with label 2 is -log(e^3 / (e + e^2 + e^3))`` () =
    let e = Math.E
    let expected = -log(e ** 3.0 / (e + e ** 2.0 + e ** 3.0))
    let logits = f64 [| [| 1.0; 2.0; 3.0 |] |]
    close 1e-12 expected (Tensor.toScalar (Losses.crossEntropy logits (labels64 [| 2L |])))
    close 1e-12 expected (Tensor.toScalar (Losses.crossEntropy logits (labels32 [| 2 |])))
    // Float32 logits too.
    let l32 = Tensor.ofArray ([| 1.0f; 2.0f; 3.0f |], [ 1; 3 ])
    close 1e-6 expected (Tensor.toScalar (Losses.crossEntropy l32 (labels64 [| 2L |])))

[<Fact>]
let ``crossEntropy averages -log softmax at the label over the batch`` () =
    let rows = [| [| 1.0; 2.0; 3.0 |]; [| 1.0; 0.0; -1.0 |]; [| 0.5; 0.5; 4.0 |] |]
    let ys = [| 2; 0; 1 |]

    let expected =
        Array.map2 (fun row y -> -(logSoftmaxRow row)[y]) rows ys |> Array.average

    close 1e-12 expected (Tensor.toScalar (Losses.crossEntropy (f64 rows) (labels32 ys)))

[<Fact>]
let ``label smoothing is (1 - eps) nll + eps * mean over classes of -logp`` () =
    let rows = [| [| 1.0; 2.0; 3.0 |]; [| 1.0; 0.0; -1.0 |] |]
    let ys = [| 2; 1 |]
    let eps = 0.1

    let perExample (row: float[]) (y: int) =
        let lp = logSoftmaxRow row
        (1.0 - eps) * -lp[y] + eps * (lp |> Array.averageBy (fun v -> -v))

    let expected = Array.map2 perExample rows ys |> Array.average
    close 1e-12 expected (Tensor.toScalar (Criterion.crossEntropy (labelSmoothing = eps) (f64 rows) (labels32 ys)))

[<Fact>]
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

[<Fact>]
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

[<Fact>]
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

[<Fact>]
let ``nll averages -input at the label`` () =
    let logp = [| [| -0.1; -2.0; -3.0 |]; [| -1.5; -0.3; -2.5 |] |]
    close 1e-12 ((2.0 + 0.3) / 2.0) (Tensor.toScalar (Losses.nll (f64 logp) (labels32 [| 1; 1 |])))

[<Fact>]
let ``out-of-range labels name the loss, the label and the number of classes`` () =
    let logits = f64 [| [| 1.0; 2.0; 3.0 |]; [| 0.0; 0.0; 0.0 |] |]

    let e =
        Assert.ThrowsAny<ArgumentException>(fun () -> Losses.crossEntropy logits (labels32 [| 0; 3 |]) |> ignore)

    Assert.Contains("crossEntropy", e.Message)
    Assert.Contains("label 3", e.Message)
    Assert.Contains("3 classes", e.Message)

    let e2 =
        Assert.ThrowsAny<ArgumentException>(fun () -> Losses.nll logits (labels64 [| -1L; 0L |]) |> ignore)

    Assert.Contains("nll", e2.Message)
    Assert.Contains("label -1", e2.Message)

[<Fact>]
let ``crossEntropy names both shapes when labels do not fit the logits`` () =
    let logits = Tensor.zeros [ 4; 10 ]

    let e =
        Assert.ThrowsAny<ArgumentException>(fun () -> Losses.crossEntropy logits (labels32 [| 1; 2; 3 |]) |> ignore)

    Assert.Contains("[4; 10]", e.Message)
    Assert.Contains("[3]", e.Message)

    let e2 =
        Assert.ThrowsAny<ArgumentException>(fun () -> Losses.crossEntropy logits (Tensor.zeros [ 4; 9 ]) |> ignore)

    Assert.Contains("[4; 10]", e2.Message)
    Assert.Contains("[4; 9]", e2.Message)

    Assert.ThrowsAny<ArgumentException>(fun () ->
        Criterion.crossEntropy (labelSmoothing = 1.5) logits (labels32 [| 0; 0; 0; 0 |])
        |> ignore)
    |> ignore

// ---- Penalties ----

[<Fact>]
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
