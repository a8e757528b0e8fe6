namespace FunctionalNets.Nn

open System.Runtime.InteropServices
open FunctionalNets

/// The nonlinearity of a plain (Elman) RNN cell, as PyTorch's nn.RNN(nonlinearity=...).
[<RequireQualifiedAccess>]
type RnnNonlinearity =
    | Tanh
    | Relu

/// Which recurrent cell a recurrent layer runs (PyTorch's equations and gate order).
[<RequireQualifiedAccess>]
type CellKind =
    /// h' = act(W_ih x + b_ih + W_hh h + b_hh): one gate block.
    | Rnn of RnnNonlinearity
    /// Gates i, f, g, o (in that order in the weights): c' = f c + i g, h' = o tanh c'.
    | Lstm
    /// Gates r, z, n: n = tanh(W_in x + b_in + r (W_hn h + b_hn)), h' = (1 - z) n + z h.
    | Gru

/// The hyper-parameters of a recurrent layer stack (PyTorch's nn.RNN/LSTM/GRU arguments). BatchFirst
/// is true by default here (inputs [N; T; F]); PyTorch's default is false ([T; N; F]).
type RecurrentConfig =
    {
        Kind: CellKind
        InputSize: int
        HiddenSize: int
        NumLayers: int
        Bidirectional: bool
        BatchFirst: bool
        /// Dropout on the outputs of every layer but the last, in Train mode (PyTorch's dropout argument).
        Dropout: float
        Bias: bool
        /// LSTM only: the hidden state is projected to ProjSize features by "weight_hr_l{k}" [ProjSize; H]
        /// (torch's proj_size); 0 for none.
        ProjSize: int
    }

/// The hidden state of a recurrent stack, [NumLayers * directions; N; HiddenSize] (PyTorch's h_n layout:
/// layer-major, forward before reverse); C is the LSTM cell state of the same shape, None for RNN and GRU.
type RecurrentState = { H: Tensor; C: Tensor option }

