using FunctionalNets;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>The one-cycle and warm-restart schedules against PyTorch's documented algorithms written out here (so
/// they are checked without torch too; TorchOptionTests compares other options with torch itself), and the message
/// of every schedule factory's bad argument.</summary>
public class ScheduleFamilyTests
{
    private static void Matches(Schedule schedule, Func<long, double> formula, long steps)
    {
        for (long t = 0; t <= steps; t++)
            Assert.True(Math.Abs(schedule.ValueAt(t) - formula(t)) <= 1e-12 * (1 + Math.Abs(formula(t))),
                $"{schedule} at step {t}: {schedule.ValueAt(t)}, the formula gives {formula(t)}");
    }

    // torch.optim.lr_scheduler._annealing_cos: from start (pct 0) to end (pct 1) along half a cosine.
    private static double Cos(double start, double end, double pct) => end + (start - end) / 2 * (Math.Cos(Math.PI * pct) + 1);

    [Fact]
    public void OneCycle_and_its_momentum_follow_torch_s_two_cosine_phases()
    {
        // OneCycleLR(max_lr=1, total_steps=10, pct_start=0.3, div_factor=25, final_div_factor=1e4): the first phase
        // ends at step 0.3 * 10 - 1 = 2, the second at 9; initial 1 / 25, final 1 / 25 / 1e4.
        const double max = 1.0, initial = max / 25, final = initial / 1e4;
        double Lr(long t) => t <= 2 ? Cos(initial, max, t / 2.0) : Cos(max, final, (t - 2) / 7.0);
        Matches(Schedules.OneCycle(max, 10), Lr, 9);
        // cycle_momentum: from max_momentum 0.95 down to base 0.85 while the rate rises, and back.
        double Momentum(long t) => t <= 2 ? Cos(0.95, 0.85, t / 2.0) : Cos(0.85, 0.95, (t - 2) / 7.0);
        Matches(Schedules.OneCycleMomentum(10), Momentum, 9);
        // Linear phases with other factors: _annealing_linear is start + (end - start) pct.
        double Linear(long t) => t <= 4 ? 0.2 + (2.0 - 0.2) * t / 4.0 : 2.0 + (0.2 / 100 - 2.0) * (t - 4) / 5.0;
        Matches(Schedules.OneCycle(2.0, 10, pctStart: 0.5, divFactor: 10, finalDivFactor: 100, annealStrategy: AnnealStrategy.Linear), Linear, 9);
    }

    [Fact]
    public void CosineWarmRestarts_restarts_after_each_cycle_growing_by_tMult()
    {
        // CosineAnnealingWarmRestarts(T_0, T_mult, eta_min): within a cycle of length T_i, at position T_cur,
        // eta_min + (lr - eta_min) (1 + cos(pi T_cur / T_i)) / 2; cycles of T_0, T_0 T_mult, T_0 T_mult^2, ...
        static Func<long, double> Sgdr(double lr, long t0, int tMult, double etaMin) => t =>
        {
            long length = t0, position = t;
            while (position >= length)
            {
                position -= length;
                length *= tMult;
            }
            return etaMin + (lr - etaMin) * (1 + Math.Cos(Math.PI * position / length)) / 2;
        };
        Matches(Schedules.CosineWarmRestarts(1.0, 4), Sgdr(1.0, 4, 1, 0.0), 13);
        Matches(Schedules.CosineWarmRestarts(0.5, 3, tMult: 2, etaMin: 0.05), Sgdr(0.5, 3, 2, 0.05), 25);
    }

    public static TheoryData<string, string, Func<Schedule>> BadScheduleArguments => new()
    {
        { "value", "Schedules.Constant", () => Schedules.Constant(double.NaN) },
        { "stepSize", "Schedules.StepDecay", () => Schedules.StepDecay(0.1, 0) },
        { "gamma", "Schedules.Exponential", () => Schedules.Exponential(0.1, double.PositiveInfinity) },
        { "decaySteps", "Schedules.Cosine", () => Schedules.Cosine(0.1, -1) },
        { "decaySteps", "Schedules.WarmupCosine", () => Schedules.WarmupCosine(0, 1, warmupSteps: 5, decaySteps: 5) },
        { "totalSteps", "Schedules.OneCycle", () => Schedules.OneCycle(1.0, 1) },
        { "finalDivFactor", "Schedules.OneCycle", () => Schedules.OneCycle(1.0, 10, finalDivFactor: 0) },
        { "pctStart", "Schedules.OneCycleMomentum", () => Schedules.OneCycleMomentum(10, pctStart: 1.0) },
        { "annealStrategy", "Schedules.OneCycle", () => Schedules.OneCycle(1.0, 10, annealStrategy: (AnnealStrategy)7) },
        { "annealStrategy", "Schedules.OneCycleMomentum", () => Schedules.OneCycleMomentum(10, annealStrategy: (AnnealStrategy)7) },
        { "warmupSteps", "Schedules.WarmupCosine", () => Schedules.WarmupCosine(0, 1, warmupSteps: -1, decaySteps: 5) },
        { "t0", "Schedules.CosineWarmRestarts", () => Schedules.CosineWarmRestarts(0.1, 0) },
        { "tMult", "Schedules.CosineWarmRestarts", () => Schedules.CosineWarmRestarts(0.1, 3, tMult: 0) },
        { "boundariesAndScales", "Schedules.Piecewise", () => Schedules.Piecewise(0.1, new Dictionary<long, double> { [3] = -1 }) },
    };

    [Theory]
    [MemberData(nameof(BadScheduleArguments))]
    public void A_bad_schedule_argument_names_the_parameter_and_the_factory(string parameter, string factory, Func<Schedule> make)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => make());
        Assert.Equal(parameter, e.ParamName);
        Assert.Contains(factory, e.Message);
    }
}
