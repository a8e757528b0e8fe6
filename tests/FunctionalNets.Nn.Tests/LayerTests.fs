module FunctionalNets.Tests.Nn.LayerTests

open System
open Xunit
open FunctionalNets
open FunctionalNets.Nn

let private values (t: Tensor) = Tensor.toFloatArray t
let private dims (t: Tensor) = t.Shape.ToArray()
let private paths (p: Params) = PTree.leaves p |> List.map fst
let private key = Key.create 7L

let private leaf (path: string) (tree: PTree<Tensor>) =
    match PTree.tryFind path tree with
    | Some(Leaf t) -> t
    | other -> failwithf "no tensor at '%s': %A" path other

let private closeArrays (tol: float) (expected: float[]) (actual: float[]) =
    Assert.Equal(expected.Length, actual.Length)

    Array.iteri2
        (fun i e a -> Assert.True(abs (e - a) <= tol * (1.0 + abs e), sprintf "element %d: expected %g, got %g" i e a))
        expected
        actual

// ---- Linear ----

[<Fact>]
let ``Linear forward equals x W^T + b computed with loops`` () =
    let layer = Layers.linear (3, 2)
    let outShape, ps, _ = Layer.init layer key [ 3 ]
    Assert.Equal<int list>([ 2 ], outShape.ToList())
    let w = values (leaf "weight" ps)
    let b = values (leaf "bias" ps)
    Assert.Equal<int[]>([| 2; 3 |], dims (leaf "weight" ps))
    Assert.Equal<int[]>([| 2 |], dims (leaf "bias" ps))
    let xData = [| 0.5; -1.0; 2.0; 1.5; 0.25; -0.75; 0.0; 3.0; -2.0; 1.0; 1.0; 1.0 |]
    let x = Tensor.ofArray (Array.map float32 xData, [ 4; 3 ])
    let y, _ = Layer.apply layer ps PTree.empty Ctx.eval x
    Assert.Equal<int[]>([| 4; 2 |], dims y)

    let expected =
        [|
            for n in 0..3 do
                for o in 0..1 do
                    let mutable s = b[o]

                    for i in 0..2 do
                        s <- s + float (float32 xData[n * 3 + i]) * w[o * 3 + i]

                    s
        |]

    closeArrays 1e-5 expected (values y)

[<Fact>]
let ``Linear without bias has only a weight and computes x W^T`` () =
    let layer = Layers.linear (2, 2, bias = false)
    let _, ps, _ = Layer.init layer key [ 2 ]
    Assert.Equal<string list>([ "weight" ], paths ps)
    let w = values (leaf "weight" ps)

    let y =
        Layer.predict layer ps PTree.empty (Tensor.ofArray ([| 1.0f; 2.0f |], [ 1; 2 ]))

    closeArrays 1e-6 [| w[0] + 2.0 * w[1]; w[2] + 2.0 * w[3] |] (values y)

[<Fact>]
let ``Linear's default init is U(-1/sqrt in, 1/sqrt in) for weight and bias`` () =
    let inF = 400
    let _, ps, _ = Layer.init (Layers.linear (inF, 300)) key [ inF ]
    let bound = 1.0 / sqrt (float inF)
    let w = values (leaf "weight" ps)
    let b = values (leaf "bias" ps)
    Assert.True(w |> Array.forall (fun v -> abs v <= bound * (1.0 + 1e-6)))
    Assert.True(b |> Array.forall (fun v -> abs v <= bound * (1.0 + 1e-6)))
    Assert.True(Array.max w > 0.99 * bound)
    // The variance of U(-c, c) is c^2 / 3.
    let var = w |> Array.averageBy (fun v -> v * v)
    Assert.True(abs (var - bound * bound / 3.0) < 0.03 * bound * bound / 3.0, sprintf "variance %g" var)
    // The weight and the bias come from different keys.
    Assert.NotEqual<float[]>(w[0..299], b)

