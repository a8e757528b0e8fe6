using FunctionalNets;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>The layer factories that no other C# test evaluated, each against its PyTorch definition written out
/// here (activations by their formulas, pooling and convolution with loops, residual wiring by hand).</summary>
public class LayerFamilyTests
{
    private static void Close(double expected, double actual, string what) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-5 * (1 + Math.Abs(expected)), $"{what}: expected {expected}, got {actual}");

    private static void AllClose(IReadOnlyList<double> expected, IReadOnlyList<double> actual, string what)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++) Close(expected[i], actual[i], $"{what}[{i}]");
    }

    private static float[] Input(int count) => Enumerable.Range(0, count).Select(i => (float)Math.Sin(0.37 * i + 0.1)).ToArray();

    private static double[] Apply(Layer layer, float[] x, params int[] shape) =>
        Net.Sequential(layer).Predict(Tensor.OfArray(x, shape)).ToDoubleArray();

    private static readonly float[] Points = { -2f, -0.5f, 0.5f, 1f };

    [Fact]
    public void Elementwise_activations_follow_their_formulas()
    {
        double[] x = Points.Select(v => (double)v).ToArray();
        AllClose(x.Select(v => v > 0 ? v : 0.2 * v).ToArray(), Apply(Layers.LeakyReLU(0.2), Points, 1, 4), "LeakyReLU(0.2)");
        AllClose(x.Select(v => v > 0 ? v : 0.5 * (Math.Exp(v) - 1)).ToArray(), Apply(Layers.ELU(0.5), Points, 1, 4), "ELU(0.5)");
        AllClose(x.Select(v => v / (1 + Math.Exp(-v))).ToArray(), Apply(Layers.SiLU(), Points, 1, 4), "SiLU");
        AllClose(x, Apply(Layers.Identity(), Points, 1, 4), "Identity");
        AllClose(x.Select(v => Math.Max(v, 0.0)).ToArray(), Apply(Layers.ReLU(), Points, 1, 4), "ReLU");
        AllClose(x.Select(v => 1 / (1 + Math.Exp(-v))).ToArray(), Apply(Layers.Sigmoid(), Points, 1, 4), "Sigmoid");
        AllClose(x.Select(Math.Tanh).ToArray(), Apply(Layers.Tanh(), Points, 1, 4), "Tanh");
        // Softplus(beta=2, threshold=1): log(1 + e^(2x)) / 2, and x itself where 2x > 1.
        AllClose(x.Select(v => 2 * v > 1 ? v : Math.Log(1 + Math.Exp(2 * v)) / 2).ToArray(), Apply(Layers.Softplus(2.0, 1.0), Points, 1, 4), "Softplus(2, 1)");
    }

    [Fact]
    public void GELU_is_x_times_the_normal_cdf()
    {
        // Phi(-1), Phi(0.5), Phi(1), Phi(2) from a table of the standard normal distribution.
        float[] x = { -1f, 0.5f, 1f, 2f };
        double[] phi = { 0.15865525393145707, 0.6914624612740131, 0.8413447460685429, 0.9772498680518208 };
        AllClose(x.Select((v, i) => v * phi[i]).ToArray(), Apply(Layers.GELU(), x, 1, 4), "GELU");
    }

    [Fact]
    public void Softmax_and_LogSoftmax_normalise_along_the_dim_given()
    {
        var x = Input(6);
        // Along the last dim of [2, 3]: exp(x) / sum of its row.
        var rows = new double[6];
        for (int r = 0; r < 2; r++)
        {
            double sum = Enumerable.Range(0, 3).Sum(j => Math.Exp(x[r * 3 + j]));
            for (int j = 0; j < 3; j++) rows[r * 3 + j] = Math.Exp(x[r * 3 + j]) / sum;
        }
        AllClose(rows, Apply(Layers.Softmax(), x, 2, 3), "Softmax(-1)");
        // Along dim 0: x - log(sum over the column of exp(x)).
        var columns = new double[6];
        for (int j = 0; j < 3; j++)
        {
            double logSum = Math.Log(Math.Exp(x[j]) + Math.Exp(x[3 + j]));
            columns[j] = x[j] - logSum;
            columns[3 + j] = x[3 + j] - logSum;
        }
        AllClose(columns, Apply(Layers.LogSoftmax(dim: 0), x, 2, 3), "LogSoftmax(0)");
    }

    [Fact]
    public void AvgPool2d_averages_windows_and_counts_padding_only_when_asked()
    {
        var x = Input(16);
        var expected = new double[4];
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++)
                expected[i * 2 + j] = (x[(2 * i) * 4 + 2 * j] + x[(2 * i) * 4 + 2 * j + 1] + x[(2 * i + 1) * 4 + 2 * j] + x[(2 * i + 1) * 4 + 2 * j + 1]) / 4.0;
        AllClose(expected, Apply(Layers.AvgPool2d(2), x, 1, 1, 4, 4), "AvgPool2d(2)");

        // A 2x2 image padded by 1 and pooled 2x2 with stride 2: each window holds one pixel and three zeros.
        float[] small = { 1f, 2f, 3f, 4f };
        AllClose(small.Select(v => v / 4.0).ToArray(), Apply(Layers.AvgPool2d(2, stride: 2, padding: 1), small, 1, 1, 2, 2), "count_include_pad=True");
        AllClose(small.Select(v => (double)v).ToArray(),
            Apply(Layers.AvgPool2d(2, stride: 2, padding: 1, countIncludePad: false), small, 1, 1, 2, 2), "count_include_pad=False");
    }

    [Fact]
    public void GlobalAvgPool_takes_the_mean_of_each_channel_plane()
    {
        const int N = 2, C = 3, H = 2, W = 3;
        var x = Input(N * C * H * W);
        var net = Net.Sequential(Layers.GlobalAvgPool());
        var output = net.Predict(Tensor.OfArray(x, [N, C, H, W]));
        Assert.Equal(new[] { N, C }, output.Dims());
        var expected = Enumerable.Range(0, N * C).Select(p => x.Skip(p * H * W).Take(H * W).Average(v => (double)v)).ToArray();
        AllClose(expected, output.ToDoubleArray(), "GlobalAvgPool");
    }

    [Fact]
    public void Conv1d_slides_its_kernel_along_the_sequence()
    {
        // torch's Conv1d: out[n, o, t] = bias[o] + sum over c, k of in[n, c, t*s + k - p] * W[o, c, k] (zero outside).
        const int C = 2, O = 3, L = 5, K = 3, P = 1, S = 2;
        var net = Net.Sequential(Layers.Conv1d(C, O, K, stride: S, padding: P)).Build([C, L], seed: 4);
        double[] w = net.Parameters["0.weight"].ToDoubleArray(), b = net.Parameters["0.bias"].ToDoubleArray();
        Assert.Equal(new[] { O, C, K }, net.Parameters["0.weight"].Dims());
        var x = Input(C * L);
        int outLength = (L + 2 * P - K) / S + 1;
        var expected = new double[O * outLength];
        for (int o = 0; o < O; o++)
            for (int t = 0; t < outLength; t++)
            {
                double sum = b[o];
                for (int c = 0; c < C; c++)
                    for (int k = 0; k < K; k++)
                    {
                        int at = t * S + k - P;
                        if (at >= 0 && at < L) sum += x[c * L + at] * w[(o * C + c) * K + k];
                    }
                expected[o * outLength + t] = sum;
            }
        var output = net.Predict(Tensor.OfArray(x, [1, C, L]));
        Assert.Equal(new[] { 1, O, outLength }, output.Dims());
        AllClose(expected, output.ToDoubleArray(), "Conv1d");
    }

    [Fact]
    public void Residual_adds_the_body_to_the_input_then_applies_the_activation()
    {
        const int D = 3;
        var net = Net.Sequential(Layers.Residual(Layers.Linear(D, D), activation: Layers.ReLU())).Build([D], seed: 2);
        double[] w = net.Parameters["0.body.weight"].ToDoubleArray(), b = net.Parameters["0.body.bias"].ToDoubleArray();
        var x = Input(2 * D);
        var expected = new double[2 * D];
        for (int n = 0; n < 2; n++)
            for (int i = 0; i < D; i++)
            {
                double body = b[i] + Enumerable.Range(0, D).Sum(j => w[i * D + j] * x[n * D + j]);
                expected[n * D + i] = Math.Max(0.0, x[n * D + i] + body);
            }
        AllClose(expected, net.Predict(Tensor.OfArray(x, [2, D])).ToDoubleArray(), "Residual");
    }

    [Fact]
    public void Rnn_runs_the_Elman_recurrence_forwards_and_backwards_in_time()
    {
        // torch's nn.RNN(tanh): h_t = tanh(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh) from h = 0; the reverse direction
        // runs from the last step to the first, and its state at t is the second half of output t.
        const int N = 2, T = 3, I = 2, H = 3;
        var net = Net.Sequential(Layers.Rnn(I, H, bidirectional: true)).Build([T, I], seed: 6);
        var x = Input(N * T * I);
        var output = net.Predict(Tensor.OfArray(x, [N, T, I]));
        Assert.Equal(new[] { N, T, 2 * H }, output.Dims());
        var got = output.ToDoubleArray();
        foreach (var (suffix, offset, reverse) in new[] { ("", 0, false), ("_reverse", H, true) })
        {
            double[] wih = net.Parameters[$"0.weight_ih_l0{suffix}"].ToDoubleArray(), whh = net.Parameters[$"0.weight_hh_l0{suffix}"].ToDoubleArray(),
                bih = net.Parameters[$"0.bias_ih_l0{suffix}"].ToDoubleArray(), bhh = net.Parameters[$"0.bias_hh_l0{suffix}"].ToDoubleArray();
            for (int n = 0; n < N; n++)
            {
                var h = new double[H];
                for (int s = 0; s < T; s++)
                {
                    int t = reverse ? T - 1 - s : s;
                    var next = new double[H];
                    for (int i = 0; i < H; i++)
                    {
                        double a = bih[i] + bhh[i];
                        for (int j = 0; j < I; j++) a += wih[i * I + j] * x[(n * T + t) * I + j];
                        for (int j = 0; j < H; j++) a += whh[i * H + j] * h[j];
                        next[i] = Math.Tanh(a);
                    }
                    h = next;
                    for (int i = 0; i < H; i++) Close(h[i], got[(n * T + t) * 2 * H + offset + i], $"example {n}, step {t}, {(reverse ? "reverse" : "forward")} unit {i}");
                }
            }
        }
    }

    [Fact]
    public void RowsAsSequence_reads_image_rows_as_steps_and_LastStep_keeps_the_final_one()
    {
        // [N, C, H, W] -> [N, H, C * W]: step h holds row h of every channel, channel after channel.
        const int N = 2, C = 2, H = 3, W = 2;
        var x = Input(N * C * H * W);
        var rows = Net.Sequential(Layers.RowsAsSequence()).Predict(Tensor.OfArray(x, [N, C, H, W]));
        Assert.Equal(new[] { N, H, C * W }, rows.Dims());
        var expected = new double[N * H * C * W];
        for (int n = 0; n < N; n++)
            for (int h = 0; h < H; h++)
                for (int c = 0; c < C; c++)
                    for (int w = 0; w < W; w++)
                        expected[((n * H + h) * C + c) * W + w] = x[((n * C + c) * H + h) * W + w];
        AllClose(expected, rows.ToDoubleArray(), "RowsAsSequence");
        // [N, T, F] -> [N, F] at t = T - 1.
        var last = Net.Sequential(Layers.LastStep()).Predict(Tensor.OfArray(x, [N, H, C * W])).ToDoubleArray();
        AllClose(Enumerable.Range(0, N).SelectMany(n => x.Skip((n * H + H - 1) * C * W).Take(C * W)).Select(v => (double)v).ToArray(), last, "LastStep");
    }

    [Fact]
    public void BasicBlock_has_torchvision_s_parameters_and_halves_the_plane_with_stride_2()
    {
        // torchvision's BasicBlock: two bias-free 3x3 convolutions, each followed by a BatchNorm (weight and bias per
        // channel); a changed shape adds a bias-free 1x1 convolution and a BatchNorm on the shortcut.
        var same = Net.Sequential(Layers.BasicBlock(4, 4)).Build([4, 6, 6], seed: 1);
        Assert.Equal(2 * (4 * 4 * 9) + 2 * (2 * 4), same.ParameterCount);
        var down = Net.Sequential(Layers.BasicBlock(4, 8, stride: 2)).Build([4, 6, 6], seed: 1);
        Assert.Equal(4 * 8 * 9 + 8 * 8 * 9 + 2 * (2 * 8) + 4 * 8 + 2 * 8, down.ParameterCount);
        var output = down.Predict(Tensor.OfArray(Input(2 * 4 * 6 * 6), [2, 4, 6, 6]));
        Assert.Equal(new[] { 2, 8, 3, 3 }, output.Dims());
        // The block ends in a ReLU.
        Assert.All(output.ToDoubleArray(), v => Assert.True(v >= 0.0));
    }

    [Fact]
    public void Dropout2d_zeroes_whole_channel_maps_in_training_and_is_the_identity_in_evaluation()
    {
        const int N = 4, C = 8, H = 2, W = 2;
        var ones = Enumerable.Repeat(1f, N * C * H * W).ToArray();
        Assert.Equal(ones.Select(v => (double)v), Apply(Layers.Dropout2d(0.5), ones, N, C, H, W));

        // In training a Lambda after the dropout sees what it let through: each (example, channel) map is all 0 or
        // all 1 / (1 - p) = 2.
        double[]? seen = null;
        var net = Net.Sequential(
            Layers.Dropout2d(0.5),
            Layers.Lambda(t => { seen = t.ToDoubleArray(); return t; }, "capture"),
            Layers.Flatten(),
            Layers.Linear(C * H * W, 1)).Compile(Optimizers.SGD(0.01), Losses.MSE());
        var data = Datasets.FromTensors(Tensor.OfArray(ones, [N, C, H, W]), Tensor.OfArray(new float[N], [N, 1]));
        net.Fit(data, epochs: 1, batchSize: N, verbose: false, seed: 3);
        Assert.NotNull(seen);
        var maps = Enumerable.Range(0, N * C).Select(m => seen!.Skip(m * H * W).Take(H * W).Distinct().ToArray()).ToArray();
        Assert.All(maps, m => Assert.True(m.Length == 1 && (m[0] == 0.0 || m[0] == 2.0), $"a map holds {string.Join(", ", m)}"));
        Assert.Contains(maps, m => m[0] == 0.0);
        Assert.Contains(maps, m => m[0] == 2.0);
    }

    [Fact]
    public void CifarSmall_maps_colour_images_to_one_score_per_class_and_Net_lists_its_layers()
    {
        var net = Net.FromModel(Models.CifarSmall(numClasses: 7));
        var scores = net.Predict(Tensor.OfArray(Input(2 * 3 * 32 * 32), [2, 3, 32, 32]));
        Assert.Equal(new[] { 2, 7 }, scores.Dims());
        Assert.All(scores.ToDoubleArray(), v => Assert.True(double.IsFinite(v)));

        var sequential = Net.Sequential(Layers.Flatten(), Layers.Linear(4, 2), Layers.Tanh());
        Assert.Equal(3, sequential.Layers.Count);
        Assert.Equal(Layers.Tanh().Name, sequential.Layers[2].Name);
    }
}
