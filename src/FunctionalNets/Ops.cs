using Microsoft.FSharp.Core;
using TB = FunctionalNets.Bridges.TensorBridge;

namespace FunctionalNets;

/// <summary>
/// Tensor operations for C#: creation, conversion, activations, reductions and products, each also an
/// extension method (<c>Ops.Mean(d * d)</c> or <c>(d * d).Mean()</c>). Arithmetic uses the operators of
/// <see cref="Tensor"/> itself (<c>+ - * /</c> with tensors and numbers). Every op is differentiable, so
/// custom layers and losses written with them train like the built-in ones.
/// </summary>
public static class Ops
{
    // The core declares these ops as F# extension members, whose compiled names C# cannot call; the core's
    // TensorBridge forwards them under plain names (checked by the compiler).
    private static class B
    {
        internal static readonly Func<Array, IEnumerable<int>, FSharpOption<Device>, Tensor> OfArray = FunctionalNets.Bridges.TensorBridge.OfArray;
        internal static readonly Func<IEnumerable<int>, FSharpOption<DType>, FSharpOption<Device>, Tensor> Zeros = FunctionalNets.Bridges.TensorBridge.Zeros;
        internal static readonly Func<IEnumerable<int>, FSharpOption<DType>, FSharpOption<Device>, Tensor> Ones = FunctionalNets.Bridges.TensorBridge.Ones;
        internal static readonly Func<double, FSharpOption<DType>, FSharpOption<Device>, Tensor> Scalar = FunctionalNets.Bridges.TensorBridge.Scalar;
        internal static readonly Func<Key, IEnumerable<int>, FSharpOption<DType>, FSharpOption<Device>, Tensor> Rand = FunctionalNets.Bridges.TensorBridge.Rand;
        internal static readonly Func<Key, IEnumerable<int>, FSharpOption<DType>, FSharpOption<Device>, Tensor> Randn = FunctionalNets.Bridges.TensorBridge.Randn;
        internal static readonly Func<Tensor, double[]> ToFloatArray = FunctionalNets.Bridges.TensorBridge.ToFloatArray;
        internal static readonly Func<Tensor, Array> ToArray = FunctionalNets.Bridges.TensorBridge.ToArray;
        internal static readonly Func<Tensor, double> ToScalar = FunctionalNets.Bridges.TensorBridge.ToScalar;
        internal static readonly Func<Tensor, DType, Tensor> Cast = FunctionalNets.Bridges.TensorBridge.Cast;

        internal static readonly Func<Tensor, Tensor> Relu = FunctionalNets.Bridges.TensorBridge.Relu;
        internal static readonly Func<Tensor, Tensor> Gelu = FunctionalNets.Bridges.TensorBridge.Gelu;
        internal static readonly Func<Tensor, Tensor> Silu = FunctionalNets.Bridges.TensorBridge.Silu;
        internal static readonly Func<Tensor, Tensor> Sigmoid = FunctionalNets.Bridges.TensorBridge.Sigmoid;
        internal static readonly Func<Tensor, Tensor> Tanh = FunctionalNets.Bridges.TensorBridge.Tanh;
        internal static readonly Func<Tensor, Tensor> Exp = FunctionalNets.Bridges.TensorBridge.Exp;
        internal static readonly Func<Tensor, Tensor> Log = FunctionalNets.Bridges.TensorBridge.Log;
        internal static readonly Func<Tensor, Tensor> Abs = FunctionalNets.Bridges.TensorBridge.Abs;
        internal static readonly Func<Tensor, Tensor> Sqrt = FunctionalNets.Bridges.TensorBridge.Sqrt;
        internal static readonly Func<Tensor, Tensor> Square = FunctionalNets.Bridges.TensorBridge.Square;
        internal static readonly Func<Tensor, FSharpOption<int>, Tensor> Softmax = FunctionalNets.Bridges.TensorBridge.Softmax;
        internal static readonly Func<Tensor, FSharpOption<int>, Tensor> LogSoftmax = FunctionalNets.Bridges.TensorBridge.LogSoftmax;

