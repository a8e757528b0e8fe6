namespace FunctionalNets.Nn.Interop

open FunctionalNets.Nn

/// The recurrent layers under plain .NET names and types for the C# host (F# extension members of Layers
/// and F# union cases are awkward to reach from C#).
[<AbstractClass; Sealed>]
type internal RecurrentBridge =
    /// kind: "rnn_tanh", "rnn_relu", "lstm" or "gru"; returnSequences false keeps the top layer's final
    /// hidden state (Layers.recurrentLast).
    static member Recurrent
        (
            kind: string,
            inputSize: int,
            hiddenSize: int,
            numLayers: int,
            bidirectional: bool,
            dropout: float,
            bias: bool,
            returnSequences: bool,
            projSize: int
        ) =
        let cellKind =
            match kind with
            | "rnn_tanh" -> CellKind.Rnn RnnNonlinearity.Tanh
            | "rnn_relu" -> CellKind.Rnn RnnNonlinearity.Relu
            | "lstm" -> CellKind.Lstm
            | "gru" -> CellKind.Gru
            | other ->
                invalidArg
                    "kind"
                    (sprintf "Recurrent: unknown cell kind '%s'; expected rnn_tanh, rnn_relu, lstm or gru." other)

        let cfg =
            { Recurrent.config cellKind inputSize hiddenSize with
                NumLayers = numLayers
                Bidirectional = bidirectional
                Dropout = dropout
                Bias = bias
                ProjSize = projSize
            }

        if returnSequences then
            Layers.recurrent cfg
        else
            Layers.recurrentLast cfg

    static member LastStep() = Layers.lastStep
    static member RowsAsSequence() = Layers.rowsAsSequence
