module FunctionalNets.Tests.Nn.NormalizationTests

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn

let private values (t: Tensor) = Tensor.toFloatArray t
let private dims (t: Tensor) = t.Shape.ToArray()
let private paths (p: PTree<Tensor>) = PTree.leaves p |> List.map fst
let private key = Key.create 11L

let private leaf (path: string) (tree: PTree<Tensor>) =
    match PTree.tryFind path tree with
    | Some(Leaf t) -> t
    | other -> failwithf "no tensor at '%s': %A" path other

let private closeArrays (tol: float) (expected: float[]) (actual: float[]) =
    Expect.equal actual.Length expected.Length "actual.Length"

    Array.iteri2
        (fun i e a ->
            Expect.isTrue (abs (e - a) <= tol * (1.0 + abs e)) (sprintf "element %d: expected %g, got %g" i e a))
        expected
        actual

// Deterministic, uneven test data (no two channels alike), rounded to float32 so the expected values are
// computed from exactly what a Float32 tensor holds.
let private data (n: int) (offset: float) =
    Array.init n (fun i -> float (float32 (sin (float i * 1.7 + offset) * 3.0 + float (i % 5) * 0.4)))

let private f32 (xs: float[]) (shape: int list) =
    Tensor.ofArray (Array.map float32 xs, shape)

let private f64 (xs: float[]) (shape: int list) = Tensor.ofArray (xs, shape)

// ---- The direct formula, with plain floats ----

// The values of channel c of an [N; C; S] layout (S = product of the spatial dims, 1 for [N; C]).
let private channelValues (x: float[]) (n: int) (c: int) (s: int) (ch: int) =
    [|
        for i in 0 .. n - 1 do
            for j in 0 .. s - 1 -> x[(i * c + ch) * s + j]
    |]

let private mean (v: float[]) = Array.sum v / float v.Length

let private biasedVar (v: float[]) =
    let m = mean v
    (v |> Array.sumBy (fun a -> (a - m) * (a - m))) / float v.Length

let private unbiasedVar (v: float[]) =
    biasedVar v * float v.Length / float (v.Length - 1)

// y = (x - mean_c) / sqrt(var_c + eps) * gamma_c + beta_c for the given per-channel statistics.
let private normalize (x: float[]) (c: int) (s: int) (means: float[]) (vars: float[]) gamma beta eps =
    x
    |> Array.mapi (fun i a ->
        let ch = (i / s) % c

        (a - means[ch]) / sqrt (vars[ch] + eps) * (gamma: float[])[ch]
        + (beta: float[])[ch])

let private withAffine (gamma: float[]) (beta: float[]) =
    Node
        [
            "weight", Leaf(f32 gamma [ gamma.Length ])
            "bias", Leaf(f32 beta [ beta.Length ])
        ]

// ---- BatchNorm: Train and Eval against the formula ----

let ``BatchNorm2d Train normalizes with the batch mean and biased variance, then gamma and beta`` () =
    let n, c, h, w = 4, 3, 2, 3
    let s = h * w
    let xs = data (n * c * s) 0.3
    let gamma = [| 1.5; -0.5; 2.0 |]
    let beta = [| 0.25; 1.0; -3.0 |]
    let layer = Layers.batchNorm2d c
    let _, _, state = Layer.init layer key [ c; h; w ]

    let y, _ =
        Layer.apply layer (withAffine gamma beta) state (Ctx.train key) (f32 xs [ n; c; h; w ])

    Expect.equal (dims y) [| n; c; h; w |] "dims y"
    let chans = Array.init c (channelValues xs n c s)

    let expected =
        normalize xs c s (Array.map mean chans) (Array.map biasedVar chans) gamma beta 1e-5

    closeArrays 1e-4 expected (values y)

