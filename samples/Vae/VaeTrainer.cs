using FunctionalNets;

namespace GenerativeSamples;

/// <summary>A convolutional VAE (Kingma and Welling 2014) for 28 x 28 digits: an encoder Net to the mean and log
/// variance of q(z | x), a decoder Net from z [N, Latent, 1, 1] to pixel logits, trained by a hand-written loop on
/// the negative ELBO (Bernoulli reconstruction + KL to N(0, I)) with z drawn by reparameterisation from the run's
/// key.</summary>
public sealed class VaeTrainer : IDisposable
{
    // One Adam over both nets' parameters joined into one tree ("encoder.*", "decoder.*"), so one backward pass
    // gives both gradients.
    private readonly Optimizer tx = Optimizers.Adam(1e-3);
    private readonly Loss reconstruction = Losses.BCEWithLogits(reduction: Reduction.Sum);
    private readonly Key key;
    private readonly ParameterTree eState, dState;
    private ParameterTree parameters, opt;
    private long step;

    /// <summary>Latent size.</summary>
    public int Latent { get; }

    /// <summary>The encoder: images [N, 1, 28, 28] in [0, 1] to [N, 2 Latent] (mean, then log variance).</summary>
    public Net Encoder { get; }

    /// <summary>The decoder: z [N, Latent, 1, 1] to pixel logits [N, 1, 28, 28].</summary>
    public Net Decoder { get; }

    /// <summary>Both nets built from the seed.</summary>
    public VaeTrainer(int latent = 16, int seed = 0, Device? device = null)
    {
        Latent = latent;
        Encoder = Net.Sequential(
            Layers.Conv2d(1, 32, 4, stride: 2, padding: 1), Layers.ReLU(),
            Layers.Conv2d(32, 64, 4, stride: 2, padding: 1), Layers.ReLU(),
            Layers.Flatten(), Layers.Linear(64 * 7 * 7, 2 * latent)).Build([1, 28, 28], seed).To(device ?? Devices.Cpu);
        Decoder = Net.Sequential(
            Layers.ConvTranspose2d(latent, 64, 7), Layers.ReLU(),
            Layers.ConvTranspose2d(64, 32, 4, stride: 2, padding: 1), Layers.ReLU(),
            Layers.ConvTranspose2d(32, 1, 4, stride: 2, padding: 1)).Build([latent, 1, 1], seed + 1).To(device ?? Devices.Cpu);
        key = Key.Create(seed).FoldIn(3);
        (eState, dState) = (Encoder.State, Decoder.State);
        parameters = ParameterTree.Join(("encoder", Encoder.Parameters), ("decoder", Decoder.Parameters));
        opt = tx.Init(parameters);
    }

    private (Tensor Mean, Tensor LogVar) Encode(ParameterTree p, Tensor images)
    {
        var h = Encoder.Apply(p, eState, images, training: true, step: step).Output;
        return (h.Slice(1, start: 0, stop: Latent), h.Slice(1, start: Latent, stop: 2 * Latent));
    }

    /// <summary>The negative ELBO per image: reconstruction (summed over pixels) plus KL(q(z | x) || N(0, I)).</summary>
    private (Tensor Loss, Tensor Reconstruction, Tensor Kl) NegativeElbo(Tensor images, Tensor mean, Tensor logVar, Tensor logits)
    {
        double n = images.Dims()[0];
        var rec = reconstruction.Compute(logits, images) / n;
        var kl = FunctionalNets.Vae.KlDivergence(mean, logVar);
        return (rec + kl, rec, kl);
    }

    /// <summary>One step on images [N, 1, 28, 28] in [0, 1]: the gradient of the negative ELBO with respect to both
    /// nets' parameters in one pass, z drawn by reparameterisation.</summary>
    /// <returns>The negative ELBO, its reconstruction and KL parts, per image.</returns>
    public (double Loss, double Reconstruction, double Kl) Step(Tensor images)
    {
        using var scope = Scope.Open();
        int n = images.Dims()[0];
        Tensor rec = null!, kl = null!;
        var (loss, grads) = Gradients.ValueAndGrad(p =>
        {
            var (mean, logVar) = Encode(p.Subtree("encoder"), images);
            var z = FunctionalNets.Vae.Reparameterize(mean, logVar, key.FoldIn((int)step)).Reshape([n, Latent, 1, 1]);
            var logits = Decoder.Apply(p.Subtree("decoder"), dState, z, training: true, step: step).Output;
            var elbo = NegativeElbo(images, mean, logVar, logits);
            (rec, kl) = (elbo.Reconstruction.Detach(), elbo.Kl.Detach());
            return elbo.Loss;
        }, parameters);
        (parameters, opt) = tx.Update(step, grads, opt, parameters);
        scope.Keep((parameters, opt));
        step++;
        return (loss.ToScalar(), rec.ToScalar(), kl.ToScalar());
    }

    /// <summary>The posterior means [N, Latent, 1, 1] of images [N, 1, 28, 28] in [0, 1].</summary>
    public Tensor Code(Tensor images)
    {
        using var scope = Scope.Open();
        var h = Encoder.Apply(parameters.Subtree("encoder"), eState, images).Output;
        return scope.Keep(h.Slice(1, start: 0, stop: Latent).Reshape([images.Dims()[0], Latent, 1, 1]));
    }

    /// <summary>Reconstructions in [0, 1] of images [N, 1, 28, 28] in [0, 1] (decoding the posterior mean).</summary>
    public Tensor Reconstruct(Tensor images) => Decode(Code(images));

    /// <summary>A side x side grid of images decoded from the bilinear blend of four images' codes, one at each
    /// corner (top left, top right, bottom left, bottom right), row by row.</summary>
    public Tensor Interpolate(Tensor corners, int side)
    {
        using var scope = Scope.Open();
        var codes = Code(corners).Reshape([4, Latent]);
        return scope.Keep(Decode(FunctionalNets.Vae.InterpolationGrid(codes, side, side).Reshape([side * side, Latent, 1, 1])));
    }

    /// <summary>Images in [0, 1] decoded from z [N, Latent, 1, 1].</summary>
    public Tensor Decode(Tensor z)
    {
        using var scope = Scope.Open();
        return scope.Keep(Decoder.Apply(parameters.Subtree("decoder"), dState, z).Output.Sigmoid());
    }

    /// <summary>n latent vectors [n, Latent, 1, 1] from the prior N(0, I).</summary>
    public Tensor Prior(int n, Key key) => Tensor.Randn(key, [n, Latent, 1, 1]);

    /// <summary>Stores the trained parameters in the two nets.</summary>
    public void Commit()
    {
        Encoder.SetParameters(parameters.Subtree("encoder"));
        Decoder.SetParameters(parameters.Subtree("decoder"));
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Encoder.Dispose();
        Decoder.Dispose();
    }
}