        internal static readonly Func<Tensor, FSharpOption<IEnumerable<int>>, FSharpOption<bool>, Tensor> SumAll = FunctionalNets.Bridges.TensorBridge.SumAll;
        internal static readonly Func<Tensor, int, FSharpOption<bool>, Tensor> SumDim = FunctionalNets.Bridges.TensorBridge.SumDim;
        internal static readonly Func<Tensor, FSharpOption<IEnumerable<int>>, FSharpOption<bool>, Tensor> MeanAll = FunctionalNets.Bridges.TensorBridge.MeanAll;
        internal static readonly Func<Tensor, int, FSharpOption<bool>, Tensor> MeanDim = FunctionalNets.Bridges.TensorBridge.MeanDim;
        internal static readonly Func<Tensor, FSharpOption<int>, FSharpOption<bool>, Tensor> Argmax = FunctionalNets.Bridges.TensorBridge.Argmax;

        internal static readonly Func<Tensor, Tensor, Tensor> Matmul = FunctionalNets.Bridges.TensorBridge.Matmul;
        internal static readonly Func<Tensor, Tensor, FSharpOption<Tensor>, Tensor> Linear = FunctionalNets.Bridges.TensorBridge.Linear;
        internal static readonly Func<Tensor, IEnumerable<int>, Tensor> Reshape = FunctionalNets.Bridges.TensorBridge.Reshape;
        internal static readonly Func<Tensor, FSharpOption<int>, FSharpOption<int>, Tensor> Transpose = FunctionalNets.Bridges.TensorBridge.Transpose;
        internal static readonly Func<Tensor, FSharpOption<double>, FSharpOption<double>, Tensor> Clamp = FunctionalNets.Bridges.TensorBridge.Clamp;
    }

    private static int[] CheckShape(int[] shape, string paramName)
    {
        ArgumentNullException.ThrowIfNull(shape, paramName);
        foreach (var d in shape)
            if (d < 0)
                throw new ArgumentOutOfRangeException(paramName, $"dimensions must be >= 0, got {Interop.ShapeText(shape)}.");
        return shape;
    }

    private static Array CheckData(Array data, int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        CheckShape(shape, nameof(shape));
        long n = 1;
        foreach (var d in shape) n *= d;
        if (n != data.Length)
            throw new ArgumentException($"{data.Length} values do not fill shape {Interop.ShapeText(shape)} ({n} elements).", nameof(shape));
        return data;
    }

    // ---- creation and conversion ----

    /// <summary>A Float32 tensor holding a copy of <paramref name="data"/> (row-major) with the given shape.</summary>
    /// <param name="data">The values, row-major; their count must equal the product of the dims.</param>
    /// <param name="shape">The dims; none for a scalar.</param>
    public static Tensor FromArray(float[] data, params int[] shape) => B.OfArray(CheckData(data, shape), shape, Interop.None<Device>());

    /// <summary>A Float64 tensor holding a copy of <paramref name="data"/> (row-major) with the given shape.</summary>
    /// <param name="data">The values, row-major.</param>
    /// <param name="shape">The dims.</param>
    public static Tensor FromArray(double[] data, params int[] shape) => B.OfArray(CheckData(data, shape), shape, Interop.None<Device>());

    /// <summary>An Int64 tensor (class labels, indices) holding a copy of <paramref name="data"/>.</summary>
    /// <param name="data">The values, row-major.</param>
    /// <param name="shape">The dims.</param>
    public static Tensor FromArray(long[] data, params int[] shape) => B.OfArray(CheckData(data, shape), shape, Interop.None<Device>());

    /// <summary>A Float32 tensor of zeros.</summary>
    /// <param name="shape">The dims.</param>
    public static Tensor Zeros(params int[] shape) => B.Zeros(CheckShape(shape, nameof(shape)), Interop.Some(DType.Float32), Interop.None<Device>());

    /// <summary>A Float32 tensor of ones.</summary>
    /// <param name="shape">The dims.</param>
    public static Tensor Ones(params int[] shape) => B.Ones(CheckShape(shape, nameof(shape)), Interop.Some(DType.Float32), Interop.None<Device>());

    /// <summary>A Float32 scalar tensor.</summary>
    /// <param name="value">The value.</param>
    public static Tensor Scalar(double value) => B.Scalar(value, Interop.Some(DType.Float32), Interop.None<Device>());

    /// <summary>A Float32 tensor of uniform values in [0, 1), reproducible from the seed on every machine.</summary>
    /// <param name="seed">The seed (a counter-based key; the same seed gives the same values).</param>
    /// <param name="shape">The dims.</param>
    public static Tensor Rand(long seed, params int[] shape) =>
        B.Rand(KeyModule.create(seed), CheckShape(shape, nameof(shape)), Interop.Some(DType.Float32), Interop.None<Device>());

