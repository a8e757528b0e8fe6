module FunctionalNets.Tests.Nn.RecurrentTests

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn

let private values (t: Tensor) = Tensor.toFloatArray t
let private dims (t: Tensor) = t.Shape.ToArray()
let private f64 (t: Tensor) = Tensor.cast (t, DType.Float64)

let private closeArrays (tol: float) (expected: float[]) (actual: float[]) =
    Expect.equal actual.Length expected.Length "actual.Length"

    Array.iteri2
        (fun i e a ->
            Expect.isTrue (abs (e - a) <= tol * (1.0 + abs e)) (sprintf "element %d: expected %g, got %g" i e a))
        expected
        actual

let private leaf (name: string) (ps: Params) =
    match PTree.tryFind name ps with
    | Some(Leaf t) -> t
    | other -> failwithf "no tensor '%s': %A" name other

let private withLeaf (name: string) (t: Tensor) (ps: Params) =
    match ps with
    | Node kids -> Node(kids |> List.map (fun (k, v) -> if k = name then k, Leaf t else k, v))
    | Leaf _ -> failwith "expected a node"

let private paramsF64 (cfg: RecurrentConfig) (seed: int64) =
    Recurrent.init cfg (Key.create seed) |> PTree.map f64

let private randn (seed: int64) (shape: int list) =
    Tensor.randn (Key.create seed, shape, DType.Float64)

// ---- a reference written out from PyTorch's documented equations, with loops over plain arrays ----

let private sigmoid (v: float) = 1.0 / (1.0 + exp -v)

// W [rows; cols] (row-major) times v, rows first..first+count-1.
let private mv (w: float[]) (cols: int) (first: int) (count: int) (v: float[]) =
    Array.init count (fun r -> Seq.sum (seq { for c in 0 .. cols - 1 -> w[(first + r) * cols + c] * v[c] }))

let private add (a: float[]) (b: float[]) = Array.map2 (+) a b

type private RefParams =
    {
        Wih: float[]
        Whh: float[]
        Bih: float[]
        Bhh: float[]
        Input: int
        Hidden: int
    }

let private refParams (ps: Params) (suffix: string) (input: int) (hidden: int) =
    {
        Wih = values (leaf ("weight_ih_" + suffix) ps)
        Whh = values (leaf ("weight_hh_" + suffix) ps)
        Bih = values (leaf ("bias_ih_" + suffix) ps)
        Bhh = values (leaf ("bias_hh_" + suffix) ps)
        Input = input
        Hidden = hidden
    }

// Block k (size H) of W_ih x + b_ih and of W_hh h + b_hh.
let private blocks (p: RefParams) (x: float[]) (h: float[]) (k: int) =
    let hd = p.Hidden
    let xi = add (mv p.Wih p.Input (k * hd) hd x) p.Bih[k * hd .. (k + 1) * hd - 1]
    let hh = add (mv p.Whh hd (k * hd) hd h) p.Bhh[k * hd .. (k + 1) * hd - 1]
    xi, hh

