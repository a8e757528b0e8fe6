module FunctionalNets.Tests.Nn.OptimTests

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn
// The optimizers are checked against PyTorch's published algorithms (torch.optim docs), written out
// here in plain floats, element by element. The loss is sum(p^2 - p) over every parameter, so the
// gradient 2p - 1 changes from step to step and the state really matters.

// Tensor.ofArray keeps Float64 data exact (Tensor.create with a dtype goes through Float32 first).
let private vec (xs: float list) =
    Tensor.ofArray (Array.ofList xs, [ xs.Length ])

/// The single tensor of a one-leaf tree.
let private leaf (t: PTree<Tensor>) = PTree.values t |> List.exactlyOne

let private flat (t: PTree<Tensor>) =
    PTree.values t
    |> List.collect (Tensor.toFloatArray >> List.ofArray)
    |> Array.ofList

/// A weight and a bias; paths "weight" and "bias" as in a PyTorch state_dict.
let private start () =
    PTree.node [ "weight", Leaf(vec [ 1.0; -2.0 ]); "bias", Leaf(vec [ 0.25 ]) ]

/// Which flattened entries belong to a bias (for masked references).
let private isBias = [| false; false; true |]

let private loss (p: PTree<Tensor>) =
    PTree.values p |> List.map (fun x -> Tensor.sum (x * x - x)) |> List.reduce (+)

let private refGrad (p: float[]) = p |> Array.map (fun x -> 2.0 * x - 1.0)

/// Runs n steps of a transformation and returns the flattened parameters after each.
let private run (tx: GradTx) (n: int) =
    let rec go k p s acc =
        if k = n then
            List.rev acc
        else
            let g = Diff.gradTree loss p
            let u, s' = tx.Update (int64 k) g s p
            let p' = Optim.applyUpdates p u
            go (k + 1) p' s' (flat p' :: acc)

    let p0 = start ()
    go 0 p0 (tx.Init p0) []

/// Runs n steps of a reference: step t (1-based) -> params -> grads -> new params.
let private runRef (n: int) (step: int -> float[] -> float[] -> float[]) =
    let rec go t p acc =
        if t > n then
            List.rev acc
        else
            let p' = step t p (refGrad p)
            go (t + 1) p' (p' :: acc)

    go 1 (flat (start ())) []

let private closeArr (tol: float) (expected: float[]) (actual: float[]) =
    Expect.equal actual.Length expected.Length "actual.Length"

    for i in 0 .. expected.Length - 1 do
        if abs (expected[i] - actual[i]) > tol * (1.0 + abs expected[i]) then
            failwithf
                "element %d: expected %.17g, got %.17g (expected %A, got %A)"
                i
                expected[i]
                actual[i]
                expected
                actual

let private matches (expected: float[] list) (actual: float[] list) =
    Expect.equal actual.Length expected.Length "actual.Length"
    List.iter2 (closeArr 1e-12) expected actual

// ---------------------------------------------------------------- optimizers vs PyTorch's algorithms

let ``sgd matches p - lr g`` () =
    let lr = 0.1
    let expected = runRef 3 (fun _ p g -> Array.map2 (fun p g -> p - lr * g) p g)
    matches expected (run (Optim.sgd lr) 3)
    matches expected (run (Optim.sgd (Schedules.constant lr)) 3)

let ``sgd with coupled weight decay matches PyTorch's weight_decay`` () =
    let lr, wd = 0.1, 0.3

    let expected =
        runRef 3 (fun _ p g -> Array.map2 (fun p g -> p - lr * (g + wd * p)) p g)

    matches expected (run (Optim.sgd (Schedules.constant lr, weightDecay = wd)) 3)