let ``BatchNorm2d running statistics follow PyTorch's update with the unbiased variance over two steps`` () =
    let n, c, h, w = 3, 2, 2, 2
    let s = h * w
    let x1 = data (n * c * s) 0.0

    let x2 =
        data (n * c * s) 5.0 |> Array.map (fun v -> float (float32 (v * 2.0 + 1.0)))

    let layer = Layers.batchNorm2d c
    let _, ps, state0 = Layer.init layer key [ c; h; w ]

    Expect.equal (paths state0) [ "running_mean"; "running_var"; "num_batches_tracked" ] "paths state0"
    closeArrays 0.0 [| 0.0; 0.0 |] (values (leaf "running_mean" state0))
    closeArrays 0.0 [| 1.0; 1.0 |] (values (leaf "running_var" state0))
    Expect.equal ((leaf "num_batches_tracked" state0).DType) DType.Int64 "(leaf \"num_batches_tracked\" state0).DType"
    Expect.equal (dims (leaf "num_batches_tracked" state0)) [||] "dims (leaf \"num_batches_tracked\" state0)"

    let _, state1 = Layer.apply layer ps state0 (Ctx.train key) (f32 x1 [ n; c; h; w ])
    let _, state2 = Layer.apply layer ps state1 (Ctx.train key) (f32 x2 [ n; c; h; w ])

    let step (rm: float[], rv: float[]) (x: float[]) =
        let chans = Array.init c (channelValues x n c s)

        Array.map2 (fun r b -> 0.9 * r + 0.1 * b) rm (Array.map mean chans),
        Array.map2 (fun r b -> 0.9 * r + 0.1 * b) rv (Array.map unbiasedVar chans)

    let rm1, rv1 = step ([| 0.0; 0.0 |], [| 1.0; 1.0 |]) x1
    let rm2, rv2 = step (rm1, rv1) x2
    closeArrays 1e-5 rm1 (values (leaf "running_mean" state1))
    closeArrays 1e-5 rv1 (values (leaf "running_var" state1))
    closeArrays 1e-5 rm2 (values (leaf "running_mean" state2))
    closeArrays 1e-5 rv2 (values (leaf "running_var" state2))

    Expect.equal
        (Tensor.toScalar (leaf "num_batches_tracked" state1))
        1.0
        "Tensor.toScalar (leaf \"num_batches_tracked\" state1)"

    Expect.equal
        (Tensor.toScalar (leaf "num_batches_tracked" state2))
        2.0
        "Tensor.toScalar (leaf \"num_batches_tracked\" state2)"

    Expect.equal ((leaf "num_batches_tracked" state2).DType) DType.Int64 "(leaf \"num_batches_tracked\" state2).DType"
    // The inputs state is untouched: trees are values.
    closeArrays 0.0 [| 0.0; 0.0 |] (values (leaf "running_mean" state0))

let ``BatchNorm2d Eval normalizes with the running statistics and leaves the state unchanged`` () =
    let n, c, h, w = 2, 2, 3, 1
    let s = h * w
    let x1 = data (n * c * s) 1.0
    let x2 = data (n * c * s) 9.0
    let gamma = [| 0.5; 3.0 |]
    let beta = [| -1.0; 0.125 |]
    let ps = withAffine gamma beta
    let layer = Layers.batchNorm2d c
    let _, _, state0 = Layer.init layer key [ c; h; w ]
    let _, state1 = Layer.apply layer ps state0 (Ctx.train key) (f32 x1 [ n; c; h; w ])
    let _, state2 = Layer.apply layer ps state1 (Ctx.train key) (f32 x1 [ n; c; h; w ])
    let y, stateE = Layer.apply layer ps state2 Ctx.eval (f32 x2 [ n; c; h; w ])

    let chans = Array.init c (channelValues x1 n c s)
    // Two identical steps from (0, 1): running = 0.19 * batch + 0.81 * initial.
    let rm = chans |> Array.map (fun v -> 0.19 * mean v)
    let rv = chans |> Array.map (fun v -> 0.19 * unbiasedVar v + 0.81)
    closeArrays 1e-4 (normalize x2 c s rm rv gamma beta 1e-5) (values y)
    Expect.isTrue (obj.ReferenceEquals(state2, stateE)) "Eval returned a new state"

    Expect.equal
        (Tensor.toScalar (leaf "num_batches_tracked" stateE))
        2.0
        "Tensor.toScalar (leaf \"num_batches_tracked\" stateE)"

    // Layer.predict is Eval too.
    closeArrays 1e-4 (values y) (values (Layer.predict layer ps state2 (f32 x2 [ n; c; h; w ])))

