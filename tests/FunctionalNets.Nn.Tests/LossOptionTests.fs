/// torch's loss options (reduction, class weights, ignore_index, pos_weight, Huber, SmoothL1, KL divergence) and
/// BCE's derivative at the edges. Expected values are what torch 1.13 gives in float64 for the inputs below; each
/// test names the torch expression (import torch.nn.functional as F; tensors with dtype=torch.float64).
module FunctionalNets.Tests.Nn.LossOptionTests

open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn

let private m (rows: float[][]) =
    Tensor.ofArray (Array.concat rows, [ rows.Length; rows[0].Length ])

let private v (xs: float[]) = Tensor.ofArray (xs, [ xs.Length ])
let private labels (xs: int64[]) = Tensor.ofArray (xs, [ xs.Length ])
let private arr (t: Tensor) = Tensor.toFloatArray t

let private same (expected: float[]) (actual: float[]) =
    Expect.isTrue
        (expected.Length = actual.Length
         && Array.forall2 (fun (e: float) a -> e = a || abs (e - a) <= 1e-10 * (1.0 + abs e)) expected actual)
        (sprintf "expected %A, got %A" expected actual)

/// The loss value(s) and the gradient of their sum with respect to the prediction.
let private valueGrad (loss: Loss) (pred: Tensor) (target: Tensor) =
    let _, g = Diff.valueAndGrad (fun p -> Tensor.sum (loss p target)) pred
    arr (loss pred target), arr g

// x = torch.tensor([[0.5,-1.0,2.0,0.1],[1.5,0.3,-0.7,0.0],[-0.2,0.8,0.4,-1.1]]), w = torch.tensor([0.5,2.0,1.0,3.0])
let private x =
    m
        [|
            [| 0.5; -1.0; 2.0; 0.1 |]
            [| 1.5; 0.3; -0.7; 0.0 |]
            [| -0.2; 0.8; 0.4; -1.1 |]
        |]

let private w = v [| 0.5; 2.0; 1.0; 3.0 |]

let ``cross-entropy with class weights and ignore_index divides by the counted weights`` () =
    // F.cross_entropy(x, torch.tensor([2,-100,1]), weight=w, reduction=r)
    let y = labels [| 2L; -100L; 1L |]

    let gradSum =
        [|
            0.15685931814583598
            0.03500004477865389
            -0.2970053082851256
            0.10514594536063579
            0.0
            0.0
            0.0
            0.0
            0.33630569902748575
            -1.0858263295263686
            0.6127889368764539
            0.1367316936224292
        |]

    let value, grad = valueGrad (Criterion.crossEntropy (weight = w)) x y
    same [| 0.6393899091536156 |] value
    same (gradSum |> Array.map (fun g -> g / 3.0)) grad

    let value, grad =
        valueGrad (Criterion.crossEntropy (weight = w, reduction = Reduction.Sum)) x y

    same [| 1.9181697274608467 |] value
    same gradSum grad

    let value, _ =
        valueGrad (Criterion.crossEntropy (weight = w, reduction = Reduction.None)) x y

    same [| 0.35240593810343074; 0.0; 1.565763789357416 |] value

let ``cross-entropy with weights, a custom ignore_index and label smoothing`` () =
    // F.cross_entropy(x, torch.tensor([2,0,1]), weight=w, ignore_index=0, label_smoothing=0.2)
    let y = labels [| 2L; 0L; 1L |]

    let value, grad =
        valueGrad (Criterion.crossEntropy (weight = w, ignoreIndex = 0, labelSmoothing = 0.2)) x y

    same [| 0.9520014425409575 |] value

    same
        [|
            0.05048891097135516
            -0.020208316541338124
            -0.01971032394025543
            -0.010570270489761582
            0.0
            0.0
            0.0
            0.0
            0.09956474510465169
            -0.27336928072304323
            0.17993645058119562
            -0.006131914962803962
        |]
        grad
    // F.cross_entropy(x, torch.tensor([2,0,1]), ignore_index=0, label_smoothing=0.2, reduction='sum')
    same
        [| 1.6202878327821386 |]
        (arr (Criterion.crossEntropy (ignoreIndex = 0, labelSmoothing = 0.2, reduction = Reduction.Sum) x y))

