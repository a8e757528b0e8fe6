namespace FunctionalNets.Nn

open System
open FunctionalNets

/// Embeddings of diffusion timesteps (or any scalar per example) as feature vectors.
[<RequireQualifiedAccess>]
module TimeEmbedding =
    /// The sinusoidal embedding of the Transformer and of DDPM's U-Net: for t [N] (float) and an even dim,
    /// [N; dim] whose first half is sin(t f_k) and second half cos(t f_k), with frequencies
    /// f_k = maxPeriod^(-k / (dim / 2)) for k = 0 .. dim / 2 - 1 (maxPeriod 10000 in both papers).
    let sinusoidal (dim: int) (maxPeriod: float) (t: Tensor) : Tensor =
        if dim < 2 || dim % 2 <> 0 then
            invalidArg "dim" (sprintf "TimeEmbedding.sinusoidal: dim must be even and >= 2, got %d." dim)

        if not (maxPeriod > 1.0) then
            invalidArg "maxPeriod" (sprintf "TimeEmbedding.sinusoidal: maxPeriod must be > 1, got %g." maxPeriod)

        if t.Rank <> 1 then
            invalidArg "t" (sprintf "TimeEmbedding.sinusoidal: t must be one value per example [N], got %O." t.Shape)

        let half = dim / 2

        let frequencies =
            Tensor.ofArray (
                Array.init half (fun k -> float32 (Math.Exp(-Math.Log maxPeriod * float k / float half))),
                [ 1; half ],
                t.Device
            )

        let angles =
            Tensor.reshape (Tensor.cast (t, DType.Float32), [ -1; 1 ]) * frequencies

        Tensor.cat ([ Tensor.sin angles; Tensor.cos angles ], 1)