let ``BatchNorm1d on [N; C] and [N; C; L] matches the formula in Train and Eval`` () =
    for shape in [ [ 5; 3 ]; [ 4; 3; 2 ] ] do
        let n, c = shape[0], shape[1]
        let s = if shape.Length = 3 then shape[2] else 1
        let xs = data (n * c * s) 2.0
        let gamma = [| 1.0; 2.0; -1.0 |]
        let beta = [| 0.0; 0.5; 1.0 |]
        let layer = Layers.batchNorm1d c
        let outShape, _, state = Layer.init layer key (List.tail shape)
        Expect.equal (outShape.ToList()) (List.tail shape) "outShape.ToList()"

        let y, state1 =
            Layer.apply layer (withAffine gamma beta) state (Ctx.train key) (f32 xs shape)

        let chans = Array.init c (channelValues xs n c s)

        let expected =
            normalize xs c s (Array.map mean chans) (Array.map biasedVar chans) gamma beta 1e-5

        closeArrays 1e-4 expected (values y)

        let rm = chans |> Array.map (fun v -> 0.1 * mean v)
        let rv = chans |> Array.map (fun v -> 0.1 * unbiasedVar v + 0.9)
        closeArrays 1e-5 rm (values (leaf "running_mean" state1))
        closeArrays 1e-5 rv (values (leaf "running_var" state1))

        let yEval, _ =
            Layer.apply layer (withAffine gamma beta) state1 Ctx.eval (f32 xs shape)

        closeArrays 1e-4 (normalize xs c s rm rv gamma beta 1e-5) (values yEval)

let ``batchNormWith honours eps, momentum, affine false and trackRunningStats false`` () =
    let n, c, h, w = 2, 2, 2, 2
    let s = h * w
    let xs = data (n * c * s) 4.0
    let x = f32 xs [ n; c; h; w ]
    let chans = Array.init c (channelValues xs n c s)
    let ones, zeros = Array.create c 1.0, Array.create c 0.0

    // eps 0.5 and momentum 0.3, no affine parameters.
    let layer = Layers.batchNorm2d (c, eps = 0.5, momentum = 0.3, affine = false)

    let _, ps, state = Layer.init layer key [ c; h; w ]
    Expect.isEmpty (paths ps) "paths ps"
    let y, state1 = Layer.apply layer ps state (Ctx.train key) x
    closeArrays 1e-4 (normalize xs c s (Array.map mean chans) (Array.map biasedVar chans) ones zeros 0.5) (values y)
    closeArrays 1e-5 (chans |> Array.map (fun v -> 0.3 * mean v)) (values (leaf "running_mean" state1))
    closeArrays 1e-5 (chans |> Array.map (fun v -> 0.3 * unbiasedVar v + 0.7)) (values (leaf "running_var" state1))

    // Without running statistics there is no state, and Eval uses the batch statistics as PyTorch does.
    let untracked = Layers.batchNorm2d (c, trackRunningStats = false)

    let _, ps, state = Layer.init untracked key [ c; h; w ]
    Expect.equal (paths ps) [ "weight"; "bias" ] "paths ps"
    Expect.isEmpty (paths state) "paths state"
    let yTrain, stateT = Layer.apply untracked ps state (Ctx.train key) x
    let yEval, _ = Layer.apply untracked ps state Ctx.eval x
    Expect.isEmpty (paths stateT) "paths stateT"

    let expected =
        normalize xs c s (Array.map mean chans) (Array.map biasedVar chans) ones zeros 1e-5

    closeArrays 1e-4 expected (values yTrain)
    closeArrays 1e-4 expected (values yEval)

let ``BatchNorm init gives weight 1 and bias 0 and keeps the shape`` () =
    let outShape, ps, _ = Layer.init (Layers.batchNorm2d 4) key [ 4; 5; 6 ]
    Expect.equal (outShape.ToList()) [ 4; 5; 6 ] "outShape.ToList()"
    Expect.equal (paths ps) [ "weight"; "bias" ] "paths ps"
    closeArrays 0.0 (Array.create 4 1.0) (values (leaf "weight" ps))
    closeArrays 0.0 (Array.create 4 0.0) (values (leaf "bias" ps))

// ---- BatchNorm gradients against finite differences ----