let ``nll with weights and ignore_index, and cross-entropy of weighted probabilities`` () =
    let logp = Tensor.logSoftmax (x, 1)
    // F.nll_loss(torch.log_softmax(x,1), torch.tensor([3,3,0]), weight=w)
    same [| 2.0959724871304295 |] (arr (Criterion.nll (weight = w) logp (labels [| 3L; 3L; 0L |])))
    // F.nll_loss(torch.log_softmax(x,1), torch.tensor([3,1,0]), ignore_index=1, reduction='none')
    same
        [| 2.2524059381034305; 0.0; 1.782881894678708 |]
        (arr (Criterion.nll (ignoreIndex = 1, reduction = Reduction.None) logp (labels [| 3L; 1L; 0L |])))
    // F.cross_entropy(x, p, weight=w), p = [[.2,.3,.5,0],[.1,.1,.1,.7],[.25,.25,.25,.25]]
    let p =
        m
            [|
                [| 0.2; 0.3; 0.5; 0.0 |]
                [| 0.1; 0.1; 0.1; 0.7 |]
                [| 0.25; 0.25; 0.25; 0.25 |]
            |]

    same [| 3.3699287228046124 |] (arr (Criterion.crossEntropy (weight = w) x p))

let ``the default ignore_index -100 is ignored by crossEntropy and nll, other negative labels are errors`` () =
    let y = labels [| 2L; -100L; 1L |]
    // F.cross_entropy(x, torch.tensor([2,-100,1])) equals the mean over the two counted rows.
    let counted =
        Losses.crossEntropy (Tensor.cat ([ x[0..0, *]; x[2..2, *] ], 0)) (labels [| 2L; 1L |])

    same (arr counted) (arr (Losses.crossEntropy x y))

    let e =
        Expects.throws<System.ArgumentOutOfRangeException> "Losses.nll x (labels [| 2L; -1L; 1L |])" (fun () ->
            Losses.nll x (labels [| 2L; -1L; 1L |]) |> ignore)

    Expect.stringContains e.Message "ignoreIndex -100" "e.Message"

let ``class weights of the wrong length are named`` () =
    let e =
        Expects.throws<System.ArgumentException>
            "Criterion.crossEntropy (weight = v [| 1.0; 2.0 |]) x (labels [| 0L; 1L; 2L |])"
            (fun () ->
                Criterion.crossEntropy (weight = v [| 1.0; 2.0 |]) x (labels [| 0L; 1L; 2L |])
                |> ignore)

    Expect.stringContains e.Message "4 elements" "e.Message"

// a = torch.tensor([[0.5,-1.0,2.0],[1.5,0.3,-3.7]]), t = torch.tensor([[0.,1.,0.3],[1.,0.,2.0]])
let private a = m [| [| 0.5; -1.0; 2.0 |]; [| 1.5; 0.3; -3.7 |] |]
let private t = m [| [| 0.0; 1.0; 0.3 |]; [| 1.0; 0.0; 2.0 |] |]

let ``mse and l1 with every reduction`` () =
    // F.mse_loss(a, t, reduction=r), F.l1_loss(a, t, reduction=r)
    same [| 39.970000000000006 |] (arr (Criterion.mse (Reduction.Sum) a t))
    same [| 0.25; 4.0; 2.8899999999999997; 0.25; 0.09; 32.49 |] (arr (Criterion.mse (Reduction.None) a t))
    same [| 6.661666666666668 |] (arr (Criterion.mse () a t))
    same [| 10.7 |] (arr (Criterion.mae (Reduction.Sum) a t))
    same [| 0.5; 2.0; 1.7; 0.5; 0.3; 5.7 |] (arr (Criterion.mae (Reduction.None) a t))

let ``huber and smooth L1 against torch`` () =
    // F.huber_loss(a, t, delta=d) and F.smooth_l1_loss(a, t, beta=d, reduction='sum'), d in {1, 0.5}
    let value, grad = valueGrad (Criterion.huber ()) a t
    same [| 1.3658333333333335 |] value

    same
        [|
            0.08333333333333333
            -0.16666666666666666
            0.16666666666666666
            0.08333333333333333
            0.05
            -0.16666666666666666
        |]
        grad

    let value, grad = valueGrad (Criterion.huber (delta = 0.5)) a t
    same [| 0.77 |] value

    same
        [|
            0.08333333333333333
            -0.08333333333333333
            0.08333333333333333
            0.08333333333333333
            0.05
            -0.08333333333333333
        |]
        grad

    let value, grad = valueGrad (Criterion.smoothL1 (reduction = Reduction.Sum)) a t
    same [| 8.195 |] value
    same [| 0.5; -1.0; 1.0; 0.5; 0.3; -1.0 |] grad

    let value, grad =
        valueGrad (Criterion.smoothL1 (beta = 0.5, reduction = Reduction.Sum)) a t

    same [| 9.24 |] value
    same [| 1.0; -1.0; 1.0; 1.0; 0.6; -1.0 |] grad
    // F.smooth_l1_loss(a, t, beta=0.0) is the L1 loss
    same [| 1.7833333333333332 |] (arr (Criterion.smoothL1 (beta = 0.0) a t))
    same (arr (Losses.huber a t)) (arr (Losses.smoothL1 a t))

