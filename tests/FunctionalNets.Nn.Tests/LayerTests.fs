module FunctionalNets.Tests.Nn.LayerTests

open System
open Expecto
open FunctionalNets.Testing
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
    Expect.equal actual.Length expected.Length "actual.Length"

    Array.iteri2
        (fun i e a ->
            Expect.isTrue (abs (e - a) <= tol * (1.0 + abs e)) (sprintf "element %d: expected %g, got %g" i e a))
        expected
        actual

// ---- Linear ----

let ``Linear forward equals x W^T + b computed with loops`` () =
    let layer = Layers.linear (3, 2)
    let outShape, ps, _ = Layer.init layer key [ 3 ]
    Expect.equal (outShape.ToList()) [ 2 ] "outShape.ToList()"
    let w = values (leaf "weight" ps)
    let b = values (leaf "bias" ps)
    Expect.equal (dims (leaf "weight" ps)) [| 2; 3 |] "dims (leaf \"weight\" ps)"
    Expect.equal (dims (leaf "bias" ps)) [| 2 |] "dims (leaf \"bias\" ps)"
    let xData = [| 0.5; -1.0; 2.0; 1.5; 0.25; -0.75; 0.0; 3.0; -2.0; 1.0; 1.0; 1.0 |]
    let x = Tensor.ofArray (Array.map float32 xData, [ 4; 3 ])
    let y, _ = Layer.apply layer ps PTree.empty Ctx.eval x
    Expect.equal (dims y) [| 4; 2 |] "dims y"

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

let ``Linear without bias has only a weight and computes x W^T`` () =
    let layer = Layers.linear (2, 2, bias = false)
    let _, ps, _ = Layer.init layer key [ 2 ]
    Expect.equal (paths ps) [ "weight" ] "paths ps"
    let w = values (leaf "weight" ps)

    let y =
        Layer.predict layer ps PTree.empty (Tensor.ofArray ([| 1.0f; 2.0f |], [ 1; 2 ]))

    closeArrays 1e-6 [| w[0] + 2.0 * w[1]; w[2] + 2.0 * w[3] |] (values y)

let ``Linear's default init is U(-1/sqrt in, 1/sqrt in) for weight and bias`` () =
    let inF = 400
    let _, ps, _ = Layer.init (Layers.linear (inF, 300)) key [ inF ]
    let bound = 1.0 / sqrt (float inF)
    let w = values (leaf "weight" ps)
    let b = values (leaf "bias" ps)

    Expect.isTrue
        (w |> Array.forall (fun v -> abs v <= bound * (1.0 + 1e-6)))
        "w |> Array.forall (fun v -> abs v <= bound * (1.0 + 1e-6))"

    Expect.isTrue
        (b |> Array.forall (fun v -> abs v <= bound * (1.0 + 1e-6)))
        "b |> Array.forall (fun v -> abs v <= bound * (1.0 + 1e-6))"

    Expect.isTrue (Array.max w > 0.99 * bound) "Array.max w > 0.99 * bound"
    // The variance of U(-c, c) is c^2 / 3.
    let var = w |> Array.averageBy (fun v -> v * v)
    Expect.isTrue (abs (var - bound * bound / 3.0) < 0.03 * bound * bound / 3.0) (sprintf "variance %g" var)
    // The weight and the bias come from different keys.
    Expect.notEqual b w[0..299] "b"

let ``Linear applies to the last dim of any leading dims`` () =
    let layer = Layers.linear (4, 3)
    let outShape, ps, _ = Layer.init layer key [ 5; 4 ]
    Expect.equal (outShape.ToList()) [ 5; 3 ] "outShape.ToList()"
    let y = Layer.predict layer ps PTree.empty (Tensor.ones [ 2; 5; 4 ])
    Expect.equal (dims y) [| 2; 5; 3 |] "dims y"

// ---- Shape errors ----

let ``Linear names itself and both shapes when the input has the wrong last dim`` () =
    let layer = Layers.linear (784, 128)
    let _, ps, _ = Layer.init layer key [ 784 ]
    let x = Tensor.zeros [ 64; 28; 28 ]

    let e =
        Expects.throwsAny<ArgumentException> "Layer.apply layer ps PTree.empty Ctx.eval x" (fun () ->
            Layer.apply layer ps PTree.empty Ctx.eval x |> ignore)

    Expect.stringStarts e.Message "Linear(784->128): input [64; 28; 28] has last dim 28, expected 784" "e.Message"

    let e2 =
        Expects.throwsAny<ArgumentException> "Layer.init layer key [ 28; 28 ]" (fun () ->
            Layer.init layer key [ 28; 28 ] |> ignore)

    Expect.stringContains e2.Message "Linear(784->128)" "e2.Message"
    Expect.stringContains e2.Message "[28; 28]" "e2.Message"
    Expect.stringContains e2.Message "expected 784" "e2.Message"

