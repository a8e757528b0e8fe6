namespace FunctionalNets.Nn

open FunctionalNets

/// The settings of a small DDPM U-Net for images whose sides are divisible by 4 (MNIST's 28 x 28).
type UNetConfig =
    {
        /// Channels of the images (1 for MNIST).
        ImageChannels: int
        /// Channels at full resolution; the half- and quarter-resolution levels have twice as many.
        Channels: int
        /// GroupNorm groups; must divide Channels.
        Groups: int
        /// Attention heads at the lowest resolution; must divide 2 Channels.
        Heads: int
    }

/// A small U-Net predicting the noise in x_t from x_t and t (Ho et al. 2020, scaled down): a sinusoidal time
/// embedding through a two-layer MLP; levels at full, half and quarter resolution with one time-conditioned
/// residual block each (GroupNorm, SiLU) and strided 3x3 convolutions between them; at the quarter resolution
/// a residual block, self-attention and a residual block; on the way up nearest-neighbour upsampling, a 3x3
/// convolution, the skip connection concatenated and a residual block; GroupNorm, SiLU and a 3x3 convolution out.
[<RequireQualifiedAccess>]
module UNet =
    /// Channels 32, 8 groups, 4 heads for one image channel.
    let config (channels: int) : UNetConfig =
        {
            ImageChannels = 1
            Channels = channels
            Groups = 8
            Heads = 4
        }

    // The blocks by name, in order: a layer or a time block each (both with their own parameters).
    type private Part =
        | Plain of Layer * int list
        | Timed of TimeBlock

    let private parts (cfg: UNetConfig) =
        let c, g = cfg.Channels, cfg.Groups
        let timeDim = 4 * c

        if cfg.ImageChannels < 1 || c < 1 then
            invalidArg "cfg" (sprintf "UNet: ImageChannels (%d) and Channels (%d) must be >= 1." cfg.ImageChannels c)

        if cfg.Heads < 1 || (2 * c) % cfg.Heads <> 0 then
            invalidArg
                "cfg"
                (sprintf "UNet: %d heads must divide the %d channels of the lowest level." cfg.Heads (2 * c))

        let conv (i: int) (o: int) = Layers.conv2d (i, o, 3, padding = 1)

        let down (ch: int) =
            Layers.conv2d (ch, ch, 3, stride = 2, padding = 1)

        [
            "time_mlp_in", Plain(Layers.linear (c, timeDim), [ c ])
            "time_mlp_out", Plain(Layers.linear (timeDim, timeDim), [ timeDim ])
            "in_conv", Plain(conv cfg.ImageChannels c, [ cfg.ImageChannels; 8; 8 ])
            "down0", Timed(TimeBlocks.residual c c timeDim g)
            "downsample0", Plain(down c, [ c; 8; 8 ])
            "down1", Timed(TimeBlocks.residual c (2 * c) timeDim g)
            "downsample1", Plain(down (2 * c), [ 2 * c; 8; 8 ])
            "mid0", Timed(TimeBlocks.residual (2 * c) (2 * c) timeDim g)
            "mid_attention", Timed(TimeBlocks.attention (2 * c) cfg.Heads g)
            "mid1", Timed(TimeBlocks.residual (2 * c) (2 * c) timeDim g)
            "upconv1", Plain(conv (2 * c) (2 * c), [ 2 * c; 8; 8 ])
            "up1", Timed(TimeBlocks.residual (4 * c) (2 * c) timeDim g)
            "upconv0", Plain(conv (2 * c) c, [ 2 * c; 8; 8 ])
            "up0", Timed(TimeBlocks.residual (2 * c) c timeDim g)
            "out_norm", Plain(Layers.groupNorm (g, c), [ c; 1; 1 ])
            "out_conv", Plain(conv c cfg.ImageChannels, [ c; 8; 8 ])
        ]

    /// The U-Net's parameters, one subtree per block ("time_mlp_in", "in_conv", "down0", ..., "out_conv").
    let init (cfg: UNetConfig) (key: Key) : Params =
        let ps = parts cfg
        let keys = Key.splitN ps.Length key

        ps
        |> List.mapi (fun i (name, part) ->
            name,
            match part with
            | Plain(layer, shape) -> TimeBlocks.initLayer layer keys[i] shape
            | Timed block -> block.Init keys[i])
        |> Node

    /// A function (parameters, x_t [N; ImageChannels; H; W], t [N] float) -> predicted noise with x_t's shape.
    /// H and W must be divisible by 4.
    let apply (cfg: UNetConfig) : Params -> Tensor -> Tensor -> Tensor =
        let table = Map.ofList (parts cfg)

        fun (ps: Params) (x: Tensor) (t: Tensor) ->
            if
                x.Rank <> 4
                || x.Shape[1] <> cfg.ImageChannels
                || x.Shape[2] % 4 <> 0
                || x.Shape[3] % 4 <> 0
            then
                invalidArg
                    "x"
                    (sprintf
                        "UNet: input %O must be [N; %d; H; W] with H and W divisible by 4."
                        x.Shape
                        cfg.ImageChannels)

            if t.Rank <> 1 || t.Shape[0] <> x.Shape[0] then
                invalidArg "t" (sprintf "UNet: t %O must hold one timestep per image of x %O." t.Shape x.Shape)

            let plain name input =
                match table[name] with
                | Plain(layer, _) -> TimeBlocks.runLayer layer ps name input
                | Timed _ -> invalidOp "UNet: unreachable"

            let embedding =
                TimeEmbedding.sinusoidal cfg.Channels 10000.0 t
                |> plain "time_mlp_in"
                |> Tensor.silu
                |> plain "time_mlp_out"

            let timed name input =
                match table[name] with
                | Timed block -> block.Apply (Layer.child name ps) input embedding
                | Plain _ -> invalidOp "UNet: unreachable"

            let up (h: Tensor) =
                Tensor.upsampleNearest (h, (2 * h.Shape[2], 2 * h.Shape[3]))

            let h0 = plain "in_conv" x |> timed "down0"
            let h1 = plain "downsample0" h0 |> timed "down1"

            let mid =
                plain "downsample1" h1 |> timed "mid0" |> timed "mid_attention" |> timed "mid1"

            let u1 = Tensor.cat ([ plain "upconv1" (up mid); h1 ], 1) |> timed "up1"
            let u0 = Tensor.cat ([ plain "upconv0" (up u1); h0 ], 1) |> timed "up0"
            plain "out_norm" u0 |> Tensor.silu |> plain "out_conv"
