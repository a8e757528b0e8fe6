namespace FunctionalNets.Nn

open FunctionalNets

/// A variational autoencoder (Kingma and Welling 2014): an encoder mapping an image to the mean and log-variance
/// of a Gaussian over the latent space (its output [N; 2 Latent]: means first), and a decoder mapping a latent
/// vector to pixel logits (Bernoulli likelihood). Parameters and state live under "encoder" and "decoder".
type Vae =
    {
        Encoder: Layer
        Decoder: Layer
        /// Dimensions of the latent space.
        Latent: int
        /// The per-example image shape, e.g. [1; 28; 28].
        ImageShape: int list
    }

/// Building, training and sampling a VAE.
[<RequireQualifiedAccess>]
module Vae =
    /// A convolutional VAE for MNIST ([1; 28; 28] images with pixels in [0, 1]): conv 4x4 stride 2 (1->32, 32->64),
    /// ReLU, a linear layer to 2 latent; the decoder mirrors it with a linear layer to 64 x 7 x 7 and two
    /// transposed convolutions 4x4 stride 2 (64->32, 32->1).
    let mnist (latent: int) : Vae =
        if latent < 1 then
            invalidArg "latent" (sprintf "Vae.mnist: the latent dimension must be >= 1, got %d." latent)

        {
            Encoder =
                Layer.sequential
                    [
                        Layers.conv2d (1, 32, 4, stride = 2, padding = 1)
                        Layers.relu ()
                        Layers.conv2d (32, 64, 4, stride = 2, padding = 1)
                        Layers.relu ()
                        Layers.flatten ()
                        Layers.linear ((64 * 7 * 7), (2 * latent))
                    ]
            Decoder =
                Layer.sequential
                    [
                        Layers.linear (latent, (64 * 7 * 7))
                        Layers.relu ()
                        Layers.unflatten [ 64; 7; 7 ]
                        Layers.convTranspose2d (64, 32, 4, stride = 2, padding = 1)
                        Layers.relu ()
                        Layers.convTranspose2d (32, 1, 4, stride = 2, padding = 1)
                    ]
            Latent = latent
            ImageShape = [ 1; 28; 28 ]
        }

    /// Parameters and state of both halves; Init checks that the encoder gives 2 Latent values and the decoder
    /// gives ImageShape.
    let init (vae: Vae) (key: Key) : Params * State =
        let ke, kd = Key.split key
        let encoded, pe, se = vae.Encoder.Init ke (Shape.ofList vae.ImageShape)
        let decoded, pd, sd = vae.Decoder.Init kd (Shape.ofList [ vae.Latent ])

        if
            encoded <> Shape.ofList [ 2 * vae.Latent ]
            || decoded <> Shape.ofList vae.ImageShape
        then
            invalidArg
                "vae"
                (sprintf
                    "Vae.init: the encoder gives %O (expected [%d]: means and log-variances) and the decoder %O (expected the image shape %A)."
                    encoded
                    (2 * vae.Latent)
                    decoded
                    vae.ImageShape)

        Layer.nonEmpty [ "encoder", pe; "decoder", pd ], Layer.nonEmpty [ "encoder", se; "decoder", sd ]

    let private half (name: string) (tree: PTree<Tensor>) = Layer.child name tree

    /// The posterior's mean and log-variance, each [N; Latent], and the encoder's new state.
    let encode (vae: Vae) (ps: Params) (state: State) (ctx: Ctx) (x: Tensor) : Tensor * Tensor * State =
        let h, s = vae.Encoder.Apply (half "encoder" ps) (half "encoder" state) ctx x
        Tensor.slice (h, 1, 0, vae.Latent), Tensor.slice (h, 1, vae.Latent, 2 * vae.Latent), s

    /// Pixel logits [N; ImageShape] for latent vectors z [N; Latent], and the decoder's new state.
    let decode (vae: Vae) (ps: Params) (state: State) (ctx: Ctx) (z: Tensor) : Tensor * State =
        vae.Decoder.Apply (half "decoder" ps) (half "decoder" state) ctx z

    /// The reparameterisation trick: mean + exp(logVar / 2) * eps with eps ~ N(0, I) drawn from key, so the
    /// sample is differentiable in the mean and log-variance.
    let reparameterize (key: Key) (mean: Tensor) (logVar: Tensor) : Tensor =
        mean
        + Tensor.exp (0.5 * logVar)
          * Tensor.randn (key, mean.Shape.ToArray(), mean.DType, mean.Device)

    /// KL(N(mean, exp logVar) || N(0, I)) in closed form, -1/2 sum_j (1 + logVar_j - mean_j^2 - exp logVar_j)
    /// per example, averaged over the batch ([N; Latent] inputs, a scalar in nats).
    let klDivergence (mean: Tensor) (logVar: Tensor) : Tensor =
        if mean.Shape <> logVar.Shape || mean.Rank <> 2 then
            invalidArg
                "logVar"
                (sprintf "Vae.klDivergence: mean %O and logVar %O must both be [N; Latent]." mean.Shape logVar.Shape)

        let perExample =
            Tensor.sum (1.0 + logVar - Tensor.square mean - Tensor.exp logVar, [ 1 ])

        -0.5 * Tensor.mean perExample

    /// The negative ELBO of a batch x [N; ImageShape] with pixels in [0, 1]: the Bernoulli reconstruction loss
    /// (binary cross-entropy summed over the pixels) plus the KL term, both averaged over the batch, in nats per
    /// image. The latent sample draws from key. Logs "reconstruction" and "kl".
    let objective (vae: Vae) (state: State) (key: Key) (x: Tensor) : Params -> ObjectiveResult =
        let pixels = List.fold (*) 1 vae.ImageShape

        fun (ps: Params) ->
            let ctx = Ctx.train key
            let mean, logVar, se = encode vae ps state ctx x
            let z = reparameterize (Key.foldIn 1 key) mean logVar
            let logits, sd = decode vae ps state ctx z
            let reconstruction = float pixels * Losses.bceWithLogits logits x
            let kl = klDivergence mean logVar

            {
                Loss = reconstruction + kl
                State = Layer.nonEmpty [ "encoder", se; "decoder", sd ]
                Logs = [ "reconstruction", reconstruction; "kl", kl ]
            }

    /// Reconstructions (pixel probabilities) of x through the posterior means, in Eval mode.
    let reconstruct (vae: Vae) (ps: Params) (state: State) (x: Tensor) : Tensor =
        let mean, _, _ = encode vae ps state Ctx.eval x
        Tensor.sigmoid (fst (decode vae ps state Ctx.eval mean))

    /// Images (pixel probabilities) decoded from latent vectors z [N; Latent], in Eval mode.
    let generate (vae: Vae) (ps: Params) (state: State) (z: Tensor) : Tensor =
        Tensor.sigmoid (fst (decode vae ps state Ctx.eval z))

    /// n images decoded from the prior N(0, I), drawn from key.
    let sample (vae: Vae) (ps: Params) (state: State) (n: int) (device: Device) (key: Key) : Tensor =
        generate vae ps state (Tensor.randn (key, [ n; vae.Latent ], DType.Float32, device))

    /// A rows x columns grid of latent vectors interpolating bilinearly between four corners [4; Latent]
    /// (top-left, top-right, bottom-left, bottom-right), row by row: [rows * columns; Latent].
    let interpolationGrid (rows: int) (columns: int) (corners: Tensor) : Tensor =
        if rows < 2 || columns < 2 then
            invalidArg
                "rows"
                (sprintf "Vae.interpolationGrid: rows and columns must be >= 2, got %d x %d." rows columns)

        if corners.Rank <> 2 || corners.Shape[0] <> 4 then
            invalidArg "corners" (sprintf "Vae.interpolationGrid: corners %O must be [4; Latent]." corners.Shape)

        let weights =
            Array.init (rows * columns) (fun k ->
                let v = float (k / columns) / float (rows - 1)
                let u = float (k % columns) / float (columns - 1)
                [| (1.0 - v) * (1.0 - u); (1.0 - v) * u; v * (1.0 - u); v * u |])
            |> Array.concat
            |> Array.map float32

        Tensor.matmul (Tensor.ofArray (weights, [ rows * columns; 4 ], corners.Device), corners)