[<Fact>]
let ``Linear applies to the last dim of any leading dims`` () =
    let layer = Layers.linear (4, 3)
    let outShape, ps, _ = Layer.init layer key [ 5; 4 ]
    Assert.Equal<int list>([ 5; 3 ], outShape.ToList())
    let y = Layer.predict layer ps PTree.empty (Tensor.ones [ 2; 5; 4 ])
    Assert.Equal<int[]>([| 2; 5; 3 |], dims y)

// ---- Shape errors ----

[<Fact>]
let ``Linear names itself and both shapes when the input has the wrong last dim`` () =
    let layer = Layers.linear (784, 128)
    let _, ps, _ = Layer.init layer key [ 784 ]
    let x = Tensor.zeros [ 64; 28; 28 ]

    let e =
        Assert.ThrowsAny<ArgumentException>(fun () -> Layer.apply layer ps PTree.empty Ctx.eval x |> ignore)

    Assert.StartsWith("Linear(784->128): input [64; 28; 28] has last dim 28, expected 784", e.Message)

    let e2 =
        Assert.ThrowsAny<ArgumentException>(fun () -> Layer.init layer key [ 28; 28 ] |> ignore)

    Assert.Contains("Linear(784->128)", e2.Message)
    Assert.Contains("[28; 28]", e2.Message)
    Assert.Contains("expected 784", e2.Message)

[<Fact>]
let ``a sequential reports the failing child at init`` () =
    let net =
        Layer.sequential [ Layers.linear (784, 128); Layers.relu (); Layers.linear (64, 10) ]

    let e =
        Assert.ThrowsAny<ArgumentException>(fun () -> Layer.init net key [ 784 ] |> ignore)

    Assert.Contains("Linear(64->10)", e.Message)
    Assert.Contains("[128]", e.Message)

[<Fact>]
let ``softmax rejects a dim the input does not have`` () =
    Assert.ThrowsAny<ArgumentException>(fun () -> Layer.init (Layers.softmax 2) key [ 10 ] |> ignore)
    |> ignore

    let shape, _, _ = Layer.init (Layers.softmax -1) key [ 10 ]
    Assert.Equal<int list>([ 10 ], shape.ToList())

// ---- Sequential, naming and composition ----

[<Fact>]
let ``sequential names children 0, 1, ... and leaves out layers without parameters`` () =
    let net =
        Layer.sequential
            [
                Layers.linear (4, 8)
                Layers.relu ()
                Layers.linear (8, 2)
                Layers.sigmoid ()
            ]

    let outShape, ps, st = Layer.init net key [ 4 ]
    Assert.Equal<int list>([ 2 ], outShape.ToList())
    Assert.Equal<string list>([ "0.weight"; "0.bias"; "2.weight"; "2.bias" ], paths ps)
    Assert.Equal<int[]>([| 8; 4 |], dims (leaf "0.weight" ps))
    Assert.Equal<int[]>([| 2; 8 |], dims (leaf "2.weight" ps))
    Assert.Empty(PTree.leaves st)
    Assert.Equal(4 * 8 + 8 + 8 * 2 + 2, Layer.numParams ps)

[<Fact>]
let ``sequential gives each child its own init key`` () =
    let net = Layer.sequential [ Layers.linear (3, 3); Layers.linear (3, 3) ]
    let _, ps, _ = Layer.init net key [ 3 ]
    Assert.NotEqual<float[]>(values (leaf "0.weight" ps), values (leaf "1.weight" ps))

