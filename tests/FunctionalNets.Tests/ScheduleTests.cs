using FunctionalNets;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>The schedules from C#, each against its documented formula (PyTorch's or Optax's) written out here.</summary>
public class ScheduleTests
{
    private static void Matches(Schedule schedule, Func<long, double> formula, long steps)
    {
        for (long t = 0; t <= steps; t++)
            Assert.True(Math.Abs(schedule.ValueAt(t) - formula(t)) <= 1e-12 * (1 + Math.Abs(formula(t))),
                $"{schedule} at step {t}: {schedule.ValueAt(t)}, the formula gives {formula(t)}");
    }

    [Fact]
    public void StepDecay_Exponential_and_Constant_follow_torchs_StepLR_ExponentialLR_and_a_constant()
    {
        Matches(Schedules.StepDecay(0.1, stepSize: 3, gamma: 0.5), t => 0.1 * Math.Pow(0.5, t / 3), 10);
        Matches(Schedules.Exponential(0.2, gamma: 0.9), t => 0.2 * Math.Pow(0.9, t), 10);
        Matches(Schedules.Constant(0.03), _ => 0.03, 5);
    }

    [Fact]
    public void Cosine_and_WarmupCosine_follow_optax()
    {
        // optax.cosine_decay_schedule: lr * ((1 - alpha) * (1 + cos(pi * min(t, T) / T)) / 2 + alpha).
        Matches(Schedules.Cosine(0.5, decaySteps: 8, alpha: 0.1),
            t => 0.5 * (0.9 * (1 + Math.Cos(Math.PI * Math.Min(t, 8) / 8.0)) / 2 + 0.1), 12);
        // optax.warmup_cosine_decay_schedule(0.01, 1.0, warmup 4, decay 10, end 0.05): linear to the peak over 4
        // steps, then cosine from the peak to the end over the remaining 6, then held.
        Matches(Schedules.WarmupCosine(0.01, 1.0, warmupSteps: 4, decaySteps: 10, endValue: 0.05),
            t => t < 4 ? 0.01 + (1.0 - 0.01) * t / 4.0
                : 0.05 + (1.0 - 0.05) * (1 + Math.Cos(Math.PI * Math.Min(t - 4, 6) / 6.0)) / 2, 14);
    }

    [Fact]
    public void Piecewise_Join_and_Custom_compose_as_documented()
    {
        Matches(Schedules.Piecewise(0.1, new Dictionary<long, double> { [3] = 0.5, [6] = 0.1 }),
            t => t < 3 ? 0.1 : t < 6 ? 0.05 : 0.005, 9);
        var join = Schedules.Join([Schedules.Constant(1.0), Schedules.Exponential(0.5, 0.5)], [4]);
        Matches(join, t => t < 4 ? 1.0 : 0.5 * Math.Pow(0.5, t - 4), 9);
        Matches(Schedules.Custom(t => 1.0 / (1 + t), "inverse"), t => 1.0 / (1 + t), 5);
    }
}
