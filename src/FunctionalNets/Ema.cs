using NnEma = FunctionalNets.Nn.Ema;

namespace FunctionalNets;

/// <summary>Exponential moving averages of parameters (Polyak averaging), which generative models sample from:
/// the average of the last few thousand steps' weights gives cleaner samples than the last step's. In a
/// hand-written loop, after each optimizer step:
/// <code>
/// average = Ema.Update(average, parameters, decay: 0.995);
/// </code>
/// starting from <c>average = parameters</c>.</summary>
public static class Ema
{
    /// <summary>decay · average + (1 − decay) · parameters, path by path, without derivatives; a new tree.</summary>
    /// <param name="average">The running average (the paths, shapes and dtypes of the parameters).</param>
    /// <param name="parameters">The parameters after this step.</param>
    /// <param name="decay">The weight of the old average, in [0, 1] (0.995 averages over about 200 steps).</param>
    public static ParameterTree Update(ParameterTree average, ParameterTree parameters, double decay = 0.999)
    {
        const string method = "Ema.Update";
        var a = Guard.NotNull(average, nameof(average), method);
        var p = Guard.NotNull(parameters, nameof(parameters), method);
        Guard.SamePaths(a, p, nameof(parameters), method);
        return new ParameterTree(GenerativeTerms.Run(method, "Ema.update", () => NnEma.update(decay, a.Inner, p.Inner)));
    }
}