let ``bce with logits and pos_weight`` () =
    // F.binary_cross_entropy_with_logits(a, yb, pos_weight=torch.tensor([2.0,0.5,3.0])), yb = [[0,1,1],[1,0,.5]]
    let yb = m [| [| 0.0; 1.0; 1.0 |]; [| 1.0; 0.0; 0.5 |] |]
    let pw = v [| 2.0; 0.5; 3.0 |]
    let value, grad = valueGrad (Criterion.bceWithLogits (posWeight = pw)) a yb
    same [| 1.477919892228288 |] value

    same
        [|
            0.10374322186697577
            -0.06092154821916707
            -0.05960146101105882
            -0.060808507935452116
            0.09574041946860984
            -0.2419576595274436
        |]
        grad

    same
        [|
            0.9740769841801067
            0.6566308437591114
            0.38078403312891784
            0.40282655596550493
            0.854355244468527
            5.598845691867558
        |]
        (arr (Criterion.bceWithLogits (posWeight = pw, reduction = Reduction.None) a yb))
    // F.binary_cross_entropy(torch.tensor([[0.2,0.9,0.5],[0.6,0.1,0.3]]), yb, reduction='sum')
    same
        [| 2.418161261088133 |]
        (arr (Criterion.bce (Reduction.Sum) (m [| [| 0.2; 0.9; 0.5 |]; [| 0.6; 0.1; 0.3 |] |]) yb))

let ``bce's gradient at and near p = 0 and 1 is torch's`` () =
    // p = torch.tensor([0., 1., 1e-50, 1-1e-16, 0.3, 1e-45], requires_grad=True), y = [1, 0, 1, 0, 1, 0]:
    // l = F.binary_cross_entropy(p, y, reduction='none'); l.sum().backward()
    let p = v [| 0.0; 1.0; 1e-50; 1.0 - 1e-16; 0.3; 1e-45 |]
    let y = v [| 1.0; 0.0; 1.0; 0.0; 1.0; 0.0 |]
    let value, grad = valueGrad (Criterion.bce (Reduction.None)) p y
    same [| 100.0; 100.0; 100.0; 36.7368005696771; 1.2039728043259361; 0.0 |] value

    same
        [|
            -1000000003995.8029
            1000000003995.8029
            -1000000003995.8029
            1000000003995.8027
            -3.333333333333333
            1.0000000039958028e-33
        |]
        grad
    // p = [0, 1, 0, 1], y = [0, 1, 0.5, 0.5]: value [0, 0, 50, 50], grad [0, 0, -500000001997.9014, 500000001997.9014]
    let value, grad =
        valueGrad (Criterion.bce (Reduction.None)) (v [| 0.0; 1.0; 0.0; 1.0 |]) (v [| 0.0; 1.0; 0.5; 0.5 |])

    same [| 0.0; 0.0; 50.0; 50.0 |] value
    same [| 0.0; 0.0; -500000001997.9014; 500000001997.9014 |] grad

// li = torch.log_softmax(a, 1); tp = torch.softmax(torch.tensor([[1.,0.,-1.],[0.,0.,3.]]), 1) with tp[0,2] = 0
let private li = Tensor.logSoftmax (a, 1)

let private tp =
    m
        [|
            [| 0.6652409557748218; 0.2447284710547976; 0.0 |]
            [| 0.04527850074362907; 0.04527850074362907; 0.9094429985127419 |]
        |]