[<Fact>]
let ``sequential computes the composition of its children`` () =
    let l1, l2 = Layers.linear (3, 4), Layers.linear (4, 2)
    let net = Layer.sequential [ l1; Layers.tanh (); l2 ]
    let _, ps, _ = Layer.init net key [ 3 ]
    let p0 = PTree.tryFind "0" ps |> Option.get
    let p2 = PTree.tryFind "2" ps |> Option.get
    let x = Tensor.ofArray ([| 0.1f; -0.2f; 0.3f; 1.0f; 2.0f; -1.0f |], [ 2; 3 ])

    let byHand =
        Layer.predict l2 p2 PTree.empty (Tensor.tanh (Layer.predict l1 p0 PTree.empty x))

    closeArrays 1e-6 (values byHand) (values (Layer.predict net ps PTree.empty x))

[<Fact>]
let ``sequentialNamed uses the given names`` () =
    let net =
        Layer.sequentialNamed
            [
                "fc1", Layers.linear (2, 3)
                "act", Layers.relu ()
                "fc2", Layers.linear (3, 1)
            ]

    let _, ps, _ = Layer.init net key [ 2 ]
    Assert.Equal<string list>([ "fc1.weight"; "fc1.bias"; "fc2.weight"; "fc2.bias" ], paths ps)

    Assert.ThrowsAny<ArgumentException>(fun () ->
        Layer.sequentialNamed [ "a", Layers.relu (); "a", Layers.tanh () ] |> ignore)
    |> ignore

    Assert.ThrowsAny<ArgumentException>(fun () -> Layer.sequentialNamed [ "a.b", Layers.relu () ] |> ignore)
    |> ignore

[<Fact>]
let ``nested sequentials nest their paths as nn.Sequential does`` () =
    let block = Layer.sequential [ Layers.linear (2, 3); Layers.relu () ]
    let net = Layer.sequential [ block; Layers.linear (3, 1) ]
    let _, ps, _ = Layer.init net key [ 2 ]
    Assert.Equal<string list>([ "0.0.weight"; "0.0.bias"; "1.weight"; "1.bias" ], paths ps)

[<Fact>]
let ``the >-> operator flattens a chain into one sequential however it is parenthesised`` () =
    let left =
        Layers.flatten ()
        >-> Layers.linear (4, 3)
        >-> Layers.relu ()
        >-> Layers.linear (3, 2)

    let right =
        Layers.flatten ()
        >-> (Layers.linear (4, 3) >-> (Layers.relu () >-> Layers.linear (3, 2)))

    let expected = [ "1.weight"; "1.bias"; "3.weight"; "3.bias" ]

    for net in [ left; right ] do
        let shape, ps, _ = Layer.init net key [ 2; 2 ]
        Assert.Equal<int list>([ 2 ], shape.ToList())
        Assert.Equal<string list>(expected, paths ps)

    // The same key initializes both the same way: they are the same network.
    let _, pl, _ = Layer.init left key [ 2; 2 ]
    let _, pr, _ = Layer.init right key [ 2; 2 ]
    Assert.Equal<float[]>(values (leaf "3.weight" pl), values (leaf "3.weight" pr))

    // An explicit sequential stays one child.
    let explicitBlock = Layer.sequential [ Layers.linear (4, 3); Layers.relu () ]
    let _, pe, _ = Layer.init (Layers.flatten () >-> explicitBlock) key [ 4 ]
    Assert.Equal<string list>([ "1.0.weight"; "1.0.bias" ], paths pe)