let ``BatchNorm2d Train gradients w.r.t. input, gamma and beta match finite differences`` () =
    let n, c, h, w = 2, 3, 2, 2
    let shape = [ n; c; h; w ]
    let layer = Layers.batchNorm2d c
    let _, _, state = Layer.init layer key [ c; h; w ]
    let x = f64 (data (n * c * h * w) 0.7) shape
    let gamma = f64 [| 1.3; -0.7; 2.1 |] [ c ]
    let beta = f64 [| 0.2; -0.4; 0.9 |] [ c ]
    // A weighted sum: the plain sum of a BatchNorm output does not depend on x (its gradient is zero).
    let r = f64 (data (n * c * h * w) 3.1) shape

    let loss (x: Tensor) (g: Tensor) (b: Tensor) =
        let y, _ =
            Layer.apply layer (Node [ "weight", Leaf g; "bias", Leaf b ]) state (Ctx.train key) x

        Expect.equal y.DType DType.Float64 "y.DType"
        Tensor.sum (y * r)

    let check (f: Tensor -> Tensor) (at: Tensor) =
        let analytic = values (Diff.grad f at)
        let numeric = values (Diff.numGrad 1e-6 f at)
        closeArrays 1e-6 numeric analytic
        Expect.exists analytic (fun g -> abs g > 1e-3) "analytic"

    check (fun x -> loss x gamma beta) x
    check (fun g -> loss x g beta) gamma
    check (fun b -> loss x gamma b) beta

let ``BatchNorm2d Eval gradient w.r.t. the input matches finite differences`` () =
    let c = 2
    let layer = Layers.batchNorm2d c
    let _, _, state0 = Layer.init layer key [ c; 2; 2 ]

    let _, state =
        Layer.apply
            layer
            (withAffine [| 1.0; 1.0 |] [| 0.0; 0.0 |])
            state0
            (Ctx.train key)
            (f32 (data 16 0.2) [ 2; c; 2; 2 ])

    let ps =
        Node
            [
                "weight", Leaf(f64 [| 2.0; -1.5 |] [ c ])
                "bias", Leaf(f64 [| 0.5; 0.1 |] [ c ])
            ]

    let r = f64 (data 16 1.9) [ 2; c; 2; 2 ]

    let f (x: Tensor) =
        Tensor.sum (fst (Layer.apply layer ps state Ctx.eval x) * r)

    let x = f64 (data 16 0.6) [ 2; c; 2; 2 ]
    closeArrays 1e-6 (values (Diff.numGrad 1e-6 f x)) (values (Diff.grad f x))

let ``BatchNorm state computed inside a differentiated function carries no derivative`` () =
    let layer = Layers.batchNorm2d 2
    let _, _, state = Layer.init layer key [ 2; 2; 2 ]
    let x = f64 (data 16 0.1) [ 2; 2; 2; 2 ]
    let mutable captured = PTree.empty

    let f (x: Tensor) =
        let ps =
            Node
                [
                    "weight", Leaf(f64 [| 1.0; 2.0 |] [ 2 ])
                    "bias", Leaf(f64 [| 0.0; 1.0 |] [ 2 ])
                ]

        let y, s = Layer.apply layer ps state (Ctx.train key) x
        captured <- s
        Tensor.sum (y * y)

    Diff.grad f x |> ignore

    for (path, t) in PTree.leaves captured do
        Expect.isFalse t.IsDifferentiable (sprintf "'%s' joined the graph" path)

// ---- State paths and composition ----

let ``BatchNorm parameters and state sit under the child's index in a sequential, as PyTorch's state_dict`` () =
    let model =
        Layer.sequential
            [
                Layers.identity ()
                Layers.batchNorm2d 3
                Layers.relu ()
                Layers.globalAvgPool ()
            ]

    let outShape, ps, state = Layer.init model key [ 3; 4; 4 ]
    Expect.equal (outShape.ToList()) [ 3 ] "outShape.ToList()"
    Expect.equal (paths ps) [ "1.weight"; "1.bias" ] "paths ps"
    Expect.equal (paths state) [ "1.running_mean"; "1.running_var"; "1.num_batches_tracked" ] "paths state"
    let x = f32 (data (2 * 3 * 16) 0.5) [ 2; 3; 4; 4 ]
    let y, state1 = Layer.apply model ps state (Ctx.train key) x
    Expect.equal (dims y) [| 2; 3 |] "dims y"
    Expect.equal (paths state1) (paths state) "paths state1"

    Expect.equal
        (Tensor.toScalar (leaf "1.num_batches_tracked" state1))
        1.0
        "Tensor.toScalar (leaf \"1.num_batches_tracked\" state1)"

    let chained = Layers.identity () >-> Layers.batchNorm1d 5 >-> Layers.relu ()
    let _, _, state = Layer.init chained key [ 5 ]
    Expect.equal (paths state) [ "1.running_mean"; "1.running_var"; "1.num_batches_tracked" ] "paths state"