    /// <summary>A Float32 tensor of standard normal values, reproducible from the seed.</summary>
    /// <param name="seed">The seed.</param>
    /// <param name="shape">The dims.</param>
    public static Tensor Randn(long seed, params int[] shape) =>
        B.Randn(KeyModule.create(seed), CheckShape(shape, nameof(shape)), Interop.Some(DType.Float32), Interop.None<Device>());

    /// <summary>The tensor's dims as an array.</summary>
    /// <param name="x">The tensor.</param>
    public static int[] Dims(this Tensor x) => x.Shape!.ToArray();

    /// <summary>The elements, row-major, as doubles (any dtype).</summary>
    /// <param name="x">The tensor.</param>
    public static double[] ToDoubleArray(this Tensor x) => B.ToFloatArray(x);

    /// <summary>The elements, row-major, as floats (any dtype).</summary>
    /// <param name="x">The tensor.</param>
    public static float[] ToSingleArray(this Tensor x) =>
        B.ToArray(x) is float[] f ? f : Array.ConvertAll(B.ToFloatArray(x), v => (float)v);

    /// <summary>The value of a one-element tensor.</summary>
    /// <param name="x">The tensor.</param>
    public static double ToScalar(this Tensor x) => B.ToScalar(x);

    /// <summary>The tensor converted to another element type.</summary>
    /// <param name="x">The tensor.</param>
    /// <param name="dtype">The element type.</param>
    public static Tensor Cast(this Tensor x, DType dtype) => B.Cast(x, dtype);

    // ---- activations and elementwise functions ----

    /// <summary>max(x, 0).</summary>
    /// <param name="x">The input.</param>
    public static Tensor Relu(this Tensor x) => B.Relu(x);

    /// <summary>The logistic sigmoid 1 / (1 + e^-x).</summary>
    /// <param name="x">The input.</param>
    public static Tensor Sigmoid(this Tensor x) => B.Sigmoid(x);

    /// <summary>The hyperbolic tangent.</summary>
    /// <param name="x">The input.</param>
    public static Tensor Tanh(this Tensor x) => B.Tanh(x);

    /// <summary>The exact GELU, x * Phi(x).</summary>
    /// <param name="x">The input.</param>
    public static Tensor Gelu(this Tensor x) => B.Gelu(x);

    /// <summary>x * sigmoid(x).</summary>
    /// <param name="x">The input.</param>
    public static Tensor Silu(this Tensor x) => B.Silu(x);

    /// <summary>torch's F.softplus: log(1 + e^(beta x)) / beta, and x itself (derivative exactly 1) where
    /// beta x &gt; threshold.</summary>
    /// <param name="x">The input.</param>
    /// <param name="beta">The sharpness (positive).</param>
    /// <param name="threshold">Above beta x = threshold the function is the identity.</param>
    public static Tensor Softplus(this Tensor x, double beta = 1.0, double threshold = 20.0) => TB.Softplus(x, beta, threshold);

    /// <summary>The maximum over all elements, or over <paramref name="dims"/> (torch's amax): equal maxima share
    /// the gradient evenly.</summary>
    /// <param name="x">The input.</param>
    /// <param name="dims">The dims to reduce; all when empty.</param>
    public static Tensor Max(this Tensor x, params int[] dims) =>
        TB.Max(x, dims.Length == 0 ? Interop.None<IEnumerable<int>>() : Interop.Some<IEnumerable<int>>(dims), Interop.None<bool>());

    /// <summary>The minimum over all elements, or over <paramref name="dims"/> (torch's amin): equal minima share
    /// the gradient evenly.</summary>
    /// <param name="x">The input.</param>
    /// <param name="dims">The dims to reduce; all when empty.</param>
    public static Tensor Min(this Tensor x, params int[] dims) =>
        TB.Min(x, dims.Length == 0 ? Interop.None<IEnumerable<int>>() : Interop.Some<IEnumerable<int>>(dims), Interop.None<bool>());