[<Fact>]
let ``a chain is marked in the value: composing chains splices them, a copy of a layer does not`` () =
    let front = Layer.chain [ Layers.flatten (); Layers.linear (4, 3) ]
    let back = Layer.chain [ Layers.relu (); Layers.linear (3, 2) ]
    let joined = front >-> back
    Assert.True(joined.IsChain)
    Assert.Equal<string list>([ "0"; "1"; "2"; "3" ], joined.Sequence |> List.map fst)
    let _, ps, _ = Layer.init joined key [ 2; 2 ]
    Assert.Equal<string list>([ "1.weight"; "1.bias"; "3.weight"; "3.bias" ], paths ps)
    // Two chains with the same children are distinct values that flatten alike (no lookup by identity), and a
    // record copied from a plain layer is no chain.
    let twin = Layer.chain [ Layers.flatten (); Layers.linear (4, 3) ]
    Assert.Equal(4, (twin >-> back).Sequence.Length)
    let renamed = { Layers.relu () with Name = "MyReLU" }
    Assert.False(renamed.IsChain)
    Assert.Equal(3, (renamed >-> back).Sequence.Length)
    Assert.False((Layer.sequential [ Layers.relu () ]).IsChain)
    // Layer.chain splices the chains it is given as compose does; a sequential stays one child.
    let spliced = Layer.chain [ front; Layer.sequential [ Layers.relu () ]; back ]

    Assert.Equal<string list>(
        [ "Flatten"; "Linear(4->3)"; "Sequential(ReLU)"; "ReLU"; "Linear(3->2)" ],
        spliced.Sequence |> List.map (fun (_, l) -> l.Name)
    )

[<Fact>]
let ``output shapes are inferred through a whole network`` () =
    let net =
        Layers.flatten ()
        >-> Layers.linear (784, 128)
        >-> Layers.relu ()
        >-> Layers.dropout 0.2
        >-> Layers.linear (128, 10)
        >-> Layers.logSoftmax 1

    let shape, ps, _ = Layer.init net key [ 28; 28 ]
    Assert.Equal<int list>([ 10 ], shape.ToList())

    let y, _ =
        Layer.apply net ps PTree.empty (Ctx.train (Key.create 3L)) (Tensor.rand (key, [ 5; 28; 28 ]))

    Assert.Equal<int[]>([| 5; 10 |], dims y)
    // Log-probabilities: each row's exponentials sum to 1.
    let rows = values (Tensor.sum (Tensor.exp y, 1))
    closeArrays 1e-5 (Array.create 5 1.0) rows

[<Fact>]
let ``flatten keeps the batch dim`` () =
    let shape, _, _ = Layer.init (Layers.flatten ()) key [ 3; 4; 5 ]
    Assert.Equal<int list>([ 60 ], shape.ToList())
    let x = Tensor.arange 120.0 |> fun t -> Tensor.reshape (t, [ 2; 3; 4; 5 ])
    let y = Layer.predict (Layers.flatten ()) PTree.empty PTree.empty x
    Assert.Equal<int[]>([| 2; 60 |], dims y)
    Assert.Equal<float[]>(values x, values y)
    // A batch of scalars becomes [N; 1]; an empty batch keeps its per-example size.
    Assert.Equal<int[]>(
        [| 3; 1 |],
        dims (Layer.predict (Layers.flatten ()) PTree.empty PTree.empty (Tensor.zeros [ 3 ]))
    )

    Assert.Equal<int[]>(
        [| 0; 12 |],
        dims (Layer.predict (Layers.flatten ()) PTree.empty PTree.empty (Tensor.zeros [ 0; 3; 4 ]))
    )

