using System.Runtime.CompilerServices;
using Microsoft.FSharp.Core;
using NnSchedules = FunctionalNets.Nn.Schedules;

namespace FunctionalNets;

/// <summary>A learning-rate schedule: a pure function of the optimizer step (0 for the first update).
/// Create one with <see cref="Schedules"/>.</summary>
public sealed class Schedule
{
    internal Schedule(string name, FSharpFunc<long, double> inner)
    {
        Name = name;
        Inner = inner;
    }

    internal FSharpFunc<long, double> Inner { get; }

    /// <summary>A short description, e.g. <c>Cosine(0.1, 1000)</c>.</summary>
    public string Name { get; }

    /// <summary>The value at a step.</summary>
    /// <param name="step">The optimizer step, from 0.</param>
    public double ValueAt(long step) => Inner.Invoke(step);

    /// <summary>A short description.</summary>
    public override string ToString() => Name;
}

/// <summary>How a one-cycle phase moves between its values (torch's anneal_strategy).</summary>
public enum AnnealStrategy
{
    /// <summary>Half a cosine (torch's default).</summary>
    Cos,
    /// <summary>A straight line.</summary>
    Linear,
}

/// <summary>The built-in schedules (PyTorch's and Optax's definitions).</summary>
public static class Schedules
{
    // The factory calling a check is named in its message (CallerMemberName), so each check is written once.
    private static void Positive(long value, string paramName, [CallerMemberName] string method = "")
    {
        if (value <= 0) throw new ArgumentOutOfRangeException(paramName, value, $"Schedules.{method}: {paramName} must be positive.");
    }

    private static void Finite(double value, string paramName, [CallerMemberName] string method = "")
    {
        if (!double.IsFinite(value)) throw new ArgumentOutOfRangeException(paramName, value, $"Schedules.{method}: {paramName} must be a finite number.");
    }

    /// <summary>The same value at every step.</summary>
    /// <param name="value">The value.</param>
    public static Schedule Constant(double value)
    {
        Finite(value, nameof(value));
        return new($"Constant({value})", Interop.Func<long, double>(_ => value));
    }

    /// <summary>PyTorch's StepLR: <c>learningRate * gamma^floor(step / stepSize)</c>.</summary>
    /// <param name="learningRate">The initial value.</param>
    /// <param name="stepSize">Steps between decays (&gt; 0).</param>
    /// <param name="gamma">The decay factor.</param>
    public static Schedule StepDecay(double learningRate, long stepSize, double gamma = 0.1)
    {
        Finite(learningRate, nameof(learningRate));
        Positive(stepSize, nameof(stepSize));
        return new($"StepDecay({learningRate}, {stepSize}, {gamma})", NnSchedules.stepDecay(learningRate, stepSize, gamma));
    }

    /// <summary>PyTorch's ExponentialLR: <c>learningRate * gamma^step</c>.</summary>
    /// <param name="learningRate">The initial value.</param>
    /// <param name="gamma">The per-step factor.</param>
    public static Schedule Exponential(double learningRate, double gamma)
    {
        Finite(learningRate, nameof(learningRate));
        Finite(gamma, nameof(gamma));
        return new($"Exponential({learningRate}, {gamma})", Interop.Func<long, double>(step => NnSchedules.exponential(learningRate, gamma, step)));
    }

    /// <summary>Cosine decay from learningRate to learningRate * alpha over decaySteps, then held.</summary>
    /// <param name="learningRate">The initial value.</param>
    /// <param name="decaySteps">Length of the decay (&gt; 0).</param>
    /// <param name="alpha">The final value as a fraction of the initial one.</param>
    public static Schedule Cosine(double learningRate, long decaySteps, double alpha = 0.0)
    {
        Finite(learningRate, nameof(learningRate));
        Positive(decaySteps, nameof(decaySteps));
        return new($"Cosine({learningRate}, {decaySteps})", NnSchedules.cosine(learningRate, decaySteps, alpha));
    }

