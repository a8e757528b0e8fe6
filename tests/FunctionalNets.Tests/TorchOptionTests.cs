using FunctionalNets;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>torch's loss options and edge semantics from C#. Expected values are what torch 1.13 gives in
/// float64 for the same inputs; each test names the torch expression (F = torch.nn.functional).</summary>
public class TorchOptionTests
{
    private static Tensor M(double[,] rows)
    {
        int n = rows.GetLength(0), m = rows.GetLength(1);
        var flat = new double[n * m];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < m; j++)
                flat[i * m + j] = rows[i, j];
        return Tensor.OfArray(flat, [n, m]);
    }

    private static Tensor V(params double[] xs) => Tensor.OfArray(xs, [xs.Length]);

    private static Tensor Grad(Func<Tensor, Tensor> f, Tensor x) => Diff.Grad(f, x);

    private static void Same(double[] expected, double[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(expected[i] == actual[i] || Math.Abs(expected[i] - actual[i]) <= 1e-10 * (1 + Math.Abs(expected[i])),
                $"element {i}: expected {expected[i]:R}, got {actual[i]:R}");
    }

    // x = [[0.5,-1.0,2.0,0.1],[1.5,0.3,-0.7,0.0],[-0.2,0.8,0.4,-1.1]], w = [0.5,2.0,1.0,3.0]
    private static readonly Tensor X = M(new[,] { { 0.5, -1.0, 2.0, 0.1 }, { 1.5, 0.3, -0.7, 0.0 }, { -0.2, 0.8, 0.4, -1.1 } });
    private static readonly double[] W = { 0.5, 2.0, 1.0, 3.0 };

    [Fact]
    public void CrossEntropy_and_NLL_with_weights_ignoreIndex_and_reduction_match_torch()
    {
        var y = Tensor.OfArray(new long[] { 2, -100, 1 }, [3]);
        // F.cross_entropy(x, torch.tensor([2,-100,1]), weight=w) and reduction='none'
        Same(new[] { 0.6393899091536156 }, Losses.CrossEntropy(weight: W).Compute(X, y).ToDoubleArray());
        Same(new[] { 0.35240593810343074, 0.0, 1.565763789357416 },
            Losses.CrossEntropy(weight: W, reduction: Reduction.None).Compute(X, y).ToDoubleArray());
        // F.cross_entropy(x, torch.tensor([2,0,1]), weight=w, ignore_index=0, label_smoothing=0.2)
        Same(new[] { 0.9520014425409575 },
            Losses.CrossEntropy(0.2, W, ignoreIndex: 0).Compute(X, Tensor.OfArray(new long[] { 2, 0, 1 }, [3])).ToDoubleArray());
        // F.nll_loss(torch.log_softmax(x,1), torch.tensor([3,3,0]), weight=w)
        Same(new[] { 2.0959724871304295 },
            Losses.NLL(weight: W).Compute(X.LogSoftmax(1), Tensor.OfArray(new long[] { 3, 3, 0 }, [3])).ToDoubleArray());
    }

    // a = [[0.5,-1.0,2.0],[1.5,0.3,-3.7]], t = [[0.,1.,0.3],[1.,0.,2.0]]
    private static readonly Tensor A = M(new[,] { { 0.5, -1.0, 2.0 }, { 1.5, 0.3, -3.7 } });
    private static readonly Tensor T = M(new[,] { { 0.0, 1.0, 0.3 }, { 1.0, 0.0, 2.0 } });

    [Fact]
    public void Regression_losses_with_options_match_torch()
    {
        // F.mse_loss(a, t, reduction='sum'), F.l1_loss(a, t, reduction='none')
        Same(new[] { 39.970000000000006 }, Losses.MSE(Reduction.Sum).Compute(A, T).ToDoubleArray());
        Same(new[] { 0.5, 2.0, 1.7, 0.5, 0.3, 5.7 }, Losses.MAE(Reduction.None).Compute(A, T).ToDoubleArray());
        // F.huber_loss(a, t, delta=0.5), F.smooth_l1_loss(a, t, beta=0.5, reduction='sum')
        Same(new[] { 0.77 }, Losses.Huber(delta: 0.5).Compute(A, T).ToDoubleArray());
        Same(new[] { 9.24 }, Losses.SmoothL1(beta: 0.5, reduction: Reduction.Sum).Compute(A, T).ToDoubleArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => Losses.Huber(delta: 0));
    }

    [Fact]
    public void BCEWithLogits_posWeight_and_KLDiv_match_torch()
    {
        var yb = M(new[,] { { 0.0, 1.0, 1.0 }, { 1.0, 0.0, 0.5 } });
        // F.binary_cross_entropy_with_logits(a, yb, pos_weight=torch.tensor([2.0,0.5,3.0]))
        Same(new[] { 1.477919892228288 }, Losses.BCEWithLogits(posWeight: new[] { 2.0, 0.5, 3.0 }).Compute(A, yb).ToDoubleArray());
        // tp = torch.softmax(torch.tensor([[1.,0.,-1.],[0.,0.,3.]]), 1) with tp[0,2] = 0;
        // F.kl_div(torch.log_softmax(a, 1), tp, reduction='batchmean')
        var tp = M(new[,] { { 0.6652409557748218, 0.2447284710547976, 0.0 }, { 0.04527850074362907, 0.04527850074362907, 0.9094429985127419 } });
        Same(new[] { 3.0101761332393564 }, Losses.KLDiv(Reduction.BatchMean).Compute(A.LogSoftmax(1), tp).ToDoubleArray());
        var e = Assert.Throws<ArgumentException>(() => Losses.MSE(Reduction.BatchMean).Compute(A, T));
        Assert.Contains("klDiv", e.Message);
    }

    [Fact]
    public void BCE_gradient_at_p_0_and_1_is_torchs()
    {
        // p = torch.tensor([0., 1., 0.3]), y = [1, 0, 1]: F.binary_cross_entropy(p, y, reduction='sum').backward()
        // gives p.grad [-1000000003995.8029, 1000000003995.8029, -3.333333333333333]
        var y = V(1, 0, 1);
        var g = Grad(p => Losses.BCE(Reduction.Sum).Compute(p, y), V(0, 1, 0.3));
        Same(new[] { -1000000003995.8029, 1000000003995.8029, -3.333333333333333 }, g.ToDoubleArray());
    }

    [Fact]
    public void Edge_gradients_match_torch()
    {
        // x.amax() of [1, 3, 3, 2]: grad [0, .5, .5, 0]; x.max(0).values: grad [0, 1, 0, 0]
        Same(new[] { 0, 0.5, 0.5, 0 }, Grad(x => x.Max(), V(1, 3, 3, 2)).ToDoubleArray());
        Same(new[] { 0.0, 1, 0, 0 }, Grad(x => x.MaxWithIndices(0).Item1, V(1, 3, 3, 2)).ToDoubleArray());
        // torch.maximum(x, torch.tensor([1., 5.])).sum() at x = [1, 2]: grad [.5, 0]
        Same(new[] { 0.5, 0 }, Grad(x => x.Maximum(V(1, 5)).Sum(), V(1, 2)).ToDoubleArray());
        Same(new[] { 0.5, 1 }, Grad(x => x.Minimum(V(1, 5)).Sum(), V(1, 2)).ToDoubleArray());
        // x.std(0) of [2, 2, 2]: grad [0, 0, 0]
        Same(new double[] { 0, 0, 0 }, Grad(x => x.Std(0), V(2, 2, 2)).ToDoubleArray());
        // torch.logsumexp(torch.tensor([-inf, -inf]), 0) is -inf
        Assert.Equal(double.NegativeInfinity, V(double.NegativeInfinity, double.NegativeInfinity).LogSumExp(0).ToScalar());
        // torch.pow(x, torch.zeros(2)).sum() at x = [0, 2]: grad [0, 0]
        Same(new double[] { 0, 0 }, Grad(x => x.Pow(V(0, 0)).Sum(), V(0, 2)).ToDoubleArray());
        // F.softplus(x, beta=2, threshold=5) at [2.4, 2.6]: value [2.404098033669134, 2.6], grad [0.9918374288468401, 1]
        Same(new[] { 2.404098033669134, 2.6 }, V(2.4, 2.6).Softplus(2, 5).ToDoubleArray());
        Same(new[] { 0.9918374288468401, 1 }, Grad(x => x.Softplus(2, 5).Sum(), V(2.4, 2.6)).ToDoubleArray());
    }

    [Fact]
    public void OneCycle_options_momentum_and_warm_restarts_match_torch()
    {
        // OneCycleLR(SGD([p], lr=0.1, momentum=0.9), max_lr=1.0, total_steps=12, three_phase=True, pct_start=0.25,
        // anneal_strategy='linear'): param_groups[0]['lr'] and ['momentum'] before each step
        var lr = Schedules.OneCycle(1.0, 12, pctStart: 0.25, annealStrategy: AnnealStrategy.Linear, threePhase: true);
        var mom = Schedules.OneCycleMomentum(12, pctStart: 0.25, annealStrategy: AnnealStrategy.Linear, threePhase: true);
        Same(new[] { 0.04, 0.52, 1.0, 0.52, 0.040000000000000036, 0.034286285714285714 },
            Enumerable.Range(0, 6).Select(i => lr.ValueAt(i)).ToArray());
        Same(new[] { 0.95, 0.8999999999999999, 0.85, 0.8999999999999999, 0.95, 0.95 },
            Enumerable.Range(0, 6).Select(i => mom.ValueAt(i)).ToArray());
        // CosineAnnealingWarmRestarts(SGD([p], lr=0.1), T_0=3, T_mult=2, eta_min=0.01)
        var sgdr = Schedules.CosineWarmRestarts(0.1, 3, tMult: 2, etaMin: 0.01);
        Same(new[] { 0.1, 0.0775, 0.032500000000000015, 0.1, 0.09397114317029975, 0.0775 },
            Enumerable.Range(0, 6).Select(i => sgdr.ValueAt(i)).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => Schedules.OneCycle(1.0, 12, pctStart: 0.6, threePhase: true));
    }

    [Fact]
    public void SGD_dampening_and_cycled_momentum_build_and_validate()
    {
        Assert.Contains("dampening=0.5", Optimizers.SGD(0.1, momentum: 0.9, dampening: 0.5).Name);
        Assert.Contains("OneCycleMomentum", Optimizers.SGD(Schedules.OneCycle(0.5, 4), momentumSchedule: Schedules.OneCycleMomentum(4)).Name);
        Assert.Contains("OneCycleMomentum", Optimizers.Adam(Schedules.OneCycle(0.5, 4), beta1Schedule: Schedules.OneCycleMomentum(4)).Name);
        Assert.Throws<ArgumentException>(() => Optimizers.SGD(0.1, momentum: 0.9, nesterov: true, dampening: 0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Optimizers.SGD(0.1, momentum: 0.9, dampening: 1.5));
    }

    [Fact]
    public void Regression_metrics_match_scikit_learns_example()
    {
        // y_true = [3, -0.5, 2, 7], y_pred = [2.5, 0.0, 2, 8]: r2_score 0.9486081370449679 (sklearn's docs);
        // MAE (0.5 + 0.5 + 0 + 1) / 4, RMSE sqrt((0.25 + 0.25 + 0 + 1) / 4)
        var p = V(2.5, 0.0, 2, 8);
        var t = V(3, -0.5, 2, 7);
        Same(new[] { 0.5, Math.Sqrt(0.375), 0.9486081370449679 },
            new[] { Metrics.MAE().Compute(p, t), Metrics.RMSE().Compute(p, t), Metrics.R2().Compute(p, t) });
        Assert.Equal("r2", Metrics.R2().Name);
    }

    [Fact]
    public void ClassificationReport_has_rows_averages_and_a_table()
    {
        // Targets [0,0,0,1,1,2,2,2,2,3], predicted [0,1,0,1,1,2,0,2,2,1]; by hand: class 1 has precision 2/4,
        // recall 2/2, F1 2/3, support 2; accuracy 7/10; weighted precision (3 * 2/3 + 2 * 1/2 + 4 * 1 + 0) / 10.
        int[] predicted = { 0, 1, 0, 1, 1, 2, 0, 2, 2, 1 };
        var scores = Tensor.OfArray(Enumerable.Range(0, 40).Select(i => predicted[i / 4] == i % 4 ? 1.0 : 0.0).ToArray(), [10, 4]);
        var targets = Tensor.OfArray(new long[] { 0, 0, 0, 1, 1, 2, 2, 2, 2, 3 }, [10]);
        var report = Metrics.ClassificationReport(scores, targets, new[] { "cat", "dog", "bird", "fish" });
        var dog = report.Classes[1];
        Assert.Equal("dog", dog.Name);
        Same(new[] { 0.5, 1.0, 2.0 / 3.0 }, new[] { dog.Precision, dog.Recall, dog.F1 });
        Assert.Equal(2, dog.Support);
        Same(new[] { 0.7, 0.7 }, new[] { report.Accuracy, report.WeightedAverage.Precision });
        Assert.Contains("weighted avg      0.70      0.70      0.68        10", report.ToString());
    }

    [Fact]
    public void Pad_modes_and_same_convolution_match_torch()
    {
        // F.pad(torch.tensor([[1., 2., 3., 4.]]), (2, 1), mode=m) for reflect, replicate and circular
        var x = M(new[,] { { 1.0, 2.0, 3.0, 4.0 } });
        Same(new[] { 3.0, 2, 1, 2, 3, 4, 3 }, x.Pad([Tuple.Create(2, 1)], PadMode.Reflect).ToDoubleArray());
        Same(new[] { 1.0, 1, 1, 2, 3, 4, 4 }, x.Pad([Tuple.Create(2, 1)], PadMode.Replicate).ToDoubleArray());
        Same(new[] { 3.0, 4, 1, 2, 3, 4, 1 }, x.Pad([Tuple.Create(2, 1)], PadMode.Circular).ToDoubleArray());

        // padding='same' with an even kernel pads one row and column at the bottom/right (torch): the same weights
        // on the input padded that way explicitly, without padding, give the same output.
        var input = Tensor.OfArray(Enumerable.Range(0, 12).Select(i => i * 0.5f - 1f).ToArray(), [1, 1, 3, 4]);
        var same = Net.Sequential(Layers.Conv2d(1, 2, 2, same: true, paddingMode: PaddingMode.Reflect)).Build(new[] { 1, 3, 4 }, 7);
        var valid = Net.Sequential(Layers.Conv2d(1, 2, 2)).Build(new[] { 1, 4, 5 }, 7);
        var y = same.Predict(input);
        Assert.Equal(new[] { 1, 2, 3, 4 }, y.Dims());
        Same(valid.Predict(input.Pad([Tuple.Create(0, 1), Tuple.Create(0, 1)], PadMode.Reflect)).ToDoubleArray(), y.ToDoubleArray());
        Assert.Throws<ArgumentException>(() => Layers.Conv2d(1, 2, 3, stride: 2, same: true));
    }

    [Fact]
    public void Layer_options_Softplus_Embedding_and_cumulative_BatchNorm()
    {
        // F.softplus(torch.tensor([[1.0, 25.0]]), beta=2.0, threshold=20.0): [1.0634640055214863, 25.0]
        var softplus = Net.Sequential(Layers.Softplus(beta: 2.0)).Build(2);
        Same(new[] { 1.0634640055214863, 25.0 }, softplus.Predict(M(new[,] { { 1.0, 25.0 } })).ToDoubleArray());

        // nn.Embedding(5, 3, padding_idx=-1).weight[4] is zero; the padding row's output is that row.
        var embedding = Net.Sequential(Layers.Embedding(5, 3, paddingIdx: -1, maxNorm: 1.0)).Build(2);
        Same(new double[] { 0, 0, 0 }, embedding.Parameters["0.weight"].ToDoubleArray()[12..15]);
        var rows = embedding.Predict(Tensor.OfArray(new long[] { 4, 0 }, [1, 2])).ToDoubleArray();
        Same(new double[] { 0, 0, 0 }, rows[0..3]);
        // max_norm=1.0: the looked-up row has norm at most 1 (+1e-7 slack of torch's renorm)
        Assert.True(Math.Sqrt(rows[3] * rows[3] + rows[4] * rows[4] + rows[5] * rows[5]) <= 1.0 + 1e-6);

        // BatchNorm1d(momentum: null) is torch's cumulative average: after one training batch the running statistics
        // are that batch's (mean [2, 0.5], unbiased variance [2, 4.5]), so evaluation normalises with them
        // (momentum 0.1 would give a running mean of [0.2, 0.05]).
        var bn = Net.Sequential(Layers.BatchNorm1d(2, momentum: null)).Build(2);
        bn.Compile(Optimizers.SGD(1e-9), Losses.MSE()); // a negligible step keeps weight 1 and bias 0
        var x = M(new[,] { { 1.0, 2.0 }, { 3.0, -1.0 } }).Cast(DType.Float32);
        bn.Fit(Datasets.FromTensors(x, Tensor.Zeros([2, 2])), epochs: 1, batchSize: 2);
        var y = bn.Predict(x).ToDoubleArray();
        var expected = new[] { -1 / Math.Sqrt(2 + 1e-5), 1.5 / Math.Sqrt(4.5 + 1e-5), 1 / Math.Sqrt(2 + 1e-5), -1.5 / Math.Sqrt(4.5 + 1e-5) };
        for (int i = 0; i < 4; i++)
            Assert.True(Math.Abs(expected[i] - y[i]) < 1e-5, $"element {i}: expected {expected[i]}, got {y[i]}");
    }

    [Fact]
    public void Lstm_projSize_has_torchs_parameter_shapes_and_output_size()
    {
        // nn.LSTM(3, 4, proj_size=2, bidirectional=True, batch_first=True): weight_hh_l0 [16, 2], weight_hr_l0 [2, 4],
        // output [N, T, 2 * 2]
        var net = Net.Sequential(Layers.Lstm(3, 4, bidirectional: true, projSize: 2)).Build(5, 3);
        Assert.Equal(new[] { 16, 2 }, net.Parameters["0.weight_hh_l0"].Dims());
        Assert.Equal(new[] { 2, 4 }, net.Parameters["0.weight_hr_l0_reverse"].Dims());
        Assert.Equal(new[] { 1, 5, 4 }, net.Predict(Tensor.Zeros([1, 5, 3])).Dims());
        Assert.Throws<ArgumentOutOfRangeException>(() => Layers.Lstm(3, 4, projSize: 4));
    }
}
