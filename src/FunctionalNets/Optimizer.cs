using FunctionalNets.Nn;
using System.Runtime.CompilerServices;
using Microsoft.FSharp.Core;
using NnGradTx = FunctionalNets.Nn.GradTx;

namespace FunctionalNets;

/// <summary>An optimizer: a gradient transformation whose state (moments, counts) is a tensor tree kept
/// in the net and saved with its checkpoint. Create one with <see cref="Optimizers"/>.</summary>
public sealed class Optimizer
{
    internal Optimizer(string name, NnGradTx inner)
    {
        Name = name;
        Inner = inner;
    }

    internal NnGradTx Inner { get; }

    /// <summary>How to build this optimizer again (factory and arguments), recorded in checkpoints so that
    /// Net.Load can compile a net; null for optimizers that cannot be rebuilt (schedules, custom ones).</summary>
    internal CompileRecipe? Recipe { get; init; }

    /// <summary>A short description, e.g. <c>Adam(lr=0.001)</c>.</summary>
    public string Name { get; }

    /// <summary>This optimizer with the gradients first scaled so that their global L2 norm (over all
    /// parameters) is at most maxNorm (PyTorch's clip_grad_norm_).</summary>
    /// <param name="maxNorm">The largest global norm allowed (&gt; 0).</param>
    public Optimizer WithGradientClipping(double maxNorm)
    {
        if (!(maxNorm > 0.0 && double.IsFinite(maxNorm)))
            throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "Optimizer.WithGradientClipping: maxNorm must be a positive finite number.");
        return new($"{Name} clipped to norm {maxNorm}",
            OptimModule.chain(Interop.List(new[] { OptimModule.clipByGlobalNorm(maxNorm), Inner })))
        {
            Recipe = Recipe?.With("clipNorm", maxNorm),
        };
    }

    /// <summary>The optimizer's state before its first step (moments at zero, counts at zero) for these
    /// parameters, for a hand-written training loop: <c>var state = optimizer.Init(parameters);</c>. Fit keeps the
    /// same state inside the net.</summary>
    /// <param name="parameters">The parameters to optimize, e.g. <see cref="Net.Parameters"/>.</param>
    public ParameterTree Init(ParameterTree parameters)
    {
        var p = Guard.NotNull(parameters, nameof(parameters), "Optimizer.Init");
        return new ParameterTree(CSharpTerms.Run(() => Inner.Init.Invoke(p.Inner)));
    }

    /// <summary>One optimizer step, exactly as Fit takes it: the gradient transformation (schedules read at
    /// <paramref name="step"/>) maps the gradients to updates, which are added to the parameters:
    /// <c>(parameters, state) = optimizer.Update(step, grads, state, parameters);</c>. Nothing is modified; the new
    /// parameters and state come back.</summary>
    /// <param name="step">How many updates were made before this one (0 for the first).</param>
    /// <param name="gradients">The gradients, a tree of the parameters' paths and shapes.</param>
    /// <param name="state">The state from <see cref="Init"/> or from the previous Update.</param>
    /// <param name="parameters">The parameters before the step.</param>
    public (ParameterTree Parameters, ParameterTree State) Update(long step, ParameterTree gradients, ParameterTree state, ParameterTree parameters)
    {
        const string method = "Optimizer.Update";
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), step, $"{method}: step must be >= 0.");
        var g = Guard.NotNull(gradients, nameof(gradients), method);
        var s = Guard.NotNull(state, nameof(state), method);
        var p = Guard.NotNull(parameters, nameof(parameters), method);
        Guard.SamePaths(p, g, nameof(gradients), method);
        var next = CSharpTerms.Run(() =>
        {
            var r = FSharpFunc<long, PTree<Tensor>>.InvokeFast(Inner.Update, step, g.Inner, s.Inner, p.Inner);
            return Tuple.Create(OptimModule.applyUpdates(p.Inner, r.Item1), r.Item2);
        });
        return (new ParameterTree(next.Item1), new ParameterTree(next.Item2));
    }

    /// <summary>A short description.</summary>
    public override string ToString() => Name;
}