// ---- Shape errors ----

let ``BatchNorm shape errors name the layer and the shapes`` () =
    let layer = Layers.batchNorm2d 16
    let _, ps, state = Layer.init layer key [ 16; 4; 4 ]

    let ex =
        Expects.throws<ArgumentException>
            "Layer.apply layer ps state (Ctx.train key) (Tensor.zeros [ 8; 3; 32; 32 ])"
            (fun () ->
                Layer.apply layer ps state (Ctx.train key) (Tensor.zeros [ 8; 3; 32; 32 ])
                |> ignore)

    Expect.stringStarts ex.Message "BatchNorm2d(16): input [8; 3; 32; 32] has 3 channels, expected 16" "ex.Message"

    let ex =
        Expects.throws<ArgumentException> "Layer.apply layer ps state Ctx.eval (Tensor.zeros [ 8; 16 ])" (fun () ->
            Layer.apply layer ps state Ctx.eval (Tensor.zeros [ 8; 16 ]) |> ignore)

    Expect.stringStarts ex.Message "BatchNorm2d(16): input [8; 16] has rank 2, expected [N; C; H; W]" "ex.Message"

    let ex =
        Expects.throws<ArgumentException> "Layer.init layer key [ 3; 32; 32 ]" (fun () ->
            Layer.init layer key [ 3; 32; 32 ] |> ignore)

    Expect.stringContains ex.Message "BatchNorm2d(16): input shape [3; 32; 32]" "ex.Message"
    Expect.stringContains ex.Message "has 3 channels, expected 16" "ex.Message"

    let ex =
        Expects.throws<ArgumentException> "Layer.init (Layers.batchNorm1d 4) key [ 4; 2; 2 ]" (fun () ->
            Layer.init (Layers.batchNorm1d 4) key [ 4; 2; 2 ] |> ignore)

    Expect.stringContains ex.Message "BatchNorm1d(4): input shape [4; 2; 2]" "ex.Message"
    Expect.stringContains ex.Message "expected [N; C] or [N; C; L]" "ex.Message"

    // One value per channel has no unbiased variance: PyTorch refuses it in training too.
    let bn1 = Layers.batchNorm1d 4
    let _, ps, state = Layer.init bn1 key [ 4 ]

    let ex =
        Expects.throws<ArgumentException> "Layer.apply bn1 ps state (Ctx.train key) (Tensor.zeros [ 1; 4 ])" (fun () ->
            Layer.apply bn1 ps state (Ctx.train key) (Tensor.zeros [ 1; 4 ]) |> ignore)

    Expect.stringStarts ex.Message "BatchNorm1d(4): input [1; 4] has 1 value per channel" "ex.Message"
    // Eval with a single example is fine.
    Layer.apply bn1 ps state Ctx.eval (Tensor.zeros [ 1; 4 ]) |> ignore

    let e =
        Expects.throws<ArgumentOutOfRangeException> "Layers.batchNorm2d 0" (fun () -> Layers.batchNorm2d 0 |> ignore)

    Expect.equal e.ParamName "features" "e.ParamName"
    Expect.stringStarts e.Message "BatchNorm2d: features must be >= 1, got 0." "e.Message"

    Expects.throws<ArgumentOutOfRangeException> "Layers.batchNorm2d (3, momentum = 1.5)" (fun () ->
        Layers.batchNorm2d (3, momentum = 1.5) |> ignore)
    |> ignore

// ---- GroupNorm ----

let ``GroupNorm normalizes each example's channel group with its own biased statistics, then per-channel affine`` () =
    let n, c, g, h, w = 2, 6, 3, 2, 2
    let s = h * w
    let xs = data (n * c * s) 1.3
    let gamma = [| 1.0; -2.0; 0.5; 3.0; 1.5; -1.0 |]
    let beta = [| 0.0; 1.0; -0.5; 2.0; 0.25; 0.75 |]
    let layer = Layers.groupNorm (g, c)
    let outShape, ps0, state = Layer.init layer key [ c; h; w ]
    Expect.equal (outShape.ToList()) [ c; h; w ] "outShape.ToList()"
    Expect.equal (paths ps0) [ "weight"; "bias" ] "paths ps0"
    Expect.isEmpty (paths state) "paths state"
    let x = f32 xs [ n; c; h; w ]
    let y, _ = Layer.apply layer (withAffine gamma beta) state (Ctx.train key) x
    let perGroup = c / g * s

    let expected =
        xs
        |> Array.mapi (fun i a ->
            let example, ch = i / (c * s), (i / s) % c
            let grp = ch / (c / g)
            let start = example * c * s + grp * perGroup
            let v = xs[start .. start + perGroup - 1]
            (a - mean v) / sqrt (biasedVar v + 1e-5) * gamma[ch] + beta[ch])

    closeArrays 1e-4 expected (values y)
    // No batch statistics: Eval gives the same output.
    closeArrays 0.0 (values y) (values (fst (Layer.apply layer (withAffine gamma beta) state Ctx.eval x)))