    /// <summary>Linear warmup from initValue to peakValue over warmupSteps, then cosine decay to endValue
    /// at decaySteps (the total length, warmup included), as Optax's warmup_cosine_decay_schedule.</summary>
    /// <param name="initValue">The value at step 0.</param>
    /// <param name="peakValue">The value at the end of the warmup.</param>
    /// <param name="warmupSteps">Length of the warmup (&gt;= 0).</param>
    /// <param name="decaySteps">Total length (&gt; warmupSteps).</param>
    /// <param name="endValue">The final value.</param>
    public static Schedule WarmupCosine(double initValue, double peakValue, long warmupSteps, long decaySteps, double endValue = 0.0)
    {
        if (warmupSteps < 0) throw new ArgumentOutOfRangeException(nameof(warmupSteps), warmupSteps, "Schedules.WarmupCosine: warmupSteps must be >= 0.");
        if (decaySteps <= warmupSteps)
            throw new ArgumentOutOfRangeException(nameof(decaySteps), decaySteps, $"Schedules.WarmupCosine: decaySteps must exceed warmupSteps ({warmupSteps}).");
        return new($"WarmupCosine({initValue}, {peakValue}, {warmupSteps}, {decaySteps}, {endValue})",
            NnSchedules.warmupCosine(initValue, peakValue, warmupSteps, decaySteps, endValue));
    }

