using FunctionalNets.Nn;

namespace FunctionalNets;

public static partial class Layers
{
    /// <summary>An Elman RNN stack, h' = act(W_ih x + b_ih + W_hh h + b_hh), over batch-first sequences
    /// [N, T, inputSize], with PyTorch's parameter names (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0,
    /// ..._reverse) and initialization U(-1/sqrt(hidden), 1/sqrt(hidden)). Outputs [N, T, directions * hidden],
    /// or with <paramref name="returnSequences"/> false the top layer's final hidden state [N, directions * hidden].</summary>
    /// <param name="inputSize">Features per time step (&gt;= 1).</param>
    /// <param name="hiddenSize">Size of the hidden state (&gt;= 1).</param>
    /// <param name="numLayers">Stacked layers (&gt;= 1).</param>
    /// <param name="bidirectional">Also run every layer backwards in time and join both directions' outputs.</param>
    /// <param name="dropout">Dropout on each layer's output but the last's, in training; in [0, 1).</param>
    /// <param name="bias">Whether the cells have biases.</param>
    /// <param name="returnSequences">true: every step's output; false: the final hidden state (for classifiers).</param>
    /// <param name="nonlinearity">"tanh" (default) or "relu".</param>
    public static Layer Rnn(int inputSize, int hiddenSize, int numLayers = 1, bool bidirectional = false,
        double dropout = 0.0, bool bias = true, bool returnSequences = true, string nonlinearity = "tanh")
    {
        // torch names the nonlinearity with a string; F# takes the closed set as a union.
        var act = nonlinearity switch
        {
            "tanh" => RnnNonlinearity.Tanh,
            "relu" => RnnNonlinearity.Relu,
            _ => throw new ArgumentException($"Rnn: nonlinearity must be \"tanh\" or \"relu\", got \"{nonlinearity}\".", nameof(nonlinearity)),
        };
        return new(RecurrentLayers.Rnn(inputSize, hiddenSize, numLayers, bidirectional, dropout, bias, returnSequences, act));
    }

    /// <summary>An LSTM stack with PyTorch's equations (gates i, f, g, o), parameter names and
    /// initialization, over batch-first sequences [N, T, inputSize]. Outputs [N, T, directions * hidden], or
    /// with <paramref name="returnSequences"/> false the top layer's final hidden state [N, directions * hidden].</summary>
    /// <param name="inputSize">Features per time step (&gt;= 1).</param>
    /// <param name="hiddenSize">Size of the hidden and cell states (&gt;= 1).</param>
    /// <param name="numLayers">Stacked layers (&gt;= 1).</param>
    /// <param name="bidirectional">Also run every layer backwards in time and join both directions' outputs.</param>
    /// <param name="dropout">Dropout on each layer's output but the last's, in training; in [0, 1).</param>
    /// <param name="bias">Whether the cells have biases.</param>
    /// <param name="returnSequences">true: every step's output; false: the final hidden state (for classifiers).</param>
    /// <param name="projSize">torch's proj_size: the hidden state (and each direction's output) is projected to
    /// this many features by "weight_hr_l{k}"; 0 (default) for none, else in [1, hiddenSize).</param>
    public static Layer Lstm(int inputSize, int hiddenSize, int numLayers = 1, bool bidirectional = false,
        double dropout = 0.0, bool bias = true, bool returnSequences = true, int projSize = 0) =>
        new(RecurrentLayers.Lstm(inputSize, hiddenSize, numLayers, bidirectional, dropout, bias, returnSequences, projSize));

    /// <summary>A GRU stack with PyTorch's equations (gates r, z, n), parameter names and initialization,
    /// over batch-first sequences [N, T, inputSize]. Outputs [N, T, directions * hidden], or with
    /// <paramref name="returnSequences"/> false the top layer's final hidden state [N, directions * hidden].</summary>
    /// <param name="inputSize">Features per time step (&gt;= 1).</param>
    /// <param name="hiddenSize">Size of the hidden state (&gt;= 1).</param>
    /// <param name="numLayers">Stacked layers (&gt;= 1).</param>
    /// <param name="bidirectional">Also run every layer backwards in time and join both directions' outputs.</param>
    /// <param name="dropout">Dropout on each layer's output but the last's, in training; in [0, 1).</param>
    /// <param name="bias">Whether the cells have biases.</param>
    /// <param name="returnSequences">true: every step's output; false: the final hidden state (for classifiers).</param>
    public static Layer Gru(int inputSize, int hiddenSize, int numLayers = 1, bool bidirectional = false,
        double dropout = 0.0, bool bias = true, bool returnSequences = true) =>
        new(RecurrentLayers.Gru(inputSize, hiddenSize, numLayers, bidirectional, dropout, bias, returnSequences));

    /// <summary>The last time step of a batch-first sequence: [N, T, F] -> [N, F].</summary>
    public static Layer LastStep() => new(RecurrentLayers.LastStep());

    /// <summary>Images [N, C, H, W] as sequences [N, H, C * W], one row per time step (sequential MNIST reads a
    /// [1, 28, 28] digit as 28 steps of 28 features).</summary>
    public static Layer RowsAsSequence() => new(RecurrentLayers.RowsAsSequence());
}
