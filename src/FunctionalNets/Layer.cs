using FunctionalNets.Nn;
using NnLayer = FunctionalNets.Nn.Layer;
using NnLayers = FunctionalNets.Nn.Layers;
using NnCtx = FunctionalNets.Nn.Ctx;

namespace FunctionalNets;

/// <summary>A layer: a pure function from parameters and a batch to a batch, with an initializer that
/// infers its output shape. Create layers with <see cref="Layers"/> and compose them with
/// <see cref="Net.Sequential"/>.</summary>
public sealed class Layer
{
    internal Layer(NnLayer inner) => Inner = inner;

    internal NnLayer Inner { get; }

    /// <summary>The layer's display name, e.g. <c>Linear(784->512)</c>.</summary>
    public string Name => Inner.Name;

    /// <summary>The layer's display name.</summary>
    public override string ToString() => Inner.Name;
}

/// <summary>The built-in layers, with PyTorch's names, defaults and initialization. Each wraps the F# layer of
/// the same name (FunctionalNets.Nn), which checks its arguments: a bad one raises an
/// <see cref="ArgumentException"/> whose ParamName is the argument and whose message names the layer.</summary>
public static partial class Layers
{
    /// <summary>Merges every dim after the batch dim into one: [N, a, b] -> [N, a * b].</summary>
    public static Layer Flatten() => new(NnLayers.Flatten());

    /// <summary>The inverse of <see cref="Flatten"/> (PyTorch's nn.Unflatten(1, shape)): [N, prod shape] ->
    /// [N, shape...], e.g. a generator's latent vector [N, 64] as [N, 64, 1, 1] with <c>Unflatten(64, 1, 1)</c>.</summary>
    /// <param name="shape">The per-example shape; every dim at least 1.</param>
    public static Layer Unflatten(params int[] shape) => new(UnflattenLayers.Unflatten(shape));

    /// <summary>A fully connected layer y = x W^T + b with weight [out, in] and bias [out] (parameters
    /// "weight" and "bias"), initialized as PyTorch's nn.Linear.</summary>
    /// <param name="inFeatures">Size of the input's last dim (&gt;= 1).</param>
    /// <param name="outFeatures">Size of the output's last dim (&gt;= 1).</param>
    /// <param name="bias">Whether to add a learned bias.</param>
    public static Layer Linear(int inFeatures, int outFeatures, bool bias = true) =>
        new(NnLayers.Linear(inFeatures, outFeatures, bias));

    /// <summary>Inverted dropout: in training each element is zeroed with probability p and the rest are
    /// scaled by 1 / (1 - p); in evaluation it is the identity.</summary>
    /// <param name="p">The drop probability, in [0, 1).</param>
    public static Layer Dropout(double p) => new(NnLayers.Dropout(p));

    /// <summary>max(x, 0).</summary>
    public static Layer ReLU() => new(ActivationLayers.ReLU());

    /// <summary>The logistic sigmoid.</summary>
    public static Layer Sigmoid() => new(ActivationLayers.Sigmoid());

    /// <summary>The hyperbolic tangent.</summary>
    public static Layer Tanh() => new(ActivationLayers.Tanh());

    /// <summary>x for x &gt; 0, slope * x otherwise.</summary>
    /// <param name="slope">The negative slope (PyTorch's default 0.01), finite.</param>
    public static Layer LeakyReLU(double slope = 0.01) => new(ActivationLayers.LeakyReLU(slope));

    /// <summary>x for x &gt; 0, alpha * (e^x - 1) otherwise.</summary>
    /// <param name="alpha">The scale of the negative part (PyTorch's default 1), finite.</param>
    public static Layer ELU(double alpha = 1.0) => new(ActivationLayers.ELU(alpha));

    /// <summary>x * sigmoid(x) (swish).</summary>
    public static Layer SiLU() => new(ActivationLayers.SiLU());

    /// <summary>The exact GELU, x * Phi(x).</summary>
    public static Layer GELU() => new(ActivationLayers.GELU());

    /// <summary>torch's nn.Softplus: log(1 + e^(beta x)) / beta, and x itself (derivative 1) where beta x &gt; threshold.</summary>
    /// <param name="beta">The sharpness (positive).</param>
    /// <param name="threshold">Above beta x = threshold the layer is the identity.</param>
    public static Layer Softplus(double beta = 1.0, double threshold = 20.0) => new(ActivationLayers.Softplus(beta, threshold));

    /// <summary>Softmax along a dim counted with the batch dim (-1 or 1 for [N, C] scores).</summary>
    /// <param name="dim">The dim.</param>
    public static Layer Softmax(int dim = -1) => new(ActivationLayers.Softmax(dim));

    /// <summary>Log-softmax along a dim counted with the batch dim (-1 or 1 for [N, C] scores).</summary>
    /// <param name="dim">The dim.</param>
    public static Layer LogSoftmax(int dim = -1) => new(ActivationLayers.LogSoftmax(dim));

    /// <summary>The identity.</summary>
    public static Layer Identity() => new(NnLayers.Identity());

    private static void CheckName(string name, string paramName)
    {
        if (string.IsNullOrWhiteSpace(name))
            throw new ArgumentException("The layer name must not be empty.", paramName);
    }

