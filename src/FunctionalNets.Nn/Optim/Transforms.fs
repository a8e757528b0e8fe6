namespace FunctionalNets.Nn

open FunctionalNets

/// Which parameters weight decay applies to.
[<RequireQualifiedAccess>]
type DecayMask =
    /// Every parameter.
    | All
    /// A tree of the parameters' structure: decay only the leaves marked true.
    | Tree of PTree<bool>
    /// A predicate on the parameter's dotted path ("0.weight", "3.bias"): decay only where it holds.
    | Path of (string -> bool)

    /// A mask that skips every parameter whose last path segment is "bias" (the usual choice for AdamW).
    static member ExcludeBiases =
        DecayMask.Path(fun path ->
            let name =
                match path.LastIndexOf '.' with
                | -1 -> path
                | i -> path.Substring(i + 1)

            name <> "bias")

/// Gradient transformations in Optax's shape: each is a GradTx whose state is a tensor tree, so an
/// optimizer is a fold over steps and its state is saved with the weights. Transformations without
/// state use an empty node. Every Update receives the step (the number of updates before this one) from the
/// host, so no update reads the device. Transformations that depend on the step also keep a Float64 scalar
/// "count" leaf in their state, written from the host step, so checkpoints keep their layout.
[<RequireQualifiedAccess>]
module GradTransform =
    let private emptyState: PTree<Tensor> = PTree.empty

    let private stateless (f: Params -> Params -> Params) : GradTx =
        {
            Init = fun _ -> emptyState
            Update = fun _ grads state parameters -> f grads parameters, state
        }

    /// The count starts at zero on the parameters' device, so a checkpointed state reloads where it ran.
    let private zeroCount (parameters: Params) =
        match PTree.values parameters with
        | p :: _ -> Tensor.scalar (0.0, DType.Float64, p.Device)
        | [] -> Tensor.scalar (0.0, DType.Float64)

    let private nextCount (count: Tensor) (n: int64) =
        Tensor.scalar (float (n + 1L), DType.Float64, count.Device)

    /// Passes gradients through unchanged.
    let identity: GradTx = stateless (fun grads _ -> grads)

    /// Multiplies every gradient by a constant.
    let scale (factor: float) : GradTx =
        stateless (fun grads _ -> PTree.map (fun g -> g * factor) grads)

    /// Multiplies every gradient by <c>schedule(count)</c>, count being the number of updates made before
    /// this one (0 for the first). State: <c>{ count }</c>.
    let scaleBySchedule (schedule: Schedule) : GradTx =
        {
            Init = fun parameters -> ({ Count = zeroCount parameters }: CountState).ToTree()
            Update =
                fun step grads state _ ->
                    let s = CountState.OfTree("scaleBySchedule", state)
                    let factor = schedule step

                    PTree.map (fun g -> g * factor) grads,
                    { s with
                        Count = nextCount s.Count step
                    }
                        .ToTree()
        }

    /// Multiplies by <c>-lr</c>, turning a descent direction into an update (Optax
    /// <c>scale_by_learning_rate</c> with a constant). Stateless.
    let scaleByLearningRate (lr: float) : GradTx =
        scale -lr |> LearningRates.annotate (fun _ -> lr)

    /// Multiplies by <c>-lr(count)</c>, count being the number of updates made before this one.
    /// State: <c>{ count }</c>.
    let scaleByLearningRateWith (lr: Schedule) : GradTx =
        scaleBySchedule (fun step -> -(lr step)) |> LearningRates.annotate lr

    /// Adam's moment estimates with bias correction (Optax <c>scale_by_adam</c>, eps_root = 0, which is
    /// also PyTorch's Adam): <c>m = b1 m + (1 - b1) g</c>, <c>v = b2 v + (1 - b2) g^2</c>, update
    /// <c>(m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)</c> with t the 1-based step.
    /// State: <c>{ count; mu; nu }</c>, mu and nu shaped like the parameters.
    let scaleByAdamWith (b1: Schedule) (b2: float) (eps: float) : GradTx =
        let b1Of = b1

        {
            Init =
                fun parameters ->
                    ({
                        Count = zeroCount parameters
                        Mu = PTree.map Tensor.zerosLike parameters
                        Nu = PTree.map Tensor.zerosLike parameters
                    }
                    : AdamState)
                        .ToTree()
            Update =
                fun step grads state _ ->
                    let s = AdamState.OfTree("scaleByAdam", state)
                    // torch reads beta1 from the param group at each step (a scheduler may cycle it) and corrects
                    // the bias with the current value.
                    let b1 = b1Of step
                    let count = nextCount s.Count step
                    let t = float (step + 1L)
                    // The corrections are host floats: the step comes from the host and they are scalars.
                    let bc1 = 1.0 - System.Math.Pow(b1, t)
                    let bc2 = 1.0 - System.Math.Pow(b2, t)
                    let mu0, nu0 = s.Mu, s.Nu
                    let leaves = [ grads; mu0; nu0 ] |> List.collect PTree.values

                    if leaves |> List.forall (fun (x: Tensor) -> not x.IsDifferentiable) then
                        // The usual case: nothing differentiates through the optimizer, so one fused pass per leaf.
                        let steps =
                            PTree.map3
                                (fun (g: Tensor) (m: Tensor) (v: Tensor) ->
                                    Tensor.adamStep (g, m, v, b1, b2, eps, bc1, bc2))
                                grads
                                mu0
                                nu0

                        let part f = PTree.map f steps

                        let mu = part (fun (m, _, _) -> m)
                        let nu = part (fun (_, v, _) -> v)
                        let updates = part (fun (_, _, u) -> u)
                        updates, { Count = count; Mu = mu; Nu = nu }.ToTree()
                    else
                        let mu = PTree.map2 (fun m g -> b1 * m + (1.0 - b1) * g) mu0 grads
                        let nu = PTree.map2 (fun v (g: Tensor) -> b2 * v + (1.0 - b2) * (g * g)) nu0 grads

                        let updates =
                            PTree.map2 (fun m v -> (m / bc1) / (Tensor.sqrt (v / bc2) + eps)) mu nu

                        updates, { Count = count; Mu = mu; Nu = nu }.ToTree()
        }

    /// Adam's scaling with a constant beta1; see scaleByAdamWith.
    let scaleByAdam (b1: float) (b2: float) (eps: float) : GradTx = scaleByAdamWith (fun _ -> b1) b2 eps

    /// AMSGrad (PyTorch's Adam with amsgrad = true): Adam's moments, plus the running maximum of the second
    /// moment, <c>nuMax = max(nuMax, nu)</c>, used in the denominator:
    /// <c>(m / (1 - b1^t)) / (sqrt(nuMax / (1 - b2^t)) + eps)</c>. State: <c>{ count; mu; nu; nuMax }</c>.
    let scaleByAmsgradWith (b1: Schedule) (b2: float) (eps: float) : GradTx =
        let b1Of = b1

        {
            Init =
                fun parameters ->
                    ({
                        Count = zeroCount parameters
                        Mu = PTree.map Tensor.zerosLike parameters
                        Nu = PTree.map Tensor.zerosLike parameters
                        NuMax = PTree.map Tensor.zerosLike parameters
                    }
                    : AmsgradState)
                        .ToTree()
            Update =
                fun step grads state _ ->
                    let s = AmsgradState.OfTree("scaleByAmsgrad", state)
                    let b1 = b1Of step
                    let t = float (step + 1L)
                    let bc1 = 1.0 - System.Math.Pow(b1, t)
                    let bc2 = 1.0 - System.Math.Pow(b2, t)

                    let mu = PTree.map2 (fun m g -> b1 * m + (1.0 - b1) * g) s.Mu grads

                    let nu = PTree.map2 (fun v (g: Tensor) -> b2 * v + (1.0 - b2) * (g * g)) s.Nu grads

                    let nuMax = PTree.map2 (fun a b -> Tensor.maximum (a, b)) s.NuMax nu

                    let updates =
                        PTree.map2 (fun m v -> (m / bc1) / (Tensor.sqrt (v / bc2) + eps)) mu nuMax

                    updates,
                    {
                        Count = nextCount s.Count step
                        Mu = mu
                        Nu = nu
                        NuMax = nuMax
                    }
                        .ToTree()
        }

    /// AMSGrad's scaling with a constant beta1; see scaleByAmsgradWith.
    let scaleByAmsgrad (b1: float) (b2: float) (eps: float) : GradTx = scaleByAmsgradWith (fun _ -> b1) b2 eps

    /// RMSprop scaling in PyTorch's convention (eps outside the square root, unlike Optax's
    /// <c>scale_by_rms</c>): <c>v = decay v + (1 - decay) g^2</c>, update <c>g / (sqrt(v) + eps)</c>; when
    /// centered, also <c>a = decay a + (1 - decay) g</c> and the update is <c>g / (sqrt(v - a^2) + eps)</c>.
    /// v starts at 0 as in PyTorch. State: <c>{ nu }</c>, or <c>{ mu; nu }</c> when centered (mu = a).
    let scaleByRms (decay: float) (eps: float) (centered: bool) : GradTx =
        {
            Init =
                fun parameters ->
                    {
                        Mu =
                            (if centered then
                                 Some(PTree.map Tensor.zerosLike parameters)
                             else
                                 None)
                        Nu = PTree.map Tensor.zerosLike parameters
                    }
                        .ToTree()
            Update =
                fun _ grads state _ ->
                    let s = RmsState.OfTree("scaleByRms", centered, state)

                    let nu =
                        PTree.map2 (fun v (g: Tensor) -> decay * v + (1.0 - decay) * (g * g)) s.Nu grads

                    match s.Mu with
                    | Some mu0 ->
                        let mu = PTree.map2 (fun a g -> decay * a + (1.0 - decay) * g) mu0 grads

                        let updates =
                            PTree.map3 (fun g v (a: Tensor) -> g / (Tensor.sqrt (v - a * a) + eps)) grads nu mu

                        updates, { Mu = Some mu; Nu = nu }.ToTree()
                    | None ->
                        PTree.map2 (fun g v -> g / (Tensor.sqrt v + eps)) grads nu, { Mu = None; Nu = nu }.ToTree()
        }

    /// Adagrad scaling in PyTorch's convention: <c>sum = sum + g^2</c> (starting at
    /// initialAccumulator), update <c>g / (sqrt(sum) + eps)</c>. State: <c>{ sum }</c>.
    let scaleByAdagrad (initialAccumulator: float) (eps: float) : GradTx =
        {
            Init =
                fun parameters ->
                    {
                        Sum = PTree.map (fun p -> Tensor.fullLike (p, initialAccumulator)) parameters
                    }
                        .ToTree()
            Update =
                fun _ grads state _ ->
                    let s = AdagradState.OfTree("scaleByAdagrad", state)
                    let sum = PTree.map2 (fun s (g: Tensor) -> s + g * g) s.Sum grads
                    PTree.map2 (fun g s -> g / (Tensor.sqrt s + eps)) grads sum, { Sum = sum }.ToTree()
        }

    /// PyTorch SGD's momentum buffer with a momentum evaluated at each step (a schedule, e.g. one-cycle's) and
    /// dampening: <c>buf = g</c> on the first update, then <c>buf = momentum buf + (1 - dampening) g</c>; the update
    /// is buf, or <c>g + momentum buf</c> when nesterov. State: <c>{ trace }</c>.
    let traceWith (momentum: Schedule) (dampening: float) (nesterov: bool) : GradTx =
        {
            Init =
                fun parameters ->
                    {
                        Trace = PTree.map Tensor.zerosLike parameters
                    }
                        .ToTree()
            Update =
                fun step grads state _ ->
                    let decay = momentum step
                    let previous = (TraceState.OfTree("trace", state)).Trace

                    // torch starts the buffer at the gradient itself, undampened.
                    let buf =
                        if step = 0L || dampening = 0.0 then
                            PTree.map2 (fun b g -> decay * b + g) previous grads
                        else
                            PTree.map2 (fun b g -> decay * b + (1.0 - dampening) * g) previous grads

                    let updates =
                        if nesterov then
                            PTree.map2 (fun g b -> g + decay * b) grads buf
                        else
                            buf

                    updates, { Trace = buf }.ToTree()
        }

    /// Momentum (Optax <c>trace</c>, PyTorch SGD's momentum buffer with dampening 0):
    /// <c>buf = decay buf + g</c>; the update is buf, or <c>g + decay buf</c> when nesterov.
    /// The buffer starts at 0, which gives PyTorch's first step (buf = g) exactly. State: <c>{ trace }</c>.
    let trace (decay: float) (nesterov: bool) : GradTx = traceWith (fun _ -> decay) 0.0 nesterov

    /// Adds <c>weightDecay * param</c> to the gradient of every parameter the mask selects (Optax
    /// <c>add_decayed_weights</c>). Before the scaling it is PyTorch's coupled L2 <c>weight_decay</c>;
    /// after an adaptive scaling and before the learning rate it is AdamW's decoupled decay. Stateless.
    let addDecayedWeights (weightDecay: float) (mask: DecayMask) : GradTx =
        stateless (fun grads parameters ->
            match mask with
            | DecayMask.All -> PTree.map2 (fun g p -> g + weightDecay * p) grads parameters
            | DecayMask.Tree m -> PTree.map3 (fun g p on -> if on then g + weightDecay * p else g) grads parameters m
            | DecayMask.Path keep ->
                PTree.map2 (fun g p -> g, p) grads parameters
                |> PTree.mapWithPath (fun path (g, p) -> if keep path then g + weightDecay * p else g))

    /// The global L2 norm of a tree: the square root of the sum of every element squared, in Float64.
    let globalNorm (tree: PTree<Tensor>) : Tensor =
        match PTree.values tree with
        | [] -> Tensor.scalar (0.0, DType.Float64)
        | leaves ->
            leaves
            |> List.map (fun g -> Tensor.sum (Tensor.cast (g * g, DType.Float64)))
            |> List.reduce (+)
            |> Tensor.sqrt

    /// Scales all gradients together by <c>min(1, maxNorm / globalNorm)</c> (Optax
    /// <c>clip_by_global_norm</c>): the clipped tree has norm exactly maxNorm, and a tree already within it
    /// is left as it is. PyTorch's <c>clip_grad_norm_</c> divides by <c>norm + 1e-6</c> instead, a relative
    /// difference of about 1e-6 / norm. Stateless.
    let clipByGlobalNorm (maxNorm: float) : GradTx =
        stateless (fun grads _ ->
            if PTree.count grads = 0 then
                grads
            else
                // The factor stays a tensor so no value leaves the device; a zero norm gives +inf, clamped to 1.
                let factor = Tensor.clamp (maxNorm / globalNorm grads, max = 1.0)
                PTree.map (fun (g: Tensor) -> g * Tensor.cast (factor, g.DType)) grads)

    /// Clamps every gradient element to [-maxDelta, maxDelta] (Optax <c>clip</c>, PyTorch
    /// <c>clip_grad_value_</c>). Stateless.
    let clipByValue (maxDelta: float) : GradTx =
        stateless (fun grads _ -> PTree.map (fun g -> Tensor.clamp (g, -maxDelta, maxDelta)) grads)

    let private chainAll (transforms: GradTx list) : GradTx =
        let txs = Array.ofList transforms

        {
            Init = fun parameters -> PTree.node [ for i in 0 .. txs.Length - 1 -> string i, txs[i].Init parameters ]
            Update =
                fun step grads state parameters ->
                    let states =
                        match state with
                        | Node kids when kids.Length = txs.Length -> kids |> List.map snd |> Array.ofList
                        | _ ->
                            invalidArg
                                "state"
                                (sprintf
                                    "chain: expected a state node with %d entries; was it built by this chain's Init?"
                                    txs.Length)

                    let updates, nextStates =
                        Array.zip txs states
                        |> Array.fold
                            (fun (u, acc) (tx, st) ->
                                let u', st' = tx.Update step u st parameters
                                u', st' :: acc)
                            (grads, [])

                    updates, PTree.node (nextStates |> List.rev |> List.mapi (fun i s -> string i, s))
        }

    /// Applies transformations in order, each to the previous one's updates (Optax <c>chain</c>).
    /// The state is a node <c>{ "0": s0; "1": s1; ... }</c>, so paths read "1.mu.0.weight". The chain
    /// applies the learning rate of its first member that has one (LearningRates).
    let chain (transforms: GradTx list) : GradTx =
        match List.tryPick LearningRates.tryFind transforms with
        | Some lr -> LearningRates.annotate lr (chainAll transforms)
        | None -> chainAll transforms

    /// Adds updates to parameters leafwise (Optax <c>apply_updates</c>); updates are cast to each
    /// parameter's dtype so a Float64 schedule never widens Float32 weights.
    let applyUpdates (parameters: Params) (updates: Params) : Params =
        PTree.map2 (fun (p: Tensor) u -> p + Tensor.cast (u, p.DType)) parameters updates