/// PyTorch SGD with momentum: buf = g on the first step, then mu buf + g (dampening 0).
let private momentumRef (lr: float) (mu: float) (wd: float) (nesterov: bool) =
    let buf = Array.zeroCreate 3

    runRef 3 (fun t p g ->
        let g = Array.map2 (fun g p -> g + wd * p) g p

        for i in 0..2 do
            buf[i] <- if t = 1 then g[i] else mu * buf[i] + g[i]

        Array.init 3 (fun i ->
            let d = if nesterov then g[i] + mu * buf[i] else buf[i]
            p[i] - lr * d))

let ``momentum matches PyTorch SGD momentum`` () =
    matches (momentumRef 0.1 0.9 0.0 false) (run (Optim.sgd (0.1, momentum = 0.9)) 3)
    matches (momentumRef 0.1 0.9 0.0 false) (run (Optim.sgd (Schedules.constant 0.1, momentum = 0.9)) 3)

let ``nesterov matches PyTorch SGD nesterov`` () =
    matches (momentumRef 0.05 0.8 0.0 true) (run (Optim.sgd (0.05, momentum = 0.8, nesterov = true)) 3)

    matches
        (momentumRef 0.05 0.8 0.0 true)
        (run (Optim.sgd (Schedules.constant 0.05, momentum = 0.8, nesterov = true)) 3)

let ``sgd combines weight decay and nesterov as PyTorch does`` () =
    let tx =
        Optim.sgd (Schedules.constant 0.1, momentum = 0.7, nesterov = true, weightDecay = 0.01)

    matches (momentumRef 0.1 0.7 0.01 true) (run tx 3)

let ``adagrad matches PyTorch Adagrad`` () =
    let lr, eps, init = 0.5, 1e-10, 0.1
    let sum = Array.create 3 0.0

    let expected =
        runRef 3 (fun _ p g ->
            Array.init 3 (fun i ->
                sum[i] <- sum[i] + g[i] * g[i]
                p[i] - lr * g[i] / (sqrt sum[i] + eps)))

    matches expected (run (Optim.adagrad lr) 3)
    let sum2 = Array.create 3 init

    let expectedInit =
        runRef 3 (fun _ p g ->
            Array.init 3 (fun i ->
                sum2[i] <- sum2[i] + g[i] * g[i]
                p[i] - lr * g[i] / (sqrt sum2[i] + eps)))

    matches expectedInit (run (Optim.adagrad (Schedules.constant lr, initialAccumulator = init)) 3)

/// PyTorch RMSprop: square_avg, optional grad_avg (centered) and momentum buffer, eps outside the sqrt.
let private rmspropRef (lr: float) (alpha: float) (eps: float) (momentum: float) (centered: bool) =
    let v = Array.zeroCreate 3
    let avg = Array.zeroCreate 3
    let buf = Array.zeroCreate 3

    runRef 3 (fun _ p g ->
        Array.init 3 (fun i ->
            v[i] <- alpha * v[i] + (1.0 - alpha) * g[i] * g[i]

            let denom =
                if centered then
                    avg[i] <- alpha * avg[i] + (1.0 - alpha) * g[i]
                    sqrt (v[i] - avg[i] * avg[i]) + eps
                else
                    sqrt v[i] + eps

            if momentum > 0.0 then
                buf[i] <- momentum * buf[i] + g[i] / denom
                p[i] - lr * buf[i]
            else
                p[i] - lr * g[i] / denom))

let ``rmsprop matches PyTorch RMSprop`` () =
    matches (rmspropRef 0.01 0.99 1e-8 0.0 false) (run (Optim.rmsprop 0.01) 3)
    matches (rmspropRef 0.01 0.99 1e-8 0.0 false) (run (Optim.rmsprop (Schedules.constant 0.01)) 3)

let ``rmsprop centered with momentum matches PyTorch RMSprop`` () =
    let tx =
        Optim.rmsprop (Schedules.constant 0.01, alpha = 0.9, momentum = 0.5, centered = true)

    matches (rmspropRef 0.01 0.9 1e-8 0.5 true) (run tx 3)