    private static void CheckOneCycle(long totalSteps, double pctStart, bool threePhase, [CallerMemberName] string method = "")
    {
        if (totalSteps < 2) throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, $"Schedules.{method}: totalSteps must be at least 2.");
        double limit = threePhase ? 0.5 : 1.0;
        if (!(pctStart > 0.0 && pctStart < limit))
            throw new ArgumentOutOfRangeException(nameof(pctStart), pctStart, $"Schedules.{method}: pctStart must lie in (0, {limit}){(threePhase ? " with threePhase" : "")}.");
    }

    private static Nn.Anneal Nn(AnnealStrategy annealStrategy, [CallerMemberName] string method = "") => annealStrategy switch
    {
        AnnealStrategy.Cos => FunctionalNets.Nn.Anneal.Cos,
        AnnealStrategy.Linear => FunctionalNets.Nn.Anneal.Linear,
        _ => throw new ArgumentOutOfRangeException(nameof(annealStrategy), annealStrategy, $"Schedules.{method}: annealStrategy must be Cos or Linear."),
    };

    /// <summary>PyTorch's OneCycleLR learning rate: up from maxLearningRate / divFactor to maxLearningRate, then down
    /// to the initial value / finalDivFactor (with <paramref name="threePhase"/>: up, back down to the initial value,
    /// then down to the final one).</summary>
    /// <param name="maxLearningRate">The peak value.</param>
    /// <param name="totalSteps">Length of the cycle (&gt;= 2).</param>
    /// <param name="pctStart">Fraction of the cycle spent increasing, in (0, 1) (in (0, 0.5) with three phases).</param>
    /// <param name="divFactor">The initial value is maxLearningRate / divFactor.</param>
    /// <param name="finalDivFactor">The final value is the initial one / finalDivFactor.</param>
    /// <param name="annealStrategy">Cosine (default) or linear phases.</param>
    /// <param name="threePhase">torch's three_phase.</param>
    public static Schedule OneCycle(double maxLearningRate, long totalSteps, double pctStart = 0.3, double divFactor = 25.0, double finalDivFactor = 1e4, AnnealStrategy annealStrategy = AnnealStrategy.Cos, bool threePhase = false)
    {
        CheckOneCycle(totalSteps, pctStart, threePhase);
        if (!(divFactor > 0.0)) throw new ArgumentOutOfRangeException(nameof(divFactor), divFactor, "Schedules.OneCycle: divFactor must be positive.");
        if (!(finalDivFactor > 0.0)) throw new ArgumentOutOfRangeException(nameof(finalDivFactor), finalDivFactor, "Schedules.OneCycle: finalDivFactor must be positive.");
        return new($"OneCycle({maxLearningRate}, {totalSteps})",
            NnSchedules.oneCycleWith(Nn(annealStrategy), threePhase, maxLearningRate, totalSteps, pctStart, divFactor, finalDivFactor));
    }

    /// <summary>The momentum PyTorch's OneCycleLR(cycle_momentum=True) cycles with the learning rate of the same
    /// phases: from maxMomentum down to baseMomentum while the rate rises, and back. Give it to
    /// <c>Optimizers.SGD(momentumSchedule: ...)</c> or <c>Optimizers.Adam(beta1Schedule: ...)</c>.</summary>
    /// <param name="totalSteps">Length of the cycle (&gt;= 2), as for the learning rate.</param>
    /// <param name="pctStart">Fraction of the cycle spent increasing the rate.</param>
    /// <param name="baseMomentum">The lowest momentum (torch's default 0.85).</param>
    /// <param name="maxMomentum">The highest momentum (torch's default 0.95).</param>
    /// <param name="annealStrategy">Cosine (default) or linear phases.</param>
    /// <param name="threePhase">torch's three_phase.</param>
    public static Schedule OneCycleMomentum(long totalSteps, double pctStart = 0.3, double baseMomentum = 0.85, double maxMomentum = 0.95, AnnealStrategy annealStrategy = AnnealStrategy.Cos, bool threePhase = false)
    {
        CheckOneCycle(totalSteps, pctStart, threePhase);
        Finite(baseMomentum, nameof(baseMomentum));
        Finite(maxMomentum, nameof(maxMomentum));
        return new($"OneCycleMomentum({baseMomentum}, {maxMomentum}, {totalSteps})",
            NnSchedules.oneCycleMomentum(Nn(annealStrategy), threePhase, baseMomentum, maxMomentum, totalSteps, pctStart));
    }

    /// <summary>PyTorch's CosineAnnealingWarmRestarts (SGDR), stepped once per update: a cosine from learningRate
    /// down towards etaMin over t0 steps, restarting with cycles tMult times longer each time.</summary>
    /// <param name="learningRate">The value at the start of each cycle.</param>
    /// <param name="t0">Length of the first cycle (&gt; 0).</param>
    /// <param name="tMult">Growth factor of the cycle length (&gt;= 1).</param>
    /// <param name="etaMin">The floor.</param>
    public static Schedule CosineWarmRestarts(double learningRate, long t0, int tMult = 1, double etaMin = 0.0)
    {
        Finite(learningRate, nameof(learningRate));
        Positive(t0, nameof(t0));
        if (tMult < 1) throw new ArgumentOutOfRangeException(nameof(tMult), tMult, "Schedules.CosineWarmRestarts: tMult must be at least 1.");
        return new($"CosineWarmRestarts({learningRate}, {t0}, {tMult}, {etaMin})", NnSchedules.cosineWarmRestarts(learningRate, t0, tMult, etaMin));
    }

    /// <summary>initValue multiplied by every scale whose boundary step has been reached (Optax's
    /// piecewise_constant_schedule), e.g. <c>Piecewise(0.1, new() { [1000] = 0.1, [2000] = 0.1 })</c>.</summary>
    /// <param name="initValue">The value before the first boundary.</param>
    /// <param name="boundariesAndScales">Boundary step to the (non-negative) factor applied from it on.</param>
    public static Schedule Piecewise(double initValue, IReadOnlyDictionary<long, double> boundariesAndScales)
    {
        ArgumentNullException.ThrowIfNull(boundariesAndScales);
        foreach (var (b, s) in boundariesAndScales)
            if (!(s >= 0.0))
                throw new ArgumentOutOfRangeException(nameof(boundariesAndScales), s, $"Schedules.Piecewise: the scale at step {b} must be non-negative.");
        var items = Interop.List(boundariesAndScales.Select(kv => Tuple.Create(kv.Key, kv.Value)));
        return new($"Piecewise({initValue})", NnSchedules.piecewise(initValue, items));
    }

    /// <summary>Runs schedules one after another: schedules[0] until boundaries[0], then schedules[1]
    /// evaluated at <c>step - boundaries[0]</c>, and so on (Optax's join_schedules).</summary>
    /// <param name="schedules">The schedules (at least one).</param>
    /// <param name="boundaries">The steps where the next schedule takes over (one fewer than schedules).</param>
    public static Schedule Join(IEnumerable<Schedule> schedules, IEnumerable<long> boundaries)
    {
        ArgumentNullException.ThrowIfNull(schedules);
        ArgumentNullException.ThrowIfNull(boundaries);
        var s = schedules.ToList();
        var b = boundaries.ToList();
        if (s.Count == 0) throw new ArgumentException("Schedules.Join needs at least one schedule.", nameof(schedules));
        if (s.Any(x => x is null)) throw new ArgumentException("Schedules.Join: a schedule is null.", nameof(schedules));
        if (b.Count != s.Count - 1)
            throw new ArgumentException($"Schedules.Join: {s.Count} schedules need {s.Count - 1} boundaries, got {b.Count}.", nameof(boundaries));
        return new($"Join({string.Join(", ", s.Select(x => x.Name))})",
            NnSchedules.join(Interop.List(s.Select(x => x.Inner)), Interop.List(b)));
    }

    /// <summary>A schedule from a C# function of the step.</summary>
    /// <param name="schedule">The function; it must be pure (the same step gives the same value).</param>
    /// <param name="name">A description.</param>
    public static Schedule Custom(Func<long, double> schedule, string name = "Custom")
    {
        ArgumentNullException.ThrowIfNull(schedule);
        return new(name, Interop.Func(schedule));
    }
}