let ``a sequential reports the failing child at init`` () =
    let net =
        Layer.sequential [ Layers.linear (784, 128); Layers.relu (); Layers.linear (64, 10) ]

    let e =
        Expects.throwsAny<ArgumentException> "Layer.init net key [ 784 ]" (fun () ->
            Layer.init net key [ 784 ] |> ignore)

    Expect.stringContains e.Message "Linear(64->10)" "e.Message"
    Expect.stringContains e.Message "[128]" "e.Message"

let ``softmax rejects a dim the input does not have`` () =
    Expects.throwsAny<ArgumentException> "Layer.init (Layers.softmax 2) key [ 10 ]" (fun () ->
        Layer.init (Layers.softmax 2) key [ 10 ] |> ignore)
    |> ignore

    let shape, _, _ = Layer.init (Layers.softmax -1) key [ 10 ]
    Expect.equal (shape.ToList()) [ 10 ] "shape.ToList()"

// ---- Sequential, naming and composition ----

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
    Expect.equal (outShape.ToList()) [ 2 ] "outShape.ToList()"
    Expect.equal (paths ps) [ "0.weight"; "0.bias"; "2.weight"; "2.bias" ] "paths ps"
    Expect.equal (dims (leaf "0.weight" ps)) [| 8; 4 |] "dims (leaf \"0.weight\" ps)"
    Expect.equal (dims (leaf "2.weight" ps)) [| 2; 8 |] "dims (leaf \"2.weight\" ps)"
    Expect.isEmpty (PTree.leaves st) "PTree.leaves st"
    Expect.equal (Layer.numParams ps) (4 * 8 + 8 + 8 * 2 + 2) "Layer.numParams ps"

let ``sequential gives each child its own init key`` () =
    let net = Layer.sequential [ Layers.linear (3, 3); Layers.linear (3, 3) ]
    let _, ps, _ = Layer.init net key [ 3 ]
    Expect.notEqual (values (leaf "1.weight" ps)) (values (leaf "0.weight" ps)) "values (leaf \"1.weight\" ps)"

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

let ``sequentialNamed uses the given names`` () =
    let net =
        Layer.sequentialNamed
            [
                "fc1", Layers.linear (2, 3)
                "act", Layers.relu ()
                "fc2", Layers.linear (3, 1)
            ]

    let _, ps, _ = Layer.init net key [ 2 ]
    Expect.equal (paths ps) [ "fc1.weight"; "fc1.bias"; "fc2.weight"; "fc2.bias" ] "paths ps"

    Expects.throwsAny<ArgumentException>
        "Layer.sequentialNamed [ \"a\", Layers.relu (); \"a\", Layers.tanh () ]"
        (fun () -> Layer.sequentialNamed [ "a", Layers.relu (); "a", Layers.tanh () ] |> ignore)
    |> ignore

    Expects.throwsAny<ArgumentException> "Layer.sequentialNamed [ \"a.b\", Layers.relu () ]" (fun () ->
        Layer.sequentialNamed [ "a.b", Layers.relu () ] |> ignore)
    |> ignore

let ``nested sequentials nest their paths as nn.Sequential does`` () =
    let block = Layer.sequential [ Layers.linear (2, 3); Layers.relu () ]
    let net = Layer.sequential [ block; Layers.linear (3, 1) ]
    let _, ps, _ = Layer.init net key [ 2 ]
    Expect.equal (paths ps) [ "0.0.weight"; "0.0.bias"; "1.weight"; "1.bias" ] "paths ps"

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
        Expect.equal (shape.ToList()) [ 2 ] "shape.ToList()"
        Expect.equal (paths ps) expected "paths ps"

    // The same key initializes both the same way: they are the same network.
    let _, pl, _ = Layer.init left key [ 2; 2 ]
    let _, pr, _ = Layer.init right key [ 2; 2 ]
    Expect.equal (values (leaf "3.weight" pr)) (values (leaf "3.weight" pl)) "values (leaf \"3.weight\" pr)"

    // An explicit sequential stays one child.
    let explicitBlock = Layer.sequential [ Layers.linear (4, 3); Layers.relu () ]
    let _, pe, _ = Layer.init (Layers.flatten () >-> explicitBlock) key [ 4 ]
    Expect.equal (paths pe) [ "1.0.weight"; "1.0.bias" ] "paths pe"

