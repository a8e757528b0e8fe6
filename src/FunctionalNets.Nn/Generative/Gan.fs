namespace FunctionalNets.Nn

open FunctionalNets

/// A generative adversarial network (Goodfellow et al. 2014): a generator from latent vectors [N; Latent] to
/// images in [-1, 1] and a discriminator from images to one logit each ("real").
type Gan =
    {
        Generator: Layer
        Discriminator: Layer
        Latent: int
        /// The per-example image shape, e.g. [1; 28; 28].
        ImageShape: int list
    }

/// A GAN's training state: one train state per player, each with its own optimizer state. A training step maps
/// a pair to the next pair.
type GanState =
    {
        Generator: TrainState
        Discriminator: TrainState
    }

/// DCGAN for MNIST and the GAN training step as a pure function of the pair of train states.
[<RequireQualifiedAccess>]
module Gan =
    /// DCGAN (Radford et al. 2016) sized for 28 x 28 images: the generator maps z through transposed
    /// convolutions 7x7 (Latent -> 4 width, to 7 x 7), 4x4 stride 2 (-> 2 width, 14 x 14) and 4x4 stride 2
    /// (-> 1, 28 x 28), with BatchNorm and ReLU between them and tanh at the end; the discriminator mirrors it with
    /// 4x4 stride 2 convolutions (1 -> 2 width -> 4 width), LeakyReLU(0.2), BatchNorm on the second, and a linear
    /// layer to one logit.
    let dcganMnist (latent: int) (width: int) : Gan =
        if latent < 1 || width < 1 then
            invalidArg "width" (sprintf "Gan.dcganMnist: latent (%d) and width (%d) must be >= 1." latent width)

        {
            Generator =
                Layer.sequential
                    [
                        Layers.unflatten [ latent; 1; 1 ]
                        Layers.convTranspose2d (latent, 4 * width, 7, bias = false)
                        Layers.batchNorm2d (4 * width)
                        Layers.relu ()
                        Layers.convTranspose2d (4 * width, 2 * width, 4, stride = 2, padding = 1, bias = false)
                        Layers.batchNorm2d (2 * width)
                        Layers.relu ()
                        Layers.convTranspose2d (2 * width, 1, 4, stride = 2, padding = 1)
                        Layers.tanh ()
                    ]
            Discriminator =
                Layer.sequential
                    [
                        Layers.conv2d (1, 2 * width, 4, stride = 2, padding = 1)
                        Layers.leakyRelu 0.2
                        Layers.conv2d (2 * width, 4 * width, 4, stride = 2, padding = 1, bias = false)
                        Layers.batchNorm2d (4 * width)
                        Layers.leakyRelu 0.2
                        Layers.flatten ()
                        Layers.linear ((4 * width * 7 * 7), 1)
                    ]
            Latent = latent
            ImageShape = [ 1; 28; 28 ]
        }

    /// Both players' train states from one key (split per player), each with its own optimizer.
    let init (gan: Gan) (generatorTx: GradTx) (discriminatorTx: GradTx) (key: Key) : GanState =
        let kg, kd = Key.split key

        {
            Generator = Train.init gan.Generator [ gan.Latent ] generatorTx kg
            Discriminator = Train.init gan.Discriminator gan.ImageShape discriminatorTx kd
        }

    /// Images [N; ImageShape] in [-1, 1] from latent vectors z [N; Latent], with the generator in Eval mode
    /// (BatchNorm's running statistics).
    let generate (gan: Gan) (generator: TrainState) (z: Tensor) : Tensor =
        Layer.predict gan.Generator generator.Params generator.State z

    /// n images from latent vectors drawn from N(0, I) with key.
    let sample (gan: Gan) (generator: TrainState) (n: int) (device: Device) (key: Key) : Tensor =
        generate gan generator (Tensor.randn (key, [ n; gan.Latent ], DType.Float32, device))

    /// Images [N; ImageShape] in [-1, 1] from z with the generator's BatchNorm layers normalising by the statistics
    /// of this batch of z, as in training (the DCGAN reference code samples this way), rather than by the running
    /// statistics; the running statistics this pass would update are dropped. The result depends on the whole
    /// batch, so draw at least a few hundred z at once.
    let generateFromBatch (gan: Gan) (generator: TrainState) (z: Tensor) : Tensor =
        // The generator has no dropout: the key is never read, any fixed key makes this a function of z.
        fst (gan.Generator.Apply generator.Params generator.State (Ctx.train (Key.create 0L)) z)

    /// The generator whose parameters are `average` (an exponential moving average of its weights, Ema.update),
    /// with the trained generator's BatchNorm running statistics; sample from it with generate or
    /// generateFromBatch.
    let averaged (generator: TrainState) (average: Params) : TrainState = { generator with Params = average }

    let private ones (like: Tensor) = Tensor.onesLike like.NoDiff
    let private zeros (like: Tensor) = Tensor.zerosLike like.NoDiff

    /// One step of both players on a batch of real images [N; ImageShape] scaled to [-1, 1], as in the DCGAN
    /// paper: the discriminator's optimizer minimises BCE(D(real), 1) + BCE(D(G(z)), 0) with the generator's
    /// output held constant; then the generator's minimises the non-saturating BCE(D'(G(z)), 1) against the updated
    /// discriminator D', with the same z. z and the BatchNorm batches come from the discriminator's step key
    /// (Objective.stepKey), so the step is a pure function of the pair and the batch. Logs "d_loss", "g_loss",
    /// "d_real" and "d_fake" (the discriminator's mean probability of "real" on each half).
    let step
        (gan: Gan)
        (generatorTx: GradTx)
        (discriminatorTx: GradTx)
        (state: GanState)
        (real: Tensor)
        : GanState * Logs =
        if
            real.Rank < 1
            || List.tail (List.ofArray (real.Shape.ToArray())) <> gan.ImageShape
        then
            invalidArg "real" (sprintf "Gan.step: the real batch %O must be [N; %A]." real.Shape gan.ImageShape)

        let key = Objective.stepKey state.Discriminator
        let kz, kg, kd = Key.foldIn 0 key, Key.foldIn 1 key, Key.foldIn 2 key

        Scope.runKeeping
            (fun (s: GanState, _) ->
                box
                    [
                        s.Generator.Params
                        s.Generator.State
                        s.Generator.Opt
                        s.Discriminator.Params
                        s.Discriminator.State
                        s.Discriminator.Opt
                    ])
            (fun () ->
                let z = Tensor.randn (kz, [ real.Shape[0]; gan.Latent ], real.DType, real.Device)
                let g = state.Generator

                let fake = (fst (gan.Generator.Apply g.Params g.State (Ctx.train kg) z)).NoDiff

                let discriminator, dLogs =
                    Objective.step
                        "Gan.step (discriminator)"
                        discriminatorTx
                        (fun pd ->
                            let d = state.Discriminator
                            let onReal, s1 = gan.Discriminator.Apply pd d.State (Ctx.train kd) real
                            let onFake, s2 = gan.Discriminator.Apply pd s1 (Ctx.train kd) fake

                            {
                                Loss =
                                    Losses.bceWithLogits onReal (ones onReal)
                                    + Losses.bceWithLogits onFake (zeros onFake)
                                State = s2
                                Logs =
                                    [
                                        "d_real", Tensor.mean (Tensor.sigmoid onReal)
                                        "d_fake", Tensor.mean (Tensor.sigmoid onFake)
                                    ]
                            })
                        state.Discriminator

                let generator, gLogs =
                    Objective.step
                        "Gan.step (generator)"
                        generatorTx
                        (fun pg ->
                            let images, sg = gan.Generator.Apply pg g.State (Ctx.train kg) z

                            let judged, _ =
                                gan.Discriminator.Apply discriminator.Params discriminator.State (Ctx.train kd) images

                            {
                                Loss = Losses.bceWithLogits judged (ones judged)
                                State = sg
                                Logs = []
                            })
                        g

                let logs =
                    Map.ofList
                        [
                            "d_loss", dLogs["loss"]
                            "g_loss", gLogs["loss"]
                            "d_real", dLogs["d_real"]
                            "d_fake", dLogs["d_fake"]
                        ]

                {
                    Generator = generator
                    Discriminator = discriminator
                },
                logs)

    /// Gan.step, then the exponential moving average of the generator's weights moved towards the new ones
    /// (Ema.update with Ema.warmedDecay decay at the generator's new step count): (pair, average) to the next pair
    /// and average, one pure step for a training fold whose samples come from the averaged generator
    /// (Gan.averaged), which are cleaner than the last step's for GANs (Yazici et al. 2019). Start the average at
    /// the initial generator's parameters.
    let stepAveraged
        (gan: Gan)
        (generatorTx: GradTx)
        (discriminatorTx: GradTx)
        (decay: float)
        (state: GanState, average: Params)
        (real: Tensor)
        : (GanState * Params) * Logs =
        let next, logs = step gan generatorTx discriminatorTx state real
        (next, Ema.update (Ema.warmedDecay decay next.Generator.Step) average next.Generator.Params), logs