/// PyTorch Adam / AdamW, written as in torch.optim's docs and single-tensor implementation:
/// step_size = lr / bc1, denom = sqrt(v) / sqrt(bc2) + eps. lrAt gets the 1-based step.
let private adamRef
    (lrAt: int -> float)
    (b1: float)
    (b2: float)
    (eps: float)
    (l2: float)
    (decoupled: float)
    (decays: bool[])
    =
    let m = Array.zeroCreate 3
    let v = Array.zeroCreate 3

    runRef 3 (fun t p g ->
        let lr = lrAt t

        Array.init 3 (fun i ->
            let g = g[i] + l2 * p[i]
            let p = if decays[i] then p[i] * (1.0 - lr * decoupled) else p[i]
            m[i] <- b1 * m[i] + (1.0 - b1) * g
            v[i] <- b2 * v[i] + (1.0 - b2) * g * g
            let bc1 = 1.0 - b1 ** float t
            let bc2 = 1.0 - b2 ** float t
            let denom = sqrt v[i] / sqrt bc2 + eps
            p - lr / bc1 * m[i] / denom))

let private all = Array.create 3 true

let ``adam matches PyTorch Adam`` () =
    matches (adamRef (fun _ -> 0.1) 0.9 0.999 1e-8 0.0 0.0 all) (run (Optim.adam 0.1) 3)

let ``adam with a schedule uses lr at count = step - 1`` () =
    let sched: Schedule = fun t -> 0.1 * 0.5 ** float t
    matches (adamRef (fun t -> sched (int64 (t - 1))) 0.9 0.999 1e-8 0.0 0.0 all) (run (Optim.adam sched) 3)

let ``adam with L2 weight decay matches PyTorch Adam weight_decay`` () =
    matches
        (adamRef (fun _ -> 0.05) 0.8 0.99 1e-6 0.1 0.0 all)
        (run (Optim.adam (Schedules.constant 0.05, b1 = 0.8, b2 = 0.99, eps = 1e-6, weightDecay = 0.1)) 3)

let ``adamw matches PyTorch AdamW`` () =
    matches (adamRef (fun _ -> 0.1) 0.9 0.999 1e-8 0.0 0.01 all) (run (Optim.adamw 0.1) 3)
    // StepLR(step_size=2, gamma=0.5) from 0.1: step t (from 1) uses 0.1 * 0.5^floor((t - 1) / 2).
    let stepLr (t: int) = 0.1 * 0.5 ** float ((t - 1) / 2)
    matches (adamRef stepLr 0.9 0.999 1e-8 0.0 0.01 all) (run (Optim.adamw (Schedules.stepDecay 0.1 2L 0.5)) 3)

let ``adamw with a mask leaves biases undecayed`` () =
    let decays = isBias |> Array.map not

    matches
        (adamRef (fun _ -> 0.1) 0.9 0.999 1e-8 0.0 0.5 decays)
        (run (Optim.adamw (Schedules.constant 0.1, weightDecay = 0.5, mask = DecayMask.ExcludeBiases)) 3)