    /// <summary>A layer without parameters from a function of the batch, e.g.
    /// <c>Layers.Lambda(x =&gt; x * 2.0)</c>. Its output shape is found by running the function once on a
    /// batch of one zero example when the net is built. Build the function from differentiable ops
    /// (the tensor ops such as <c>x.Relu()</c> and the operators) so gradients flow through it.</summary>
    /// <param name="forward">Maps a batch (leading batch dim) to a batch.</param>
    /// <param name="name">The display name.</param>
    public static Layer Lambda(Func<Tensor, Tensor> forward, string name = "Lambda")
    {
        ArgumentNullException.ThrowIfNull(forward);
        CheckName(name, nameof(name));

        Shape? OutShape(Shape? shape)
        {
            ArgumentNullException.ThrowIfNull(shape);
            var probe = Tensor.Zeros([1, .. shape.ToArray()]);
            var y = forward(probe) ?? throw new InvalidOperationException($"{name}: the function returned null.");
            var dims = y.Shape!.ToArray();
            if (dims.Length == 0 || dims[0] != 1)
                throw new InvalidOperationException(
                    $"{name}: for a batch of shape {Interop.ShapeText([1, .. shape.ToArray()])} the function returned shape {Interop.ShapeText(dims)}; it must keep the leading batch dim.");
            return Shape.Create(dims[1..]);
        }

        return new(FunctionalNets.Nn.LayerModule.stateless(
            name,
            Interop.Func<Shape?, Shape?>(OutShape),
            Microsoft.FSharp.Core.FuncConvert.FromFunc<NnCtx, Tensor, Tensor>((_, x) => forward(x))));
    }

    /// <summary>A layer with trainable parameters written in C#. The parameters are created once when the
    /// net is built and are differentiated, optimized, saved and loaded like the built-in layers' ones
    /// (their paths read <c>&lt;index&gt;.&lt;name&gt;</c>).</summary>
    /// <param name="name">The display name.</param>
    /// <param name="outputShape">Maps the per-example input shape (without the batch dim) to the output's.</param>
    /// <param name="createParameters">Creates the named initial parameters for a per-example input shape
    /// (e.g. with <c>Tensor.Randn</c>); names must be non-empty and contain no '.'.</param>
    /// <param name="forward">Maps the parameters (by name) and a batch to the output batch, with
    /// differentiable ops.</param>
    public static Layer Custom(
        string name,
        Func<int[], int[]> outputShape,
        Func<int[], IReadOnlyDictionary<string, Tensor>> createParameters,
        Func<IReadOnlyDictionary<string, Tensor>, Tensor, Tensor> forward)
    {
        CheckName(name, nameof(name));
        ArgumentNullException.ThrowIfNull(outputShape);
        ArgumentNullException.ThrowIfNull(createParameters);
        ArgumentNullException.ThrowIfNull(forward);

        Tuple<Shape?, PTree<Tensor>, PTree<Tensor>> Init(Key key, Shape? shape)
        {
            ArgumentNullException.ThrowIfNull(shape);
            var dims = shape.ToArray();
            var outDims = outputShape(dims) ?? throw new InvalidOperationException($"{name}: outputShape returned null.");
            var ps = createParameters(dims) ?? throw new InvalidOperationException($"{name}: createParameters returned null.");
            var leaves = new List<KeyValuePair<string, Tensor>>();
            foreach (var (pName, t) in ps)
            {
                if (string.IsNullOrEmpty(pName) || pName.Contains('.'))
                    throw new InvalidOperationException($"{name}: parameter name '{pName}' must be non-empty and contain no '.'.");
                if (t is null)
                    throw new InvalidOperationException($"{name}: parameter '{pName}' is null.");
                if (!t.DType.IsFloatingPoint)
                    throw new InvalidOperationException($"{name}: parameter '{pName}' is {t.DType}; trainable parameters must be floating-point.");
                leaves.Add(new(pName, t.NoDiff));
            }
            return Tuple.Create<Shape?, PTree<Tensor>, PTree<Tensor>>(Shape.Create(outDims), Interop.Node(leaves), Interop.EmptyTree);
        }

        Tuple<Tensor, PTree<Tensor>> Apply(PTree<Tensor> ps, PTree<Tensor> state, NnCtx ctx, Tensor x)
        {
            var dict = new Dictionary<string, Tensor>();
            foreach (var (pName, t) in Interop.Leaves(ps)) dict[pName] = t;
            var y = forward(dict, x) ?? throw new InvalidOperationException($"{name}: forward returned null.");
            return Tuple.Create(y, state);
        }

        return new(FunctionalNets.Nn.LayerModule.create(
            name,
            Microsoft.FSharp.Core.FuncConvert.FromFunc<Key, Shape?, Tuple<Shape?, PTree<Tensor>, PTree<Tensor>>>(Init),
            Microsoft.FSharp.Core.FuncConvert.FromFunc<PTree<Tensor>, PTree<Tensor>, NnCtx, Tensor, Tuple<Tensor, PTree<Tensor>>>(Apply)));
    }
}