    /// <summary>torch's max(dim): the maximum along <paramref name="dim"/> and the Int64 index of the first one,
    /// which receives the whole gradient.</summary>
    /// <param name="x">The input.</param>
    /// <param name="dim">The dim to reduce.</param>
    /// <param name="keepDim">Whether to keep the reduced dim with size 1.</param>
    public static (Tensor Values, Tensor Indices) MaxWithIndices(this Tensor x, int dim, bool keepDim = false)
    {
        var r = TB.MaxWithIndices(x, dim, keepDim);
        return (r.Item1, r.Item2);
    }

    /// <summary>Elementwise maximum with broadcasting; equal operands each get half the gradient (torch).</summary>
    /// <param name="a">The first operand.</param>
    /// <param name="b">The second operand.</param>
    public static Tensor Maximum(this Tensor a, Tensor b) => TB.Maximum(a, b);

    /// <summary>Elementwise minimum with broadcasting; equal operands each get half the gradient (torch).</summary>
    /// <param name="a">The first operand.</param>
    /// <param name="b">The second operand.</param>
    public static Tensor Minimum(this Tensor a, Tensor b) => TB.Minimum(a, b);

    /// <summary>Standard deviation along <paramref name="dim"/>; a constant slice has gradient 0 (torch).</summary>
    /// <param name="x">The input.</param>
    /// <param name="dim">The dim to reduce.</param>
    /// <param name="unbiased">Divide by n - 1 (default) or n.</param>
    public static Tensor Std(this Tensor x, int dim, bool unbiased = true) =>
        TB.Std(x, Interop.Some<IEnumerable<int>>(new[] { dim }), Interop.None<bool>(), Interop.Some(unbiased));

    /// <summary>Variance along <paramref name="dim"/>.</summary>
    /// <param name="x">The input.</param>
    /// <param name="dim">The dim to reduce.</param>
    /// <param name="unbiased">Divide by n - 1 (default) or n.</param>
    public static Tensor Var(this Tensor x, int dim, bool unbiased = true) =>
        TB.Var(x, Interop.Some<IEnumerable<int>>(new[] { dim }), Interop.None<bool>(), Interop.Some(unbiased));

    /// <summary>log(sum(exp x)) along <paramref name="dim"/> without overflow; a slice of -inf gives -inf.</summary>
    /// <param name="x">The input.</param>
    /// <param name="dim">The dim to reduce.</param>
    /// <param name="keepDim">Whether to keep the reduced dim with size 1.</param>
    public static Tensor LogSumExp(this Tensor x, int dim, bool keepDim = false) => TB.LogSumExp(x, dim, keepDim);

    /// <summary>x ** exponent elementwise with broadcasting; pow(0, 0) has derivative 0 (torch).</summary>
    /// <param name="x">The base.</param>
    /// <param name="exponent">The exponent.</param>
    public static Tensor Pow(this Tensor x, Tensor exponent) => TB.Pow(x, exponent);

    /// <summary>torch's F.pad: the trailing dims padded by <paramref name="padding"/> = (before, after) pairs, the
    /// last pair for the last dim, filled by <paramref name="mode"/> (Zeros is constant 0).</summary>
    /// <param name="x">The input.</param>
    /// <param name="padding">(before, after) per trailing dim, in dim order.</param>
    /// <param name="mode">How the border is filled.</param>
    public static Tensor Pad(this Tensor x, (int Before, int After)[] padding, PaddingMode mode = PaddingMode.Zeros)
    {
        ArgumentNullException.ThrowIfNull(padding);
        return TB.Pad(x, padding.Select(p => Tuple.Create(p.Before, p.After)).ToArray(), Interop.PadMode(mode));
    }

    /// <summary>The gradient of a scalar function at <paramref name="x"/> (reverse mode).</summary>
    /// <param name="f">A function returning a one-element tensor, built from differentiable ops.</param>
    /// <param name="x">Where to differentiate.</param>
    public static Tensor Grad(Func<Tensor, Tensor> f, Tensor x)
    {
        ArgumentNullException.ThrowIfNull(f);
        return TB.Grad(f, x);
    }


    /// <summary>e^x.</summary>
    /// <param name="x">The input.</param>
    public static Tensor Exp(this Tensor x) => B.Exp(x);

    /// <summary>The natural logarithm.</summary>
    /// <param name="x">The input.</param>
    public static Tensor Log(this Tensor x) => B.Log(x);

    /// <summary>|x|.</summary>
    /// <param name="x">The input.</param>
    public static Tensor Abs(this Tensor x) => B.Abs(x);

    /// <summary>The square root.</summary>
    /// <param name="x">The input.</param>
    public static Tensor Sqrt(this Tensor x) => B.Sqrt(x);

