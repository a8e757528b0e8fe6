namespace FunctionalNets.Nn

open FunctionalNets

/// Optimizers as chains of gradient transformations (see <c>GradTransform</c>), following PyTorch's update
/// rules and defaults so that ported code gets the same numbers. Each optimizer comes in three forms:
/// <c>adam 1e-3</c> (fixed learning rate, PyTorch defaults for the rest), <c>adamWith schedule</c>
/// (scheduled learning rate, defaults for the rest) and <c>adamCustom options schedule</c> (every
/// hyper-parameter). A fixed learning rate is stateless; a schedule keeps a count in the state, read
/// at <c>schedule(count)</c> with count = 0 on the first update. Optimizer state paths follow the chain:
/// e.g. Adam's first moment of parameter "0.weight" is at "0.mu.0.weight".
/// The gradient transformations themselves are re-exported here so a whole optimizer reads
/// <c>Optim.chain [ Optim.clipByGlobalNorm 1.0; Optim.adam 1e-3 ]</c>.
[<RequireQualifiedAccess>]
module Optim =
    /// SGD hyper-parameters besides the learning rate (PyTorch <c>torch.optim.SGD</c>, dampening 0).
    type SgdOptions =
        {
            /// Momentum factor; 0 disables the momentum buffer.
            Momentum: float
            /// Nesterov momentum (needs Momentum &gt; 0).
            Nesterov: bool
            /// Coupled L2 penalty: <c>g + weightDecay * p</c> before momentum (PyTorch's weight_decay).
            WeightDecay: float
        }

        /// PyTorch's defaults: no momentum, no weight decay.
        static member Default =
            {
                Momentum = 0.0
                Nesterov = false
                WeightDecay = 0.0
            }

    /// Adagrad hyper-parameters besides the learning rate (PyTorch <c>torch.optim.Adagrad</c>; its
    /// lr_decay is expressed as a schedule instead: <c>fun t -> lr / (1.0 + float t * lrDecay)</c>).
    type AdagradOptions =
        {
            /// Starting value of the sum of squared gradients.
            InitialAccumulator: float
            /// Added to the square root of the sum.
            Eps: float
            /// Coupled L2 penalty added to the gradient first.
            WeightDecay: float
        }

        /// PyTorch's defaults: accumulator 0, eps 1e-10, no weight decay.
        static member Default =
            {
                InitialAccumulator = 0.0
                Eps = 1e-10
                WeightDecay = 0.0
            }

    /// RMSprop hyper-parameters besides the learning rate (PyTorch <c>torch.optim.RMSprop</c>).
    type RmspropOptions =
        {
            /// Smoothing constant of the squared-gradient average.
            Alpha: float
            /// Added to the square root of the average (outside it, as PyTorch does).
            Eps: float
            /// Momentum on the scaled gradient; 0 disables it.
            Momentum: float
            /// Normalize by the variance estimate (squared average minus the squared mean gradient).
            Centered: bool
            /// Coupled L2 penalty added to the gradient first.
            WeightDecay: float
        }

        /// PyTorch's defaults: alpha 0.99, eps 1e-8, no momentum, not centered, no weight decay.
        static member Default =
            {
                Alpha = 0.99
                Eps = 1e-8
                Momentum = 0.0
                Centered = false
                WeightDecay = 0.0
            }

    /// Adam hyper-parameters besides the learning rate (PyTorch <c>torch.optim.Adam</c>).
    type AdamOptions =
        {
            /// Decay of the first moment.
            B1: float
            /// Decay of the second moment.
            B2: float
            /// Added to the square root of the corrected second moment.
            Eps: float
            /// Coupled L2 penalty added to the gradient before the moments (PyTorch Adam's weight_decay).
            WeightDecay: float
        }

        /// PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, no weight decay.
        static member Default =
            {
                B1 = 0.9
                B2 = 0.999
                Eps = 1e-8
                WeightDecay = 0.0
            }

    /// AdamW hyper-parameters besides the learning rate (PyTorch <c>torch.optim.AdamW</c>).
    type AdamWOptions =
        {
            /// Decay of the first moment.
            B1: float
            /// Decay of the second moment.
            B2: float
            /// Added to the square root of the corrected second moment.
            Eps: float
            /// Decoupled decay: <c>p &lt;- p - lr * weightDecay * p</c>, outside the moments.
            WeightDecay: float
            /// Which parameters decay (e.g. <c>DecayMask.ExcludeBiases</c>); PyTorch decays all.
            Mask: DecayMask
        }

        /// PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, weight decay 0.01 on every parameter.
        static member Default =
            {
                B1 = 0.9
                B2 = 0.999
                Eps = 1e-8
                WeightDecay = 0.01
                Mask = DecayMask.All
            }

    // ---- re-exported transformations (Optax's flat namespace) ----

    /// Applies transformations in order; see <c>GradTransform.chain</c>.
    let chain (transforms: GradTx list) : GradTx = GradTransform.chain transforms

    /// Adds updates to parameters; see <c>GradTransform.applyUpdates</c>.
    let applyUpdates (parameters: Params) (updates: Params) : Params =
        GradTransform.applyUpdates parameters updates

    /// Passes gradients through; see <c>GradTransform.identity</c>.
    let identity: GradTx = GradTransform.identity
    /// Multiplies gradients by a constant; see <c>GradTransform.scale</c>.
    let scale (factor: float) : GradTx = GradTransform.scale factor
    /// Multiplies gradients by schedule(count); see <c>GradTransform.scaleBySchedule</c>.
    let scaleBySchedule (schedule: Schedule) : GradTx = GradTransform.scaleBySchedule schedule
    /// Multiplies by -lr; see <c>GradTransform.scaleByLearningRate</c>.
    let scaleByLearningRate (lr: float) : GradTx = GradTransform.scaleByLearningRate lr

    /// Multiplies by -lr(count); see <c>GradTransform.scaleByLearningRateWith</c>.
    let scaleByLearningRateWith (lr: Schedule) : GradTx =
        GradTransform.scaleByLearningRateWith lr

    /// Adam's bias-corrected moments; see <c>GradTransform.scaleByAdam</c>.
    let scaleByAdam (b1: float) (b2: float) (eps: float) : GradTx = GradTransform.scaleByAdam b1 b2 eps

    /// RMSprop scaling (PyTorch's eps placement); see <c>GradTransform.scaleByRms</c>.
    let scaleByRms (decay: float) (eps: float) (centered: bool) : GradTx =
        GradTransform.scaleByRms decay eps centered

    /// Adagrad scaling (PyTorch's convention); see <c>GradTransform.scaleByAdagrad</c>.
    let scaleByAdagrad (initialAccumulator: float) (eps: float) : GradTx =
        GradTransform.scaleByAdagrad initialAccumulator eps

    /// Momentum buffer; see <c>GradTransform.trace</c>.
    let trace (decay: float) (nesterov: bool) : GradTx = GradTransform.trace decay nesterov

    /// Adds weightDecay * param where the mask selects; see <c>GradTransform.addDecayedWeights</c>.
    let addDecayedWeights (weightDecay: float) (mask: DecayMask) : GradTx =
        GradTransform.addDecayedWeights weightDecay mask

    /// Scales all gradients to a global norm of at most maxNorm; see <c>GradTransform.clipByGlobalNorm</c>.
    let clipByGlobalNorm (maxNorm: float) : GradTx = GradTransform.clipByGlobalNorm maxNorm
    /// Clamps gradient elements to [-maxDelta, maxDelta]; see <c>GradTransform.clipByValue</c>.
    let clipByValue (maxDelta: float) : GradTx = GradTransform.clipByValue maxDelta

    // ---- optimizers ----

    /// The optional pieces are left out of the chain rather than set to no-ops, as Optax does; the
    /// state layout then depends only on the options, which a checkpoint records with the config.
    let private coupledDecay (weightDecay: float) =
        if weightDecay <> 0.0 then
            [ GradTransform.addDecayedWeights weightDecay DecayMask.All ]
        else
            []

    let private sgdChain (o: SgdOptions) (lrTx: GradTx) =
        if o.Nesterov && o.Momentum <= 0.0 then
            invalidArg "options" "Optim.sgd: Nesterov momentum needs Momentum > 0 (as in PyTorch)."

        GradTransform.chain (
            coupledDecay o.WeightDecay
            @ (if o.Momentum <> 0.0 then
                   [ GradTransform.trace o.Momentum o.Nesterov ]
               else
                   [])
            @ [ lrTx ]
        )

    let private adagradChain (o: AdagradOptions) (lrTx: GradTx) =
        GradTransform.chain (
            coupledDecay o.WeightDecay
            @ [ GradTransform.scaleByAdagrad o.InitialAccumulator o.Eps; lrTx ]
        )

    let private rmspropChain (o: RmspropOptions) (lrTx: GradTx) =
        // PyTorch's momentum buffer accumulates the scaled gradient and is multiplied by lr afterwards:
        // a trace between the RMS scaling and the learning rate.
        GradTransform.chain (
            coupledDecay o.WeightDecay
            @ [ GradTransform.scaleByRms o.Alpha o.Eps o.Centered ]
            @ (if o.Momentum <> 0.0 then
                   [ GradTransform.trace o.Momentum false ]
               else
                   [])
            @ [ lrTx ]
        )

    let private adamChain (o: AdamOptions) (lrTx: GradTx) =
        GradTransform.chain (coupledDecay o.WeightDecay @ [ GradTransform.scaleByAdam o.B1 o.B2 o.Eps; lrTx ])

    let private adamwChain (o: AdamWOptions) (lrTx: GradTx) =
        // -lr * (adam + wd * p) is PyTorch's p - lr*wd*p - lr*adam: both terms use the same p and lr_t.
        GradTransform.chain (
            [ GradTransform.scaleByAdam o.B1 o.B2 o.Eps ]
            @ (if o.WeightDecay <> 0.0 then
                   [ GradTransform.addDecayedWeights o.WeightDecay o.Mask ]
               else
                   [])
            @ [ lrTx ]
        )

    /// Plain SGD: <c>p &lt;- p - lr * g</c>. State: <c>{ "0": {} }</c>.
    let sgd (lr: float) : GradTx =
        sgdChain SgdOptions.Default (GradTransform.scaleByLearningRate lr)

    /// Plain SGD with a scheduled learning rate. State: <c>{ "0": { count } }</c>.
    let sgdWith (lr: Schedule) : GradTx =
        sgdChain SgdOptions.Default (GradTransform.scaleByLearningRateWith lr)

    /// SGD with every PyTorch option: coupled weight decay, momentum (dampening 0), Nesterov.
    let sgdCustom (options: SgdOptions) (lr: Schedule) : GradTx =
        sgdChain options (GradTransform.scaleByLearningRateWith lr)

    /// SGD with momentum, PyTorch's rule: <c>buf = mu buf + g; p &lt;- p - lr buf</c>.
    /// State: <c>{ "0": { trace }; "1": {} }</c>.
    let momentum (lr: float) (mu: float) : GradTx =
        sgdChain
            { SgdOptions.Default with
                Momentum = mu
            }
            (GradTransform.scaleByLearningRate lr)

    /// SGD with momentum and a scheduled learning rate.
    let momentumWith (lr: Schedule) (mu: float) : GradTx =
        sgdChain
            { SgdOptions.Default with
                Momentum = mu
            }
            (GradTransform.scaleByLearningRateWith lr)

    /// SGD with Nesterov momentum, PyTorch's rule: <c>buf = mu buf + g; p &lt;- p - lr (g + mu buf)</c>.
    let nesterov (lr: float) (mu: float) : GradTx =
        sgdChain
            { SgdOptions.Default with
                Momentum = mu
                Nesterov = true
            }
            (GradTransform.scaleByLearningRate lr)

    /// SGD with Nesterov momentum and a scheduled learning rate.
    let nesterovWith (lr: Schedule) (mu: float) : GradTx =
        sgdChain
            { SgdOptions.Default with
                Momentum = mu
                Nesterov = true
            }
            (GradTransform.scaleByLearningRateWith lr)

    /// Adagrad, PyTorch's rule: <c>sum += g^2; p &lt;- p - lr g / (sqrt(sum) + 1e-10)</c> (PyTorch's
    /// default lr is 1e-2). State: <c>{ "0": { sum }; "1": {} }</c>.
    let adagrad (lr: float) : GradTx =
        adagradChain AdagradOptions.Default (GradTransform.scaleByLearningRate lr)

    /// Adagrad with a scheduled learning rate.
    let adagradWith (lr: Schedule) : GradTx =
        adagradChain AdagradOptions.Default (GradTransform.scaleByLearningRateWith lr)

    /// Adagrad with every option.
    let adagradCustom (options: AdagradOptions) (lr: Schedule) : GradTx =
        adagradChain options (GradTransform.scaleByLearningRateWith lr)

    /// RMSprop, PyTorch's rule: <c>v = 0.99 v + 0.01 g^2; p &lt;- p - lr g / (sqrt(v) + 1e-8)</c> (PyTorch's
    /// default lr is 1e-2). State: <c>{ "0": { nu }; "1": {} }</c>.
    let rmsprop (lr: float) : GradTx =
        rmspropChain RmspropOptions.Default (GradTransform.scaleByLearningRate lr)

    /// RMSprop with a scheduled learning rate.
    let rmspropWith (lr: Schedule) : GradTx =
        rmspropChain RmspropOptions.Default (GradTransform.scaleByLearningRateWith lr)

    /// RMSprop with every option (momentum, centered, weight decay).
    let rmspropCustom (options: RmspropOptions) (lr: Schedule) : GradTx =
        rmspropChain options (GradTransform.scaleByLearningRateWith lr)

    /// Adam, PyTorch's rule with betas (0.9, 0.999) and eps 1e-8:
    /// <c>p &lt;- p - lr m̂ / (sqrt(v̂) + eps)</c>. State: <c>{ "0": { count; mu; nu }; "1": {} }</c>.
    let adam (lr: float) : GradTx =
        adamChain AdamOptions.Default (GradTransform.scaleByLearningRate lr)

    /// Adam with a scheduled learning rate.
    let adamWith (lr: Schedule) : GradTx =
        adamChain AdamOptions.Default (GradTransform.scaleByLearningRateWith lr)

    /// Adam with every option (betas, eps, coupled L2 weight decay).
    let adamCustom (options: AdamOptions) (lr: Schedule) : GradTx =
        adamChain options (GradTransform.scaleByLearningRateWith lr)

    /// AdamW, PyTorch's rule with weight decay 0.01 on every parameter:
    /// <c>p &lt;- p - lr wd p - lr m̂ / (sqrt(v̂) + eps)</c>.
    /// State: <c>{ "0": { count; mu; nu }; "1": {}; "2": {} }</c>.
    let adamw (lr: float) : GradTx =
        adamwChain AdamWOptions.Default (GradTransform.scaleByLearningRate lr)

    /// AdamW with a scheduled learning rate (the decay uses the same lr(t), as PyTorch does).
    let adamwWith (lr: Schedule) : GradTx =
        adamwChain AdamWOptions.Default (GradTransform.scaleByLearningRateWith lr)

    /// AdamW with every option (betas, eps, weight decay, mask).
    let adamwCustom (options: AdamWOptions) (lr: Schedule) : GradTx =
        adamwChain options (GradTransform.scaleByLearningRateWith lr)