let ``a chain is marked in the value: composing chains splices them, a copy of a layer does not`` () =
    let front = Layer.chain [ Layers.flatten (); Layers.linear (4, 3) ]
    let back = Layer.chain [ Layers.relu (); Layers.linear (3, 2) ]
    let joined = front >-> back
    Expect.isTrue joined.IsChain "joined.IsChain"
    Expect.equal (joined.Sequence |> List.map fst) [ "0"; "1"; "2"; "3" ] "joined.Sequence |> List.map fst"
    let _, ps, _ = Layer.init joined key [ 2; 2 ]
    Expect.equal (paths ps) [ "1.weight"; "1.bias"; "3.weight"; "3.bias" ] "paths ps"
    // Two chains with the same children are distinct values that flatten alike (no lookup by identity), and a
    // record copied from a plain layer is no chain.
    let twin = Layer.chain [ Layers.flatten (); Layers.linear (4, 3) ]
    Expect.equal ((twin >-> back).Sequence.Length) 4 "(twin >-> back).Sequence.Length"
    let renamed = { Layers.relu () with Name = "MyReLU" }
    Expect.isFalse renamed.IsChain "renamed.IsChain"
    Expect.equal ((renamed >-> back).Sequence.Length) 3 "(renamed >-> back).Sequence.Length"
    Expect.isFalse ((Layer.sequential [ Layers.relu () ]).IsChain) "(Layer.sequential [ Layers.relu () ]).IsChain"
    // Layer.chain splices the chains it is given as compose does; a sequential stays one child.
    let spliced = Layer.chain [ front; Layer.sequential [ Layers.relu () ]; back ]

    Expect.equal
        (spliced.Sequence |> List.map (fun (_, l) -> l.Name))
        [ "Flatten"; "Linear(4->3)"; "Sequential(ReLU)"; "ReLU"; "Linear(3->2)" ]
        "spliced.Sequence |> List.map (fun (_, l) -> l.Name)"

let ``output shapes are inferred through a whole network`` () =
    let net =
        Layers.flatten ()
        >-> Layers.linear (784, 128)
        >-> Layers.relu ()
        >-> Layers.dropout 0.2
        >-> Layers.linear (128, 10)
        >-> Layers.logSoftmax 1

    let shape, ps, _ = Layer.init net key [ 28; 28 ]
    Expect.equal (shape.ToList()) [ 10 ] "shape.ToList()"

    let y, _ =
        Layer.apply net ps PTree.empty (Ctx.train (Key.create 3L)) (Tensor.rand (key, [ 5; 28; 28 ]))

    Expect.equal (dims y) [| 5; 10 |] "dims y"
    // Log-probabilities: each row's exponentials sum to 1.
    let rows = values (Tensor.sum (Tensor.exp y, 1))
    closeArrays 1e-5 (Array.create 5 1.0) rows

let ``flatten keeps the batch dim`` () =
    let shape, _, _ = Layer.init (Layers.flatten ()) key [ 3; 4; 5 ]
    Expect.equal (shape.ToList()) [ 60 ] "shape.ToList()"
    let x = Tensor.arange 120.0 |> fun t -> Tensor.reshape (t, [ 2; 3; 4; 5 ])
    let y = Layer.predict (Layers.flatten ()) PTree.empty PTree.empty x
    Expect.equal (dims y) [| 2; 60 |] "dims y"
    Expect.equal (values y) (values x) "values y"
    // A batch of scalars becomes [N; 1]; an empty batch keeps its per-example size.
    Expect.equal
        (dims (Layer.predict (Layers.flatten ()) PTree.empty PTree.empty (Tensor.zeros [ 3 ])))
        [| 3; 1 |]
        "dims (Layer.predict (Layers.flatten ()) PTree.empty PTree.empty (Tensor.zeros [ 3 ]))"

    Expect.equal
        (dims (Layer.predict (Layers.flatten ()) PTree.empty PTree.empty (Tensor.zeros [ 0; 3; 4 ])))
        [| 0; 12 |]
        "dims (Layer.predict (Layers.flatten ()) PTree.empty PTree.empty (Tensor.zeros [ 0; 3; 4..."

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