[<Fact>]
let ``activation layers apply their function elementwise`` () =
    let xs = [| -2.0; -0.5; 0.0; 0.5; 2.0 |]
    let x = Tensor.ofArray (xs, [ xs.Length ])

    let run l =
        values (Layer.predict l PTree.empty PTree.empty x)
    // No erf in System.Math: its Maclaurin series, 2/sqrt(pi) * sum (-1)^n z^(2n+1) / (n! (2n+1)), which 40 terms
    // take to double precision for |z| <= 1.5 (here |z| <= sqrt 2), independent of the library's erf.
    let erf (z: float) =
        let mutable term = z // (-1)^n z^(2n+1) / n!
        let mutable sum = z

        for n in 1..40 do
            term <- -term * z * z / float n
            sum <- sum + term / float (2 * n + 1)

        2.0 / sqrt Math.PI * sum

    closeArrays 1e-12 (xs |> Array.map (fun v -> 1.0 / (1.0 + exp -v))) (run (Layers.sigmoid ()))
    closeArrays 1e-12 (xs |> Array.map tanh) (run (Layers.tanh ()))
    closeArrays 1e-12 (xs |> Array.map (fun v -> max v 0.0)) (run (Layers.relu ()))
    closeArrays 1e-12 (xs |> Array.map (fun v -> if v > 0.0 then v else 0.1 * v)) (run (Layers.leakyRelu 0.1))
    closeArrays 1e-12 (xs |> Array.map (fun v -> if v > 0.0 then v else 1.5 * (exp v - 1.0))) (run (Layers.elu 1.5))
    closeArrays 1e-12 (xs |> Array.map (fun v -> v / (1.0 + exp -v))) (run (Layers.silu ()))
    closeArrays 1e-12 (run (Layers.silu ())) (run (Layers.swish ()))
    closeArrays 1e-12 (xs |> Array.map (fun v -> v * 0.5 * (1.0 + erf (v / sqrt 2.0)))) (run (Layers.gelu ()))
    closeArrays 1e-12 (xs |> Array.map (fun v -> if v > 0.0 then 1.0 else 0.0)) (run (Layers.step ()))
    closeArrays 1e-12 xs (run (Layers.identity ()))
    let total = xs |> Array.sumBy exp
    closeArrays 1e-12 (xs |> Array.map (fun v -> exp v / total)) (run (Layers.softmax 0))
    closeArrays 1e-12 (xs |> Array.map (fun v -> v - log total)) (run (Layers.logSoftmax -1))

// ---- State threading and keys ----

/// A layer that records a draw from its init key in its initial state and a draw from its apply key in its
/// new state, so a test can see which keys a container hands out.
let private keyProbe: Layer =
    Layer.create
        "KeyProbe"
        (fun k shape -> shape, PTree.empty, Node [ "draw", Leaf(Tensor.rand (k, [ 4 ])) ])
        (fun _ _ ctx x -> x, Node [ "draw", Leaf(Tensor.rand (Option.get ctx.Key, [ 4 ])) ])

/// A layer that counts its applications in its state.
let private counter: Layer =
    Layer.create
        "Counter"
        (fun _ shape -> shape, PTree.empty, Node [ "count", Leaf(Tensor.scalar 0.0) ])
        (fun _ st _ x -> x, Node [ "count", Leaf(Layer.param "Counter" "count" st + 1.0) ])

[<Fact>]
let ``sequential threads each child's state under the child's name`` () =
    let net =
        Layer.sequential [ Layers.linear (2, 2); counter; Layers.relu (); counter ]

    let _, ps, st0 = Layer.init net key [ 2 ]
    Assert.Equal<string list>([ "1.count"; "3.count" ], paths st0)
    let x = Tensor.ones [ 1; 2 ]
    let _, st1 = Layer.apply net ps st0 Ctx.eval x
    let _, st2 = Layer.apply net ps st1 Ctx.eval x
    Assert.Equal<string list>([ "1.count"; "3.count" ], paths st2)
    Assert.Equal(2.0, Tensor.toScalar (leaf "1.count" st2))
    Assert.Equal(2.0, Tensor.toScalar (leaf "3.count" st2))