/// The functional form of the recurrent layers: parameters, the whole-sequence forward with initial and
/// final states. The Layers members (Layers.lstm, ...) wrap it.
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Recurrent =
    /// A one-layer, unidirectional, batch-first configuration with biases and no dropout.
    let config (kind: CellKind) (inputSize: int) (hiddenSize: int) : RecurrentConfig =
        {
            Kind = kind
            InputSize = inputSize
            HiddenSize = hiddenSize
            NumLayers = 1
            Bidirectional = false
            BatchFirst = true
            Dropout = 0.0
            Bias = true
            ProjSize = 0
        }

    /// The gate blocks per cell: 1 (RNN), 4 (LSTM), 3 (GRU).
    let gates (kind: CellKind) =
        match kind with
        | CellKind.Rnn _ -> 1
        | CellKind.Lstm -> 4
        | CellKind.Gru -> 3

    /// 2 for a bidirectional stack, else 1.
    let directions (cfg: RecurrentConfig) = if cfg.Bidirectional then 2 else 1

    /// The size of the hidden state h (and of each direction's output): ProjSize when projecting, else HiddenSize.
    let outputSize (cfg: RecurrentConfig) =
        if cfg.ProjSize > 0 then cfg.ProjSize else cfg.HiddenSize

    /// The display name: "LSTM(28->128)", "GRU(16->32, layers=2, bidirectional)".
    let name (cfg: RecurrentConfig) =
        let kind =
            match cfg.Kind with
            | CellKind.Rnn RnnNonlinearity.Tanh -> "RNN"
            | CellKind.Rnn RnnNonlinearity.Relu -> "RNN(relu)"
            | CellKind.Lstm -> "LSTM"
            | CellKind.Gru -> "GRU"

        let extras =
            [
                if cfg.NumLayers > 1 then
                    sprintf "layers=%d" cfg.NumLayers
                if cfg.Bidirectional then
                    "bidirectional"
                if cfg.Dropout > 0.0 then
                    sprintf "dropout=%g" cfg.Dropout
                if not cfg.Bias then
                    "bias=false"
                if not cfg.BatchFirst then
                    "batch_first=false"
                if cfg.ProjSize > 0 then
                    sprintf "proj_size=%d" cfg.ProjSize
            ]

        sprintf "%s(%d->%d%s)" kind cfg.InputSize cfg.HiddenSize (extras |> List.map ((+) ", ") |> String.concat "")

    /// Raises an ArgumentException on sizes PyTorch would reject, naming the layer and the argument (the
    /// Layers members' names: inputSize, hiddenSize, numLayers, dropout, projSize).
    let validate (cfg: RecurrentConfig) : unit =
        let op = name cfg
        Check.atLeast op "inputSize" 1 cfg.InputSize
        Check.atLeast op "hiddenSize" 1 cfg.HiddenSize
        Check.atLeast op "numLayers" 1 cfg.NumLayers
        Check.probability op "dropout" cfg.Dropout

        Check.inRange
            (cfg.ProjSize = 0 || cfg.ProjSize > 0 && cfg.ProjSize < cfg.HiddenSize)
            "projSize"
            cfg.ProjSize
            (sprintf "%s: projSize must be in [0, hiddenSize), got %d (as in PyTorch)." op cfg.ProjSize)

        if cfg.ProjSize > 0 && cfg.Kind <> CellKind.Lstm then
            invalidArg "projSize" (sprintf "%s: projSize is only for the LSTM (as in PyTorch)." op)

    let private suffix (direction: int) =
        if direction = 1 then "_reverse" else ""

    /// PyTorch's parameter names, in its state_dict order: per layer and direction weight_ih_l{k},
    /// weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k}, with "_reverse" for the backward direction.
    let parameterNames (cfg: RecurrentConfig) : string list =
        [
            for layer in 0 .. cfg.NumLayers - 1 do
                for d in 0 .. directions cfg - 1 do
                    let s = sprintf "l%d%s" layer (suffix d)
                    sprintf "weight_ih_%s" s
                    sprintf "weight_hh_%s" s

                    if cfg.Bias then
                        sprintf "bias_ih_%s" s
                        sprintf "bias_hh_%s" s

                    if cfg.ProjSize > 0 then
                        sprintf "weight_hr_%s" s
        ]

    /// Parameters with PyTorch's names and initialization: every weight and bias U(-k, k) with
    /// k = 1 / sqrt hiddenSize. weight_ih of layer 0 is [gates * H; inputSize], of deeper layers
    /// [gates * H; directions * H]; weight_hh is [gates * H; H]; biases are [gates * H].
    let init (cfg: RecurrentConfig) (key: Key) : Params =
        validate cfg
        let h = cfg.HiddenSize
        let g = gates cfg.Kind * h
        let k = 1.0 / sqrt (float h)
        let names = parameterNames cfg
        let keys = Key.splitN names.Length key

        let shapeOf (n: string) =
            let layer = int ((n.Split '_').[2].Substring 1)

            if n.StartsWith "weight_ih" then
                [
                    g
                    (if layer = 0 then
                         cfg.InputSize
                     else
                         directions cfg * outputSize cfg)
                ]
            elif n.StartsWith "weight_hh" then
                [ g; outputSize cfg ]
            elif n.StartsWith "weight_hr" then
                [ cfg.ProjSize; h ]
            else
                [ g ]

        Node(
            names
            |> List.mapi (fun i n -> n, Leaf(Init.uniform (keys[i], shapeOf n, -k, k)))
        )

    // The pieces of x along dim 0, by halving: each slice's adjoint is the size of the tensor it was cut
    // from, so halving costs O(T log T) copies in the backward pass where T slices of the whole would
    // cost O(T^2).
    let rec private unbind (x: Tensor) : Tensor list =
        let n = x.Shape[0]

        if n = 1 then
            [ Tensor.select (x, 0, 0) ]
        else
            let half = n / 2
            unbind (Tensor.slice (x, 0, 0, half)) @ unbind (Tensor.slice (x, 0, half, n))

    let private part (t: Tensor) (i: int) (h: int) = Tensor.slice (t, 1, i * h, (i + 1) * h)

    // One time step: xp is the input projection (with the biases folded in where the equations allow),
    // state is (h, c); returns the new (h, c).
    let private step
        (kind: CellKind)
        (h: int)
        (whh: Tensor)
        (bhh: Tensor option)
        (whr: Tensor option)
        (xp: Tensor)
        (hPrev, cPrev)
        =
        match kind with
        | CellKind.Rnn act ->
            let pre = xp + Tensor.matmulNT (hPrev, whh)

            let hNew =
                match act with
                | RnnNonlinearity.Tanh -> Tensor.tanh pre
                | RnnNonlinearity.Relu -> Tensor.relu pre

            hNew, cPrev
        | CellKind.Lstm ->
            let z = xp + Tensor.matmulNT (hPrev, whh)
            let i = Tensor.sigmoid (part z 0 h)
            let f = Tensor.sigmoid (part z 1 h)
            let g = Tensor.tanh (part z 2 h)
            let o = Tensor.sigmoid (part z 3 h)
            let c = f * cPrev + i * g
            let hNew = o * Tensor.tanh c

            match whr with
            | Some w -> Tensor.matmulNT (hNew, w), c
            | None -> hNew, c
        | CellKind.Gru ->
            // b_hn stays inside r * (...), so the hidden projection keeps its own bias.
            let hp =
                match bhh with
                | Some b -> Tensor.linear (hPrev, whh, b)
                | None -> Tensor.matmulNT (hPrev, whh)

            let r = Tensor.sigmoid (part xp 0 h + part hp 0 h)
            let z = Tensor.sigmoid (part xp 1 h + part hp 1 h)
            let n = Tensor.tanh (part xp 2 h + r * part hp 2 h)
            n + z * (hPrev - n), cPrev

    // One layer in one direction over a time-major input [T; N; F]: the outputs [T; N; H] and the final (h, c).
    let private runDirection (cfg: RecurrentConfig) (ps: Params) (label: string) (reverse: bool) (x: Tensor) (h0, c0) =
        let p n =
            Layer.param (name cfg) (sprintf "%s_%s" n label) ps

        let wih, whh = p "weight_ih", p "weight_hh"
        let whr = if cfg.ProjSize > 0 then Some(p "weight_hr") else None

        let bih, bhh =
            if cfg.Bias then
                Some(p "bias_ih"), Some(p "bias_hh")
            else
                None, None

        // LSTM and RNN add both biases to the pre-activation, so they fold into the one big projection.
        let inputBias =
            match cfg.Kind, bih, bhh with
            | CellKind.Gru, b, _ -> b
            | _, Some bi, Some bh -> Some(bi + bh)
            | _ -> None

        let xp =
            match inputBias with
            | Some b -> Tensor.linear (x, wih, b)
            | None -> Tensor.linear (x, wih)

        let steps = unbind xp |> Array.ofList
        let order = if reverse then Array.rev steps else steps
        let stepBias = if cfg.Kind = CellKind.Gru then bhh else None

        let outs, final =
            order
            |> Array.mapFold
                (fun state xt ->
                    let next = step cfg.Kind cfg.HiddenSize whh stepBias whr xt state
                    fst next, next)
                (h0, c0)

        let outs = if reverse then Array.rev outs else outs
        Tensor.stack (outs, 0), final

    let private dropoutBetween (cfg: RecurrentConfig) (ctx: Ctx) (layer: int) (x: Tensor) =
        match ctx.Mode with
        | Mode.Train when cfg.Dropout > 0.0 ->
            match ctx.Key with
            | None ->
                invalidArg
                    "ctx"
                    (sprintf
                        "%s: Train mode with dropout %g needs a key; pass Ctx.train key (or Ctx.eval for inference)."
                        (name cfg)
                        cfg.Dropout)
            | Some key ->
                let u = Tensor.rand (Key.foldIn layer key, x.Shape.ToArray(), x.DType, x.Device)
                let zero = Tensor.zeros ([], x.DType, x.Device)
                Tensor.where (Tensor.ge (u, cfg.Dropout), x * (1.0 / (1.0 - cfg.Dropout)), zero)
        | _ -> x

    let private checkState (cfg: RecurrentConfig) (what: string) (expected: int list) (t: Tensor) =
        if t.Shape.ToList() <> expected then
            invalidArg
                "state"
                (sprintf
                    "%s: initial %s has shape %O, expected %s ([layers * directions; batch; hidden])."
                    (name cfg)
                    what
                    t.Shape
                    (Shape.format expected))

    /// Runs the stack over a whole sequence: x is [N; T; InputSize] (BatchFirst) or [T; N; InputSize];
    /// state0 gives h0 (and c0 for the LSTM), zeros when None. Returns the top layer's outputs
    /// [N; T; directions * H] (or [T; N; ...]) and the final states of every layer and direction.
    /// Gradients flow through the whole sequence by reverse mode. In Train mode with Dropout > 0 the
    /// context needs a key.
    let apply (cfg: RecurrentConfig) (ps: Params) (ctx: Ctx) (x: Tensor) (state0: RecurrentState option) =
        validate cfg
        let layerName = name cfg

        if x.Rank <> 3 then
            invalidArg
                "x"
                (sprintf
                    "%s: input %O must have 3 dims, %s."
                    layerName
                    x.Shape
                    (if cfg.BatchFirst then
                         "[batch; time; features]"
                     else
                         "[time; batch; features]"))

        if x.Shape[2] <> cfg.InputSize then
            invalidArg
                "x"
                (sprintf "%s: input %O has feature size %d, expected %d." layerName x.Shape x.Shape[2] cfg.InputSize)

        let seq = if cfg.BatchFirst then Tensor.transpose (x, 0, 1) else x
        let steps, n = seq.Shape[0], seq.Shape[1]

        if steps = 0 then
            invalidArg "x" (sprintf "%s: input %O has no time steps." layerName x.Shape)

        let dirs = directions cfg
        let stateShape = [ cfg.NumLayers * dirs; n; outputSize cfg ]
        // With a projection the cell state keeps the hidden size (torch's c_0 [layers; N; hidden_size]).
        let cellShape = [ cfg.NumLayers * dirs; n; cfg.HiddenSize ]

        let h0, c0 =
            match state0, cfg.Kind with
            | None, _ -> Tensor.zeros (stateShape, x.DType, x.Device), Tensor.zeros (cellShape, x.DType, x.Device)
            | Some s, CellKind.Lstm ->
                checkState cfg "h0" stateShape s.H

                match s.C with
                | Some c ->
                    checkState cfg "c0" cellShape c
                    s.H, c
                | None ->
                    invalidArg
                        "state"
                        (sprintf
                            "%s: the initial state needs a cell state c0 of shape %s."
                            layerName
                            (Shape.format cellShape))
            | Some { C = Some _ }, _ ->
                invalidArg
                    "state"
                    (sprintf "%s: only an LSTM has a cell state; pass the initial state with C = None." layerName)
            | Some s, _ ->
                checkState cfg "h0" stateShape s.H
                // RNN and GRU carry no cell state: h0 fills the unused slot.
                s.H, s.H

        let hs0, cs0 = unbind h0 |> Array.ofList, unbind c0 |> Array.ofList

        let top, finals =
            [ 0 .. cfg.NumLayers - 1 ]
            |> List.fold
                (fun (input, finals) layer ->
                    let input =
                        if layer > 0 then
                            dropoutBetween cfg ctx layer input
                        else
                            input

                    let results =
                        [
                            for d in 0 .. dirs - 1 ->
                                let idx = layer * dirs + d

                                runDirection
                                    cfg
                                    ps
                                    (sprintf "l%d%s" layer (suffix d))
                                    (d = 1)
                                    input
                                    (hs0[idx], cs0[idx])
                        ]

                    let out =
                        match results with
                        | [ (o, _) ] -> o
                        | _ -> Tensor.cat (results |> List.map fst, 2)

                    out, finals @ (results |> List.map snd))
                (seq, [])

        let hN = Tensor.stack (finals |> List.map fst, 0)

        let cN =
            match cfg.Kind with
            | CellKind.Lstm -> Some(Tensor.stack (finals |> List.map snd, 0))
            | _ -> None

        let output = if cfg.BatchFirst then Tensor.transpose (top, 0, 1) else top
        output, { H = hN; C = cN }

    /// The top layer's final hidden state per example, [N; directions * H]: the forward direction's state
    /// after the last step, joined with the reverse direction's after the first (what a classifier reads).
    let lastHidden (cfg: RecurrentConfig) (state: RecurrentState) : Tensor =
        let dirs = directions cfg

        let top =
            Tensor.slice (state.H, 0, (cfg.NumLayers - 1) * dirs, cfg.NumLayers * dirs)

        Tensor.cat (unbind top, 1)

