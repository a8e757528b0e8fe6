namespace FunctionalNets.Nn

open System
open System.Runtime.InteropServices
open FunctionalNets

/// Normalization and regularization layers: BatchNorm1d/2d, GroupNorm, Dropout2d and global average pooling.
/// Shapes follow PyTorch: the batch dim comes first, channels second ([N; C; ...]).
[<AutoOpen>]
module NormalizationLayers =
    // Per-channel tensors ([C]) are viewed as [1; C; 1; ...] so they broadcast against an input of this rank.
    let private perChannel (rank: int) (t: Tensor) =
        Tensor.reshape (t, Array.init rank (fun d -> if d = 1 then -1 else 1))

    let private int64Scalar (value: int64) (device: Device) =
        Tensor.ofArray ([| value |], [], device)

    // The dims a channel's statistics are taken over: the batch dim and every dim after the channel dim.
    let private statDims (rank: int) = 0 :: [ 2 .. rank - 1 ]

    /// Shared by BatchNorm1d and BatchNorm2d. kind is "BatchNorm1d" or "BatchNorm2d"; ranks are the input
    /// ranks it accepts, with the batch dim ([2; 3] for 1d, [4] for 2d); expected describes them for messages.
    let internal batchNorm
        (kind: string)
        (ranks: int list)
        (expected: string)
        (eps: float)
        (momentum: float option)
        (affine: bool)
        (trackRunningStats: bool)
        (features: int)
        : Layer =
        Check.atLeast kind "features" 1 features

        if not (eps > 0.0) then
            raise (ArgumentOutOfRangeException("eps", eps, sprintf "%s: eps must be > 0, got %g." kind eps))

        match momentum with
        | Some m when not (m >= 0.0 && m <= 1.0) ->
            raise (
                System.ArgumentOutOfRangeException(
                    "momentum",
                    m,
                    sprintf "%s: momentum must be in [0, 1], got %g." kind m
                )
            )
        | _ -> ()

        let name = sprintf "%s(%d)" kind features

        // Shapes without the batch dim come from Init, full input shapes from Apply; both must have the
        // channel count at the channel position and an accepted rank.
        let check (what: string) (withBatch: bool) (shape: Shape) =
            let rank = if withBatch then shape.Rank else shape.Rank + 1

            if not (List.contains rank ranks) then
                invalidArg
                    what
                    (sprintf
                        "%s: %s %O%s has rank %d, expected %s."
                        name
                        what
                        shape
                        (if withBatch then
                             ""
                         else
                             " (per example, without the batch dim)")
                        shape.Rank
                        (if withBatch then
                             expected
                         else
                             expected + " with the batch dim"))

            let c = if withBatch then shape[1] else shape[0]

            if c <> features then
                invalidArg
                    what
                    (sprintf
                        "%s: %s %O%s has %d channels, expected %d."
                        name
                        what
                        shape
                        (if withBatch then
                             ""
                         else
                             " (per example, without the batch dim)")
                        c
                        features)

        let init (_: Key) (shape: Shape) =
            check "input shape" false shape

            let ps =
                if affine then
                    Node
                        [
                            "weight", Leaf(Tensor.ones [ features ])
                            "bias", Leaf(Tensor.zeros [ features ])
                        ]
                else
                    PTree.empty

            let ss =
                if trackRunningStats then
                    Node
                        [
                            "running_mean", Leaf(Tensor.zeros [ features ])
                            "running_var", Leaf(Tensor.ones [ features ])
                            "num_batches_tracked", Leaf(int64Scalar 0L Defaults.Device)
                        ]
                else
                    PTree.empty

            shape, ps, ss

        let affineMap (ps: Params) (rank: int) (xhat: Tensor) =
            if affine then
                let w = Layer.param name "weight" ps
                let b = Layer.param name "bias" ps
                xhat * perChannel rank w + perChannel rank b
            else
                xhat

        let apply (ps: Params) (state: State) (ctx: Ctx) (x: Tensor) =
            check "input" true x.Shape
            let rank = x.Rank
            let dims = statDims rank

            // PyTorch uses batch statistics in Eval too when no running statistics are tracked.
            if ctx.Mode = Mode.Eval && trackRunningStats then
                let rm = Layer.param name "running_mean" state
                let rv = Layer.param name "running_var" state
                // Running stats carry no derivative; cast them so Float64 inputs meet Float32 state.
                let rm = perChannel rank (Tensor.cast (rm, x.DType))
                let rv = perChannel rank (Tensor.cast (rv, x.DType))
                affineMap ps rank ((x - rm) * Tensor.rsqrt (rv + eps)), state
            else
                // Values per channel: the unbiased variance divides by n - 1, so one value is no statistic.
                let n = x.Numel / features

                if n <= 1 && ctx.Mode = Mode.Train then
                    invalidArg
                        "input"
                        (sprintf
                            "%s: input %O has %d value per channel; training needs more than 1 (batch size 1 without spatial dims?)."
                            name
                            x.Shape
                            n)

                // One fused op normalizes with the batch mean and biased variance (as PyTorch; the gradient flows
                // through both) and returns them, without derivative, for the running statistics.
                let w, b =
                    if affine then
                        Layer.param name "weight" ps, Layer.param name "bias" ps
                    else
                        Unchecked.defaultof<Tensor>, Unchecked.defaultof<Tensor>

                let y, mean, var = Tensor.batchNormWithStats (x, w, b, eps)

                if ctx.Mode = Mode.Train && trackRunningStats then
                    let rm = Layer.param name "running_mean" state
                    let rv = Layer.param name "running_var" state
                    let count = Layer.param name "num_batches_tracked" state
                    // The batch statistics come without derivative levels, so the state does not join the graph.
                    let bm = Tensor.cast (mean, rm.DType)
                    // The running variance is the unbiased one (PyTorch's n / (n - 1) correction).
                    let bv = Tensor.cast (var * (float n / float (n - 1)), rv.DType)

                    let counted = count.NoDiff + int64Scalar 1L count.Device

                    // momentum None is torch's cumulative moving average: the factor 1 / num_batches_tracked after
                    // the increment, a tensor computed on the device (no host read of the count).
                    let blend (running: Tensor) (batch: Tensor) =
                        match momentum with
                        | Some m -> (1.0 - m) * running.NoDiff + m * batch
                        | None ->
                            let factor = 1.0 / Tensor.cast (counted, running.DType)
                            (1.0 - factor) * running.NoDiff + factor * batch

                    let state' =
                        Node
                            [
                                "running_mean", Leaf(blend rm bm)
                                "running_var", Leaf(blend rv bv)
                                "num_batches_tracked", Leaf counted
                            ]

                    y, state'
                else
                    y, state

        Layer.create name init apply

    type Layers with
        /// BatchNorm over [N; C] or [N; C; L] inputs with PyTorch's options and defaults: eps added to the
        /// variance, momentum for the running statistics (running = (1 - momentum) * running + momentum * batch),
        /// cumulativeAverage for torch's momentum=None instead (the cumulative average running += (batch -
        /// running) / num_batches_tracked; momentum is then unused), affine for the learnable "weight" (init 1)
        /// and "bias" (init 0),
        /// trackRunningStats for the state "running_mean", "running_var" and "num_batches_tracked". Train
        /// normalizes with the batch mean and biased variance and updates the running mean and the running
        /// unbiased variance; Eval normalizes with the running statistics (with the batch's when they are not
        /// tracked).
        [<CompiledName("BatchNorm1d")>]
        static member batchNorm1d
            (
                features: int,
                [<Optional; DefaultParameterValue(1e-5)>] eps: float,
                [<Optional; DefaultParameterValue(0.1)>] momentum: float,
                [<Optional; DefaultParameterValue(true)>] affine: bool,
                [<Optional; DefaultParameterValue(true)>] trackRunningStats: bool,
                [<Optional; DefaultParameterValue(false)>] cumulativeAverage: bool
            ) : Layer =
            batchNorm
                "BatchNorm1d"
                [ 2; 3 ]
                "[N; C] or [N; C; L]"
                eps
                (if cumulativeAverage then None else Some momentum)
                affine
                trackRunningStats
                features

        /// BatchNorm over [N; C; H; W] inputs with PyTorch's options and defaults (see batchNorm1d).
        [<CompiledName("BatchNorm2d")>]
        static member batchNorm2d
            (
                features: int,
                [<Optional; DefaultParameterValue(1e-5)>] eps: float,
                [<Optional; DefaultParameterValue(0.1)>] momentum: float,
                [<Optional; DefaultParameterValue(true)>] affine: bool,
                [<Optional; DefaultParameterValue(true)>] trackRunningStats: bool,
                [<Optional; DefaultParameterValue(false)>] cumulativeAverage: bool
            ) : Layer =
            batchNorm
                "BatchNorm2d"
                [ 4 ]
                "[N; C; H; W]"
                eps
                (if cumulativeAverage then None else Some momentum)
                affine
                trackRunningStats
                features

        /// GroupNorm over [N; C; ...] inputs: the channels are split into groups of C / groups, and each
        /// example's group is normalized with its own mean and biased variance (over the group's channels and
        /// every spatial position), the same in Train and Eval; then a per-channel "weight" (init 1) and
        /// "bias" (init 0) apply when affine is true (PyTorch's defaults: eps 1e-5, affine). No state.
        [<CompiledName("GroupNorm")>]
        static member groupNorm
            (
                groups: int,
                channels: int,
                [<Optional; DefaultParameterValue(1e-5)>] eps: float,
                [<Optional; DefaultParameterValue(true)>] affine: bool
            ) : Layer =
            Check.atLeast "GroupNorm" "groups" 1 groups
            Check.atLeast "GroupNorm" "channels" 1 channels

            Check.inRange
                (channels % groups = 0)
                "groups"
                groups
                (sprintf "GroupNorm(%d, %d): channels must be divisible by groups." groups channels)

            if not (eps > 0.0) then
                raise (ArgumentOutOfRangeException("eps", eps, sprintf "GroupNorm: eps must be > 0, got %g." eps))

            let name = sprintf "GroupNorm(%d, %d)" groups channels

            let init (_: Key) (shape: Shape) =
                if shape.Rank < 1 || shape[0] <> channels then
                    invalidArg
                        "shape"
                        (sprintf
                            "%s: input shape %O (per example, without the batch dim) has %s, expected [%d; ...]."
                            name
                            shape
                            (if shape.Rank < 1 then
                                 "no channel dim"
                             else
                                 sprintf "%d channels" shape[0])
                            channels)

                let ps =
                    if affine then
                        Node
                            [
                                "weight", Leaf(Tensor.ones [ channels ])
                                "bias", Leaf(Tensor.zeros [ channels ])
                            ]
                    else
                        PTree.empty

                shape, ps, PTree.empty

            let apply (ps: Params) (state: State) (_: Ctx) (x: Tensor) =
                if x.Rank < 2 then
                    invalidArg "input" (sprintf "%s: input %O has rank %d, expected [N; C; ...]." name x.Shape x.Rank)

                if x.Shape[1] <> channels then
                    invalidArg
                        "input"
                        (sprintf "%s: input %O has %d channels, expected %d." name x.Shape x.Shape[1] channels)

                // [N; G; C/G * spatial]: one row per (example, group), so the statistics are one reduction.
                let grouped = Tensor.reshape (x, [ x.Shape[0]; groups; -1 ])

                if grouped.Shape[2] = 0 then
                    invalidArg "input" (sprintf "%s: input %O has no values per group." name x.Shape)

                let mean = Tensor.mean (grouped, [ 2 ], keepDim = true)
                let var = Tensor.var (grouped, [ 2 ], keepDim = true, unbiased = false)

                let xhat =
                    Tensor.reshape ((grouped - mean) * Tensor.rsqrt (var + eps), x.Shape.ToArray())

                let y =
                    if affine then
                        let w = Layer.param name "weight" ps
                        let b = Layer.param name "bias" ps
                        xhat * perChannel x.Rank w + perChannel x.Rank b
                    else
                        xhat

                y, state

            Layer.create name init apply

        /// Channel dropout for [N; C; H; W] (or any [N; C; ...]) inputs: in Train mode each (example, channel)
        /// map is zeroed as a whole with probability p and the kept maps are scaled by 1 / (1 - p); Eval is
        /// the identity. The mask [N; C; 1; ...] comes from ctx.Key (Train mode without a key is an error).
        [<CompiledName("Dropout2d")>]
        static member dropout2d(p: float) : Layer =
            Check.probability "Dropout2d" "p" p

            let name = sprintf "Dropout2d(p=%g)" p

            let outShape (shape: Shape) =
                if shape.Rank < 1 then
                    invalidArg
                        "shape"
                        (sprintf
                            "%s: input shape %O (per example, without the batch dim) has no channel dim, expected [C; H; W]."
                            name
                            shape)

                shape

            Layer.stateless name outShape (fun ctx x ->
                if x.Rank < 2 then
                    invalidArg "input" (sprintf "%s: input %O has rank %d, expected [N; C; H; W]." name x.Shape x.Rank)

                match ctx.Mode with
                | Mode.Eval -> x
                | Mode.Train when p = 0.0 -> x
                | Mode.Train ->
                    match ctx.Key with
                    | None ->
                        invalidArg
                            "ctx"
                            (sprintf
                                "%s: Train mode needs a key for the mask; pass Ctx.train key (or use Ctx.eval for inference)."
                                name)
                    | Some key ->
                        let maskShape = Array.init x.Rank (fun d -> if d < 2 then x.Shape[d] else 1)
                        let u = Tensor.rand (key, maskShape, x.DType, x.Device)
                        // u is uniform on [0, 1), so u >= p keeps a channel with probability 1 - p; the mask
                        // holds 0 or 1 / (1 - p) and broadcasts over the spatial dims.
                        let scale = Tensor.cast (Tensor.ge (u, p), x.DType) * (1.0 / (1.0 - p))
                        x * scale)

        /// Global average pooling: the mean over the spatial dims, [N; C; H; W] -> [N; C] (PyTorch's
        /// AdaptiveAvgPool2d(1) followed by flatten).
        [<CompiledName("GlobalAvgPool")>]
        static member globalAvgPool() : Layer =
            Layer.stateless
                "GlobalAvgPool"
                (fun shape ->
                    if shape.Rank <> 3 then
                        invalidArg
                            "shape"
                            (sprintf
                                "GlobalAvgPool: input shape %O (per example, without the batch dim) has rank %d, expected [C; H; W]."
                                shape
                                shape.Rank)

                    Shape.ofList [ shape[0] ])
                (fun _ x ->
                    if x.Rank <> 4 then
                        invalidArg
                            "input"
                            (sprintf "GlobalAvgPool: input %O has rank %d, expected [N; C; H; W]." x.Shape x.Rank)

                    Tensor.mean (x, [ 2; 3 ]))
