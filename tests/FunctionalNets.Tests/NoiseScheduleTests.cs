using FunctionalNets;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>The C# NoiseSchedule against the DDPM formulas written out by hand (Ho et al. 2020; Nichol and Dhariwal
/// 2021 for the cosine schedule and respacing).</summary>
public class NoiseScheduleTests
{
    // Linear(10, 0.01, 0.1): beta_i = 0.01 + 0.01 i, alpha-bar_i = prod_{j <= i} (1 - beta_j).
    private static double[] HandAlphaBars()
    {
        var a = new double[10];
        double product = 1;
        for (int i = 0; i < 10; i++)
        {
            product *= 1 - (0.01 + 0.01 * i);
            a[i] = product;
        }
        return a;
    }

    [Fact]
    public void The_linear_schedule_has_evenly_spaced_betas_and_alpha_bars_by_the_product_formula()
    {
        var s = NoiseSchedule.Linear(10, 0.01, 0.1);
        var expected = HandAlphaBars();
        Assert.Equal(10, s.Length);
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal(0.01 + 0.01 * i, s.Betas[i], 12);
            Assert.Equal(expected[i], s.AlphaBar(i), 12);
            Assert.Equal(expected[i], s.AlphaBars[i], 12);
            Assert.Equal(i, s.Timesteps[i]);
        }
    }

    [Fact]
    public void The_cosine_schedule_follows_the_squared_cosine_ratio()
    {
        const int t = 20;
        const double offset = 0.008;
        static double F(int step) => Math.Pow(Math.Cos((step / (double)t + offset) / (1 + offset) * Math.PI / 2), 2);
        var s = NoiseSchedule.Cosine(t, offset);
        // Away from the end, where betas are clipped at 0.999, alpha-bar_i = f(i + 1) / f(0).
        foreach (var i in new[] { 0, 5, 10, 15 })
            Assert.Equal(F(i + 1) / F(0), s.AlphaBar(i), 10);
    }

    [Fact]
    public void Respacing_keeps_the_alpha_bars_at_evenly_spaced_timesteps()
    {
        var full = NoiseSchedule.Linear(10, 0.01, 0.1);
        var s = full.Respace(4);
        // round(k * 9 / 3) for k = 0..3.
        Assert.Equal([0, 3, 6, 9], s.Timesteps);
        var hand = HandAlphaBars();
        for (int k = 0; k < 4; k++) Assert.Equal(hand[3 * k], s.AlphaBar(k), 12);
        // Betas of the respaced schedule: 1 - alpha-bar_k / alpha-bar_{k-1}.
        Assert.Equal(1 - hand[6] / hand[3], s.Betas[2], 12);
    }

    [Fact]
    public void QSample_mixes_data_and_noise_by_the_square_roots_of_alpha_bar()
    {
        var s = NoiseSchedule.Linear(10, 0.01, 0.1);
        var hand = HandAlphaBars();
        double[] x = [0.5, -1.0, 0.25, 2.0], eps = [1.0, 0.3, -2.0, 0.7];
        var x0 = Tensor.OfArray(x.Select(v => (float)v).ToArray(), [2, 2]);
        var noise = Tensor.OfArray(eps.Select(v => (float)v).ToArray(), [2, 2]);
        var steps = Tensor.OfArray(new[] { 0, 7 }, [2]);
        var got = s.QSample(x0, steps, noise).ToDoubleArray();
        for (int i = 0; i < 4; i++)
        {
            var ab = hand[i < 2 ? 0 : 7];
            Assert.Equal(Math.Sqrt(ab) * x[i] + Math.Sqrt(1 - ab) * eps[i], got[i], 5);
        }
    }

    [Fact]
    public void The_last_reverse_step_returns_the_implied_clean_image_clipped()
    {
        // At step 0, alpha-bar_{-1} = 1: the posterior mean is x0 itself (c0 = 1, ct = 0) and no noise is added, so
        // the step gives clip((x - sqrt(1 - ab0) eps) / sqrt(ab0), -1, 1) with ab0 = 1 - beta0.
        var s = NoiseSchedule.Linear(10, 0.01, 0.1);
        double[] x = [0.5, -0.9, 3.0], eps = [0.2, -0.1, 0.0];
        var got = s.Step(0, Tensor.OfArray(x.Select(v => (float)v).ToArray(), [3]), Tensor.OfArray(eps.Select(v => (float)v).ToArray(), [3]), Key.Create(1)).ToDoubleArray();
        for (int i = 0; i < 3; i++)
            Assert.Equal(Math.Clamp((x[i] - Math.Sqrt(0.01) * eps[i]) / Math.Sqrt(0.99), -1, 1), got[i], 5);
    }

    [Fact]
    public void NoiseLoss_of_a_zero_predictor_is_the_mean_square_of_standard_normal_noise_and_sees_the_timesteps()
    {
        var s = NoiseSchedule.Linear(1000);
        var x0 = Tensor.Zeros([64, 1, 8, 8]);
        Tensor? seen = null;
        var loss = s.NoiseLoss((x, t) => { seen = t; return x.ZerosLike(); }, x0, Key.Create(3)).ToScalar();
        // 4096 squares of N(0, 1) draws: mean 1, standard deviation sqrt(2 / 4096) = 0.022.
        Assert.InRange(loss, 0.9, 1.1);
        Assert.NotNull(seen);
        Assert.Equal([64], seen!.Dims());
        Assert.All(seen.ToDoubleArray(), v => Assert.True(v >= 0 && v < 1000 && v == Math.Floor(v), $"timestep {v}"));
    }

    [Fact]
    public void Sampling_with_a_zero_predictor_gives_the_shape_asked_for_in_the_clip_range()
    {
        var samples = NoiseSchedule.Linear(1000).Respace(5).Sample((x, _) => x.ZerosLike(), [3, 1, 4, 4], Key.Create(5));
        Assert.Equal([3, 1, 4, 4], samples.Dims());
        // The last step is the clipped clean image, without noise.
        Assert.All(samples.ToDoubleArray(), v => Assert.InRange(v, -1.0, 1.0));
    }

    [Fact]
    public void Bad_arguments_name_the_CSharp_member_and_what_to_pass()
    {
        var linear = Assert.Throws<ArgumentException>(() => NoiseSchedule.Linear(10, 0.1, 0.01));
        Assert.StartsWith("NoiseSchedule.Linear:", linear.Message);
        var respace = Assert.Throws<ArgumentException>(() => NoiseSchedule.Linear(10).Respace(11));
        Assert.StartsWith("NoiseSchedule.Respace:", respace.Message);
        Assert.Contains("[1, 10]", respace.Message);
        var q = Assert.Throws<ArgumentException>(() => NoiseSchedule.Linear(10).QSample(Tensor.Zeros([2, 3]), Tensor.OfArray(new[] { 0, 1 }, [2]), Tensor.Zeros([2, 4])));
        Assert.StartsWith("NoiseSchedule.QSample:", q.Message);
        Assert.Contains("[2, 4]", q.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => NoiseSchedule.Linear(10).AlphaBar(10));
        Assert.Throws<ArgumentNullException>(() => NoiseSchedule.Linear(10).Sample(null!, [1, 1, 4, 4], Key.Create(0)));
    }
}
