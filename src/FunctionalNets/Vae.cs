using NnVae = FunctionalNets.Nn.VaeModule;

namespace FunctionalNets;

/// <summary>The pieces of a variational autoencoder (Kingma and Welling 2014) that are not layers: the
/// reparameterised sample, the closed-form KL term of the negative ELBO, and the latent grid that interpolates between
/// four codes. samples/Vae trains one with a hand-written loop.</summary>
public static class Vae
{
    /// <summary>mean + exp(logVar / 2) · eps with eps ~ N(0, I) drawn from <paramref name="key"/>: a sample of
    /// N(mean, exp logVar) that is differentiable in the mean and the log-variance.</summary>
    /// <param name="mean">The posterior means [N, Latent].</param>
    /// <param name="logVar">The posterior log-variances, mean's shape.</param>
    /// <param name="key">The draw's randomness (one per step: <c>key.FoldIn(step)</c>).</param>
    public static Tensor Reparameterize(Tensor mean, Tensor logVar, Key key)
    {
        const string method = "Vae.Reparameterize";
        var m = Guard.NotNull(mean, nameof(mean), method);
        var lv = Guard.NotNull(logVar, nameof(logVar), method);
        return CSharpTerms.Run(() => NnVae.reparameterize(key, m, lv));
    }

    /// <summary>KL(N(mean, exp logVar) ‖ N(0, I)) = −½ Σ_j (1 + logVar_j − mean_j² − exp logVar_j) per example,
    /// averaged over the batch: a scalar in nats.</summary>
    /// <param name="mean">The posterior means [N, Latent].</param>
    /// <param name="logVar">The posterior log-variances [N, Latent].</param>
    public static Tensor KlDivergence(Tensor mean, Tensor logVar)
    {
        const string method = "Vae.KlDivergence";
        var m = Guard.NotNull(mean, nameof(mean), method);
        var lv = Guard.NotNull(logVar, nameof(logVar), method);
        return GenerativeTerms.Run(method, "Vae.klDivergence", () => NnVae.klDivergence(m, lv));
    }

    /// <summary>A rows × columns grid of latent vectors blending four corners bilinearly (top left, top right,
    /// bottom left, bottom right), row by row: [rows · columns, Latent].</summary>
    /// <param name="corners">The four codes [4, Latent].</param>
    /// <param name="rows">Rows (&gt;= 2).</param>
    /// <param name="columns">Columns (&gt;= 2).</param>
    public static Tensor InterpolationGrid(Tensor corners, int rows, int columns)
    {
        const string method = "Vae.InterpolationGrid";
        var c = Guard.NotNull(corners, nameof(corners), method);
        return GenerativeTerms.Run(method, "Vae.interpolationGrid", () => NnVae.interpolationGrid(rows, columns, c));
    }
}
