using FunctionalNets;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>Every tensor op of the F# core called from C# as a C# user writes it, each against values computed by
/// hand or with System.Math (CoreSurfaceTests checks that every op has a call here).</summary>
public class TensorOpsFromCSharpTests
{
    private static Tensor V(params double[] xs) => Tensor.OfArray(xs, [xs.Length]);

    private static Tensor M(int rows, int cols, params double[] xs) => Tensor.OfArray(xs, [rows, cols]);

    private static Tensor Ids(params long[] xs) => Tensor.OfArray(xs, [xs.Length]);

    private static void Same(double[] expected, Tensor actual, double tol = 1e-12)
    {
        var got = actual.ToDoubleArray();
        Assert.Equal(expected.Length, got.Length);
        for (var i = 0; i < got.Length; i++)
            Assert.True(Math.Abs(expected[i] - got[i]) <= tol, $"element {i}: expected {expected[i]}, got {got[i]}");
    }

    private static double[] Map(Func<double, double> f, params double[] xs) => xs.Select(f).ToArray();

    private static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));

    [Fact]
    public void The_readme_example()
    {
        // Verbatim from README.md's "Tensors from C#" paragraph.
        var x = Tensor.OfArray(new[] { 1f, -2f, 3f, -4f }, [2, 2]);
        var y = (x.Relu() * 2.0 + 1.0).Sum(dims: [1], keepDim: true);   // [[4], [8]]
        var z = ComparisonOps.Where(x.Gt(0.0), x, x.Abs().Sqrt());      // [[1, 1.414], [3, 2]]
        var w = new[] { x, z }.Cat(dim: 0).Softmax(dim: -1);            // [4, 2], rows summing to 1

        // relu gives 1, 0, 3, 0; times 2 plus 1 gives 3, 1, 7, 1; the row sums are 4 and 8.
        Same([4, 8], y);
        Assert.Equal([2, 1], y.Dims());
        Same([1, Math.Sqrt(2), 3, 2], z, 1e-6);
        Assert.Equal([4, 2], w.Dims());
        Same([1, 1, 1, 1], w.Sum(1), 1e-6);
    }

    [Fact]
    public void Creation()
    {
        Same([1, 2, 3, 4], Tensor.OfArray(new[] { 1.0, 2, 3, 4 }, [2, 2]));
        var c = Tensor.Create(new double[,] { { 1, 2 }, { 3, 4 } });
        Assert.Equal([2, 2], c.Dims());
        Assert.Equal(DType.Float32, c.DType);
        Same([2.5], Tensor.Scalar(2.5));
        Same([0, 0], Tensor.Zeros([2]));
        Same([1, 1, 1], Tensor.Ones([3], DType.Float64));
        Same([7, 7], Tensor.Full([2], 7));
        Same([1, 3], Tensor.Arange(5, start: 1, step: 2));
        Same([0, 0.5, 1], Tensor.Linspace(0, 1, 3, DType.Float64));
        Same([1, 0, 0, 1], Tensor.Eye(2));
        Same([1, 0, 0, 0, 1, 0], Tensor.Eye(2, 3));

        var u = Tensor.Rand(Key.Create(1), [1000], DType.Float64).ToDoubleArray();
        Assert.All(u, v => Assert.InRange(v, 0.0, 1.0 - 1e-300));
        // Inverted dropout keeps exactly the elements whose uniform draw from the same key is >= p.
        Same(u.Select(v => v >= 0.25 ? 1 / 0.75 : 0.0).ToArray(), Tensor.Ones([1000], DType.Float64).Dropout(0.25, Key.Create(1)));
        var n = Tensor.Randn(Key.Create(2), [4000], DType.Float64).ToDoubleArray();
        Assert.InRange(n.Average(), -0.1, 0.1);
        Assert.InRange(Math.Sqrt(n.Select(v => v * v).Average()), 0.9, 1.1);
        var k = Tensor.RandInt(Key.Create(3), 2, 5, [200]);
        Assert.Equal(DType.Int64, k.DType);
        Assert.Equal([2.0, 3, 4], k.ToDoubleArray().Distinct().Order());
        Same(Tensor.Rand(Key.Create(4).FoldIn(1), [3]).ToDoubleArray(), Tensor.Rand(Key.Create(4).FoldIn(1), [3]));
        Assert.Equal(3, Key.Create(5).SplitN(3).Distinct().Count());
    }

    [Fact]
    public void Conversion()
    {
        var x = M(2, 3, 1, 2, 3, 4, 5, 6);
        Same([0, 0, 0, 0, 0, 0], x.ZerosLike());
        Same([1, 1, 1, 1, 1, 1], x.OnesLike());
        Same([9, 9, 9, 9, 9, 9], x.FullLike(9));
        var i = V(2, -3).Cast(DType.Int32);
        Assert.Equal(DType.Int32, i.DType);
        Assert.Equal(new[] { 2, -3 }, (int[])i.ToArray());
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6 }, x.ToSingleArray());
        Assert.Equal([2, 3], x.Dims());
        Assert.Equal(21, x.Sum().ToScalar());
        Assert.False(x.Detach().IsDifferentiable);
        Assert.Same(x, CreationOps.ToDevice(Device.Cpu, x));
    }

    [Fact]
    public void Arithmetic_operators()
    {
        var a = V(1, 2);
        var b = V(4, 8);
        Same([5, 10], a + b);
        Same([0, 1], a - 1.0);
        Same([2, 4], 2.0 * a);
        Same([0.25, 0.25], a / b);
        Same([-1, -2], -a);
        Same([1, 256], Tensor.Pow(a, b));
    }

    [Fact]
    public void Elementwise_math()
    {
        var x = V(0.5, 2);
        Same(Map(Math.Exp, 0.5, 2), x.Exp());
        Same(Map(Math.Log, 0.5, 2), x.Log());
        Same([1.5, 2], V(-1.5, 2).Abs());
        Same([-1, 0, 1], V(-3, 0, 2).Sign());
        Same(Map(Math.Sqrt, 0.5, 2), x.Sqrt());
        Same(Map(v => 1 / Math.Sqrt(v), 0.5, 2), x.Rsqrt());
        Same(Map(Math.Sin, 0.5, 2), x.Sin());
        Same(Map(Math.Cos, 0.5, 2), x.Cos());
        Same(Map(Math.Tanh, 0.5, 2), x.Tanh());
        Same(Map(Sigmoid, 0.5, 2), x.Sigmoid());
        Same(Map(v => Math.Log(1 + v), 0.5, 2), x.Log1p());
        Same(Map(v => Math.Exp(v) - 1, 0.5, 2), x.Expm1());
        Same([2, 0.5], x.Reciprocal());
        Same([0.25, 4], x.Square());
        Same([0.125, 8], x.Pow(3.0));
        Same([0.25, Math.Sqrt(2)], x.Pow(V(2, 0.5)));
        // erf(0.5) and erf(2) from tables (Abramowitz and Stegun 7.1).
        Same([0.5204998778130465, 0.9953222650189527], x.Erf(), 1e-7);
        Same([-2, 1], V(-1.5, 1.5).Floor());
        Same([-1, 2], V(-1.5, 1.5).Ceil());
        Same([0, 2, 2], V(0.5, 1.5, 2.5).Round());
        Same([0, 0, 1], V(-1, 0, 2).Step());
    }

    [Fact]
    public void Activations()
    {
        var x = V(-1, 2);
        Same([0, 2], x.Relu());
        Same([-0.1, 2], x.LeakyRelu(0.1));
        Same([Math.Exp(-1) - 1, 2], x.Elu());
        Same(Map(v => Math.Log(1 + Math.Exp(v)), -1, 2), x.Softplus());
        // beta = 2, threshold = 3: beta x = 4 > 3 is the identity there.
        Same([Math.Log(1 + Math.Exp(-2)) / 2, 2], x.Softplus(2, 3));
        Same(Map(v => v * Sigmoid(v), -1, 2), x.Silu());
        // Phi(-1) and Phi(2), the standard normal CDF, from tables.
        Same([-0.15865525393145707, 2 * 0.9772498680518208], x.Gelu(), 1e-7);
        Same(Map(v => 0.5 * v * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v))), -1, 2), x.GeluTanh(), 1e-12);
    }

    [Fact]
    public void Layout()
    {
        var x = Tensor.Arange(6).Reshape([2, 3]);
        Same([0, 3, 1, 4, 2, 5], x.Permute([1, 0]));
        Same([0, 3, 1, 4, 2, 5], x.Transpose());
        Assert.Equal([6], x.Flatten().Dims());
        Assert.Equal([3], x.Reshape([1, 3, 2]).Select(2, 0).Squeeze().Dims());
        Assert.Equal([1, 2, 3], x.Unsqueeze(0).Dims());
        var col = V(1, 2).Reshape([2, 1]);
        Same([1, 1, 1, 2, 2, 2], col.Expand([2, 3]));
        Same([1, 1, 1, 2, 2, 2], col.ExpandAs(Tensor.Zeros([2, 3], DType.Float64)));
        var (p, q) = col.BroadcastPair(V(5, 6, 7));
        Assert.Equal([2, 3], p.Dims());
        Same([5, 6, 7, 5, 6, 7], q);
    }

    [Fact]
    public void Indexing()
    {
        var x = M(2, 3, 0, 1, 2, 3, 4, 5);
        Same([1, 3], V(0, 1, 2, 3, 4, 5).Slice(0, start: 1, stop: 5, step: 2));
        Same([3, 4, 5], x.Select(0, 1));
        Same([1, 2, 3], new[] { V(1), V(2, 3) }.Cat());
        Same([1, 2, 3, 4], IndexingOps.Stack([V(1, 2), V(3, 4)], dim: 1).Transpose());
        var pieces = V(0, 1, 2, 3, 4, 5).Split([2, 4]);
        Same([2, 3, 4, 5], pieces[1]);
        Assert.Equal(3, V(0, 1, 2, 3, 4, 5).Chunk(3).Length);
        Same([2, 0, 4, 4], x.Gather(1, Tensor.OfArray(new long[] { 2, 0, 1, 1 }, [2, 2])));
        Same([4, 0, 2], V(0, 0, 0).ScatterAdd(0, Ids(0, 2, 0), V(1, 2, 3)));
        Same([2, 0, 5, 3], x.IndexSelect(1, Ids(2, 0)));
        Same([3, 0, 3], V(0, 0, 0).IndexAdd(0, Ids(0, 0, 2), V(1, 2, 3)));
        Same([9, 1, 2], V(1, 2).Pad([Tuple.Create(1, 0)], 9));
        Same([1, 1, 2, 3, 3], M(1, 3, 1, 2, 3).Pad([Tuple.Create(1, 1)], PadMode.Replicate));
        Same([1, 0, 0, 0, 0, 1], Ids(0, 2).OneHot(3));
    }

    [Fact]
    public void Comparison_and_selection()
    {
        var a = V(1, 2, 3);
        var b = V(3, 2, 1);
        Same([0, 1, 0], a.Eq(b));
        Same([1, 0, 1], a.Ne(b));
        Same([1, 0, 0], a.Lt(b));
        Same([1, 1, 0], a.Le(b));
        Same([0, 0, 1], a.Gt(b));
        Same([0, 1, 1], a.Ge(b));
        Same([0, 1, 0], a.Eq(2.0));
        Same([0, 1, 0], a.Gt(1).LogicalAnd(a.Lt(3)));
        Same([1, 1, 1], a.Gt(1).LogicalOr(a.Lt(3)));
        Same([1, 0, 1], a.Gt(1).LogicalXor(a.Lt(3)));
        Same([1, 0, 0], a.Gt(1).LogicalNot());
        Same([3, 2, 3], ComparisonOps.Where(a.Gt(1.5), a, b));
        Same([3, 2, 3], a.Maximum(b));
        Same([1, 2, 1], a.Minimum(b));
        Same([1.5, 2, 2.5], a.Clamp(min: 1.5, max: 2.5));
        Same([1, 2, 2.5], a.Clamp(max: 2.5));
        Same([1, 9, 3], a.MaskedFill(a.Eq(2.0), 9));
    }

    [Fact]
    public void Reductions()
    {
        var x = M(2, 3, 1, 2, 3, 4, 5, 6);
        Same([21], x.Sum());
        Same([6, 15], x.Sum(1));
        Same([5, 7, 9], x.Sum(dims: [0], keepDim: true));
        Assert.Equal([1, 3], x.Sum(dims: [0], keepDim: true).Dims());
        Same([3.5], x.Mean());
        Same([2.5, 3.5, 4.5], x.Mean(0));
        Same([6], x.Max());
        Same([3, 6], x.Max(1));
        Same([1], x.Min());
        Same([1, 2, 3], x.Min(0));
        var (maxValues, maxIndices) = x.MaxWithIndices(1);
        Same([3, 6], maxValues);
        Same([2, 2], maxIndices);
        var (minValues, minIndices) = x.MinWithIndices(1);
        Same([1, 4], minValues);
        Same([0, 0], minIndices);
        Same([5], x.Argmax());
        Same([2, 2], x.Argmax(1));
        Same([0], x.Argmin());
        // Unbiased variance of 1, 2, 3 is ((1-2)^2 + 0 + (3-2)^2) / 2 = 1; of all six values 17.5 / 5.
        Same([1, 1], x.Var(1));
        Same([2.0 / 3, 2.0 / 3], x.Var(1, unbiased: false));
        Same([3.5], x.Var());
        Same([1, 1], x.Std(1));
        Same([1, 3, 6], V(1, 2, 3).CumSum(0));
    }

    [Fact]
    public void Softmax_family()
    {
        var x = V(0, Math.Log(3));
        Same([0.25, 0.75], x.Softmax());
        Same([Math.Log(0.25), Math.Log(0.75)], x.LogSoftmax(0));
        Same([Math.Log(4)], x.LogSumExp(0));
    }

    [Fact]
    public void Products()
    {
        var a = M(2, 2, 1, 2, 3, 4);
        var b = M(2, 2, 5, 6, 7, 8);
        Same([19, 22, 43, 50], a.Matmul(b));
        Same([17, 23, 39, 53], a.MatmulNT(b));
        Same([26, 30, 38, 44], a.MatmulTN(b));
        Same([15, 31], M(1, 2, 1, 2).Linear(a, bias: V(10, 20)));
        Same([32], V(1, 2, 3).Dot(V(4, 5, 6)));
    }

    [Fact]
    public void Convolution_and_pooling()
    {
        var x = Tensor.Arange(9, dtype: DType.Float64).Reshape([1, 1, 3, 3]);
        var ones = Tensor.Ones([1, 1, 2, 2], DType.Float64);
        // Each output is the sum of a 2x2 window of 0..8, plus the bias 1.
        Same([9, 13, 21, 25], x.Conv2d(ones, bias: V(1)));
        Same([-1, -1, -1], Tensor.Arange(4, dtype: DType.Float64).Reshape([1, 1, 4]).Conv1d(V(1, -1).Reshape([1, 1, 2])));
        Same([1, 3, 2, 4, 10, 6, 3, 7, 4], M(2, 2, 1, 2, 3, 4).Reshape([1, 1, 2, 2]).ConvTranspose2d(ones));

        var y = Tensor.Arange(16, dtype: DType.Float64).Reshape([1, 1, 4, 4]);
        Same([5, 7, 13, 15], y.MaxPool2d(2));
        var (pooled, where) = y.MaxPool2dWithIndices(2);
        Same([5, 7, 13, 15], pooled);
        Same([5, 7, 13, 15], where);
        Same([2.5, 4.5, 10.5, 12.5], y.AvgPool2d(2));
        Same([7.5], y.AdaptiveAvgPool2d(1));
        var row = M(1, 2, 1, 2).Reshape([1, 1, 1, 2]);
        Same([1, 1, 2, 2, 1, 1, 2, 2], row.UpsampleNearest(2.0));
        Same([1, 1.5, 2], row.UpsampleBilinear(Tuple.Create(1, 3), alignCorners: true));
    }

    [Fact]
    public void Masks_embedding_and_normalisation()
    {
        var ones = Tensor.Ones([3, 3], DType.Float64);
        Same([1, 1, 1, 0, 1, 1, 0, 0, 1], ones.Triu());
        Same([0, 0, 0, 1, 0, 0, 1, 1, 0], ones.Tril(diagonal: -1));
        Same([4, 5, 0, 1], M(3, 2, 0, 1, 2, 3, 4, 5).Embedding(Ids(2, 0)));
        // (x - 2) / sqrt(2/3) for 1, 2, 3 (biased variance, no eps).
        var s = Math.Sqrt(2.0 / 3);
        Same([-1 / s, 0, 1 / s], M(1, 3, 1, 2, 3).LayerNorm([3], eps: 0), 1e-12);
        // The same values as one channel of a batch of three.
        Same([-1 / s, 0, 1 / s], M(3, 1, 1, 2, 3).BatchNorm(eps: 0), 1e-12);
        var (bn, bnMean, bnVar) = M(3, 1, 1, 2, 3).BatchNormWithStats(eps: 0);
        Same([-1 / s, 0, 1 / s], bn, 1e-12);
        Same([2], bnMean);
        Same([2.0 / 3], bnVar, 1e-15);
        var rms = Math.Sqrt((9 + 16) / 2.0);
        Same([3 / rms, 4 / rms], M(1, 2, 3, 4).RmsNorm([2], eps: 0), 1e-12);
    }

    [Fact]
    public void Attention()
    {
        // One query [1, 0] against keys [1, 0] and [0, 1]: scores 1/sqrt(2) and 0.
        var q = M(1, 2, 1, 0);
        var k = M(2, 2, 1, 0, 0, 1);
        var v = M(2, 1, 10, 20);
        var w0 = Math.Exp(1 / Math.Sqrt(2)) / (Math.Exp(1 / Math.Sqrt(2)) + 1);
        Same([10 * w0 + 20 * (1 - w0)], q.ScaledDotProductAttention(k, v), 1e-12);
        var (output, weights) = q.ScaledDotProductAttentionWithWeights(k, v, scale: 0);
        Same([15], output);
        Same([0.5, 0.5], weights);
    }

    [Fact]
    public void Fused_adam_step()
    {
        // m' = 0.1 * 2, v' = 0.001 * 4, update = (m' / 0.1) / (sqrt(v' / 0.001) + 1e-8).
        var (m, v, update) = V(2).AdamStep(V(0), V(0), 0.9, 0.999, 1e-8, 0.1, 0.001);
        Same([0.2], m, 1e-15);
        Same([0.004], v, 1e-15);
        Same([2 / (2 + 1e-8)], update, 1e-12);

        // The same step applied to p = 5 with the negated learning rate 0.5: p' = 5 - 0.5 * update.
        var (m2, v2, p2) = V(2).AdamApply(V(0), V(0), V(5), 0.9, 0.999, 1e-8, 0.1, 0.001, -0.5);
        Same([0.2], m2, 1e-15);
        Same([0.004], v2, 1e-15);
        Same([5 - 0.5 * 2 / (2 + 1e-8)], p2, 1e-12);
    }
}