[<Fact>]
let ``children get different keys at init and at apply`` () =
    let net = Layer.sequential [ keyProbe; keyProbe ]
    let _, ps, st = Layer.init net key [ 1 ]
    Assert.NotEqual<float[]>(values (leaf "0.draw" st), values (leaf "1.draw" st))
    let _, st' = Layer.apply net ps st (Ctx.train key) (Tensor.ones [ 1; 1 ])
    Assert.NotEqual<float[]>(values (leaf "0.draw" st'), values (leaf "1.draw" st'))
    // Apply keys are not the init keys either.
    Assert.NotEqual<float[]>(values (leaf "0.draw" st), values (leaf "0.draw" st'))

// ---- Dropout ----

let private positive = Tensor.rand (Key.create 99L, [ 200; 50 ]) + 1.0

let private applyDropout (p: float) (ctx: Ctx) (x: Tensor) =
    Layer.apply (Layers.dropout p) PTree.empty PTree.empty ctx x |> fst

[<Fact>]
let ``dropout in Eval mode is the identity`` () =
    let y = applyDropout 0.5 Ctx.eval positive
    Assert.Equal<float[]>(values positive, values y)

[<Fact>]
let ``dropout in Train mode zeroes about p of the units and scales the rest by 1 / (1 - p)`` () =
    let p = 0.3
    let xs = values positive
    let ys = values (applyDropout p (Ctx.train key) positive)
    let mutable dropped = 0

    for i in 0 .. xs.Length - 1 do
        if ys[i] = 0.0 then
            dropped <- dropped + 1
        else
            let expected = xs[i] / (1.0 - p)

            Assert.True(
                abs (ys[i] - expected) <= 1e-6 * expected,
                sprintf "element %d: %g is neither 0 nor %g" i ys[i] expected
            )

    // 10000 Bernoulli(0.3) draws: the standard deviation of the fraction is 0.0046.
    let fraction = float dropped / float xs.Length
    Assert.True(abs (fraction - p) < 0.025, sprintf "dropped fraction %g" fraction)

[<Fact>]
let ``dropout's gradient is the mask scaled by 1 / (1 - p)`` () =
    let p = 0.25
    let ctx = Ctx.train key
    let y = values (applyDropout p ctx positive)
    let g = values (Diff.grad (fun x -> Tensor.sum (applyDropout p ctx x)) positive)
    let expected = y |> Array.map (fun v -> if v = 0.0 then 0.0 else 1.0 / (1.0 - p))
    closeArrays 1e-6 expected g

[<Fact>]
let ``dropout masks depend only on the key`` () =
    let mask (k: Key) =
        values (applyDropout 0.5 (Ctx.train k) positive) |> Array.map (fun v -> v = 0.0)

    Assert.Equal<bool[]>(mask key, mask key)
    Assert.NotEqual<bool[]>(mask key, mask (Key.create 8L))

[<Fact>]
let ``dropout with p = 0 is the identity even in Train mode`` () =
    Assert.Equal<float[]>(values positive, values (applyDropout 0.0 (Ctx.train key) positive))

[<Fact>]
let ``dropout rejects p outside [0, 1) and Train mode without a key`` () =
    Assert.ThrowsAny<ArgumentException>(fun () -> Layers.dropout 1.0 |> ignore)
    |> ignore

    Assert.ThrowsAny<ArgumentException>(fun () -> Layers.dropout -0.1 |> ignore)
    |> ignore

    Assert.ThrowsAny<ArgumentException>(fun () -> Layers.dropout nan |> ignore)
    |> ignore

    let e =
        Assert.ThrowsAny<ArgumentException>(fun () ->
            applyDropout 0.5 { Mode = Mode.Train; Key = None } positive |> ignore)

    Assert.Contains("Dropout", e.Message)
    Assert.Contains("key", e.Message)

[<Fact>]
let ``two dropout layers in one sequential draw independent masks`` () =
    let net = Layer.sequential [ Layers.dropout 0.5; Layers.dropout 0.5 ]
    let _, ps, st = Layer.init net key [ 20000 ]
    let y, _ = Layer.apply net ps st (Ctx.train key) (Tensor.ones [ 1; 20000 ])
    let ys = values y
    // Independent masks keep 1/4 of the units, scaled twice (by 4); one shared mask would keep 1/2.
    Assert.True(ys |> Array.forall (fun v -> v = 0.0 || abs (v - 4.0) < 1e-6))
    let kept = float (ys |> Array.filter (fun v -> v <> 0.0) |> Array.length) / 20000.0
    Assert.True(abs (kept - 0.25) < 0.02, sprintf "kept fraction %g" kept)
