using FunctionalNets.Nn;
using Microsoft.FSharp.Core;

namespace FunctionalNets;

// The net's parameters and state as trees, and its layer function: what a hand-written training loop needs.
public sealed partial class Net
{
    /// <summary>The trainable parameters as a tree named as PyTorch's state_dict names them ("0.weight",
    /// "0.bias", ...). Tensors are immutable, so the tree is a snapshot: training or <see cref="SetParameters"/>
    /// replace the net's tree and leave this one as it is.</summary>
    public ParameterTree Parameters => new(Built(nameof(Parameters)).Params);

    /// <summary>The non-trainable state (BatchNorm's running_mean, running_var and num_batches_tracked) as a
    /// tree of state_dict names; empty for a net without such layers.</summary>
    public ParameterTree State => new(Built(nameof(State)).State);

    /// <summary>Replaces the parameters, e.g. with those a hand-written loop trained. The tree must hold exactly
    /// the paths of <see cref="Parameters"/> with their shapes and dtypes, or an <see cref="ArgumentException"/>
    /// names the offending path and the net is left as it was. The optimizer's state and the step are kept.
    /// The net holds the given tensors from then on (<see cref="Dispose"/> releases them).</summary>
    /// <param name="parameters">A tree (or any dictionary) from path to tensor.</param>
    /// <returns>This net, for chaining.</returns>
    public Net SetParameters(IReadOnlyDictionary<string, Tensor> parameters)
    {
        var ts = Built(nameof(SetParameters));
        var tree = Replaced(new ParameterTree(ts.Params), parameters, nameof(parameters), nameof(SetParameters));
        state = new TrainState(tree.Inner, ts.State, ts.Opt, ts.Step, ts.Key, ts.LrScale);
        return this;
    }

    /// <summary>Replaces the non-trainable state (BatchNorm running statistics), checked as
    /// <see cref="SetParameters"/> checks parameters.</summary>
    /// <param name="state">A tree (or any dictionary) from path to tensor with the paths of <see cref="State"/>.</param>
    /// <returns>This net, for chaining.</returns>
    public Net SetState(IReadOnlyDictionary<string, Tensor> state)
    {
        var ts = Built(nameof(SetState));
        var tree = Replaced(new ParameterTree(ts.State), state, nameof(state), nameof(SetState));
        this.state = new TrainState(ts.Params, tree.Inner, ts.Opt, ts.Step, ts.Key, ts.LrScale);
        return this;
    }

    /// <summary>The current tree with every tensor replaced by the given one of its path, moved to the net's
    /// device, after checking paths, shapes and dtypes.</summary>
    private ParameterTree Replaced(ParameterTree current, IReadOnlyDictionary<string, Tensor>? given, string param, string operation)
    {
        var method = $"Net.{operation}";
        Guard.SamePaths(current, Guard.NotNull(given, param, method), param, method);
        return current.WithValues(current.Keys.Select(k => OnDevice(given![k])));
    }

    /// <summary>Runs the net's layers on a batch with the given parameters and state, without changing the net:
    /// the forward pass of a hand-written training step, differentiable with respect to the parameters
    /// (<see cref="Gradients.ValueAndGrad(Func{ParameterTree, ValueTuple{Tensor, ParameterTree}}, ParameterTree)"/>).
    /// In training mode dropout is on and BatchNorm uses and updates batch statistics; the randomness of step
    /// <paramref name="step"/> is the one Fit draws at that step, so a loop that follows Fit's steps gets Fit's
    /// weights.</summary>
    /// <param name="parameters">The parameters (the paths of <see cref="Parameters"/>).</param>
    /// <param name="state">The non-trainable state (the paths of <see cref="State"/>).</param>
    /// <param name="inputs">A batch [N, ...].</param>
    /// <param name="training">Training mode (dropout, batch statistics) rather than evaluation mode.</param>
    /// <param name="step">The training step whose dropout randomness to draw (ignored in evaluation mode).</param>
    /// <returns>The outputs and the new state (BatchNorm's updated running statistics in training mode).</returns>
    public (Tensor Output, ParameterTree State) Apply(
        ParameterTree parameters, ParameterTree state, Tensor inputs, bool training = false, long step = 0)
    {
        const string method = "Net.Apply";
        var ts = Built(nameof(Apply));
        var p = Guard.NotNull(parameters, nameof(parameters), method);
        var s = Guard.NotNull(state, nameof(state), method);
        var x = OnDevice(Guard.NotNull(inputs, nameof(inputs), method));
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), step, $"{method}: step must be >= 0.");
        Guard.SamePaths(new ParameterTree(ts.Params), p, nameof(parameters), method);
        Guard.SamePaths(new ParameterTree(ts.State), s, nameof(state), method);
        var ctx = training ? Train.stepContext(ts, step) : new Ctx(Mode.Eval, FSharpOption<Key>.None);
        var r = CSharpTerms.Run(() => FSharpFunc<PTree<Tensor>, PTree<Tensor>>.InvokeFast(model.Apply, p.Inner, s.Inner, ctx, x));
        return (r.Item1, new ParameterTree(r.Item2));
    }

    /// <summary>The key Fit shuffles epoch <paramref name="epoch"/> (counted from 1) with, drawn from the seed the
    /// net was built with: <c>loader.Batches(net.EpochKey(epoch))</c> gives that epoch's batches in Fit's order.</summary>
    /// <param name="epoch">The epoch, from 1.</param>
    public Key EpochKey(int epoch)
    {
        if (epoch < 1) throw new ArgumentOutOfRangeException(nameof(epoch), epoch, "Net.EpochKey: epochs count from 1.");
        return Train.epochKey(Built(nameof(EpochKey)), epoch);
    }
}
