namespace FunctionalNets.Kernels;

/// <summary>
/// The sizes of one 2-D convolution: input [N, C, H, W], weight [O, C / Groups, KH, KW], output [N, O, OH, OW],
/// with per-axis stride, zero padding and dilation. Built only through <see cref="Create"/>, which validates, so
/// every kernel can trust it.
/// </summary>
public readonly struct ConvGeometry
{
    /// <summary>Batch size.</summary>
    public int N { get; init; }
    /// <summary>Input channels.</summary>
    public int C { get; init; }
    /// <summary>Input height.</summary>
    public int H { get; init; }
    /// <summary>Input width.</summary>
    public int W { get; init; }
    /// <summary>Output channels.</summary>
    public int O { get; init; }
    /// <summary>Kernel height.</summary>
    public int KH { get; init; }
    /// <summary>Kernel width.</summary>
    public int KW { get; init; }
    /// <summary>Vertical stride.</summary>
    public int SH { get; init; }
    /// <summary>Horizontal stride.</summary>
    public int SW { get; init; }
    /// <summary>Zero rows added above and below.</summary>
    public int PH { get; init; }
    /// <summary>Zero columns added left and right.</summary>
    public int PW { get; init; }
    /// <summary>Vertical dilation.</summary>
    public int DH { get; init; }
    /// <summary>Horizontal dilation.</summary>
    public int DW { get; init; }
    /// <summary>Channel groups: input channel block g only meets output channel block g.</summary>
    public int Groups { get; init; }
    /// <summary>Output height.</summary>
    public int OH { get; init; }
    /// <summary>Output width.</summary>
    public int OW { get; init; }

    /// <summary>Input channels per group.</summary>
    public int CG => C / Groups;
    /// <summary>Output channels per group.</summary>
    public int OG => O / Groups;
    /// <summary>Rows of one group's im2col matrix (= weight elements per output channel).</summary>
    public int R => CG * KH * KW;
    /// <summary>Output pixels per image and channel (columns of the im2col matrix).</summary>
    public int L => OH * OW;

    /// <summary>Formats dims like the F# Shape ("[2; 3]") so messages read the same from either language.</summary>
    public static string Format(params int[] dims) => "[" + string.Join("; ", dims) + "]";

    /// <summary>
    /// Validates and derives the geometry of <paramref name="op"/> (named in every message) for an input and weight of
    /// the given shapes.
    /// </summary>
    /// <exception cref="ArgumentException">Ranks are not 4, channels do not match, groups do not divide the channels,
    /// a stride/dilation is below 1 or a padding below 0, or the (dilated) kernel is larger than the padded input.</exception>
    public static ConvGeometry Create(string op, int[] input, int[] weight, int sh, int sw, int ph, int pw, int dh, int dw, int groups)
    {
        if (input.Length != 4)
            throw new ArgumentException($"{op}: the input must be [N; C; H; W], got {Format(input)}.", nameof(input));
        if (weight.Length != 4)
            throw new ArgumentException($"{op}: the weight must be [O; C/groups; kH; kW], got {Format(weight)}.", nameof(weight));
        if (sh < 1 || sw < 1)
            throw new ArgumentException($"{op}: stride must be at least 1, got {Format(sh, sw)}.", "stride");
        if (dh < 1 || dw < 1)
            throw new ArgumentException($"{op}: dilation must be at least 1, got {Format(dh, dw)}.", "dilation");
        if (ph < 0 || pw < 0)
            throw new ArgumentException($"{op}: padding must be non-negative, got {Format(ph, pw)}.", "padding");
        if (groups < 1)
            throw new ArgumentException($"{op}: groups must be at least 1, got {groups}.", nameof(groups));
        int c = input[1], o = weight[0];
        if (c % groups != 0)
            throw new ArgumentException($"{op}: groups {groups} does not divide the {c} input channels of {Format(input)}.", nameof(groups));
        if (o % groups != 0)
            throw new ArgumentException($"{op}: groups {groups} does not divide the {o} output channels of weight {Format(weight)}.", nameof(groups));
        if (weight[1] * groups != c)
            throw new ArgumentException(
                $"{op}: channel mismatch: weight {Format(weight)} with groups {groups} expects {weight[1] * groups} input channels, but input {Format(input)} has {c}.",
                nameof(weight));
        int ekh = dh * (weight[2] - 1) + 1, ekw = dw * (weight[3] - 1) + 1;
        int hp = input[2] + 2 * ph, wp = input[3] + 2 * pw;
        if (weight[2] < 1 || weight[3] < 1 || ekh > hp || ekw > wp)
        {
            string dil = dh == 1 && dw == 1 ? "" : $" (dilated {Format(ekh, ekw)})";
            throw new ArgumentException(
                $"{op}: kernel {Format(weight[2], weight[3])}{dil} is larger than the padded input {Format(hp, wp)} (input {Format(input)}, padding {Format(ph, pw)}).",
                nameof(weight));
        }
        return new ConvGeometry
        {
            N = input[0], C = c, H = input[2], W = input[3], O = o, KH = weight[2], KW = weight[3],
            SH = sh, SW = sw, PH = ph, PW = pw, DH = dh, DW = dw, Groups = groups,
            OH = (hp - ekh) / sh + 1, OW = (wp - ekw) / sw + 1,
        };
    }

    /// <summary>The input shape [N, C, H, W].</summary>
    public int[] InputShape => [N, C, H, W];
    /// <summary>The weight shape [O, C / Groups, KH, KW].</summary>
    public int[] WeightShape => [O, CG, KH, KW];
    /// <summary>The output shape [N, O, OH, OW].</summary>
    public int[] OutputShape => [N, O, OH, OW];

    /// <summary>Raises unless an output gradient handed to a backward kernel has <see cref="OutputShape"/>.</summary>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    public void CheckOutput(string op, int[] outputShape)
    {
        if (!outputShape.AsSpan().SequenceEqual(OutputShape))
            throw new ArgumentException(
                $"{op}: the output gradient is {Format(outputShape)} but input {Format(InputShape)} with weight {Format(WeightShape)} gives {Format(OutputShape)}.",
                nameof(outputShape));
    }
}