let ``sequential threads each child's state under the child's name`` () =
    let net =
        Layer.sequential [ Layers.linear (2, 2); counter; Layers.relu (); counter ]

    let _, ps, st0 = Layer.init net key [ 2 ]
    Expect.equal (paths st0) [ "1.count"; "3.count" ] "paths st0"
    let x = Tensor.ones [ 1; 2 ]
    let _, st1 = Layer.apply net ps st0 Ctx.eval x
    let _, st2 = Layer.apply net ps st1 Ctx.eval x
    Expect.equal (paths st2) [ "1.count"; "3.count" ] "paths st2"
    Expect.equal (Tensor.toScalar (leaf "1.count" st2)) 2.0 "Tensor.toScalar (leaf \"1.count\" st2)"
    Expect.equal (Tensor.toScalar (leaf "3.count" st2)) 2.0 "Tensor.toScalar (leaf \"3.count\" st2)"

let ``children get different keys at init and at apply`` () =
    let net = Layer.sequential [ keyProbe; keyProbe ]
    let _, ps, st = Layer.init net key [ 1 ]
    Expect.notEqual (values (leaf "1.draw" st)) (values (leaf "0.draw" st)) "values (leaf \"1.draw\" st)"
    let _, st' = Layer.apply net ps st (Ctx.train key) (Tensor.ones [ 1; 1 ])
    Expect.notEqual (values (leaf "1.draw" st')) (values (leaf "0.draw" st')) "values (leaf \"1.draw\" st')"
    // Apply keys are not the init keys either.
    Expect.notEqual (values (leaf "0.draw" st')) (values (leaf "0.draw" st)) "values (leaf \"0.draw\" st')"

// ---- Dropout ----

let private positive = Tensor.rand (Key.create 99L, [ 200; 50 ]) + 1.0

let private applyDropout (p: float) (ctx: Ctx) (x: Tensor) =
    Layer.apply (Layers.dropout p) PTree.empty PTree.empty ctx x |> fst

let ``dropout in Eval mode is the identity`` () =
    let y = applyDropout 0.5 Ctx.eval positive
    Expect.equal (values y) (values positive) "values y"

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

            Expect.isTrue
                (abs (ys[i] - expected) <= 1e-6 * expected)
                (sprintf "element %d: %g is neither 0 nor %g" i ys[i] expected)

    // 10000 Bernoulli(0.3) draws: the standard deviation of the fraction is 0.0046.
    let fraction = float dropped / float xs.Length
    Expect.isTrue (abs (fraction - p) < 0.025) (sprintf "dropped fraction %g" fraction)

let ``dropout's gradient is the mask scaled by 1 / (1 - p)`` () =
    let p = 0.25
    let ctx = Ctx.train key
    let y = values (applyDropout p ctx positive)
    let g = values (Diff.grad (fun x -> Tensor.sum (applyDropout p ctx x)) positive)
    let expected = y |> Array.map (fun v -> if v = 0.0 then 0.0 else 1.0 / (1.0 - p))
    closeArrays 1e-6 expected g

let ``dropout masks depend only on the key`` () =
    let mask (k: Key) =
        values (applyDropout 0.5 (Ctx.train k) positive) |> Array.map (fun v -> v = 0.0)

    Expect.equal (mask key) (mask key) "mask key"
    Expect.notEqual (mask (Key.create 8L)) (mask key) "mask (Key.create 8L)"

let ``dropout with p = 0 is the identity even in Train mode`` () =
    Expect.equal
        (values (applyDropout 0.0 (Ctx.train key) positive))
        (values positive)
        "values (applyDropout 0.0 (Ctx.train key) positive)"

let ``dropout rejects p outside [0, 1) and Train mode without a key`` () =
    Expects.throwsAny<ArgumentException> "Layers.dropout 1.0" (fun () -> Layers.dropout 1.0 |> ignore)
    |> ignore

    Expects.throwsAny<ArgumentException> "Layers.dropout -0.1" (fun () -> Layers.dropout -0.1 |> ignore)
    |> ignore

    Expects.throwsAny<ArgumentException> "Layers.dropout nan" (fun () -> Layers.dropout nan |> ignore)
    |> ignore

    let e =
        Expects.throwsAny<ArgumentException> "applyDropout 0.5 { Mode = Mode.Train; Key = None } positive" (fun () ->
            applyDropout 0.5 { Mode = Mode.Train; Key = None } positive |> ignore)

    Expect.stringContains e.Message "Dropout" "e.Message"
    Expect.stringContains e.Message "key" "e.Message"

let ``two dropout layers in one sequential draw independent masks`` () =
    let net = Layer.sequential [ Layers.dropout 0.5; Layers.dropout 0.5 ]
    let _, ps, st = Layer.init net key [ 20000 ]
    let y, _ = Layer.apply net ps st (Ctx.train key) (Tensor.ones [ 1; 20000 ])
    let ys = values y
    // Independent masks keep 1/4 of the units, scaled twice (by 4); one shared mask would keep 1/2.
    Expect.isTrue
        (ys |> Array.forall (fun v -> v = 0.0 || abs (v - 4.0) < 1e-6))
        "ys |> Array.forall (fun v -> v = 0.0 || abs (v - 4.0) < 1e-6)"

    let kept = float (ys |> Array.filter (fun v -> v <> 0.0) |> Array.length) / 20000.0
    Expect.isTrue (abs (kept - 0.25) < 0.02) (sprintf "kept fraction %g" kept)

/// The tests of this module.
let tests =
    testList
        "Layer"
        [
            testCase
                "Linear forward equals x W^T + b computed with loops"
                ``Linear forward equals x W^T + b computed with loops``
            testCase
                "Linear without bias has only a weight and computes x W^T"
                ``Linear without bias has only a weight and computes x W^T``
            testCase
                "Linear's default init is U(-1/sqrt in, 1/sqrt in) for weight and bias"
                ``Linear's default init is U(-1/sqrt in, 1/sqrt in) for weight and bias``
            testCase
                "Linear applies to the last dim of any leading dims"
                ``Linear applies to the last dim of any leading dims``
            testCase
                "Linear names itself and both shapes when the input has the wrong last dim"
                ``Linear names itself and both shapes when the input has the wrong last dim``
            testCase "a sequential reports the failing child at init" ``a sequential reports the failing child at init``
            testCase "softmax rejects a dim the input does not have" ``softmax rejects a dim the input does not have``
            testCase
                "sequential names children 0, 1, ... and leaves out layers without parameters"
                ``sequential names children 0, 1, ... and leaves out layers without parameters``
            testCase "sequential gives each child its own init key" ``sequential gives each child its own init key``
            testCase
                "sequential computes the composition of its children"
                ``sequential computes the composition of its children``
            testCase "sequentialNamed uses the given names" ``sequentialNamed uses the given names``
            testCase
                "nested sequentials nest their paths as nn.Sequential does"
                ``nested sequentials nest their paths as nn.Sequential does``
            testCase
                "the >-> operator flattens a chain into one sequential however it is parenthesised"
                ``the >-> operator flattens a chain into one sequential however it is parenthesised``
            testCase
                "a chain is marked in the value: composing chains splices them, a copy of a layer does not"
                ``a chain is marked in the value: composing chains splices them, a copy of a layer does not``
            testCase
                "output shapes are inferred through a whole network"
                ``output shapes are inferred through a whole network``
            testCase "flatten keeps the batch dim" ``flatten keeps the batch dim``
            testCase
                "activation layers apply their function elementwise"
                ``activation layers apply their function elementwise``
            testCase
                "sequential threads each child's state under the child's name"
                ``sequential threads each child's state under the child's name``
            testCase
                "children get different keys at init and at apply"
                ``children get different keys at init and at apply``
            testCase "dropout in Eval mode is the identity" ``dropout in Eval mode is the identity``
            testCase
                "dropout in Train mode zeroes about p of the units and scales the rest by 1 / (1 - p)"
                ``dropout in Train mode zeroes about p of the units and scales the rest by 1 / (1 - p)``
            testCase
                "dropout's gradient is the mask scaled by 1 / (1 - p)"
                ``dropout's gradient is the mask scaled by 1 / (1 - p)``
            testCase "dropout masks depend only on the key" ``dropout masks depend only on the key``
            testCase
                "dropout with p = 0 is the identity even in Train mode"
                ``dropout with p = 0 is the identity even in Train mode``
            testCase
                "dropout rejects p outside [0, 1) and Train mode without a key"
                ``dropout rejects p outside [0, 1) and Train mode without a key``
            testCase
                "two dropout layers in one sequential draw independent masks"
                ``two dropout layers in one sequential draw independent masks``
        ]