// torch.nn.LSTM: i = s(W_ii x + b_ii + W_hi h + b_hi), f = s(...), g = tanh(...), o = s(...),
// c' = f * c + i * g, h' = o * tanh(c').
let private lstmCell (p: RefParams) (x: float[]) (h: float[], c: float[]) =
    let gate k act =
        let xi, hh = blocks p x h k
        add xi hh |> Array.map act

    let i, f, g, o = gate 0 sigmoid, gate 1 sigmoid, gate 2 tanh, gate 3 sigmoid
    let c' = Array.init p.Hidden (fun j -> f[j] * c[j] + i[j] * g[j])
    Array.init p.Hidden (fun j -> o[j] * tanh c'[j]), c'

// torch.nn.GRU: r = s(W_ir x + b_ir + W_hr h + b_hr), z = s(...), n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),
// h' = (1 - z) * n + z * h.
let private gruCell (p: RefParams) (x: float[]) (h: float[], c: float[]) =
    let xr, hr = blocks p x h 0
    let xz, hz = blocks p x h 1
    let xn, hn = blocks p x h 2
    let r = add xr hr |> Array.map sigmoid
    let z = add xz hz |> Array.map sigmoid
    let n = Array.init p.Hidden (fun j -> tanh (xn[j] + r[j] * hn[j]))
    Array.init p.Hidden (fun j -> (1.0 - z[j]) * n[j] + z[j] * h[j]), c

// torch.nn.RNN: h' = act(W_ih x + b_ih + W_hh h + b_hh).
let private rnnCell (act: float -> float) (p: RefParams) (x: float[]) (h: float[], c: float[]) =
    let xi, hh = blocks p x h 0
    add xi hh |> Array.map act, c

// Runs a reference cell over x [N; T; F] (batch-first, flattened) from (h0, c0) [N; H] for every example.
let private refRun cell (p: RefParams) (x: float[]) (n: int) (t: int) (h0: float[]) (c0: float[]) =
    let hd = p.Hidden

    [|
        for b in 0 .. n - 1 ->
            let mutable state = h0[b * hd .. (b + 1) * hd - 1], c0[b * hd .. (b + 1) * hd - 1]

            let outs =
                [|
                    for s in 0 .. t - 1 do
                        let xt = x[(b * t + s) * p.Input .. (b * t + s + 1) * p.Input - 1]
                        state <- cell p xt state
                        yield! fst state
                |]

            outs, state
    |]

let private checkAgainstReference (kind: CellKind) cell =
    let n, t, input, hidden = 2, 3, 3, 4
    let cfg = Recurrent.config kind input hidden
    let ps = paramsF64 cfg 11L
    let x = randn 1L [ n; t; input ]
    let h0 = randn 2L [ 1; n; hidden ]
    let c0 = randn 3L [ 1; n; hidden ]

    let state =
        {
            H = h0
            C = (if kind = CellKind.Lstm then Some c0 else None)
        }

    let out, final = Recurrent.apply cfg ps Ctx.eval x (Some state)
    let p = refParams ps "l0" input hidden
    let c0Values = if kind = CellKind.Lstm then values c0 else values h0
    let expected = refRun cell p (values x) n t (values h0) c0Values
    Expect.equal (dims out) [| n; t; hidden |] "dims out"
    closeArrays 1e-12 (expected |> Array.collect fst) (values out)
    closeArrays 1e-12 (expected |> Array.collect (snd >> fst)) (values final.H)
    expected, final

let ``LSTM outputs and final (h, c) equal the gates computed by hand from PyTorch's equations`` () =
    let expected, final = checkAgainstReference CellKind.Lstm lstmCell
    Expect.equal (dims final.H) [| 1; 2; 4 |] "dims final.H"
    closeArrays 1e-12 (expected |> Array.collect (snd >> snd)) (values final.C.Value)

let ``GRU outputs equal the gates computed by hand, with b_hn inside the reset product`` () =
    let _, final = checkAgainstReference CellKind.Gru gruCell
    Expect.isTrue final.C.IsNone "final.C.IsNone"

let ``tanh and relu RNNs equal act(W_ih x + b_ih + W_hh h + b_hh) by hand`` () =
    checkAgainstReference (CellKind.Rnn RnnNonlinearity.Tanh) (rnnCell tanh)
    |> ignore

    checkAgainstReference (CellKind.Rnn RnnNonlinearity.Relu) (rnnCell (max 0.0))
    |> ignore

let ``one LSTM step with hand-picked weights gives the values worked out on paper`` () =
    // Input 1, hidden 1: every weight 0.5, every bias 0, x = 1, h0 = c0 = 0, so each gate's
    // pre-activation is 0.5 * 1 = 0.5: i = f = o = s(0.5), g = tanh(0.5), c = i * g, h = o * tanh(c).
    let cfg = Recurrent.config CellKind.Lstm 1 1

    let ps =
        Node
            [
                "weight_ih_l0", Leaf(Tensor.full ([ 4; 1 ], 0.5, DType.Float64))
                "weight_hh_l0", Leaf(Tensor.full ([ 4; 1 ], 0.5, DType.Float64))
                "bias_ih_l0", Leaf(Tensor.zeros ([ 4 ], DType.Float64))
                "bias_hh_l0", Leaf(Tensor.zeros ([ 4 ], DType.Float64))
            ]

    let out, final =
        Recurrent.apply cfg ps Ctx.eval (Tensor.ones ([ 1; 1; 1 ], DType.Float64)) None

    let s = 1.0 / (1.0 + exp -0.5)
    let c = s * tanh 0.5
    closeArrays 1e-14 [| s * tanh c |] (values out)
    closeArrays 1e-14 [| c |] (values final.C.Value)

// ---- parameters ----

let ``a 2-layer bidirectional LSTM has PyTorch's parameter names, shapes and U(-1/sqrt H, 1/sqrt H) init`` () =
    let cfg =
        { Recurrent.config CellKind.Lstm 5 8 with
            NumLayers = 2
            Bidirectional = true
        }

    let ps = Recurrent.init cfg (Key.create 3L)

    // The state_dict of torch.nn.LSTM(5, 8, num_layers=2, bidirectional=True), in order.
    let expected =
        [
            "weight_ih_l0", [| 32; 5 |]
            "weight_hh_l0", [| 32; 8 |]
            "bias_ih_l0", [| 32 |]
            "bias_hh_l0", [| 32 |]
            "weight_ih_l0_reverse", [| 32; 5 |]
            "weight_hh_l0_reverse", [| 32; 8 |]
            "bias_ih_l0_reverse", [| 32 |]
            "bias_hh_l0_reverse", [| 32 |]
            "weight_ih_l1", [| 32; 16 |]
            "weight_hh_l1", [| 32; 8 |]
            "bias_ih_l1", [| 32 |]
            "bias_hh_l1", [| 32 |]
            "weight_ih_l1_reverse", [| 32; 16 |]
            "weight_hh_l1_reverse", [| 32; 8 |]
            "bias_ih_l1_reverse", [| 32 |]
            "bias_hh_l1_reverse", [| 32 |]
        ]

    let leaves = PTree.leaves ps
    Expect.equal (List.map fst leaves) (List.map fst expected) "List.map fst leaves"

    for (name, shape), (_, t) in List.zip expected leaves do
        Expect.isTrue ((shape = dims t)) (sprintf "%s: %A" name (dims t))

    let bound = 1.0 / sqrt 8.0
    let all = leaves |> List.map snd |> List.collect (values >> List.ofArray)
    Expect.isTrue (all |> List.forall (fun v -> abs v <= bound)) "a value lies outside the bound"
    // 2560 draws from U(-b, b) would not all sit in the inner half.
    Expect.isTrue
        (all |> List.exists (fun v -> abs v > bound / 2.0))
        "all |> List.exists (fun v -> abs v > bound / 2.0)"

let ``GRU and RNN weights have 3 and 1 gate blocks; no bias leaves the biases out`` () =
    let gru = Recurrent.init (Recurrent.config CellKind.Gru 4 6) (Key.create 1L)
    Expect.equal (dims (leaf "weight_ih_l0" gru)) [| 18; 4 |] "dims (leaf \"weight_ih_l0\" gru)"

    let rnnCfg =
        { Recurrent.config (CellKind.Rnn RnnNonlinearity.Tanh) 4 6 with
            Bias = false
        }

    let rnn = Recurrent.init rnnCfg (Key.create 1L)

    Expect.equal
        (PTree.leaves rnn |> List.map fst)
        [ "weight_ih_l0"; "weight_hh_l0" ]
        "PTree.leaves rnn |> List.map fst"

    Expect.equal (dims (leaf "weight_hh_l0" rnn)) [| 6; 6 |] "dims (leaf \"weight_hh_l0\" rnn)"

// ---- gradients ----

let ``gradients of a 2-layer bidirectional LSTM match central differences in Float64`` () =
    let cfg =
        { Recurrent.config CellKind.Lstm 2 2 with
            NumLayers = 2
            Bidirectional = true
        }

    let ps = paramsF64 cfg 5L
    let x = randn 6L [ 2; 3; 2 ]
    let h0 = randn 7L [ 4; 2; 2 ]
    let c0 = randn 8L [ 4; 2; 2 ]
    // Fixed random weights make every output element count, with a different weight each.
    let wOut = randn 9L [ 2; 3; 4 ]
    let wH = randn 10L [ 4; 2; 2 ]
    let wC = randn 12L [ 4; 2; 2 ]

    let loss (ps: Params) (x: Tensor) (h0: Tensor) (c0: Tensor) =
        let out, s = Recurrent.apply cfg ps Ctx.eval x (Some { H = h0; C = Some c0 })
        Tensor.sum (out * wOut) + Tensor.sum (s.H * wH) + Tensor.sum (s.C.Value * wC)

    let check (f: Tensor -> Tensor) (at: Tensor) =
        closeArrays 1e-6 (values (Diff.numGrad 1e-6 f at)) (values (Diff.grad f at))

    check (fun x -> loss ps x h0 c0) x
    check (fun h -> loss ps x h c0) h0
    check (fun c -> loss ps x h0 c) c0

    for name in
        [
            "weight_ih_l0"
            "weight_hh_l0_reverse"
            "bias_hh_l0"
            "weight_ih_l1_reverse"
            "bias_ih_l1"
        ] do
        check (fun w -> loss (withLeaf name w ps) x h0 c0) (leaf name ps)

let ``GRU and RNN gradients match central differences in Float64`` () =
    for kind in [ CellKind.Gru; CellKind.Rnn RnnNonlinearity.Tanh ] do
        let cfg =
            { Recurrent.config kind 2 3 with
                Bidirectional = true
            }

        let ps = paramsF64 cfg 21L
        let x = randn 22L [ 2; 4; 2 ]
        let w = randn 23L [ 2; 4; 6 ]

        let loss (ps: Params) (x: Tensor) =
            Tensor.sum (fst (Recurrent.apply cfg ps Ctx.eval x None) * w)

        closeArrays 1e-6 (values (Diff.numGrad 1e-6 (loss ps) x)) (values (Diff.grad (loss ps) x))

        for name in [ "weight_hh_l0"; "bias_hh_l0_reverse" ] do
            let f t = loss (withLeaf name t ps) x
            let at = leaf name ps
            closeArrays 1e-6 (values (Diff.numGrad 1e-6 f at)) (values (Diff.grad f at))

// ---- directions, states and layouts ----

let ``the reverse direction equals a forward LSTM with the reverse weights over the time-reversed input`` () =
    let cfg =
        { Recurrent.config CellKind.Lstm 3 2 with
            Bidirectional = true
        }

    let ps = paramsF64 cfg 31L
    let x = randn 32L [ 2; 5; 3 ]
    let out, final = Recurrent.apply cfg ps Ctx.eval x None
    let p = refParams ps "l0_reverse" 3 2
    let reversed = Tensor.stack ([ for t in 4..-1..0 -> Tensor.select (x, 1, t) ], 1)
    let zeros = Array.zeroCreate 4
    let expected = refRun lstmCell p (values reversed) 2 5 zeros zeros
    let backward = Tensor.slice (out, 2, 2, 4)

    for b in 0..1 do
        for t in 0..4 do
            // Output position t of the reverse direction is its step 4 - t.
            let e = (fst expected[b])[(4 - t) * 2 .. (4 - t) * 2 + 1]
            closeArrays 1e-12 e (values (Tensor.select (Tensor.select (backward, 0, b), 0, t)))

    // h_n[1] is the reverse direction's state after reading the whole sequence, i.e. at output position 0.
    closeArrays 1e-12 (values (Tensor.select (backward, 1, 0))) (values (Tensor.select (final.H, 0, 1)))

let ``running 4 steps equals running 2 steps and then 2 more from the returned state`` () =
    for kind in [ CellKind.Lstm; CellKind.Gru ] do
        let cfg =
            { Recurrent.config kind 3 4 with
                NumLayers = 2
            }

        let ps = paramsF64 cfg 41L
        let x = randn 42L [ 2; 4; 3 ]
        let whole, wholeState = Recurrent.apply cfg ps Ctx.eval x None
        let first, mid = Recurrent.apply cfg ps Ctx.eval (Tensor.slice (x, 1, 0, 2)) None

        let second, last =
            Recurrent.apply cfg ps Ctx.eval (Tensor.slice (x, 1, 2, 4)) (Some mid)

        closeArrays 1e-12 (values whole) (values (Tensor.cat ([ first; second ], 1)))
        closeArrays 1e-12 (values wholeState.H) (values last.H)

        match wholeState.C, last.C with
        | Some a, Some b -> closeArrays 1e-12 (values a) (values b)
        | None, None -> ()
        | _ -> failwith "cell states differ in presence"

let ``batch-first false reads [T; N; F] and gives the transposed output`` () =
    let cfg = Recurrent.config CellKind.Gru 3 2
    let ps = paramsF64 cfg 51L
    let x = randn 52L [ 2; 4; 3 ]
    let batchFirst, s1 = Recurrent.apply cfg ps Ctx.eval x None

    let timeFirst, s2 =
        Recurrent.apply { cfg with BatchFirst = false } ps Ctx.eval (Tensor.transpose (x, 0, 1)) None

    Expect.equal (dims timeFirst) [| 4; 2; 2 |] "dims timeFirst"
    closeArrays 1e-12 (values (Tensor.transpose (batchFirst, 0, 1))) (values timeFirst)
    closeArrays 1e-12 (values s1.H) (values s2.H)

let ``dropout between layers is off in Eval, draws from the key in Train and needs one`` () =
    let cfg =
        { Recurrent.config CellKind.Lstm 3 4 with
            NumLayers = 2
            Dropout = 0.5
        }

    let ps = paramsF64 cfg 61L
    let x = randn 62L [ 2; 3; 3 ]
    let evalOut, _ = Recurrent.apply cfg ps Ctx.eval x None
    let plain, _ = Recurrent.apply { cfg with Dropout = 0.0 } ps Ctx.eval x None
    closeArrays 0.0 (values plain) (values evalOut)

    let train k =
        fst (Recurrent.apply cfg ps (Ctx.train (Key.create k)) x None)

    closeArrays 0.0 (values (train 1L)) (values (train 1L))
    Expect.notEqual (values (train 1L)) (values plain) "values (train 1L)"

    let e =
        Expects.throws<ArgumentException> "Recurrent.apply cfg ps { Mode = Mode.Train; Key = None } x None" (fun () ->
            Recurrent.apply cfg ps { Mode = Mode.Train; Key = None } x None |> ignore)

    Expect.stringContains e.Message "LSTM(3->4, layers=2, dropout=0.5)" "e.Message"

// ---- layers ----

let ``the layers infer shapes; returnSequences false and lastStep keep the final step`` () =
    let seqLayer = Layers.lstm (3, 5)
    let lastLayer = Layers.lstm (3, 5, returnSequences = false)
    let outShape, ps, _ = Layer.init seqLayer (Key.create 71L) [ 6; 3 ]
    Expect.equal (outShape.ToList()) [ 6; 5 ] "outShape.ToList()"
    let lastShape, ps2, _ = Layer.init lastLayer (Key.create 71L) [ 6; 3 ]
    Expect.equal (lastShape.ToList()) [ 5 ] "lastShape.ToList()"
    let x = Tensor.randn (Key.create 72L, [ 2; 6; 3 ])
    let y = Layer.predict seqLayer ps PTree.empty x
    let last = Layer.predict lastLayer ps2 PTree.empty x
    let viaStep = Layer.predict (Layers.lastStep ()) PTree.empty PTree.empty y
    Expect.equal (dims last) [| 2; 5 |] "dims last"
    closeArrays 0.0 (values (Tensor.select (y, 1, 5))) (values viaStep)
    closeArrays 1e-6 (values viaStep) (values last)

let ``a bidirectional last-state layer joins the forward state after the last step and the reverse one after the first``
    ()
    =
    let cfg =
        { Recurrent.config CellKind.Gru 2 3 with
            Bidirectional = true
        }

    let ps = Recurrent.init cfg (Key.create 81L)
    let x = Tensor.randn (Key.create 82L, [ 2; 4; 2 ])
    let out = Layer.predict (Layers.gru (2, 3, bidirectional = true)) ps PTree.empty x

    let last =
        Layer.predict (Layers.gru (2, 3, bidirectional = true, returnSequences = false)) ps PTree.empty x

    let forward = Tensor.slice (Tensor.select (out, 1, 3), 1, 0, 3)
    let backward = Tensor.slice (Tensor.select (out, 1, 0), 1, 3, 6)
    closeArrays 1e-6 (values (Tensor.cat ([ forward; backward ], 1))) (values last)

let ``rowsAsSequence turns [N; C; H; W] images into [N; H; C * W] row sequences`` () =
    let x = Tensor.arange (24.0) |> fun t -> Tensor.reshape (t, [ 1; 2; 3; 4 ])
    let shape, _, _ = Layer.init (Layers.rowsAsSequence ()) (Key.create 0L) [ 2; 3; 4 ]
    Expect.equal (shape.ToList()) [ 3; 8 ] "shape.ToList()"
    let y = Layer.predict (Layers.rowsAsSequence ()) PTree.empty PTree.empty x
    Expect.equal (dims y) [| 1; 3; 8 |] "dims y"
    // Row 1 of channel 0 is 4..7, of channel 1 is 16..19.
    closeArrays
        0.0
        [| 4.0; 5.0; 6.0; 7.0; 16.0; 17.0; 18.0; 19.0 |]
        (values (Tensor.select (Tensor.select (y, 0, 0), 0, 1)))

// ---- bad input ----

let ``a wrong feature size names the layer and the shapes`` () =
    let cfg = Recurrent.config CellKind.Lstm 3 2
    let ps = Recurrent.init cfg (Key.create 1L)

    let e =
        Expects.throws<ArgumentException> "Recurrent.apply cfg ps Ctx.eval (Tensor.zeros [ 2; 4; 5 ]) None" (fun () ->
            Recurrent.apply cfg ps Ctx.eval (Tensor.zeros [ 2; 4; 5 ]) None |> ignore)

    Expect.stringContains e.Message "LSTM(3->2)" "e.Message"
    Expect.stringContains e.Message "[2; 4; 5]" "e.Message"
    Expect.stringContains e.Message "expected 3" "e.Message"

    let e2 =
        Expects.throws<ArgumentException> "Layer.init (Layers.lstm (3, 2)) (Key.create 1L) [ 4; 5 ]" (fun () ->
            Layer.init (Layers.lstm (3, 2)) (Key.create 1L) [ 4; 5 ] |> ignore)

    Expect.stringContains e2.Message "LSTM(3->2)" "e2.Message"
    Expect.stringContains e2.Message "[4; 5]" "e2.Message"

    let e3 =
        Expects.throws<ArgumentException> "Recurrent.apply cfg ps Ctx.eval (Tensor.zeros [ 4; 3 ]) None" (fun () ->
            Recurrent.apply cfg ps Ctx.eval (Tensor.zeros [ 4; 3 ]) None |> ignore)

    Expect.stringContains e3.Message "must have 3 dims" "e3.Message"

let ``a wrong initial state shape or a missing c0 names the layer and the expected shape`` () =
    let cfg =
        { Recurrent.config CellKind.Lstm 3 2 with
            NumLayers = 2
        }

    let ps = Recurrent.init cfg (Key.create 1L)
    let x = Tensor.zeros [ 5; 4; 3 ]
    let good = Tensor.zeros [ 2; 5; 2 ]

    let e =
        Expects.throws<ArgumentException>
            "Recurrent.apply cfg ps Ctx.eval x (Some { H = Tensor.zeros [ 1; 5; 2 ] C = Some good })"
            (fun () ->
                Recurrent.apply
                    cfg
                    ps
                    Ctx.eval
                    x
                    (Some
                        {
                            H = Tensor.zeros [ 1; 5; 2 ]
                            C = Some good
                        })
                |> ignore)

    Expect.stringContains e.Message "LSTM(3->2, layers=2)" "e.Message"
    Expect.stringContains e.Message "h0 has shape [1; 5; 2], expected [2; 5; 2]" "e.Message"

    let e2 =
        Expects.throws<ArgumentException> "Recurrent.apply cfg ps Ctx.eval x (Some { H = good; C = None })" (fun () ->
            Recurrent.apply cfg ps Ctx.eval x (Some { H = good; C = None }) |> ignore)

    Expect.stringContains e2.Message "c0" "e2.Message"

    let gru = Recurrent.config CellKind.Gru 3 2
    let gruPs = Recurrent.init gru (Key.create 1L)
    let h = Tensor.zeros [ 1; 5; 2 ]

    let e3 =
        Expects.throws<ArgumentException> "Recurrent.apply gru gruPs Ctx.eval x (Some { H = h; C = Some h })" (fun () ->
            Recurrent.apply gru gruPs Ctx.eval x (Some { H = h; C = Some h }) |> ignore)

    Expect.stringContains e3.Message "GRU(3->2): only an LSTM has a cell state" "e3.Message"

let ``bad configurations are rejected with the layer's name`` () =
    let e =
        Expects.throwsAny<ArgumentException> "Layers.gru (3, 2, dropout = 1.5)" (fun () ->
            Layers.gru (3, 2, dropout = 1.5) |> ignore)

    Expect.stringContains e.Message "GRU(3->2, dropout=1.5)" "e.Message"
    Expect.equal e.ParamName "dropout" "e.ParamName"
    Expect.stringContains e.Message "dropout must be in [0, 1)" "e.Message"

    Expects.throwsAny<ArgumentException> "Layers.lstm (3, 0)" (fun () -> Layers.lstm (3, 0) |> ignore)
    |> ignore

/// The tests of this module.
let tests =
    testList
        "Recurrent"
        [
            testCase
                "LSTM outputs and final (h, c) equal the gates computed by hand from PyTorch's equations"
                ``LSTM outputs and final (h, c) equal the gates computed by hand from PyTorch's equations``
            testCase
                "GRU outputs equal the gates computed by hand, with b_hn inside the reset product"
                ``GRU outputs equal the gates computed by hand, with b_hn inside the reset product``
            testCase
                "tanh and relu RNNs equal act(W_ih x + b_ih + W_hh h + b_hh) by hand"
                ``tanh and relu RNNs equal act(W_ih x + b_ih + W_hh h + b_hh) by hand``
            testCase
                "one LSTM step with hand-picked weights gives the values worked out on paper"
                ``one LSTM step with hand-picked weights gives the values worked out on paper``
            testCase
                "a 2-layer bidirectional LSTM has PyTorch's parameter names, shapes and U(-1/sqrt H, 1/sqrt H) init"
                ``a 2-layer bidirectional LSTM has PyTorch's parameter names, shapes and U(-1/sqrt H, 1/sqrt H) init``
            testCase
                "GRU and RNN weights have 3 and 1 gate blocks; no bias leaves the biases out"
                ``GRU and RNN weights have 3 and 1 gate blocks; no bias leaves the biases out``
            testCase
                "gradients of a 2-layer bidirectional LSTM match central differences in Float64"
                ``gradients of a 2-layer bidirectional LSTM match central differences in Float64``
            testCase
                "GRU and RNN gradients match central differences in Float64"
                ``GRU and RNN gradients match central differences in Float64``
            testCase
                "the reverse direction equals a forward LSTM with the reverse weights over the time-reversed input"
                ``the reverse direction equals a forward LSTM with the reverse weights over the time-reversed input``
            testCase
                "running 4 steps equals running 2 steps and then 2 more from the returned state"
                ``running 4 steps equals running 2 steps and then 2 more from the returned state``
            testCase
                "batch-first false reads [T; N; F] and gives the transposed output"
                ``batch-first false reads [T; N; F] and gives the transposed output``
            testCase
                "dropout between layers is off in Eval, draws from the key in Train and needs one"
                ``dropout between layers is off in Eval, draws from the key in Train and needs one``
            testCase
                "the layers infer shapes; returnSequences false and lastStep keep the final step"
                ``the layers infer shapes; returnSequences false and lastStep keep the final step``
            testCase
                "a bidirectional last-state layer joins the forward state after the last step and the reverse one after the first"
                ``a bidirectional last-state layer joins the forward state after the last step and the reverse one after the first``
            testCase
                "rowsAsSequence turns [N; C; H; W] images into [N; H; C * W] row sequences"
                ``rowsAsSequence turns [N; C; H; W] images into [N; H; C * W] row sequences``
            testCase
                "a wrong feature size names the layer and the shapes"
                ``a wrong feature size names the layer and the shapes``
            testCase
                "a wrong initial state shape or a missing c0 names the layer and the expected shape"
                ``a wrong initial state shape or a missing c0 names the layer and the expected shape``
            testCase
                "bad configurations are rejected with the layer's name"
                ``bad configurations are rejected with the layer's name``
        ]