let ``adam minimizes a quadratic`` () =
    let target = vec [ 3.0; -1.0; 0.5 ]

    let f (p: PTree<Tensor>) =
        let d = leaf p - target in Tensor.sum (d * d)

    let tx = Optim.adam (Schedules.cosine 0.1 300L 0.0)
    let p0 = PTree.node [ "x", Leaf(vec [ 0.0; 0.0; 0.0 ]) ]

    let final =
        Seq.init 300 id
        |> Seq.fold
            (fun (p, s) k ->
                let u, s' = tx.Update (int64 k) (Diff.gradTree f p) s p
                Optim.applyUpdates p u, s')
            (p0, tx.Init p0)
        |> fst

    let x = Tensor.toFloatArray (leaf final)
    let err = Array.map2 (fun a b -> abs (a - b)) x [| 3.0; -1.0; 0.5 |] |> Array.max
    Expect.isTrue (err < 1e-3) (sprintf "adam ended at %A (max error %g)" x err)

// ---------------------------------------------------------------- transformations

let private grads (w: float list) (b: float list) =
    PTree.node [ "weight", Leaf(vec w); "bias", Leaf(vec b) ]

let private update (tx: GradTx) (g: PTree<Tensor>) =
    let p = start ()
    fst (tx.Update 0L g (tx.Init p) p)

let ``chain applies transformations in order`` () =
    let g = grads [ 0.8; -3.0 ] [ 0.1 ]
    closeArr 0.0 [| 1.0; -1.0; 0.2 |] (flat (update (Optim.chain [ Optim.scale 2.0; Optim.clipByValue 1.0 ]) g))
    closeArr 0.0 [| 1.6; -2.0; 0.2 |] (flat (update (Optim.chain [ Optim.clipByValue 1.0; Optim.scale 2.0 ]) g))

let ``chain state is indexed by position`` () =
    let tx =
        Optim.chain
            [
                Optim.clipByGlobalNorm 1.0
                Optim.scaleByAdam 0.9 0.999 1e-8
                Optim.scaleByLearningRate 0.1
            ]

    let s = tx.Init(start ())
    let paths = PTree.leaves s |> List.map fst
    Expect.equal paths [ "1.count"; "1.mu.weight"; "1.mu.bias"; "1.nu.weight"; "1.nu.bias" ] "paths"

let ``clipByGlobalNorm scales down to exactly maxNorm`` () =
    // Global norm of [3; 4] and [12] is 13.
    let g = grads [ 3.0; 4.0 ] [ 12.0 ]
    let clipped = update (Optim.clipByGlobalNorm 6.5) g
    closeArr 1e-15 [| 1.5; 2.0; 6.0 |] (flat clipped)

    Expect.equal
        (System.Math.Round(Tensor.toScalar (GradTransform.globalNorm clipped), 12))
        (System.Math.Round(6.5, 12))
        "Tensor.toScalar (GradTransform.globalNorm clipped) to 12 places"

let ``clipByGlobalNorm leaves grads within the norm alone`` () =
    let g = grads [ 3.0; 4.0 ] [ 12.0 ]
    closeArr 0.0 [| 3.0; 4.0; 12.0 |] (flat (update (Optim.clipByGlobalNorm 20.0) g))
    closeArr 0.0 [| 3.0; 4.0; 12.0 |] (flat (update (Optim.clipByGlobalNorm 13.0) g))
    closeArr 0.0 [| 0.0; 0.0; 0.0 |] (flat (update (Optim.clipByGlobalNorm 1.0) (grads [ 0.0; 0.0 ] [ 0.0 ])))

let ``clipByValue clamps every element`` () =
    let g = grads [ 0.3; -7.0 ] [ 2.5 ]
    closeArr 0.0 [| 0.3; -0.5; 0.5 |] (flat (update (Optim.clipByValue 0.5) g))

let ``addDecayedWeights skips masked leaves`` () =
    let g = grads [ 1.0; 1.0 ] [ 1.0 ]
    // params: weight [1; -2], bias [0.25]
    closeArr 1e-15 [| 1.1; 0.8; 1.025 |] (flat (update (Optim.addDecayedWeights 0.1 DecayMask.All) g))
    let treeMask = PTree.node [ "weight", Leaf true; "bias", Leaf false ]
    closeArr 1e-15 [| 1.1; 0.8; 1.0 |] (flat (update (Optim.addDecayedWeights 0.1 (DecayMask.Tree treeMask)) g))
    closeArr 1e-15 [| 1.1; 0.8; 1.0 |] (flat (update (Optim.addDecayedWeights 0.1 DecayMask.ExcludeBiases) g))
    let onlyBias = DecayMask.Path(fun path -> path = "bias")
    closeArr 1e-15 [| 1.0; 1.0; 1.025 |] (flat (update (Optim.addDecayedWeights 0.1 onlyBias) g))

let ``scaleByLearningRateWith sees the count advance`` () =
    let tx = Optim.scaleByLearningRateWith (fun t -> float (t + 1L))
    let p = start ()
    let g = grads [ 1.0; 1.0 ] [ 1.0 ]

    let steps =
        [ 1..3 ]
        |> List.scan (fun (_, s) k -> tx.Update (int64 (k - 1)) g s p) (g, tx.Init p)
        |> List.tail

    let updates = steps |> List.map (fst >> flat >> Array.head)
    Expect.equal updates [ -1.0; -2.0; -3.0 ] "updates"
    let counts = steps |> List.map (fun (_, s) -> PTree.leaves s |> List.exactlyOne)

    Expect.isTrue
        (counts
         |> List.forall (fun (path, c) -> path = "count" && c.DType = DType.Float64 && c.Rank = 0))
        "counts |> List.forall (fun (path, c) -> path = \"count\" && c.DType = DType.Float64 && c...."

    Expect.equal
        (counts |> List.map (snd >> Tensor.toScalar))
        [ 1.0; 2.0; 3.0 ]
        "counts |> List.map (snd >> Tensor.toScalar)"

let ``scaleBySchedule multiplies by the schedule without negating`` () =
    let tx = Optim.scaleBySchedule (Schedules.piecewise 2.0 [ 1L, 0.5 ])
    let p = start ()
    let g = grads [ 1.0; -1.0 ] [ 4.0 ]
    let u1, s1 = tx.Update 0L g (tx.Init p) p
    let u2, _ = tx.Update 1L g s1 p
    closeArr 0.0 [| 2.0; -2.0; 8.0 |] (flat u1)
    closeArr 0.0 [| 1.0; -1.0; 4.0 |] (flat u2)

let ``optimizer state round-trips through its leaves`` () =
    let tx = Optim.chain [ Optim.clipByGlobalNorm 10.0; Optim.adamw 0.1 ]
    let p0 = start ()
    let g = Diff.gradTree loss p0
    let u1, s1 = tx.Update 0L g (tx.Init p0) p0
    let p1 = Optim.applyUpdates p0 u1
    let entries = PTree.leaves s1

    Expect.equal
        (entries |> List.map fst)
        [ "1.0.count"; "1.0.mu.weight"; "1.0.mu.bias"; "1.0.nu.weight"; "1.0.nu.bias" ]
        "entries |> List.map fst"

    // Paths are the same before and after an update, so a checkpoint written at any step loads back.
    Expect.equal (entries |> List.map fst) (PTree.leaves (tx.Init p0) |> List.map fst) "entries |> List.map fst"
    // Save as (path, values) and rebuild on the template, copying the data as a checkpoint would.
    let saved =
        entries
        |> List.map (fun (path, t) -> path, Tensor.toFloatArray t, t.Shape.ToArray())

    let byPath =
        saved |> List.map (fun (path, data, shape) -> path, (data, shape)) |> Map.ofList

    let restored =
        PTree.rebuild
            (tx.Init p0)
            (PTree.leaves (tx.Init p0)
             |> List.map (fun (path, _) ->
                 let data, shape = byPath[path]
                 Tensor.ofArray (data, shape)))

    let next (s: PTree<Tensor>) =
        let u, _ = tx.Update 1L (Diff.gradTree loss p1) s p1
        flat (Optim.applyUpdates p1 u)

    closeArr 0.0 (next s1) (next restored)

let ``applyUpdates keeps the parameters' dtype`` () =
    let p = PTree.node [ "w", Leaf(Tensor.create ([ 1.0; 2.0 ], DType.Float32)) ]
    let u = PTree.node [ "w", Leaf(vec [ 0.5; -0.5 ]) ]
    let r = leaf (Optim.applyUpdates p u)
    Expect.equal r.DType DType.Float32 "r.DType"
    closeArr 0.0 [| 1.5; 1.5 |] (Tensor.toFloatArray r)

let ``adam works on Float32 parameters`` () =
    let p = PTree.node [ "w", Leaf(Tensor.create ([ 1.0; -2.0 ], DType.Float32)) ]
    let tx = Optim.adam (Schedules.constant 0.1)
    let g = PTree.map (fun (x: Tensor) -> x * 2.0) p
    let u, s = tx.Update 0L g (tx.Init p) p
    Expect.equal ((leaf (Optim.applyUpdates p u)).DType) DType.Float32 "(leaf (Optim.applyUpdates p u)).DType"
    // The first Adam step moves every element by lr (m̂ / sqrt(v̂) = sign(g)).
    closeArr 1e-6 [| -0.1; 0.1 |] (flat u)

    Expect.equal
        (PTree.tryFind "0.count" s |> Option.get |> leaf |> Tensor.toScalar)
        1.0
        "PTree.tryFind \"0.count\" s |> Option.get |> leaf |> Tensor.toScalar"

let ``chain rejects a state it did not build`` () =
    let tx = Optim.adam 0.1
    let p = start ()

    Expects.throws<ArgumentException> "tx.Update 0L p PTree.empty p" (fun () -> tx.Update 0L p PTree.empty p |> ignore)
    |> ignore

let ``ExcludeBiases matches the last path segment in nested trees`` () =
    let p =
        PTree.node
            [
                "0", PTree.node [ "weight", Leaf(vec [ 2.0 ]); "bias", Leaf(vec [ 2.0 ]) ]
                "bias_net", Leaf(vec [ 2.0 ])
            ]

    let g = PTree.map Tensor.zerosLike p
    let tx = Optim.addDecayedWeights 0.5 DecayMask.ExcludeBiases
    closeArr 0.0 [| 1.0; 0.0; 1.0 |] (flat (fst (tx.Update 0L g (tx.Init p) p)))

let ``adam with amsgrad matches PyTorch's AMSGrad`` () =
    let m = Array.zeroCreate 3
    let v = Array.zeroCreate 3
    let vmax = Array.zeroCreate 3
    let lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8

    let expected =
        runRef 3 (fun t p g ->
            Array.init 3 (fun i ->
                m[i] <- b1 * m[i] + (1.0 - b1) * g[i]
                v[i] <- b2 * v[i] + (1.0 - b2) * g[i] * g[i]
                vmax[i] <- max vmax[i] v[i]
                let bc1 = 1.0 - b1 ** float t
                let bc2 = 1.0 - b2 ** float t
                p[i] - lr / bc1 * m[i] / (sqrt vmax[i] / sqrt bc2 + eps)))

    matches expected (run (Optim.adam (lr, amsgrad = true)) 3)

let ``optimizer updates take the step from the caller, not from the device`` () =
    // The schedule sees the step passed in, whatever count the state holds.
    let tx = Optim.scaleByLearningRateWith (fun t -> float t)
    let p = start ()
    let g = grads [ 1.0; 1.0 ] [ 1.0 ]
    let u, s = tx.Update 41L g (tx.Init p) p
    Expect.equal (flat u |> Array.head) -41.0 "flat u |> Array.head"

    Expect.equal
        (PTree.leaves s |> List.exactlyOne |> snd |> Tensor.toScalar)
        42.0
        "PTree.leaves s |> List.exactlyOne |> snd |> Tensor.toScalar"

let ``typed optimizer states convert to and from the checkpoint tree`` () =
    let p = start ()
    let tree = (Optim.scaleByAdam 0.9 0.999 1e-8).Init p
    let s = AdamState.OfTree("test", tree)
    Expect.equal (Tensor.toScalar s.Count) 0.0 "Tensor.toScalar s.Count"

    Expect.equal
        (PTree.leaves (s.ToTree()) |> List.map fst)
        (PTree.leaves tree |> List.map fst)
        "PTree.leaves (s.ToTree()) |> List.map fst"

    let e =
        Expects.throws<ArgumentException> "AdamState.OfTree(\"scaleByAdam\", PTree.node [ \"mu\", p ])" (fun () ->
            AdamState.OfTree("scaleByAdam", PTree.node [ "mu", p ]) |> ignore)

    Expect.stringContains e.Message "scaleByAdam" "e.Message"
    Expect.stringContains e.Message "'count'" "e.Message"

/// The tests of this module.
let tests =
    testList
        "Optim"
        [
            testCase "sgd matches p - lr g" ``sgd matches p - lr g``
            testCase
                "sgd with coupled weight decay matches PyTorch's weight_decay"
                ``sgd with coupled weight decay matches PyTorch's weight_decay``
            testCase "momentum matches PyTorch SGD momentum" ``momentum matches PyTorch SGD momentum``
            testCase "nesterov matches PyTorch SGD nesterov" ``nesterov matches PyTorch SGD nesterov``
            testCase
                "sgd combines weight decay and nesterov as PyTorch does"
                ``sgd combines weight decay and nesterov as PyTorch does``
            testCase "adagrad matches PyTorch Adagrad" ``adagrad matches PyTorch Adagrad``
            testCase "rmsprop matches PyTorch RMSprop" ``rmsprop matches PyTorch RMSprop``
            testCase
                "rmsprop centered with momentum matches PyTorch RMSprop"
                ``rmsprop centered with momentum matches PyTorch RMSprop``
            testCase "adam matches PyTorch Adam" ``adam matches PyTorch Adam``
            testCase
                "adam with a schedule uses lr at count = step - 1"
                ``adam with a schedule uses lr at count = step - 1``
            testCase
                "adam with L2 weight decay matches PyTorch Adam weight_decay"
                ``adam with L2 weight decay matches PyTorch Adam weight_decay``
            testCase "adamw matches PyTorch AdamW" ``adamw matches PyTorch AdamW``
            testCase "adamw with a mask leaves biases undecayed" ``adamw with a mask leaves biases undecayed``
            testCase "adam minimizes a quadratic" ``adam minimizes a quadratic``
            testCase "chain applies transformations in order" ``chain applies transformations in order``
            testCase "chain state is indexed by position" ``chain state is indexed by position``
            testCase
                "clipByGlobalNorm scales down to exactly maxNorm"
                ``clipByGlobalNorm scales down to exactly maxNorm``
            testCase
                "clipByGlobalNorm leaves grads within the norm alone"
                ``clipByGlobalNorm leaves grads within the norm alone``
            testCase "clipByValue clamps every element" ``clipByValue clamps every element``
            testCase "addDecayedWeights skips masked leaves" ``addDecayedWeights skips masked leaves``
            testCase "scaleByLearningRateWith sees the count advance" ``scaleByLearningRateWith sees the count advance``
            testCase
                "scaleBySchedule multiplies by the schedule without negating"
                ``scaleBySchedule multiplies by the schedule without negating``
            testCase "optimizer state round-trips through its leaves" ``optimizer state round-trips through its leaves``
            testCase "applyUpdates keeps the parameters' dtype" ``applyUpdates keeps the parameters' dtype``
            testCase "adam works on Float32 parameters" ``adam works on Float32 parameters``
            testCase "chain rejects a state it did not build" ``chain rejects a state it did not build``
            testCase
                "ExcludeBiases matches the last path segment in nested trees"
                ``ExcludeBiases matches the last path segment in nested trees``
            testCase "adam with amsgrad matches PyTorch's AMSGrad" ``adam with amsgrad matches PyTorch's AMSGrad``
            testCase
                "optimizer updates take the step from the caller, not from the device"
                ``optimizer updates take the step from the caller, not from the device``
            testCase
                "typed optimizer states convert to and from the checkpoint tree"
                ``typed optimizer states convert to and from the checkpoint tree``
        ]