    /// <summary>x * x.</summary>
    /// <param name="x">The input.</param>
    public static Tensor Square(this Tensor x) => B.Square(x);

    /// <summary>x clamped to [min, max]; a null bound is open.</summary>
    /// <param name="x">The input.</param>
    /// <param name="min">The lower bound, or null.</param>
    /// <param name="max">The upper bound, or null.</param>
    public static Tensor Clamp(this Tensor x, double? min = null, double? max = null) =>
        B.Clamp(x, min is { } lo ? Interop.Some(lo) : Interop.None<double>(), max is { } hi ? Interop.Some(hi) : Interop.None<double>());

    /// <summary>Softmax along a dim (negative counts from the end).</summary>
    /// <param name="x">The scores.</param>
    /// <param name="dim">The dim, -1 for the last.</param>
    public static Tensor Softmax(this Tensor x, int dim = -1) => B.Softmax(x, Interop.Some(dim));

    /// <summary>Log-softmax along a dim (negative counts from the end).</summary>
    /// <param name="x">The scores.</param>
    /// <param name="dim">The dim, -1 for the last.</param>
    public static Tensor LogSoftmax(this Tensor x, int dim = -1) => B.LogSoftmax(x, Interop.Some(dim));

    // ---- reductions ----

    /// <summary>The sum of all elements (a scalar).</summary>
    /// <param name="x">The input.</param>
    public static Tensor Sum(this Tensor x) => B.SumAll(x, Interop.None<IEnumerable<int>>(), Interop.None<bool>());

    /// <summary>The sum along one dim.</summary>
    /// <param name="x">The input.</param>
    /// <param name="dim">The dim (negative counts from the end).</param>
    /// <param name="keepDim">Keep the reduced dim with size 1.</param>
    public static Tensor Sum(this Tensor x, int dim, bool keepDim = false) => B.SumDim(x, dim, Interop.Some(keepDim));

    /// <summary>The mean of all elements (a scalar).</summary>
    /// <param name="x">The input.</param>
    public static Tensor Mean(this Tensor x) => B.MeanAll(x, Interop.None<IEnumerable<int>>(), Interop.None<bool>());

    /// <summary>The mean along one dim.</summary>
    /// <param name="x">The input.</param>
    /// <param name="dim">The dim (negative counts from the end).</param>
    /// <param name="keepDim">Keep the reduced dim with size 1.</param>
    public static Tensor Mean(this Tensor x, int dim, bool keepDim = false) => B.MeanDim(x, dim, Interop.Some(keepDim));

    /// <summary>The index of the largest element along a dim (Int64).</summary>
    /// <param name="x">The input.</param>
    /// <param name="dim">The dim (negative counts from the end).</param>
    public static Tensor Argmax(this Tensor x, int dim = -1) => B.Argmax(x, Interop.Some(dim), Interop.None<bool>());

    // ---- products and layout ----

    /// <summary>The matrix product (batched over leading dims, broadcasting as PyTorch's matmul).</summary>
    /// <param name="a">The left operand.</param>
    /// <param name="b">The right operand.</param>
    public static Tensor Matmul(this Tensor a, Tensor b) => B.Matmul(a, b);

    /// <summary>x W^T + b, the fully connected map, with weight [out, in] and an optional bias [out].</summary>
    /// <param name="x">The input [..., in].</param>
    /// <param name="weight">The weight [out, in].</param>
    /// <param name="bias">The bias [out], or null.</param>
    public static Tensor Linear(this Tensor x, Tensor weight, Tensor? bias = null) =>
        B.Linear(x, weight, bias is null ? Interop.None<Tensor>() : Interop.Some(bias));

    /// <summary>The same elements with another shape (one dim may be -1).</summary>
    /// <param name="x">The input.</param>
    /// <param name="dims">The new dims.</param>
    public static Tensor Reshape(this Tensor x, params int[] dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        return B.Reshape(x, dims);
    }

    /// <summary>Swaps two dims (by default the last two).</summary>
    /// <param name="x">The input.</param>
    /// <param name="dim0">The first dim.</param>
    /// <param name="dim1">The second dim.</param>
    public static Tensor Transpose(this Tensor x, int dim0 = -2, int dim1 = -1) => B.Transpose(x, Interop.Some(dim0), Interop.Some(dim1));
}
