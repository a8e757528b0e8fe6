namespace FunctionalNets.Nn

open System
open FunctionalNets

/// Position information for sequence models: sinusoidal tables (Vaswani et al.), learned tables and rotary
/// embeddings (RoPE, Su et al.).
[<AutoOpen>]
module PositionalLayers =
    /// The sinusoidal table's values, row-major [length; dim] (see sinusoidalTable).
    let sinusoidalValues (length: int) (dim: int) : float[] =
        Array.init (length * dim) (fun flat ->
            let p, c = flat / dim, flat % dim
            let angle = float p / Math.Pow(10000.0, float (c - c % 2) / float dim)
            if c % 2 = 0 then sin angle else cos angle)

    /// The sinusoidal table [length; dim]: pe[p, 2i] = sin(p / 10000^(2i / dim)), pe[p, 2i + 1] = cos(the same).
    let sinusoidalTable (length: int) (dim: int) (dtype: DType) : Tensor =
        Tensor.cast (Tensor.ofArray (sinusoidalValues length dim, [ length; dim ]), dtype)

    /// Raises unless a [N; T; D] input fits a positional table of maxLen positions and dim features.
    let internal checkSequence (name: string) (maxLen: int) (dim: int) (x: Tensor) =
        if x.Rank < 2 || x.Shape[-1] <> dim then
            invalidArg "input" (sprintf "%s: input %O must be [...; T; %d]." name x.Shape dim)

        if x.Shape[-2] > maxLen then
            invalidArg
                "input"
                (sprintf
                    "%s: the sequence has length %d but the positional table holds %d positions; shorten the input or build the layer with a longer maxLen."
                    name
                    x.Shape[-2]
                    maxLen)

    /// Rotary position embeddings over the last dim of x [...; T; headDim] (headDim even), position p of the
    /// sequence rotated by angles p * 10000^(-2i / headDim), with the half-split pairing of GPT-NeoX and LLaMA:
    /// x * cos + rotateHalf(x) * sin, where rotateHalf([a; b]) = [-b; a].
    let rope (x: Tensor) : Tensor =
        let t, hd = x.Shape[-2], x.Shape[-1]

        if hd % 2 <> 0 then
            invalidArg "x" (sprintf "RoPE: the head dim must be even, got %d (input %O)." hd x.Shape)

        let half = hd / 2

        let table f =
            let values =
                Array.init (t * hd) (fun flat ->
                    let p, c = flat / hd, flat % hd
                    f (float p * Math.Pow(10000.0, -2.0 * float (c % half) / float hd)))

            Tensor.cast (Tensor.ofArray (values, [ t; hd ]), x.DType)

        let cos, sin = table Math.Cos, table Math.Sin
        let a = Tensor.slice (x, -1, 0, half)
        let b = Tensor.slice (x, -1, half, hd)
        x * cos + Tensor.cat ([ -b; a ], -1) * sin

    type Layers with
        /// Adds the fixed sinusoidal table to a [N; T; dim] input (T <= maxLen); no parameters. A longer
        /// sequence raises an ArgumentException naming the layer and both lengths.
        [<CompiledName("SinusoidalPositionalEncoding")>]
        static member sinusoidalPositionalEncoding(maxLen: int, dim: int) : Layer =
            Check.atLeast "SinusoidalPositionalEncoding" "maxLen" 1 maxLen
            Check.atLeast "SinusoidalPositionalEncoding" "dim" 1 dim

            let name = sprintf "SinusoidalPositionalEncoding(maxLen=%d, dim=%d)" maxLen dim
            // Plain values, not a cached tensor: a tensor made during one training step's Scope is released
            // when that step ends, so each call builds its [T; dim] slice (T * dim values, cheap).
            let values = sinusoidalValues maxLen dim

            let init (_: Key) (shape: Shape) =
                checkSequence name maxLen dim (Tensor.zeros (shape.ToArray()))
                shape, PTree.empty, PTree.empty

            let apply (_: Params) (state: State) (_: Ctx) (x: Tensor) =
                checkSequence name maxLen dim x
                let t = x.Shape[-2]
                let table = Tensor.ofArray (values[.. t * dim - 1], [ t; dim ], x.Device)
                x + Tensor.cast (table, x.DType), state

            Layer.create name init apply

        /// Adds a learned table "weight" [maxLen; dim] (initialized N(0, 0.02), as GPT-2) to a [N; T; dim] input
        /// (T <= maxLen). A longer sequence raises an ArgumentException naming the layer and both lengths.
        [<CompiledName("LearnedPositionalEncoding")>]
        static member learnedPositionalEncoding(maxLen: int, dim: int) : Layer =
            Check.atLeast "LearnedPositionalEncoding" "maxLen" 1 maxLen
            Check.atLeast "LearnedPositionalEncoding" "dim" 1 dim

            let name = sprintf "LearnedPositionalEncoding(maxLen=%d, dim=%d)" maxLen dim

            let init (key: Key) (shape: Shape) =
                if shape.Rank < 2 || shape[-1] <> dim || shape[-2] > maxLen then
                    checkSequence name maxLen dim (Tensor.zeros (shape.ToArray()))

                shape, Node [ "weight", Leaf(Init.normal (key, [ maxLen; dim ], std = 0.02)) ], PTree.empty

            let apply (ps: Params) (state: State) (_: Ctx) (x: Tensor) =
                checkSequence name maxLen dim x
                let w = Layer.param name "weight" ps
                x + Tensor.slice (w, 0, 0, x.Shape[-2]), state

            Layer.create name init apply
