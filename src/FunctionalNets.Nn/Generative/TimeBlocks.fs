namespace FunctionalNets.Nn

open FunctionalNets

/// A block of a time-conditioned network (a diffusion model's U-Net): pure functions of its parameters, the
/// features x [N; C; H; W] and the time embedding [N; TimeDim]. The blocks have no layer state and no
/// randomness, so they need neither.
type TimeBlock =
    {
        Name: string
        /// Parameters from a key.
        Init: Key -> Params
        /// (parameters, x, time embedding) -> output.
        Apply: Params -> Tensor -> Tensor -> Tensor
    }

/// The blocks of a DDPM U-Net: residual blocks with GroupNorm and a time-embedding projection, and
/// self-attention over the positions of a feature map.
[<RequireQualifiedAccess>]
module TimeBlocks =
    // Init needs a per-example shape; parameters do not depend on the spatial size, so any will do.
    let internal initLayer (layer: Layer) (key: Key) (shape: int list) : Params =
        let _, p, _ = layer.Init key (Shape.ofList shape)
        p

    // The blocks' layers are stateless and ignore the mode (GroupNorm, convolution, linear, attention without
    // dropout), so evaluation mode is exact in training too.
    let internal runLayer (layer: Layer) (ps: Params) (name: string) (x: Tensor) : Tensor =
        fst (layer.Apply (Layer.child name ps) PTree.empty Ctx.eval x)

    let internal checkGroups (caller: string) (groups: int) (channels: int) =
        if groups < 1 || channels % groups <> 0 then
            invalidArg
                "groups"
                (sprintf
                    "%s: %d channels cannot be split into %d GroupNorm groups; pick a divisor."
                    caller
                    channels
                    groups)

    let internal checkInput (name: string) (channels: int) (x: Tensor) =
        if x.Rank <> 4 || x.Shape[1] <> channels then
            invalidArg "x" (sprintf "%s: input %O must be [N; %d; H; W]." name x.Shape channels)

    /// Ho et al.'s residual block: h = conv3x3(silu(norm1 x)) + linear(silu t) broadcast over the positions,
    /// out = conv3x3(silu(norm2 h)) + shortcut x, where the shortcut is a 1x1 convolution when the channel
    /// count changes. Parameters "norm1", "conv1", "time", "norm2", "conv2" (and "shortcut").
    let residual (inChannels: int) (outChannels: int) (timeDim: int) (groups: int) : TimeBlock =
        let name = sprintf "TimeResBlock(%d->%d, t=%d)" inChannels outChannels timeDim
        checkGroups name groups inChannels
        checkGroups name groups outChannels

        let layers =
            [
                "norm1", Layers.groupNorm (groups, inChannels), [ inChannels; 1; 1 ]
                "conv1", Layers.conv2d (inChannels, outChannels, 3, padding = 1), [ inChannels; 8; 8 ]
                "time", Layers.linear (timeDim, outChannels), [ timeDim ]
                "norm2", Layers.groupNorm (groups, outChannels), [ outChannels; 1; 1 ]
                "conv2", Layers.conv2d (outChannels, outChannels, 3, padding = 1), [ outChannels; 8; 8 ]
            ]
            @ (if inChannels <> outChannels then
                   [ "shortcut", Layers.conv2d (inChannels, outChannels, 1), [ inChannels; 8; 8 ] ]
               else
                   [])

        let layer n =
            layers |> List.pick (fun (k, l, _) -> if k = n then Some l else None)

        let init (key: Key) =
            let keys = Key.splitN layers.Length key
            Node(layers |> List.mapi (fun i (n, l, shape) -> n, initLayer l keys[i] shape))

        let apply (ps: Params) (x: Tensor) (t: Tensor) =
            checkInput name inChannels x
            let run n input = runLayer (layer n) ps n input
            let h = run "conv1" (Tensor.silu (run "norm1" x))
            let shift = run "time" (Tensor.silu t)
            let h = h + Tensor.reshape (shift, [ shift.Shape[0]; outChannels; 1; 1 ])
            let h = run "conv2" (Tensor.silu (run "norm2" h))
            let shortcut = if inChannels <> outChannels then run "shortcut" x else x
            h + shortcut

        {
            Name = name
            Init = init
            Apply = apply
        }

    /// Self-attention over the H x W positions of a feature map with a residual connection:
    /// x + attention(norm x), the positions as a sequence of C-dim tokens (multi-head, torch's
    /// nn.MultiheadAttention). The time embedding is not used. Parameters "norm", "attention".
    let attention (channels: int) (heads: int) (groups: int) : TimeBlock =
        let name = sprintf "SpatialAttention(%d, heads=%d)" channels heads
        checkGroups name groups channels
        let norm = Layers.groupNorm (groups, channels)
        let attend = Layers.multiHeadAttention (channels, heads, causal = false)

        let init (key: Key) =
            let kn, ka = Key.split key

            Node
                [
                    "norm", initLayer norm kn [ channels; 1; 1 ]
                    "attention", initLayer attend ka [ 1; channels ]
                ]

        let apply (ps: Params) (x: Tensor) (_: Tensor) =
            checkInput name channels x
            let n, h, w = x.Shape[0], x.Shape[2], x.Shape[3]

            let tokens =
                Tensor.permute (Tensor.reshape (runLayer norm ps "norm" x, [ n; channels; h * w ]), [ 0; 2; 1 ])

            let attended = runLayer attend ps "attention" tokens

            x
            + Tensor.reshape (Tensor.permute (attended, [ 0; 2; 1 ]), [ n; channels; h; w ])

        {
            Name = name
            Init = init
            Apply = apply
        }