let ``KL divergence with every reduction and log targets`` () =
    // F.kl_div(li, tp, reduction=r), gradients of l.sum() with respect to li
    let gradSum =
        [|
            -0.6652409557748218
            -0.2447284710547976
            0.0
            -0.04527850074362907
            -0.04527850074362907
            -0.9094429985127419
        |]

    let value, grad = valueGrad (Criterion.klDiv ()) li tp
    same [| 1.0033920444131188 |] value
    same (gradSum |> Array.map (fun g -> g / 6.0)) grad
    let value, grad = valueGrad (Criterion.klDiv (Reduction.BatchMean)) li tp
    same [| 3.0101761332393564 |] value
    same (gradSum |> Array.map (fun g -> g / 2.0)) grad
    same [| 6.020352266478713 |] (arr (Criterion.klDiv (Reduction.Sum) li tp))

    same
        [|
            0.8872354099232037
            0.44875990231746266
            0.0
            -0.12802087829208655
            -0.07368667739973167
            4.886064509929865
        |]
        (arr (Criterion.klDiv (Reduction.None) li tp))
    // F.kl_div(li, torch.log(tp + 0.1), reduction='batchmean', log_target=True)
    let value, grad =
        valueGrad (Criterion.klDiv (Reduction.BatchMean, logTarget = true)) li (Tensor.log (tp + 0.1))

    same [| 3.4460295493813353 |] value

    same
        [|
            -0.3826204778874109
            -0.17236423552739882
            -0.05000000000000001
            -0.07263925037181454
            -0.07263925037181454
            -0.504721499256371
        |]
        grad

let ``batchmean is refused outside KL divergence`` () =
    let e =
        Expects.throws<System.ArgumentException> "Criterion.mse (Reduction.BatchMean) a t" (fun () ->
            Criterion.mse (Reduction.BatchMean) a t |> ignore)

    Expect.stringContains e.Message "only defined for klDiv" "e.Message"

let ``bce's derivative rules agree with central differences away from the clamps`` () =
    // Float64, p in (0.05, 0.95), y in [0, 1]: reverse mode for p and y, forward mode for p.
    let p = v [| 0.07; 0.31; 0.5; 0.77; 0.93 |]
    let y = v [| 0.0; 1.0; 0.25; 0.6; 1.0 |]

    let f p y =
        Tensor.sum (Criterion.bce (Reduction.Sum) p y)

    let h = 1e-6

    let numeric (g: float[] -> float) (x: float[]) =
        Array.init x.Length (fun i ->
            let shifted d =
                Array.mapi (fun j xj -> if j = i then xj + d else xj) x

            (g (shifted h) - g (shifted -h)) / (2.0 * h))

    let at (t: float[]) = v t
    let gp = numeric (fun pv -> Tensor.toScalar (f (at pv) y)) (arr p)
    let gy = numeric (fun yv -> Tensor.toScalar (f p (at yv))) (arr y)

    let near (e: float[]) (a: float[]) =
        Array.iter2 (fun e a -> Expect.isTrue (abs (e - a) <= 1e-6 * (1.0 + abs e)) (sprintf "%g vs %g" e a)) e a

    near gp (arr (Diff.grad (fun p -> f p y) p))
    near gy (arr (Diff.grad (fun y -> f p y) y))
    // forward mode: the tangent along e_2 is the third partial derivative
    let tangent = Diff.jvp (fun p -> f p y) p (v [| 0.0; 0.0; 1.0; 0.0; 0.0 |])
    near [| gp[2] |] (arr (snd tangent))

/// The tests of this module.
let tests =
    testList
        "LossOption"
        [
            testCase
                "cross-entropy with class weights and ignore_index divides by the counted weights"
                ``cross-entropy with class weights and ignore_index divides by the counted weights``
            testCase
                "cross-entropy with weights, a custom ignore_index and label smoothing"
                ``cross-entropy with weights, a custom ignore_index and label smoothing``
            testCase
                "nll with weights and ignore_index, and cross-entropy of weighted probabilities"
                ``nll with weights and ignore_index, and cross-entropy of weighted probabilities``
            testCase
                "the default ignore_index -100 is ignored by crossEntropy and nll, other negative labels are errors"
                ``the default ignore_index -100 is ignored by crossEntropy and nll, other negative labels are errors``
            testCase "class weights of the wrong length are named" ``class weights of the wrong length are named``
            testCase "mse and l1 with every reduction" ``mse and l1 with every reduction``
            testCase "huber and smooth L1 against torch" ``huber and smooth L1 against torch``
            testCase "bce with logits and pos_weight" ``bce with logits and pos_weight``
            testCase
                "bce's gradient at and near p = 0 and 1 is torch's"
                ``bce's gradient at and near p = 0 and 1 is torch's``
            testCase
                "KL divergence with every reduction and log targets"
                ``KL divergence with every reduction and log targets``
            testCase "batchmean is refused outside KL divergence" ``batchmean is refused outside KL divergence``
            testCase
                "bce's derivative rules agree with central differences away from the clamps"
                ``bce's derivative rules agree with central differences away from the clamps``
        ]
