using FunctionalNets;

namespace CustomLoop;

/// <summary>A training loop written out by hand with the pieces Fit is made of: the DataLoader's batches in Fit's
/// order, the net's layer function, the loss, gradients, an optimizer step and a scope per step.</summary>
public static class HandWrittenLoop
{
    /// <summary>Trains the net for the given epochs, one optimizer step per batch, and stores the trained
    /// parameters and state in it. With the optimizer, loss, batch size and seed Fit was given, the weights are
    /// Fit's, bit for bit.</summary>
    /// <returns>The mean loss of each epoch.</returns>
    public static double[] Train(Net net, Optimizer optimizer, Loss loss, Dataset data, int epochs, int batchSize)
    {
        var parameters = net.Parameters;
        var state = net.State;
        var optimizerState = optimizer.Init(parameters);
        var loader = new DataLoader(data, batchSize, shuffle: true);
        var epochLosses = new double[epochs];
        long step = net.Step;
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            double sum = 0;
            int seen = 0;
            foreach (var (inputs, targets) in loader.Batches(net.EpochKey(epoch)))
            {
                // Everything the step creates is released at the end of the iteration, except what it keeps.
                using var scope = Scope.Open();
                var (value, newState, gradients) = Gradients.ValueAndGrad(p =>
                {
                    var (outputs, s) = net.Apply(p, state, inputs, training: true, step: step);
                    return (loss.Compute(outputs, targets), s);
                }, parameters);
                (parameters, optimizerState) = optimizer.Update(step, gradients, optimizerState, parameters);
                state = newState;
                scope.Keep((parameters, optimizerState, state));
                int n = inputs.Dims()[0];
                sum += value.ToScalar() * n;
                seen += n;
                step++;
            }
            epochLosses[epoch - 1] = sum / seen;
        }
        net.SetParameters(parameters).SetState(state);
        return epochLosses;
    }

    /// <summary>The largest absolute difference between two trees' tensors of the same paths.</summary>
    public static double MaxAbsDifference(ParameterTree a, ParameterTree b)
    {
        double max = 0;
        foreach (var (path, x) in a)
        {
            var xs = x.ToDoubleArray();
            var ys = b[path].ToDoubleArray();
            if (xs.Length != ys.Length) return double.PositiveInfinity;
            for (int i = 0; i < xs.Length; i++) max = Math.Max(max, Math.Abs(xs[i] - ys[i]));
        }
        return max;
    }
}
