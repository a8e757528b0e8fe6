namespace FunctionalNets

open System

/// Elementwise functions of one tensor that every backend provides (floating point only).
[<RequireQualifiedAccess>]
type UnaryKind =
    | Neg
    | Abs
    | Sign
    | Exp
    | Log
    | Sqrt
    | Rsqrt
    | Sin
    | Cos
    | Tanh
    | Sigmoid
    | Relu
    | Step
    | Reciprocal
    | Square
    | Softplus
    | Erf
    | Floor
    | Ceil
    | Round
    | Log1p
    | Expm1

/// Elementwise functions of two tensors, with broadcasting.
[<RequireQualifiedAccess>]
type BinaryKind =
    | Add
    | Sub
    | Mul
    | Div
    | Pow
    | Max
    | Min

/// Elementwise comparisons, with broadcasting; the result is Bool.
[<RequireQualifiedAccess>]
type CompareKind =
    | Eq
    | Ne
    | Lt
    | Le
    | Gt
    | Ge

/// Elementwise logic over Bool tensors, with broadcasting.
[<RequireQualifiedAccess>]
type LogicalKind =
    | And
    | Or
    | Xor

/// Storage that a Scope can hand back to its allocator when the values using it are no longer needed.
type IScopedStorage =
    /// Returns the memory to its allocator; any later read of a tensor on it raises.
    abstract Release: unit -> unit

/// Storage whose memory can return to its allocator once the garbage collector finds it unreachable. A scope
/// calls Unowned on what leaves the outermost scope of a thread: from then on only the GC knows when the last
/// tensor on it is gone (a user's own `Seq.fold Train.trainStep` drops each state without saying so).
type IReclaimableStorage =
    /// The storage is now owned by no scope; reclaim its memory when it is collected.
    abstract Unowned: unit -> unit