let ``GroupNorm gradient w.r.t. the input matches finite differences`` () =
    let layer = Layers.groupNorm (2, 4)

    let ps =
        Node
            [
                "weight", Leaf(f64 [| 1.0; 2.0; -1.0; 0.5 |] [ 4 ])
                "bias", Leaf(f64 [| 0.0; 0.1; 0.2; 0.3 |] [ 4 ])
            ]

    let r = f64 (data 24 2.2) [ 2; 4; 3 ]

    let f (x: Tensor) =
        Tensor.sum (fst (Layer.apply layer ps PTree.empty Ctx.eval x) * r)

    let x = f64 (data 24 0.4) [ 2; 4; 3 ]
    closeArrays 1e-6 (values (Diff.numGrad 1e-6 f x)) (values (Diff.grad f x))

let ``GroupNorm rejects indivisible channels and wrong inputs`` () =
    let ex =
        Expects.throws<ArgumentOutOfRangeException> "Layers.groupNorm (4, 6)" (fun () ->
            Layers.groupNorm (4, 6) |> ignore)

    Expect.stringContains ex.Message "GroupNorm(4, 6)" "ex.Message"
    Expect.equal ex.ParamName "groups" "ex.ParamName"
    let layer = Layers.groupNorm (2, 4)

    let ex =
        Expects.throws<ArgumentException>
            "Layer.apply layer PTree.empty PTree.empty Ctx.eval (Tensor.zeros [ 2; 6; 3; 3 ])"
            (fun () ->
                Layer.apply layer PTree.empty PTree.empty Ctx.eval (Tensor.zeros [ 2; 6; 3; 3 ])
                |> ignore)

    Expect.stringStarts ex.Message "GroupNorm(2, 4): input [2; 6; 3; 3] has 6 channels, expected 4" "ex.Message"

    let ex =
        Expects.throws<ArgumentException> "Layer.init layer key [ 6; 3 ]" (fun () ->
            Layer.init layer key [ 6; 3 ] |> ignore)

    Expect.stringContains ex.Message "GroupNorm(2, 4): input shape [6; 3]" "ex.Message"

// ---- Dropout2d ----

let ``Dropout2d zeroes whole channels and scales the kept ones by exactly 1 / (1 - p)`` () =
    let n, c, h, w = 4, 8, 3, 3
    let s = h * w
    let xs = data (n * c * s) 0.9 |> Array.map (fun v -> float (float32 (abs v + 0.5)))
    let x = f32 xs [ n; c; h; w ]
    let layer = Layers.dropout2d 0.5
    let y, _ = Layer.apply layer PTree.empty PTree.empty (Ctx.train key) x
    Expect.equal (dims y) [| n; c; h; w |] "dims y"
    let ys = values y
    let mutable kept, dropped = 0, 0

    for m in 0 .. n * c - 1 do
        let block = ys[m * s .. m * s + s - 1]

        if Array.forall ((=) 0.0) block then
            dropped <- dropped + 1
        else
            kept <- kept + 1
            // Float32 arithmetic: x * 2 is exact, so the kept channel is exactly the scaled input.
            Expect.equal block (Array.map (fun v -> float (float32 v * 2.0f)) xs[m * s .. m * s + s - 1]) "block"

    Expect.isTrue (kept > 0 && dropped > 0) (sprintf "kept %d, dropped %d of %d channels" kept dropped (n * c))

    // The same key gives the same mask; another key another one.
    Expect.equal
        (values (fst (Layer.apply layer PTree.empty PTree.empty (Ctx.train key) x)))
        ys
        "values (fst (Layer.apply layer PTree.empty PTree.empty (Ctx.train key) x))"

    Expect.notEqual
        (values (fst (Layer.apply layer PTree.empty PTree.empty (Ctx.train (Key.create 12L)) x)))
        ys
        "values (fst (Layer.apply layer PTree.empty PTree.empty (Ctx.train (Key.create 12L)) x))"