/// <summary>The built-in optimizers, with PyTorch's update rules and defaults. Each takes a fixed learning
/// rate or a <see cref="Schedule"/>.</summary>
public static class Optimizers
{
    // The factory calling a check is named in its message (CallerMemberName), so each check is written once.
    private static void LearningRate(double lr, [CallerMemberName] string method = "")
    {
        if (!(lr > 0.0 && double.IsFinite(lr)))
            throw new ArgumentOutOfRangeException("learningRate", lr, $"Optimizers.{method}: the learning rate must be a positive finite number.");
    }

    private static void NonNegative(double value, string paramName, [CallerMemberName] string method = "")
    {
        if (!(value >= 0.0 && double.IsFinite(value)))
            throw new ArgumentOutOfRangeException(paramName, value, $"Optimizers.{method}: {paramName} must be a finite number >= 0.");
    }

    private static void Beta(double value, string paramName, [CallerMemberName] string method = "")
    {
        if (!(value >= 0.0 && value < 1.0))
            throw new ArgumentOutOfRangeException(paramName, value, $"Optimizers.{method}: {paramName} must be in [0, 1).");
    }

    private static void Positive(double value, string paramName, [CallerMemberName] string method = "")
    {
        if (!(value > 0.0 && double.IsFinite(value)))
            throw new ArgumentOutOfRangeException(paramName, value, $"Optimizers.{method}: {paramName} must be a positive finite number.");
    }

    private static Optimizer Recorded(Optimizer optimizer, CompileRecipe recipe) =>
        new(optimizer.Name, optimizer.Inner) { Recipe = recipe };

    private static Schedule Lr(double lr, [CallerMemberName] string method = "")
    {
        LearningRate(lr, method);
        return Schedules.Constant(lr);
    }

    // ---- SGD ----

    /// <summary>Stochastic gradient descent with optional momentum, Nesterov momentum and coupled L2 weight
    /// decay (torch.optim.SGD).</summary>
    /// <param name="learningRate">The step size.</param>
    /// <param name="momentum">Momentum factor in [0, 1); 0 disables it.</param>
    /// <param name="nesterov">Nesterov momentum (needs momentum &gt; 0).</param>
    /// <param name="weightDecay">L2 penalty added to the gradient.</param>
    /// <param name="dampening">Dampening of the momentum buffer's gradient term, in [0, 1] (torch's dampening).</param>
    /// <param name="momentumSchedule">A momentum per step replacing <paramref name="momentum"/>, e.g.
    /// <see cref="Schedules.OneCycleMomentum"/> (torch's OneCycleLR with cycle_momentum=True).</param>
    public static Optimizer SGD(double learningRate = 0.01, double momentum = 0.0, bool nesterov = false, double weightDecay = 0.0, double dampening = 0.0, Schedule? momentumSchedule = null)
    {
        var recipe = CompileRecipe.Of("SGD", (nameof(learningRate), learningRate), (nameof(momentum), momentum), (nameof(nesterov), nesterov), (nameof(weightDecay), weightDecay));
        LearningRate(learningRate);
        Optimizer built = momentum == 0.0 && !nesterov && weightDecay == 0.0 && dampening == 0.0 && momentumSchedule is null
            ? new($"SGD(lr={learningRate})", Optim.sgd(learningRate, momentumSchedule: null))
            : SGD(Lr(learningRate), momentum, nesterov, weightDecay, dampening, momentumSchedule);
        // A momentum schedule is not recorded, so a net compiled with one is not rebuilt from a checkpoint.
        return momentumSchedule is null ? Recorded(built, recipe.With(nameof(dampening), dampening)) : built;
    }