/// The backend contract: storage plus primitive, non-differentiable kernels. Every backend (CPU, CUDA)
/// implements the same small set; differentiable ops are built from these in Tensor. The CPU backend is
/// the specification the others are tested against.
[<AbstractClass>]
type RawTensor(shape: Shape, dtype: DType, device: Device) =
    /// The dimensions.
    member _.Shape = shape
    /// The element type.
    member _.DType = dtype
    /// Where the storage lives.
    member _.Device = device
    /// The backend that made this tensor (used to create more on the same device).
    abstract Backend: Backend
    /// The storage (shared by reshaped views), as seen by scopes.
    abstract Storage: IScopedStorage

    /// f(x) elementwise.
    abstract Unary: UnaryKind -> RawTensor
    /// this op other, broadcasting both.
    abstract Binary: BinaryKind * other: RawTensor -> RawTensor
    /// this cmp other, broadcasting both; Bool result.
    abstract Compare: CompareKind * other: RawTensor -> RawTensor
    /// this op other over Bool tensors, broadcasting both.
    abstract Logical: LogicalKind * other: RawTensor -> RawTensor
    /// Logical negation of a Bool tensor.
    abstract LogicalNot: unit -> RawTensor
    /// Where cond is true take this, else other; all three broadcast together.
    abstract Where: cond: RawTensor * other: RawTensor -> RawTensor
    /// The same values in another element type (float to int truncates toward zero).
    abstract Cast: DType -> RawTensor

    /// Sum over the given (sorted, distinct) dimensions.
    abstract Sum: dims: int[] * keepDim: bool -> RawTensor
    /// Max along one dimension: values and Int64 indices of the first maximum.
    abstract MaxAlong: dim: int * keepDim: bool -> RawTensor * RawTensor
    /// Min along one dimension: values and Int64 indices of the first minimum.
    abstract MinAlong: dim: int * keepDim: bool -> RawTensor * RawTensor

    /// Batched matrix product over the last two dims, broadcasting the batch dims; either operand may be
    /// read transposed (its last two dims swapped) without a copy.
    abstract MatMul: transSelf: bool * other: RawTensor * transOther: bool -> RawTensor

    /// The same elements in a new shape of equal element count.
    abstract Reshape: Shape -> RawTensor
    /// Dimensions reordered: result dim i is this tensor's dim perm[i].
    abstract Permute: perm: int[] -> RawTensor
    /// Broadcast to a larger shape (size-1 dims repeated, new leading dims added).
    abstract Expand: Shape -> RawTensor
    /// Per-dimension strided slice: element j of dim d is starts[d] + j * steps[d], for j < sizes[d].
    abstract Slice: starts: int[] * steps: int[] * sizes: int[] -> RawTensor
    /// Zeros of fullShape with this tensor added at the positions a Slice(starts, steps, this.Shape) reads.
    abstract SliceScatter: fullShape: Shape * starts: int[] * steps: int[] -> RawTensor
    /// torch.gather along dim with an Int64 index tensor.
    abstract Gather: dim: int * index: RawTensor -> RawTensor
    /// A copy of this tensor with src added at the positions index names along dim (torch.scatter_add).
    abstract ScatterAdd: dim: int * index: RawTensor * src: RawTensor -> RawTensor
    /// torch.index_select along dim with a 1-D Int64 index.
    abstract IndexSelect: dim: int * index: RawTensor -> RawTensor
    /// A copy of this tensor with src's slices added at the rows index names along dim (torch.index_add).
    abstract IndexAdd: dim: int * index: RawTensor * src: RawTensor -> RawTensor
    /// Constant padding: before[d] and after[d] elements added on each side of dim d.
    abstract Pad: before: int[] * after: int[] * value: float -> RawTensor

    // ---- convolution primitives ----
    /// 2-D convolution (cross-correlation, as PyTorch) of this input [N; C; H; W] with weight [O; C/groups; kH; kW]:
    /// the output is [N; O; oH; oW] with oH = (H + 2 padH - dilH (kH - 1) - 1) / strideH + 1 (likewise oW).
    /// Pairs are (height, width). Float32 and Float64.
    abstract Conv2d:
        weight: RawTensor * stride: (int * int) * padding: (int * int) * dilation: (int * int) * groups: int ->
            RawTensor

    /// With this as the output gradient dy: the gradient of sum(conv2d(x, weight) * dy) with respect to an input x of
    /// inputShape (the transposed convolution; input positions no output reads get zero).
    abstract Conv2dInputGrad:
        weight: RawTensor *
        inputShape: Shape *
        stride: (int * int) *
        padding: (int * int) *
        dilation: (int * int) *
        groups: int ->
            RawTensor

    /// With this as the output gradient dy: the gradient of sum(conv2d(input, w) * dy) with respect to a weight w of
    /// weightShape, summed over the batch.
    abstract Conv2dWeightGrad:
        input: RawTensor *
        weightShape: Shape *
        stride: (int * int) *
        padding: (int * int) *
        dilation: (int * int) *
        groups: int ->
            RawTensor

    // ---- pooling and upsampling primitives ----
    // Each works on the last two dims (H, W) of a tensor of rank >= 2, every leading dim being a batch of
    // independent planes; sizes are [height; width] pairs already validated by the caller. Backward
    // primitives are called on the output gradient and return the input gradient.

    /// Max pooling: values and Int64 flat indices (h * W + w within each plane) of the first maximum.
    abstract MaxPool2d:
        kernel: int[] * stride: int[] * padding: int[] * dilation: int[] * ceilMode: bool -> RawTensor * RawTensor

    /// Average pooling (PyTorch's window clipping and countIncludePad divisor).
    abstract AvgPool2d:
        kernel: int[] * stride: int[] * padding: int[] * ceilMode: bool * countIncludePad: bool -> RawTensor

    /// Adjoint of AvgPool2d.
    abstract AvgPool2dBackward:
        inputShape: Shape * kernel: int[] * stride: int[] * padding: int[] * ceilMode: bool * countIncludePad: bool ->
            RawTensor

    /// Adaptive average pooling to outputSize (windows [floor(i H / out), ceil((i + 1) H / out))).
    abstract AdaptiveAvgPool2d: outputSize: int[] -> RawTensor
    /// Adjoint of AdaptiveAvgPool2d.
    abstract AdaptiveAvgPool2dBackward: inputShape: Shape -> RawTensor
    /// Bilinear resize to outputSize with PyTorch's alignCorners true/false source coordinates.
    abstract UpsampleBilinear2d: outputSize: int[] * alignCorners: bool -> RawTensor
    /// Adjoint of UpsampleBilinear2d.
    abstract UpsampleBilinear2dBackward: inputShape: Shape * alignCorners: bool -> RawTensor

    // ---- sequence primitives ----
    /// Inclusive prefix sums along dim (summing from the end of the dim when reverse is set).
    abstract CumSum: dim: int * reverse: bool -> RawTensor

    /// The elements in row-major order as a typed array (float32[], float[], int[], int64[] or bool[]).
    abstract ToArray: unit -> Array
    /// Adds other (same shape and dtype) into this tensor's storage. Only for storage the caller owns.
    abstract AddInPlace: other: RawTensor -> unit
    /// A copy with its own storage.
    abstract Clone: unit -> RawTensor

    // ---- the fused tier ----
    // Virtual members with defaults composed from the required primitives above: a new backend is complete once
    // it implements the abstract members, and overrides these only where a fused kernel pays (the CPU backend
    // overrides all of them). The defaults are the reference semantics, checked against the CPU kernels by the
    // backend conformance suite.

    /// A scalar of this tensor's dtype on its backend.
    member private t.ScalarOf(v: float) =
        t.Backend.Full(Shape.Scalar, t.DType, v)

    static member private Runs(op: string, shape: Shape, normalized: int) =
        if normalized < 1 || shape.Numel % normalized <> 0 then
            invalidArg "normalized" (sprintf "%s: %d trailing elements do not tile input %O." op normalized shape)

        shape.Numel / normalized

    static member private CheckFloat(op: string, t: RawTensor) =
        if t.DType <> DType.Float32 && t.DType <> DType.Float64 then
            invalidOp (sprintf "%s is defined for float32 and float64 tensors, got %O %O." op t.DType t.Shape)

    /// One fused Adam step with this tensor as the gradient: returns (m', v', update) where
    /// m' = b1 m + (1 - b1) g, v' = b2 v + (1 - b2) g^2 and update = (m'/bc1) / (sqrt(v'/bc2) + eps).
    /// m and v have this tensor's shape and dtype. Float32 and Float64.
    abstract AdamStep:
        m: RawTensor * v: RawTensor * b1: float * b2: float * eps: float * bc1: float * bc2: float ->
            RawTensor * RawTensor * RawTensor

    default g.AdamStep(m, v, b1, b2, eps, bc1, bc2) =
        RawTensor.CheckFloat("adamStep", g)

        for o in [ m; v ] do
            Shape.checkEqual "adamStep" g.Shape o.Shape

        let s = g.ScalarOf

        let m1 =
            m.Binary(BinaryKind.Mul, s b1).Binary(BinaryKind.Add, g.Binary(BinaryKind.Mul, s (1.0 - b1)))

        let v1 =
            v
                .Binary(BinaryKind.Mul, s b2)
                .Binary(BinaryKind.Add, g.Binary(BinaryKind.Mul, g).Binary(BinaryKind.Mul, s (1.0 - b2)))

        let denom =
            v1.Binary(BinaryKind.Div, s bc2).Unary(UnaryKind.Sqrt).Binary(BinaryKind.Add, s eps)

        m1, v1, m1.Binary(BinaryKind.Div, s bc1).Binary(BinaryKind.Div, denom)

    /// One Adam step applied to the parameters p with this tensor as the gradient: returns (m', v', p') with m', v'
    /// and update as in AdamStep and p' = p + update * scale (scale: the negated learning rate). Bit for bit the
    /// result of AdamStep, a multiply by scale and an add; backends fuse it into one pass. Float32 and Float64.
    abstract AdamApply:
        m: RawTensor *
        v: RawTensor *
        p: RawTensor *
        b1: float *
        b2: float *
        eps: float *
        bc1: float *
        bc2: float *
        scale: float ->
            RawTensor * RawTensor * RawTensor

    default g.AdamApply(m, v, p, b1, b2, eps, bc1, bc2, scale) =
        Shape.checkEqual "adamApply" g.Shape p.Shape
        let m1, v1, u = g.AdamStep(m, v, b1, b2, eps, bc1, bc2)
        m1, v1, p.Binary(BinaryKind.Add, u.Binary(BinaryKind.Mul, g.ScalarOf scale))

    /// Inverted dropout of this tensor: returns y = keep ? x * (1 / (1 - p)) : 0 and the Bool mask keep = u >= p,
    /// with u drawn from the key exactly as Backend.RandomUniform(key, shape, dtype) draws it and p and 1 / (1 - p)
    /// rounded to this dtype. Bit for bit the composed uniform, comparison, product and select; backends fuse it into
    /// one pass. Float32 and Float64; p in [0, 1).
    abstract Dropout: key: Key * p: float -> RawTensor * RawTensor

    default x.Dropout(key, p) =
        RawTensor.CheckFloat("dropout", x)

        let keep =
            x.Backend.RandomUniform(key, x.Shape, x.DType).Compare(CompareKind.Ge, x.ScalarOf p)

        x.Binary(BinaryKind.Mul, x.ScalarOf(1.0 / (1.0 - p))).Where(keep, x.ScalarOf 0.0), keep

    /// With this as the output gradient dy of Dropout and its saved Bool mask: keep ? dy * (1 / (1 - p)) : 0, bit for
    /// bit the composed select then product.
    abstract DropoutBackward: keep: RawTensor * p: float -> RawTensor

    default dy.DropoutBackward(keep, p) =
        RawTensor.CheckFloat("dropoutBackward", dy)
        Shape.checkEqual "dropoutBackward" dy.Shape keep.Shape
        dy.Where(keep, dy.ScalarOf 0.0).Binary(BinaryKind.Mul, dy.ScalarOf(1.0 / (1.0 - p)))

    /// [N; C; ...] viewed as [N; C; L], with the channel dim in the middle, for the batch normalization members.
    static member private ChannelView(op: string, t: RawTensor) =
        let n, c, l = RawTensor.ChannelDims(op, t.Shape)
        t.Reshape(Shape.Wrap [| n; c; l |])

    /// The [N; C; L] sizes of a batch normalization input of this shape (L: the product of the dims after C),
    /// checked: a non-empty tensor of rank 2 or more, op named in the message. Backends' overrides check with it too.
    static member internal ChannelDims(op: string, shape: Shape) =
        let d = shape.Dims

        if d.Length < 2 || d[0] < 1 || d[1] < 1 || shape.Numel = 0 then
            invalidArg "x" (sprintf "%s: expected a non-empty input [N; C; ...], got %O." op shape)

        d[0], d[1], shape.Numel / (d[0] * d[1])

    /// Batch normalization with batch statistics (training mode) of this [N; C; ...] tensor over every dim but the
    /// channel dim 1: returns y = (x - mean) / sqrt(var + eps) * weight + bias and the per-channel batch mean and
    /// biased variance as [C] tensors (for the backward and the running statistics). weight and bias hold C elements.
    /// Float32 and Float64.
    abstract BatchNorm:
        weight: RawTensor option * bias: RawTensor option * eps: float -> RawTensor * RawTensor * RawTensor

    default x.BatchNorm(weight, bias, eps) =
        RawTensor.CheckFloat("batchNorm", x)
        let x3 = RawTensor.ChannelView("batchNorm", x)
        let c = x.Shape.Dims[1]
        let perChannel (t: RawTensor) = t.Reshape(Shape.Wrap [| 1; c; 1 |])
        let count = x.ScalarOf(float (x.Shape.Numel / c))
        let mean = x3.Sum([| 0; 2 |], true).Binary(BinaryKind.Div, count)
        let xc = x3.Binary(BinaryKind.Sub, mean)

        let var =
            xc.Binary(BinaryKind.Mul, xc).Sum([| 0; 2 |], true).Binary(BinaryKind.Div, count)

        let mutable y =
            xc.Binary(BinaryKind.Mul, var.Binary(BinaryKind.Add, x.ScalarOf eps).Unary(UnaryKind.Rsqrt))

        match weight with
        | Some w -> y <- y.Binary(BinaryKind.Mul, perChannel w)
        | None -> ()

        match bias with
        | Some b -> y <- y.Binary(BinaryKind.Add, perChannel b)
        | None -> ()

        let flat = Shape.Wrap [| c |]
        y.Reshape x.Shape, mean.Reshape flat, var.Reshape flat

    /// With this as the output gradient dy of BatchNorm on input, from the saved batch mean and biased variance:
    /// (dx, dweight, dbias), dx including the batch statistics' dependence on the input, dweight and dbias [C].
    abstract BatchNormBackward:
        input: RawTensor * mean: RawTensor * var: RawTensor * weight: RawTensor option * eps: float ->
            RawTensor * RawTensor * RawTensor

    default dy.BatchNormBackward(input, mean, var, weight, eps) =
        RawTensor.CheckFloat("batchNormBackward", dy)
        Shape.checkEqual "batchNormBackward" dy.Shape input.Shape
        let g = RawTensor.ChannelView("batchNormBackward", dy)
        let c = dy.Shape.Dims[1]
        let perChannel (t: RawTensor) = t.Reshape(Shape.Wrap [| 1; c; 1 |])

        let rstd =
            (perChannel var).Binary(BinaryKind.Add, dy.ScalarOf eps).Unary(UnaryKind.Rsqrt)

        let xhat =
            RawTensor
                .ChannelView("batchNormBackward", input)
                .Binary(BinaryKind.Sub, perChannel mean)
                .Binary(BinaryKind.Mul, rstd)

        let gw =
            match weight with
            | Some w -> g.Binary(BinaryKind.Mul, perChannel w)
            | None -> g

        let count = dy.ScalarOf(float (dy.Shape.Numel / c))
        let meanGw = gw.Sum([| 0; 2 |], true).Binary(BinaryKind.Div, count)

        let meanGwX =
            gw.Binary(BinaryKind.Mul, xhat).Sum([| 0; 2 |], true).Binary(BinaryKind.Div, count)

        let dx =
            gw
                .Binary(BinaryKind.Sub, meanGw)
                .Binary(BinaryKind.Sub, xhat.Binary(BinaryKind.Mul, meanGwX))
                .Binary(BinaryKind.Mul, rstd)

        dx.Reshape dy.Shape, g.Binary(BinaryKind.Mul, xhat).Sum([| 0; 2 |], false), g.Sum([| 0; 2 |], false)

    /// Adjoint of MaxPool2d: this gradient added at the positions indices name, zeros elsewhere.
    abstract MaxPool2dBackward: indices: RawTensor * inputShape: Shape -> RawTensor

    default g.MaxPool2dBackward(indices, inputShape) =
        let r = inputShape.Rank

        let flat (d: int[]) =
            Shape.Wrap(Array.append d[.. r - 3] [| d[r - 2] * d[r - 1] |])

        let fi = flat g.Shape.Dims

        g.Backend.Zeros(flat inputShape.Dims, g.DType).ScatterAdd(r - 2, indices.Reshape fi, g.Reshape fi).Reshape
            inputShape

    /// Nearest-neighbour resize of the last two dims to outputSize (source index PoolGeometry.nearestSource).
    abstract UpsampleNearest2d: outputSize: int[] -> RawTensor

    default x.UpsampleNearest2d(outputSize) =
        let r = x.Shape.Rank
        let d = x.Shape.Dims
        let map = RawTensor.NearestMap(x.Backend)

        x.IndexSelect(r - 2, map d[r - 2] outputSize[0]).IndexSelect(r - 1, map d[r - 1] outputSize[1])

    /// Adjoint of UpsampleNearest2d: each output gradient added at its source element.
    abstract UpsampleNearest2dBackward: inputShape: Shape -> RawTensor

    default g.UpsampleNearest2dBackward(inputShape) =
        let r = g.Shape.Rank
        let d, inDims = g.Shape.Dims, inputShape.Dims
        let map = RawTensor.NearestMap(g.Backend)
        let rows = Array.copy d
        rows[r - 1] <- inDims[r - 1]

        let byColumns =
            g.Backend.Zeros(Shape.Wrap rows, g.DType).IndexAdd(r - 1, map inDims[r - 1] d[r - 1], g)

        g.Backend.Zeros(inputShape, g.DType).IndexAdd(r - 2, map inDims[r - 2] d[r - 2], byColumns)

    static member private NearestMap (b: Backend) (inLen: int) (outLen: int) =
        b.FromArray(
            Array.init outLen (fun i -> int64 (PoolGeometry.nearestSource i inLen outLen)),
            Shape.Wrap [| outLen |]
        )

    /// Layer normalization of every run of the trailing `normalized` elements (biased variance, as PyTorch):
    /// returns y = (x - mean) * rstd * weight + bias and, per run, the mean and rstd = 1 / sqrt(var + eps) as
    /// [runs] tensors for the backward. weight and bias hold `normalized` elements. Float32 and Float64.
    abstract LayerNorm:
        normalized: int * weight: RawTensor option * bias: RawTensor option * eps: float ->
            RawTensor * RawTensor * RawTensor

    default x.LayerNorm(normalized, weight, bias, eps) =
        RawTensor.CheckFloat("layerNorm", x)
        let runs = RawTensor.Runs("layerNorm", x.Shape, normalized)
        let x2 = x.Reshape(Shape.Wrap [| runs; normalized |])
        let n = x.ScalarOf(float normalized)
        let mean = x2.Sum([| 1 |], true).Binary(BinaryKind.Div, n)
        let xc = x2.Binary(BinaryKind.Sub, mean)

        let rstd =
            xc
                .Binary(BinaryKind.Mul, xc)
                .Sum([| 1 |], true)
                .Binary(BinaryKind.Div, n)
                .Binary(BinaryKind.Add, x.ScalarOf eps)
                .Unary(UnaryKind.Rsqrt)

        let mutable y = xc.Binary(BinaryKind.Mul, rstd)

        match weight with
        | Some w -> y <- y.Binary(BinaryKind.Mul, w.Reshape(Shape.Wrap [| normalized |]))
        | None -> ()

        match bias with
        | Some b -> y <- y.Binary(BinaryKind.Add, b.Reshape(Shape.Wrap [| normalized |]))
        | None -> ()

        let r = Shape.Wrap [| runs |]
        y.Reshape x.Shape, mean.Reshape r, rstd.Reshape r

    /// With this as the output gradient dy of LayerNorm on input: (dx, dweight, dbias), dweight and dbias of
    /// `normalized` elements summed over the runs, from the saved mean and rstd.
    abstract LayerNormBackward:
        input: RawTensor * mean: RawTensor * rstd: RawTensor * weight: RawTensor option * normalized: int ->
            RawTensor * RawTensor * RawTensor

    default dy.LayerNormBackward(input, mean, rstd, weight, normalized) =
        RawTensor.CheckFloat("layerNormBackward", dy)
        let runs = RawTensor.Runs("layerNormBackward", dy.Shape, normalized)
        let rows = Shape.Wrap [| runs; normalized |]
        let col = Shape.Wrap [| runs; 1 |]
        let g = dy.Reshape rows
        let rs = rstd.Reshape col

        let xhat =
            input.Reshape(rows).Binary(BinaryKind.Sub, mean.Reshape col).Binary(BinaryKind.Mul, rs)

        let gw =
            match weight with
            | Some w -> g.Binary(BinaryKind.Mul, w.Reshape(Shape.Wrap [| normalized |]))
            | None -> g

        let n = dy.ScalarOf(float normalized)
        let meanGw = gw.Sum([| 1 |], true).Binary(BinaryKind.Div, n)

        let meanGwX =
            gw.Binary(BinaryKind.Mul, xhat).Sum([| 1 |], true).Binary(BinaryKind.Div, n)

        let dx =
            gw
                .Binary(BinaryKind.Sub, meanGw)
                .Binary(BinaryKind.Sub, xhat.Binary(BinaryKind.Mul, meanGwX))
                .Binary(BinaryKind.Mul, rs)

        dx.Reshape dy.Shape, g.Binary(BinaryKind.Mul, xhat).Sum([| 0 |], false), g.Sum([| 0 |], false)

    /// softmax(scale * this) over the last dim S of a [..., L, S] tensor of attention scores, in one pass per row;
    /// with causal, query i (the index along dim -2) gets weight 0 on keys j > i. Float32 and Float64.
    abstract AttentionSoftmax: scale: float * causal: bool -> RawTensor

    default x.AttentionSoftmax(scale, causal) =
        RawTensor.CheckFloat("attentionSoftmax", x)
        let d = x.Shape.Dims

        if d.Length < 2 then
            invalidArg "x" (sprintf "attentionSoftmax: expected scores [..., L, S], got %O." x.Shape)

        let r = d.Length
        let l, s = d[r - 2], d[r - 1]
        let z = x.Binary(BinaryKind.Mul, x.ScalarOf scale)

        if x.Shape.Numel = 0 then
            z
        else
            let z =
                if causal then
                    let b = x.Backend
                    let rows = b.Arange(0.0, 1.0, l, DType.Int64).Reshape(Shape.Wrap [| l; 1 |])
                    let cols = b.Arange(0.0, 1.0, s, DType.Int64).Reshape(Shape.Wrap [| 1; s |])
                    x.ScalarOf(System.Double.NegativeInfinity).Where(cols.Compare(CompareKind.Gt, rows), z)
                else
                    z

            let mx, _ = z.MaxAlong(r - 1, true)
            let e = z.Binary(BinaryKind.Sub, mx).Unary(UnaryKind.Exp)
            e.Binary(BinaryKind.Div, e.Sum([| r - 1 |], true))

    /// With this as the gradient of AttentionSoftmax's output y: scale * y * (g - sum(g * y)) per row.
    abstract AttentionSoftmaxBackward: output: RawTensor * scale: float -> RawTensor

    default g.AttentionSoftmaxBackward(output, scale) =
        RawTensor.CheckFloat("attentionSoftmaxBackward", g)
        Shape.checkEqual "attentionSoftmaxBackward" g.Shape output.Shape
        let last = g.Shape.Rank - 1
        let dot = g.Binary(BinaryKind.Mul, output).Sum([| last |], true)

        g.Binary(BinaryKind.Sub, dot).Binary(BinaryKind.Mul, output).Binary(BinaryKind.Mul, g.ScalarOf scale)

    /// The batch dims, L, S, E and Ev of Attention's operands (query this [..., L, E], key [..., S, E], value
    /// [..., S, Ev], equal batch dims, one floating-point dtype, one key length in [0, S] per batch slice when given),
    /// or an exception naming the op and the shapes.
    member internal q.AttentionSizes(op: string, k: RawTensor, v: RawTensor, keyLengths: int[] option) =
        RawTensor.CheckFloat(op, q)
        let qd, kd, vd = q.Shape.Dims, k.Shape.Dims, v.Shape.Dims
        let r = qd.Length

        if
            r < 2
            || kd.Length <> r
            || vd.Length <> r
            || qd[.. r - 3] <> kd[.. r - 3]
            || qd[.. r - 3] <> vd[.. r - 3]
            || qd[r - 1] <> kd[r - 1]
            || kd[r - 2] <> vd[r - 2]
        then
            invalidArg
                "key"
                (sprintf
                    "%s: expected query [..., L, E], key [..., S, E] and value [..., S, Ev] with equal batch dims, got %O, %O and %O; expand the batch dims first."
                    op
                    q.Shape
                    k.Shape
                    v.Shape)

        if k.DType <> q.DType || v.DType <> q.DType then
            invalidArg
                "key"
                (sprintf "%s: query, key and value must share one dtype, got %O, %O and %O." op q.DType k.DType v.DType)

        let batch = Array.fold (*) 1 qd[.. r - 3]
        let s = kd[r - 2]

        match keyLengths with
        | Some lens when lens.Length <> batch || Array.exists (fun n -> n < 0 || n > s) lens ->
            invalidArg
                "keyLengths"
                (sprintf
                    "%s: expected %d key lengths in [0, %d] (one per batch slice of query %O), got [%s]."
                    op
                    batch
                    s
                    q.Shape
                    (String.Join("; ", lens)))
        | _ -> ()

        qd[.. r - 3], qd[r - 2], s, qd[r - 1], vd[r - 1]

    /// The keys each query may see as a Bool tensor broadcasting to the scores [..., L, S], or None when all may.
    member internal q.AttentionVisible(s: int, causal: bool, keyLengths: int[] option) =
        let d = q.Shape.Dims
        let r = d.Length
        let b = q.Backend
        let cols = b.Arange(0.0, 1.0, s, DType.Int64).Reshape(Shape.Wrap [| 1; s |])

        let causalMask =
            if causal then
                let rows =
                    b.Arange(0.0, 1.0, d[r - 2], DType.Int64).Reshape(Shape.Wrap [| d[r - 2]; 1 |])

                Some(cols.Compare(CompareKind.Le, rows))
            else
                None

        let padMask =
            keyLengths
            |> Option.map (fun lens ->
                let lens =
                    b.FromArray(Array.map int64 lens, Shape.Wrap(Array.append d[.. r - 3] [| 1; 1 |]))

                cols.Compare(CompareKind.Lt, lens))

        match causalMask, padMask with
        | Some c, Some p -> Some(c.Logical(LogicalKind.And, p))
        | Some m, None
        | None, Some m -> Some m
        | None, None -> None

    /// Whether Attention pays over composing MatMul, AttentionSoftmax and MatMul with the weights kept for the
    /// backward, for these sizes (batch slices, L queries, S keys, E and Ev per head). The default says no: the
    /// composed path is the reference, and a backend says yes only where its fused kernel measures faster.
    abstract PrefersFusedAttention: batch: int * l: int * s: int * e: int * ev: int * causal: bool -> bool

    default _.PrefersFusedAttention(_, _, _, _, _, _) = false

    /// Scaled dot-product attention with this tensor as the query [..., L, E], key [..., S, E] and value
    /// [..., S, Ev] (equal batch dims): returns o = softmax(scale q k^T + mask) v [..., L, Ev] and lse [..., L], the
    /// log-sum-exp of each query's scaled, masked scores, which is all the backward needs besides the operands (no
    /// [L, S] matrix is kept). The mask lets query i see key j when j <= i (causal) and j < keyLengths[b] (one per
    /// batch slice b, in row-major order of the batch dims) when given. A query that sees no key gets a NaN row and
    /// lse -inf. Float32 and Float64.
    abstract Attention:
        key: RawTensor * value: RawTensor * scale: float * causal: bool * keyLengths: int[] option ->
            RawTensor * RawTensor

    default q.Attention(k, v, scale, causal, keyLengths) =
        let batch, l, s, _, ev = q.AttentionSizes("attention", k, v, keyLengths)
        let r = q.Shape.Rank
        let lseShape = Shape.Wrap(Array.append batch [| l |])

        if s = 0 then
            q.Backend.Full(Shape.Wrap(Array.append batch [| l; ev |]), q.DType, Double.NaN),
            q.Backend.Full(lseShape, q.DType, Double.NegativeInfinity)
        else
            let neginf = q.ScalarOf Double.NegativeInfinity
            let z = q.MatMul(false, k, true).Binary(BinaryKind.Mul, q.ScalarOf scale)

            let z =
                match q.AttentionVisible(s, causal, keyLengths) with
                | Some m -> z.Where(m, neginf)
                | None -> z

            let mx, _ = z.MaxAlong(r - 1, true)
            // A row that sees nothing has max -inf; shifting it by 0 keeps exp at 0 and its lse at -inf.
            let mx = q.ScalarOf(0.0).Where(mx.Compare(CompareKind.Eq, neginf), mx)
            let e = z.Binary(BinaryKind.Sub, mx).Unary(UnaryKind.Exp)
            let sum = e.Sum([| r - 1 |], true)
            let o = e.Binary(BinaryKind.Div, sum).MatMul(false, v, false)
            o, mx.Binary(BinaryKind.Add, sum.Unary(UnaryKind.Log)).Reshape lseShape

    /// With this as the gradient dO of Attention's output o: the gradients (dq, dk, dv) of sum(o * dO), from the
    /// operands, o and lse as Attention returned them. Queries that see no key contribute nothing.
    abstract AttentionBackward:
        query: RawTensor *
        key: RawTensor *
        value: RawTensor *
        output: RawTensor *
        lse: RawTensor *
        scale: float *
        causal: bool *
        keyLengths: int[] option ->
            RawTensor * RawTensor * RawTensor

    default dO.AttentionBackward(q, k, v, o, lse, scale, causal, keyLengths) =
        let batch, l, s, _, ev = q.AttentionSizes("attentionBackward", k, v, keyLengths)
        let r = q.Shape.Rank
        let col = Shape.Wrap(Array.append batch [| l; 1 |])
        Shape.checkEqual "attentionBackward" (Shape.Wrap(Array.append batch [| l; ev |])) dO.Shape
        Shape.checkEqual "attentionBackward" dO.Shape o.Shape
        Shape.checkEqual "attentionBackward" (Shape.Wrap(Array.append batch [| l |])) lse.Shape

        if s = 0 then
            q.Backend.Zeros(q.Shape, q.DType), k.Backend.Zeros(k.Shape, k.DType), v.Backend.Zeros(v.Shape, v.DType)
        else
            let neginf = q.ScalarOf Double.NegativeInfinity
            let zero = q.ScalarOf 0.0
            let lse = lse.Reshape col
            let empty = lse.Compare(CompareKind.Eq, neginf)
            let z = q.MatMul(false, k, true).Binary(BinaryKind.Mul, q.ScalarOf scale)

            let z =
                match q.AttentionVisible(s, causal, keyLengths) with
                | Some m -> z.Where(m, neginf)
                | None -> z

            // The weights again from lse; +inf for empty rows makes them 0 instead of exp(-inf + inf).
            let p =
                z.Binary(BinaryKind.Sub, q.ScalarOf(Double.PositiveInfinity).Where(empty, lse)).Unary(UnaryKind.Exp)

            let dv = p.MatMul(true, dO, false)
            let rowDot = dO.Binary(BinaryKind.Mul, o).Sum([| r - 1 |], true)

            let ds =
                dO
                    .MatMul(false, v, true)
                    .Binary(BinaryKind.Sub, rowDot)
                    .Binary(BinaryKind.Mul, p)
                    .Binary(BinaryKind.Mul, q.ScalarOf scale)

            let ds = zero.Where(empty, ds)
            ds.MatMul(false, k, false), ds.MatMul(true, q, false), dv

    /// The tanh GELU, x sigmoid(2 sqrt(2/pi) (x + 0.044715 x^3)) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))),
    /// elementwise in one pass. Float32 and Float64.
    abstract GeluTanh: unit -> RawTensor

    default x.GeluTanh() =
        RawTensor.CheckFloat("geluTanh", x)
        let s = x.ScalarOf
        let x3 = x.Binary(BinaryKind.Mul, x).Binary(BinaryKind.Mul, x)

        let u =
            x.Binary(BinaryKind.Add, x3.Binary(BinaryKind.Mul, s 0.044715)).Binary(BinaryKind.Mul, s RawTensor.GeluC)

        u.Unary(UnaryKind.Tanh).Binary(BinaryKind.Add, s 1.0).Binary(BinaryKind.Mul, x).Binary(BinaryKind.Mul, s 0.5)

    /// With this as the input x of GeluTanh: grad * gelu'(x) elementwise (grad has x's shape), in one pass.
    abstract GeluTanhBackward: grad: RawTensor -> RawTensor

    default x.GeluTanhBackward(grad) =
        RawTensor.CheckFloat("geluTanhBackward", x)
        Shape.checkEqual "geluTanhBackward" x.Shape grad.Shape
        let s = x.ScalarOf
        let x2 = x.Binary(BinaryKind.Mul, x)

        let u =
            x
                .Binary(BinaryKind.Add, x2.Binary(BinaryKind.Mul, x).Binary(BinaryKind.Mul, s 0.044715))
                .Binary(BinaryKind.Mul, s RawTensor.GeluC)

        let th = u.Unary(UnaryKind.Tanh)
        // d/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 a x^2)
        let du =
            x2
                .Binary(BinaryKind.Mul, s (3.0 * 0.044715))
                .Binary(BinaryKind.Add, s 1.0)
                .Binary(BinaryKind.Mul, s RawTensor.GeluC)

        let sech2 = s(1.0).Binary(BinaryKind.Sub, th.Binary(BinaryKind.Mul, th))

        let d =
            th
                .Binary(BinaryKind.Add, s 1.0)
                .Binary(BinaryKind.Add, x.Binary(BinaryKind.Mul, sech2).Binary(BinaryKind.Mul, du))
                .Binary(BinaryKind.Mul, s 0.5)

        grad.Binary(BinaryKind.Mul, d)

    static member private GeluC = sqrt (2.0 / System.Math.PI)

    /// The error for a backend that left a required primitive unimplemented (a stub raising NotImplementedException):
    /// names the primitive, the backend and the op that needed it.
    static member MissingPrimitive(backend: Backend, op: string, e: NotImplementedException) : exn =
        let primitive =
            match e.TargetSite with
            | null -> "?"
            | m when
                not (isNull m.DeclaringType)
                && typeof<RawTensor>.IsAssignableFrom m.DeclaringType
                ->
                "RawTensor." + m.Name
            | m when not (isNull m.DeclaringType) && typeof<Backend>.IsAssignableFrom m.DeclaringType ->
                "Backend." + m.Name
            | m -> m.Name

        NotSupportedException(
            sprintf
                "The %s backend (%O) does not implement the required primitive %s, which %s needs. Every abstract member of RawTensor and Backend must be implemented; the fused members have defaults."
                backend.Name
                backend.Device
                primitive
                op,
            e
        )


/// Creates raw tensors on one device.
and [<AbstractClass>] Backend() =
    /// The device this backend allocates on.
    abstract Device: Device
    /// The backend's name in messages (the type name unless overridden).
    abstract Name: string
    default b.Name = b.GetType().Name
    /// A tensor of zeros.
    abstract Zeros: Shape * DType -> RawTensor
    /// A tensor with every element equal to value (converted to dtype).
    abstract Full: Shape * DType * value: float -> RawTensor
    /// A tensor holding a copy of a typed array (float32[], float[], int[], int64[] or bool[]).
    abstract FromArray: Array * Shape -> RawTensor
    /// start, start + step, ... (count elements).
    abstract Arange: start: float * step: float * count: int * DType -> RawTensor
    /// Uniform [0, 1) floats drawn from the key's stream (identical on every backend).
    abstract RandomUniform: Key * Shape * DType -> RawTensor
    /// Standard normal floats drawn from the key's stream (identical on every backend).
    abstract RandomNormal: Key * Shape * DType -> RawTensor
    /// Concatenation along dim (all tensors on this backend, same dtype, equal other dims).
    abstract Cat: RawTensor[] * dim: int -> RawTensor