let ``Dropout2d with p = 0.25 scales by 4/3 and keeps about three quarters of the channels`` () =
    let n, c = 50, 40
    let x = Tensor.ones [ n; c; 2; 2 ]

    let y, _ =
        Layer.apply (Layers.dropout2d 0.25) PTree.empty PTree.empty (Ctx.train key) x

    let ys = values y
    let scale = float (1.0f / 0.75f)

    for v in ys do
        Expect.isTrue (v = 0.0 || abs (v - scale) < 1e-6) (sprintf "unexpected value %g" v)

    let keptFraction =
        (ys |> Array.filter (fun v -> v <> 0.0) |> Array.length |> float)
        / float ys.Length

    Checks.inRange "keptFraction" 0.7 0.8 keptFraction

let ``Dropout2d is the identity in Eval and needs a key in Train`` () =
    let layer = Layers.dropout2d 0.3
    let x = f32 (data 24 0.0) [ 2; 3; 2; 2 ]

    Expect.equal
        (values (Layer.predict layer PTree.empty PTree.empty x))
        (values x)
        "values (Layer.predict layer PTree.empty PTree.empty x)"

    let ex =
        Expects.throws<ArgumentException>
            "Layer.apply layer PTree.empty PTree.empty { Mode = Mode.Train; Key = None } x"
            (fun () ->
                Layer.apply layer PTree.empty PTree.empty { Mode = Mode.Train; Key = None } x
                |> ignore)

    Expect.stringContains ex.Message "Dropout2d(p=0.3)" "ex.Message"

    Expects.throws<ArgumentOutOfRangeException> "Layers.dropout2d 1.0" (fun () -> Layers.dropout2d 1.0 |> ignore)
    |> ignore

// ---- GlobalAvgPool ----

let ``GlobalAvgPool averages over height and width`` () =
    let n, c, h, w = 2, 3, 2, 4
    let s = h * w
    let xs = data (n * c * s) 0.2
    let layer = Layers.globalAvgPool ()
    let outShape, ps, state = Layer.init layer key [ c; h; w ]
    Expect.equal (outShape.ToList()) [ c ] "outShape.ToList()"
    Expect.isEmpty (paths ps) "paths ps"
    let y, _ = Layer.apply layer ps state Ctx.eval (f32 xs [ n; c; h; w ])
    Expect.equal (dims y) [| n; c |] "dims y"
    let expected = Array.init (n * c) (fun m -> mean xs[m * s .. m * s + s - 1])
    closeArrays 1e-5 expected (values y)

    let ex =
        Expects.throws<ArgumentException> "Layer.apply layer ps state Ctx.eval (Tensor.zeros [ 2; 3 ])" (fun () ->
            Layer.apply layer ps state Ctx.eval (Tensor.zeros [ 2; 3 ]) |> ignore)

    Expect.stringStarts ex.Message "GlobalAvgPool: input [2; 3] has rank 2" "ex.Message"

    Expects.throws<ArgumentException> "Layer.init layer key [ 3; 4 ]" (fun () ->
        Layer.init layer key [ 3; 4 ] |> ignore)
    |> ignore

// ---- Through the training loop ----

let ``Train.trainStep threads BatchNorm state: running stats move, the counter counts and weights train`` () =
    let model = Layers.batchNorm1d 2 >-> Layers.linear (2, 1)
    let ts0 = Train.init model [ 2 ] (Optim.sgd 0.1) (Key.create 3L)
    let xs = data 16 0.8

    let batch =
        {
            Input = f32 xs [ 8; 2 ]
            Target = f32 (Array.init 8 (fun i -> xs[2 * i] - xs[2 * i + 1])) [ 8; 1 ]
        }

    let ts1, _ = Train.trainStep model Losses.mse (Optim.sgd 0.1) ts0 batch
    let ts2, _ = Train.trainStep model Losses.mse (Optim.sgd 0.1) ts1 batch

    Expect.equal
        (Tensor.toScalar (leaf "0.num_batches_tracked" ts2.State))
        2.0
        "Tensor.toScalar (leaf \"0.num_batches_tracked\" ts2.State)"

    let chans = Array.init 2 (channelValues xs 8 2 1)
    // Two identical batches from (0, 1): running = 0.19 * batch + 0.81 * initial.
    closeArrays 1e-5 (chans |> Array.map (fun v -> 0.19 * mean v)) (values (leaf "0.running_mean" ts2.State))

    closeArrays
        1e-5
        (chans |> Array.map (fun v -> 0.19 * unbiasedVar v + 0.81))
        (values (leaf "0.running_var" ts2.State))

    for (path, t) in PTree.leaves ts2.State do
        Expect.isFalse t.IsDifferentiable (sprintf "'%s' kept a derivative" path)

    // gamma and beta receive gradients through the normalization.
    Expect.notEqual
        (values (leaf "0.weight" ts2.Params))
        (values (leaf "0.weight" ts0.Params))
        "values (leaf \"0.weight\" ts2.Params)"

    Expect.notEqual
        (values (leaf "0.bias" ts2.Params))
        (values (leaf "0.bias" ts0.Params))
        "values (leaf \"0.bias\" ts2.Params)"