/// The recurrent layers.
[<AutoOpen>]
module RecurrentLayers =
    let private perExample (cfg: RecurrentConfig) (shape: Shape) =
        if shape.Rank <> 2 || shape[1] <> cfg.InputSize then
            invalidArg
                "shape"
                (sprintf
                    "%s: input shape %O (per example, without the batch dim) must be [time; %d]."
                    (Recurrent.name cfg)
                    shape
                    cfg.InputSize)

    let private layerOf (cfg: RecurrentConfig) (outShape: Shape -> Shape) (read: Tensor -> RecurrentState -> Tensor) =
        Recurrent.validate cfg

        if not cfg.BatchFirst then
            invalidArg
                "cfg"
                (sprintf
                    "%s: as a Layer the input is batch-first ([N; T; F]); use Recurrent.apply for [T; N; F]."
                    (Recurrent.name cfg))

        let init (key: Key) (shape: Shape) =
            perExample cfg shape
            outShape shape, Recurrent.init cfg key, PTree.empty

        let apply (ps: Params) (state: State) (ctx: Ctx) (x: Tensor) =
            let out, final = Recurrent.apply cfg ps ctx x None
            read out final, state

        Layer.create (Recurrent.name cfg) init apply

    // The options every recurrent layer takes (layerOf checks them, Recurrent.validate); the stack keeps
    // the top layer's outputs [N; T; directions * H], or with returnSequences false its final hidden state
    // [N; directions * H] (Recurrent.lastHidden: the usual sequence-classifier body).
    let private stack
        (kind: CellKind)
        (inputSize: int)
        (hiddenSize: int)
        (numLayers: int)
        (bidirectional: bool)
        (dropout: float)
        (bias: bool)
        (returnSequences: bool)
        (projSize: int)
        =
        let cfg =
            { Recurrent.config kind inputSize hiddenSize with
                NumLayers = numLayers
                Bidirectional = bidirectional
                Dropout = dropout
                Bias = bias
                ProjSize = projSize
            }

        let features = Recurrent.directions cfg * Recurrent.outputSize cfg

        if returnSequences then
            layerOf cfg (fun shape -> Shape.ofList [ shape[0]; features ]) (fun out _ -> out)
        else
            let inner =
                layerOf cfg (fun _ -> Shape.ofList [ features ]) (fun _ s -> Recurrent.lastHidden cfg s)

            { inner with
                Name = inner.Name + ".last"
            }

    type Layers with
        /// PyTorch's nn.LSTM(inputSize, hiddenSize, num_layers, bias, batch_first=True, dropout, bidirectional,
        /// proj_size) over [N; T; inputSize], starting from zero states (Recurrent.apply takes given initial
        /// states and returns the final ones). Gives the top layer's outputs [N; T; directions * H], or with
        /// returnSequences false its final hidden state [N; directions * H]. Parameters carry PyTorch's names
        /// (weight_ih_l0, ...); projSize > 0 projects the hidden state with "weight_hr_l{k}".
        [<CompiledName("Lstm")>]
        static member lstm
            (
                inputSize: int,
                hiddenSize: int,
                [<Optional; DefaultParameterValue(1)>] numLayers: int,
                [<Optional; DefaultParameterValue(false)>] bidirectional: bool,
                [<Optional; DefaultParameterValue(0.0)>] dropout: float,
                [<Optional; DefaultParameterValue(true)>] bias: bool,
                [<Optional; DefaultParameterValue(true)>] returnSequences: bool,
                [<Optional; DefaultParameterValue(0)>] projSize: int
            ) : Layer =
            stack CellKind.Lstm inputSize hiddenSize numLayers bidirectional dropout bias returnSequences projSize

        /// PyTorch's nn.GRU over [N; T; inputSize] (see lstm for the options and outputs).
        [<CompiledName("Gru")>]
        static member gru
            (
                inputSize: int,
                hiddenSize: int,
                [<Optional; DefaultParameterValue(1)>] numLayers: int,
                [<Optional; DefaultParameterValue(false)>] bidirectional: bool,
                [<Optional; DefaultParameterValue(0.0)>] dropout: float,
                [<Optional; DefaultParameterValue(true)>] bias: bool,
                [<Optional; DefaultParameterValue(true)>] returnSequences: bool
            ) : Layer =
            stack CellKind.Gru inputSize hiddenSize numLayers bidirectional dropout bias returnSequences 0

        /// PyTorch's nn.RNN (Elman) over [N; T; inputSize] with nonlinearity tanh (when omitted) or relu (see
        /// lstm for the other options and the outputs).
        [<CompiledName("Rnn")>]
        static member rnn
            (
                inputSize: int,
                hiddenSize: int,
                [<Optional; DefaultParameterValue(1)>] numLayers: int,
                [<Optional; DefaultParameterValue(false)>] bidirectional: bool,
                [<Optional; DefaultParameterValue(0.0)>] dropout: float,
                [<Optional; DefaultParameterValue(true)>] bias: bool,
                [<Optional; DefaultParameterValue(true)>] returnSequences: bool,
                [<Optional>] nonlinearity: RnnNonlinearity
            ) : Layer =
            let nonlinearity =
                Check.given nonlinearity |> Option.defaultValue RnnNonlinearity.Tanh

            stack
                (CellKind.Rnn nonlinearity)
                inputSize
                hiddenSize
                numLayers
                bidirectional
                dropout
                bias
                returnSequences
                0

        /// The last time step of a batch-first sequence: [N; T; F] -> [N; F].
        [<CompiledName("LastStep")>]
        static member lastStep() : Layer =
            Layer.stateless
                "LastStep"
                (fun shape ->
                    if shape.Rank <> 2 || shape[0] < 1 then
                        invalidArg
                            "shape"
                            (sprintf "LastStep: input shape %O (per example) must be [time >= 1; features]." shape)

                    Shape.ofList [ shape[1] ])
                (fun _ x ->
                    if x.Rank <> 3 || x.Shape[1] < 1 then
                        invalidArg "input" (sprintf "LastStep: input %O must be [batch; time >= 1; features]." x.Shape)

                    Tensor.select (x, 1, -1))

        /// Images [N; C; H; W] as sequences [N; H; C * W]: each row is one time step (sequential MNIST reads
        /// a [1; 28; 28] digit as 28 steps of 28 features).
        [<CompiledName("RowsAsSequence")>]
        static member rowsAsSequence() : Layer =
            Layer.stateless
                "RowsAsSequence"
                (fun shape ->
                    if shape.Rank <> 3 then
                        invalidArg
                            "shape"
                            (sprintf
                                "RowsAsSequence: input shape %O (per example) must be [channels; height; width]."
                                shape)

                    Shape.ofList [ shape[1]; shape[0] * shape[2] ])
                (fun _ x ->
                    if x.Rank <> 4 then
                        invalidArg
                            "input"
                            (sprintf "RowsAsSequence: input %O must be [batch; channels; height; width]." x.Shape)

                    let rows = Tensor.permute (x, [ 0; 2; 1; 3 ])
                    Tensor.reshape (rows, [ x.Shape[0]; x.Shape[2]; x.Shape[1] * x.Shape[3] ]))