    /// <summary>SGD with a scheduled learning rate.</summary>
    /// <param name="learningRate">The step-size schedule.</param>
    /// <param name="momentum">Momentum factor in [0, 1); 0 disables it.</param>
    /// <param name="nesterov">Nesterov momentum (needs momentum &gt; 0).</param>
    /// <param name="weightDecay">L2 penalty added to the gradient.</param>
    /// <param name="dampening">Dampening of the momentum buffer's gradient term, in [0, 1] (torch's dampening).</param>
    /// <param name="momentumSchedule">A momentum per step replacing <paramref name="momentum"/>, e.g.
    /// <see cref="Schedules.OneCycleMomentum"/> (torch's OneCycleLR with cycle_momentum=True).</param>
    public static Optimizer SGD(Schedule learningRate, double momentum = 0.0, bool nesterov = false, double weightDecay = 0.0, double dampening = 0.0, Schedule? momentumSchedule = null)
    {
        Guard.NotNull(learningRate, nameof(learningRate), "Optimizers.SGD");
        Beta(momentum, nameof(momentum));
        NonNegative(weightDecay, nameof(weightDecay));
        if (!(dampening >= 0.0 && dampening <= 1.0))
            throw new ArgumentOutOfRangeException(nameof(dampening), dampening, "Optimizers.SGD: dampening must lie in [0, 1].");
        if (nesterov && (momentum <= 0.0 && momentumSchedule is null || dampening != 0.0))
            throw new ArgumentException("Optimizers.SGD: Nesterov momentum needs momentum > 0 and dampening 0.", nameof(nesterov));
        var momentumText = momentumSchedule is null ? $"{momentum}" : momentumSchedule.Name;
        return new($"SGD(lr={learningRate.Name}, momentum={momentumText}{(dampening != 0.0 ? $", dampening={dampening}" : "")}{(nesterov ? ", nesterov" : "")}, weight_decay={weightDecay})",
            Optim.sgd(learningRate.Inner, momentum, nesterov, weightDecay, dampening, Interop.Option(momentumSchedule?.Inner)));
    }

    // ---- Adam / AdamW ----

    /// <summary>Adam (torch.optim.Adam) with optional coupled L2 weight decay.</summary>
    /// <param name="learningRate">The step size.</param>
    /// <param name="beta1">Decay of the first moment, in [0, 1).</param>
    /// <param name="beta2">Decay of the second moment, in [0, 1).</param>
    /// <param name="epsilon">Added to the denominator (&gt; 0).</param>
    /// <param name="weightDecay">L2 penalty added to the gradient.</param>
    /// <param name="amsgrad">Use the running maximum of the second moment (AMSGrad).</param>
    /// <param name="beta1Schedule">A beta1 per step replacing <paramref name="beta1"/>, e.g.
    /// <see cref="Schedules.OneCycleMomentum"/> (torch's OneCycleLR with cycle_momentum=True).</param>
    public static Optimizer Adam(double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8, double weightDecay = 0.0, bool amsgrad = false, Schedule? beta1Schedule = null)
    {
        var recipe = CompileRecipe.Of("Adam", (nameof(learningRate), learningRate), (nameof(beta1), beta1), (nameof(beta2), beta2), (nameof(epsilon), epsilon), (nameof(weightDecay), weightDecay), (nameof(amsgrad), amsgrad));
        LearningRate(learningRate);
        Optimizer built = beta1 == 0.9 && beta2 == 0.999 && epsilon == 1e-8 && weightDecay == 0.0 && !amsgrad && beta1Schedule is null
            ? new($"Adam(lr={learningRate})", Optim.adam(learningRate, b1Schedule: null))
            : Adam(Lr(learningRate), beta1, beta2, epsilon, weightDecay, amsgrad, beta1Schedule);
        return beta1Schedule is null ? Recorded(built, recipe) : built;
    }

    /// <summary>Adam with a scheduled learning rate.</summary>
    /// <param name="learningRate">The step-size schedule.</param>
    /// <param name="beta1">Decay of the first moment, in [0, 1).</param>
    /// <param name="beta2">Decay of the second moment, in [0, 1).</param>
    /// <param name="epsilon">Added to the denominator (&gt; 0).</param>
    /// <param name="weightDecay">L2 penalty added to the gradient.</param>
    /// <param name="amsgrad">Use the running maximum of the second moment (AMSGrad).</param>
    /// <param name="beta1Schedule">A beta1 per step replacing <paramref name="beta1"/>, e.g.
    /// <see cref="Schedules.OneCycleMomentum"/> (torch's OneCycleLR with cycle_momentum=True).</param>
    public static Optimizer Adam(Schedule learningRate, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8, double weightDecay = 0.0, bool amsgrad = false, Schedule? beta1Schedule = null)
    {
        Guard.NotNull(learningRate, nameof(learningRate), "Optimizers.Adam");
        Beta(beta1, nameof(beta1));
        Beta(beta2, nameof(beta2));
        Positive(epsilon, nameof(epsilon));
        NonNegative(weightDecay, nameof(weightDecay));
        return new($"Adam(lr={learningRate.Name}, betas=({beta1Schedule?.Name ?? beta1.ToString()}, {beta2}), eps={epsilon}, weight_decay={weightDecay}{(amsgrad ? ", amsgrad" : "")})",
            Optim.adam(learningRate.Inner, beta1, beta2, epsilon, weightDecay, amsgrad, Interop.Option(beta1Schedule?.Inner)));
    }

