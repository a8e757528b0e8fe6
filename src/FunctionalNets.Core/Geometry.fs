namespace FunctionalNets

/// The geometry of sliding windows (pooling and convolution), in Core so that every backend and every op sees the
/// same output sizes and the same validation messages; backends receive already validated sizes.
[<RequireQualifiedAccess>]
module PoolGeometry =
    /// PyTorch's pooling output length along one dim. Ceil mode lets the last window hang over the end, but never
    /// start inside the right padding only (so every window sees at least one real element).
    let outputLength (size: int) (kernel: int) (stride: int) (pad: int) (dilation: int) (ceilMode: bool) =
        let span = int64 size + 2L * int64 pad - int64 dilation * int64 (kernel - 1) - 1L

        if span < 0L then
            0
        else
            let s = int64 stride
            let mutable outLen = (if ceilMode then span + s - 1L else span) / s + 1L

            if ceilMode && (outLen - 1L) * s >= int64 size + int64 pad then
                outLen <- outLen - 1L

            int outLen

    /// The source index of output position dst in nearest-neighbour resizing from inLen to outLen (PyTorch's
    /// 'nearest': floor(dst * inLen / outLen) with a float32 scale, exact for equal and doubled sizes).
    let nearestSource (dst: int) (inLen: int) (outLen: int) =
        if outLen = inLen then
            dst
        elif outLen = 2 * inLen then
            dst >>> 1
        else
            let scale = float32 inLen / float32 outLen
            min (int (floor (float32 dst * scale))) (inLen - 1)

/// A validated 2-D convolution: input [N; C; H; W], weight [O; C/groups; KH; KW], output [N; O; OH; OW].
type ConvGeometry =
    {
        N: int
        C: int
        H: int
        W: int
        O: int
        KH: int
        KW: int
        OH: int
        OW: int
        Groups: int
    }

    static member private Format(dims: int[]) =
        "[" + System.String.Join("; ", dims) + "]"

    /// The input shape [N; C; H; W].
    member g.InputShape = [| g.N; g.C; g.H; g.W |]
    /// The weight shape [O; C / Groups; KH; KW].
    member g.WeightShape = [| g.O; g.C / g.Groups; g.KH; g.KW |]
    /// The output shape [N; O; OH; OW].
    member g.OutputShape = [| g.N; g.O; g.OH; g.OW |]

    /// Validates a convolution named op (named in every message) of an input and a weight of the given shapes;
    /// pairs are (height, width).
    static member Create
        (
            op: string,
            input: int[],
            weight: int[],
            stride: int * int,
            padding: int * int,
            dilation: int * int,
            groups: int
        ) =
        let f = ConvGeometry.Format
        let (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation

        if input.Length <> 4 then
            invalidArg "input" (sprintf "%s: the input must be [N; C; H; W], got %s." op (f input))

        if weight.Length <> 4 then
            invalidArg "weight" (sprintf "%s: the weight must be [O; C/groups; kH; kW], got %s." op (f weight))

        if sh < 1 || sw < 1 then
            invalidArg "stride" (sprintf "%s: stride must be at least 1, got %s." op (f [| sh; sw |]))

        if dh < 1 || dw < 1 then
            invalidArg "dilation" (sprintf "%s: dilation must be at least 1, got %s." op (f [| dh; dw |]))

        if ph < 0 || pw < 0 then
            invalidArg "padding" (sprintf "%s: padding must be non-negative, got %s." op (f [| ph; pw |]))

        if groups < 1 then
            invalidArg "groups" (sprintf "%s: groups must be at least 1, got %d." op groups)

        let c, o = input[1], weight[0]

        if c % groups <> 0 then
            invalidArg
                "groups"
                (sprintf "%s: groups %d does not divide the %d input channels of %s." op groups c (f input))

        if o % groups <> 0 then
            invalidArg
                "groups"
                (sprintf "%s: groups %d does not divide the %d output channels of weight %s." op groups o (f weight))

        if weight[1] * groups <> c then
            invalidArg
                "weight"
                (sprintf
                    "%s: channel mismatch: weight %s with groups %d expects %d input channels, but input %s has %d."
                    op
                    (f weight)
                    groups
                    (weight[1] * groups)
                    (f input)
                    c)

        let ekh, ekw = dh * (weight[2] - 1) + 1, dw * (weight[3] - 1) + 1
        let hp, wp = input[2] + 2 * ph, input[3] + 2 * pw

        if weight[2] < 1 || weight[3] < 1 || ekh > hp || ekw > wp then
            let dil =
                if dh = 1 && dw = 1 then
                    ""
                else
                    sprintf " (dilated %s)" (f [| ekh; ekw |])

            invalidArg
                "weight"
                (sprintf
                    "%s: kernel %s%s is larger than the padded input %s (input %s, padding %s)."
                    op
                    (f [| weight[2]; weight[3] |])
                    dil
                    (f [| hp; wp |])
                    (f input)
                    (f [| ph; pw |]))

        {
            N = input[0]
            C = c
            H = input[2]
            W = input[3]
            O = o
            KH = weight[2]
            KW = weight[3]
            OH = (hp - ekh) / sh + 1
            OW = (wp - ekw) / sw + 1
            Groups = groups
        }

    /// Raises unless an output gradient handed to a backward op has OutputShape.
    member g.CheckOutput(op: string, outputShape: int[]) =
        if outputShape <> g.OutputShape then
            invalidArg
                "outputShape"
                (sprintf
                    "%s: the output gradient is %s but input %s with weight %s gives %s."
                    op
                    (ConvGeometry.Format outputShape)
                    (ConvGeometry.Format g.InputShape)
                    (ConvGeometry.Format g.WeightShape)
                    (ConvGeometry.Format g.OutputShape))
