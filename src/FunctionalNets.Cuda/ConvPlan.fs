namespace FunctionalNets.Cuda

open FunctionalNets

/// A cudnnTensorDescriptor set with cudnnSetTensor4dDescriptor (CUDNN_TENSOR_NCHW, fully packed).
type CudnnTensorDesc = { N: int; C: int; H: int; W: int }

/// A cudnnFilterDescriptor set with cudnnSetFilter4dDescriptor (CUDNN_TENSOR_NCHW): K output channels, C input
/// channels per group, R x S taps.
type CudnnFilterDesc = { K: int; C: int; R: int; S: int }

/// A cudnnConvolutionDescriptor set with cudnnSetConvolution2dDescriptor (CUDNN_CROSS_CORRELATION, the
/// tensor's data type as compute type) and cudnnSetConvolutionGroupCount.
type CudnnConvDesc =
    {
        PadH: int
        PadW: int
        StrideH: int
        StrideW: int
        DilationH: int
        DilationW: int
        Groups: int
    }

/// The cuDNN calls of one conv2d (forward, backward data, backward filter share them): the four descriptors.
/// Structural equality makes it the key of the per-device cache of algorithms and workspaces.
type ConvPlan =
    {
        X: CudnnTensorDesc
        Filter: CudnnFilterDesc
        Conv: CudnnConvDesc
        Y: CudnnTensorDesc
    }

/// The pure mapping from FunctionalNets' conv2d (NCHW, weight [O; C/groups; kH; kW], stride, padding, dilation,
/// groups) to cuDNN's legacy convolution descriptors, and a CPU implementation of exactly the calls' contract
/// (cudnnConvolutionForward, BackwardData, BackwardFilter with alpha and beta) that tests it.
[<RequireQualifiedAccess>]
module ConvPlan =
    /// cudnnGetConvolution2dForwardOutputDim's formula for one spatial axis.
    let outputDim (input: int) (pad: int) (filter: int) (dilation: int) (stride: int) =
        1 + (input + 2 * pad - ((filter - 1) * dilation + 1)) / stride

    /// Plans conv2d of an input [N; C; H; W] with a weight [O; C/groups; kH; kW]; validates through
    /// ConvGeometry (named errors) and checks that cuDNN's output dims agree with ours.
    let create
        (input: int[])
        (weight: int[])
        (stride: int * int)
        (padding: int * int)
        (dilation: int * int)
        (groups: int)
        : ConvPlan =
        let geo =
            ConvGeometry.Create("conv2d", input, weight, stride, padding, dilation, groups)

        let (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation

        let conv =
            {
                PadH = ph
                PadW = pw
                StrideH = sh
                StrideW = sw
                DilationH = dh
                DilationW = dw
                Groups = groups
            }

        let oh, ow = outputDim geo.H ph geo.KH dh sh, outputDim geo.W pw geo.KW dw sw

        if oh <> geo.OH || ow <> geo.OW then
            invalidOp (
                sprintf
                    "conv2d plan: cuDNN's output dims [%d; %d] differ from the geometry's [%d; %d] for input %A, weight %A."
                    oh
                    ow
                    geo.OH
                    geo.OW
                    input
                    weight
            )

        {
            X =
                {
                    N = geo.N
                    C = geo.C
                    H = geo.H
                    W = geo.W
                }
            Filter =
                {
                    K = geo.O
                    C = geo.C / groups
                    R = geo.KH
                    S = geo.KW
                }
            Conv = conv
            Y = { N = geo.N; C = geo.O; H = oh; W = ow }
        }

    /// Calls f for every (n, k, p, q, c, r, s) whose input tap lies inside the image, with the flat indices of
    /// x, w and y: cross-correlation, y[n,k,p,q] += x[n, g*Cg + c, p*u - padH + r*dilH, ...] * w[k,c,r,s].
    let private taps (p: ConvPlan) (f: int -> int -> int -> unit) =
        let x, w, y, cv = p.X, p.Filter, p.Y, p.Conv
        let kPerGroup = w.K / cv.Groups

        for n in 0 .. y.N - 1 do
            for k in 0 .. w.K - 1 do
                let g = k / kPerGroup

                for oy in 0 .. y.H - 1 do
                    for ox in 0 .. y.W - 1 do
                        let yi = ((n * y.C + k) * y.H + oy) * y.W + ox

                        for c in 0 .. w.C - 1 do
                            for r in 0 .. w.R - 1 do
                                let iy = oy * cv.StrideH - cv.PadH + r * cv.DilationH

                                if iy >= 0 && iy < x.H then
                                    for s in 0 .. w.S - 1 do
                                        let ix = ox * cv.StrideW - cv.PadW + s * cv.DilationW

                                        if ix >= 0 && ix < x.W then
                                            let xi = ((n * x.C + g * w.C + c) * x.H + iy) * x.W + ix
                                            let wi = ((k * w.C + c) * w.R + r) * w.S + s
                                            f xi wi yi

    let private numel (d: CudnnTensorDesc) = d.N * d.C * d.H * d.W

    /// Scales an output by beta the way cuDNN does: beta = 0 overwrites (never reads the old values).
    let private blend (alpha: float) (beta: float) (acc: float[]) (out: float[]) =
        for i in 0 .. out.Length - 1 do
            out[i] <-
                if beta = 0.0 then
                    alpha * acc[i]
                else
                    alpha * acc[i] + beta * out[i]

    /// cudnnConvolutionForward's contract: y = alpha conv(x, w) + beta y.
    let referenceForward (p: ConvPlan) (alpha: float) (x: float[]) (w: float[]) (beta: float) (y: float[]) =
        let acc = Array.zeroCreate (numel p.Y)
        taps p (fun xi wi yi -> acc[yi] <- acc[yi] + x[xi] * w[wi])
        blend alpha beta acc y

    /// cudnnConvolutionBackwardData's contract: dx = alpha conv^T(dy, w) + beta dx.
    let referenceBackwardData (p: ConvPlan) (alpha: float) (w: float[]) (dy: float[]) (beta: float) (dx: float[]) =
        let acc = Array.zeroCreate (numel p.X)
        taps p (fun xi wi yi -> acc[xi] <- acc[xi] + w[wi] * dy[yi])
        blend alpha beta acc dx

    /// cudnnConvolutionBackwardFilter's contract: dw = alpha sum_n corr(x, dy) + beta dw.
    let referenceBackwardFilter (p: ConvPlan) (alpha: float) (x: float[]) (dy: float[]) (beta: float) (dw: float[]) =
        let acc = Array.zeroCreate dw.Length
        taps p (fun xi wi yi -> acc[wi] <- acc[wi] + x[xi] * dy[yi])
        blend alpha beta acc dw