    /// <summary>AdamW (torch.optim.AdamW): Adam with decoupled weight decay on every parameter.</summary>
    /// <param name="learningRate">The step size.</param>
    /// <param name="beta1">Decay of the first moment, in [0, 1).</param>
    /// <param name="beta2">Decay of the second moment, in [0, 1).</param>
    /// <param name="epsilon">Added to the denominator (&gt; 0).</param>
    /// <param name="weightDecay">Decoupled decay factor.</param>
    /// <param name="amsgrad">Use the running maximum of the second moment (AMSGrad).</param>
    /// <param name="beta1Schedule">A beta1 per step replacing <paramref name="beta1"/>, e.g.
    /// <see cref="Schedules.OneCycleMomentum"/> (torch's OneCycleLR with cycle_momentum=True).</param>
    public static Optimizer AdamW(double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8, double weightDecay = 0.01, bool amsgrad = false, Schedule? beta1Schedule = null)
    {
        var recipe = CompileRecipe.Of("AdamW", (nameof(learningRate), learningRate), (nameof(beta1), beta1), (nameof(beta2), beta2), (nameof(epsilon), epsilon), (nameof(weightDecay), weightDecay), (nameof(amsgrad), amsgrad));
        LearningRate(learningRate);
        Optimizer built = beta1 == 0.9 && beta2 == 0.999 && epsilon == 1e-8 && weightDecay == 0.01 && !amsgrad && beta1Schedule is null
            ? new($"AdamW(lr={learningRate})", Optim.adamw(learningRate, mask: null, b1Schedule: null))
            : AdamW(Lr(learningRate), beta1, beta2, epsilon, weightDecay, amsgrad, beta1Schedule);
        return beta1Schedule is null ? Recorded(built, recipe) : built;
    }

    /// <summary>AdamW with a scheduled learning rate (the decay follows the same schedule, as in PyTorch).</summary>
    /// <param name="learningRate">The step-size schedule.</param>
    /// <param name="beta1">Decay of the first moment, in [0, 1).</param>
    /// <param name="beta2">Decay of the second moment, in [0, 1).</param>
    /// <param name="epsilon">Added to the denominator (&gt; 0).</param>
    /// <param name="weightDecay">Decoupled decay factor.</param>
    /// <param name="amsgrad">Use the running maximum of the second moment (AMSGrad).</param>
    /// <param name="beta1Schedule">A beta1 per step replacing <paramref name="beta1"/>, e.g.
    /// <see cref="Schedules.OneCycleMomentum"/> (torch's OneCycleLR with cycle_momentum=True).</param>
    public static Optimizer AdamW(Schedule learningRate, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8, double weightDecay = 0.01, bool amsgrad = false, Schedule? beta1Schedule = null)
    {
        Guard.NotNull(learningRate, nameof(learningRate), "Optimizers.AdamW");
        Beta(beta1, nameof(beta1));
        Beta(beta2, nameof(beta2));
        Positive(epsilon, nameof(epsilon));
        NonNegative(weightDecay, nameof(weightDecay));
        return new($"AdamW(lr={learningRate.Name}, betas=({beta1Schedule?.Name ?? beta1.ToString()}, {beta2}), eps={epsilon}, weight_decay={weightDecay}{(amsgrad ? ", amsgrad" : "")})",
            Optim.adamw(learningRate.Inner, beta1, beta2, epsilon, weightDecay, amsgrad, mask: null, b1Schedule: Interop.Option(beta1Schedule?.Inner)));
    }

    // ---- RMSprop ----