/// The tests of this module.
let tests =
    testList
        "Normalization"
        [
            testCase
                "BatchNorm2d Train normalizes with the batch mean and biased variance, then gamma and beta"
                ``BatchNorm2d Train normalizes with the batch mean and biased variance, then gamma and beta``
            testCase
                "BatchNorm2d running statistics follow PyTorch's update with the unbiased variance over two steps"
                ``BatchNorm2d running statistics follow PyTorch's update with the unbiased variance over two steps``
            testCase
                "BatchNorm2d Eval normalizes with the running statistics and leaves the state unchanged"
                ``BatchNorm2d Eval normalizes with the running statistics and leaves the state unchanged``
            testCase
                "BatchNorm1d on [N; C] and [N; C; L] matches the formula in Train and Eval"
                ``BatchNorm1d on [N; C] and [N; C; L] matches the formula in Train and Eval``
            testCase
                "batchNormWith honours eps, momentum, affine false and trackRunningStats false"
                ``batchNormWith honours eps, momentum, affine false and trackRunningStats false``
            testCase
                "BatchNorm init gives weight 1 and bias 0 and keeps the shape"
                ``BatchNorm init gives weight 1 and bias 0 and keeps the shape``
            testCase
                "BatchNorm2d Train gradients w.r.t. input, gamma and beta match finite differences"
                ``BatchNorm2d Train gradients w.r.t. input, gamma and beta match finite differences``
            testCase
                "BatchNorm2d Eval gradient w.r.t. the input matches finite differences"
                ``BatchNorm2d Eval gradient w.r.t. the input matches finite differences``
            testCase
                "BatchNorm state computed inside a differentiated function carries no derivative"
                ``BatchNorm state computed inside a differentiated function carries no derivative``
            testCase
                "BatchNorm parameters and state sit under the child's index in a sequential, as PyTorch's state_dict"
                ``BatchNorm parameters and state sit under the child's index in a sequential, as PyTorch's state_dict``
            testCase
                "BatchNorm shape errors name the layer and the shapes"
                ``BatchNorm shape errors name the layer and the shapes``
            testCase
                "GroupNorm normalizes each example's channel group with its own biased statistics, then per-channel affine"
                ``GroupNorm normalizes each example's channel group with its own biased statistics, then per-channel affine``
            testCase
                "GroupNorm gradient w.r.t. the input matches finite differences"
                ``GroupNorm gradient w.r.t. the input matches finite differences``
            testCase
                "GroupNorm rejects indivisible channels and wrong inputs"
                ``GroupNorm rejects indivisible channels and wrong inputs``
            testCase
                "Dropout2d zeroes whole channels and scales the kept ones by exactly 1 / (1 - p)"
                ``Dropout2d zeroes whole channels and scales the kept ones by exactly 1 / (1 - p)``
            testCase
                "Dropout2d with p = 0.25 scales by 4/3 and keeps about three quarters of the channels"
                ``Dropout2d with p = 0.25 scales by 4/3 and keeps about three quarters of the channels``
            testCase
                "Dropout2d is the identity in Eval and needs a key in Train"
                ``Dropout2d is the identity in Eval and needs a key in Train``
            testCase "GlobalAvgPool averages over height and width" ``GlobalAvgPool averages over height and width``
            testCase
                "Train.trainStep threads BatchNorm state: running stats move, the counter counts and weights train"
                ``Train.trainStep threads BatchNorm state: running stats move, the counter counts and weights train``
        ]