    /// <summary>RMSprop (torch.optim.RMSprop).</summary>
    /// <param name="learningRate">The step size.</param>
    /// <param name="alpha">Smoothing constant of the squared-gradient average, in [0, 1).</param>
    /// <param name="epsilon">Added to the denominator (&gt; 0).</param>
    /// <param name="momentum">Momentum factor in [0, 1).</param>
    /// <param name="centered">Normalize by the variance estimate.</param>
    /// <param name="weightDecay">L2 penalty added to the gradient.</param>
    public static Optimizer RMSprop(double learningRate = 0.01, double alpha = 0.99, double epsilon = 1e-8, double momentum = 0.0, bool centered = false, double weightDecay = 0.0)
    {
        var recipe = CompileRecipe.Of("RMSprop", (nameof(learningRate), learningRate), (nameof(alpha), alpha), (nameof(epsilon), epsilon), (nameof(momentum), momentum), (nameof(centered), centered), (nameof(weightDecay), weightDecay));
        LearningRate(learningRate);
        if (alpha == 0.99 && epsilon == 1e-8 && momentum == 0.0 && !centered && weightDecay == 0.0)
            return Recorded(new Optimizer($"RMSprop(lr={learningRate})", Optim.rmsprop(learningRate)), recipe);
        return Recorded(RMSprop(Lr(learningRate), alpha, epsilon, momentum, centered, weightDecay), recipe);
    }

    /// <summary>RMSprop with a scheduled learning rate.</summary>
    /// <param name="learningRate">The step-size schedule.</param>
    /// <param name="alpha">Smoothing constant of the squared-gradient average, in [0, 1).</param>
    /// <param name="epsilon">Added to the denominator (&gt; 0).</param>
    /// <param name="momentum">Momentum factor in [0, 1).</param>
    /// <param name="centered">Normalize by the variance estimate.</param>
    /// <param name="weightDecay">L2 penalty added to the gradient.</param>
    public static Optimizer RMSprop(Schedule learningRate, double alpha = 0.99, double epsilon = 1e-8, double momentum = 0.0, bool centered = false, double weightDecay = 0.0)
    {
        Guard.NotNull(learningRate, nameof(learningRate), "Optimizers.RMSprop");
        Beta(alpha, nameof(alpha));
        Positive(epsilon, nameof(epsilon));
        Beta(momentum, nameof(momentum));
        NonNegative(weightDecay, nameof(weightDecay));
        return new($"RMSprop(lr={learningRate.Name}, alpha={alpha}, eps={epsilon}, momentum={momentum}{(centered ? ", centered" : "")}, weight_decay={weightDecay})",
            Optim.rmsprop(learningRate.Inner, alpha, epsilon, momentum, centered, weightDecay));
    }

    // ---- Adagrad ----

    /// <summary>Adagrad (torch.optim.Adagrad).</summary>
    /// <param name="learningRate">The step size.</param>
    /// <param name="initialAccumulator">Starting value of the sum of squared gradients (&gt;= 0).</param>
    /// <param name="epsilon">Added to the denominator (&gt; 0).</param>
    /// <param name="weightDecay">L2 penalty added to the gradient.</param>
    public static Optimizer Adagrad(double learningRate = 0.01, double initialAccumulator = 0.0, double epsilon = 1e-10, double weightDecay = 0.0)
    {
        var recipe = CompileRecipe.Of("Adagrad", (nameof(learningRate), learningRate), (nameof(initialAccumulator), initialAccumulator), (nameof(epsilon), epsilon), (nameof(weightDecay), weightDecay));
        LearningRate(learningRate);
        if (initialAccumulator == 0.0 && epsilon == 1e-10 && weightDecay == 0.0)
            return Recorded(new Optimizer($"Adagrad(lr={learningRate})", Optim.adagrad(learningRate)), recipe);
        return Recorded(Adagrad(Lr(learningRate), initialAccumulator, epsilon, weightDecay), recipe);
    }

    /// <summary>Adagrad with a scheduled learning rate.</summary>
    /// <param name="learningRate">The step-size schedule.</param>
    /// <param name="initialAccumulator">Starting value of the sum of squared gradients (&gt;= 0).</param>
    /// <param name="epsilon">Added to the denominator (&gt; 0).</param>
    /// <param name="weightDecay">L2 penalty added to the gradient.</param>
    public static Optimizer Adagrad(Schedule learningRate, double initialAccumulator = 0.0, double epsilon = 1e-10, double weightDecay = 0.0)
    {
        Guard.NotNull(learningRate, nameof(learningRate), "Optimizers.Adagrad");
        NonNegative(initialAccumulator, nameof(initialAccumulator));
        Positive(epsilon, nameof(epsilon));
        NonNegative(weightDecay, nameof(weightDecay));
        return new($"Adagrad(lr={learningRate.Name}, initial_accumulator={initialAccumulator}, eps={epsilon}, weight_decay={weightDecay})",
            Optim.adagrad(learningRate.Inner, initialAccumulator, epsilon, weightDecay));
    }
}
