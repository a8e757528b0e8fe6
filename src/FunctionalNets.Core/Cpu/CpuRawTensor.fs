namespace FunctionalNets.Cpu

open System
open FunctionalNets

/// A contiguous row-major tensor in CPU memory. Reshape shares storage; every other op writes a new buffer.
[<Sealed>]
type CpuRawTensor(storage: CpuStorage, shape: Shape, dtype: DType) =
    inherit RawTensor(shape, dtype, Device.Cpu)

    static let backend = lazy (CpuBackend() :> Backend)

    /// A new tensor over a freshly rented (uninitialised) buffer.
    static member internal Alloc(shape: Shape, dtype: DType) =
        CpuRawTensor(CpuStorage.Create(dtype, CpuPool.rent dtype shape.Numel), shape, dtype)

    static member internal Of(r: RawTensor, op: string) =
        match r with
        | :? CpuRawTensor as c -> c
        | _ ->
            invalidArg
                "other"
                (sprintf "%s: expected a CPU tensor but got one on %O; move it with Tensor.toDevice first." op r.Device)

    static member internal DefaultBackend = backend.Value

    // Op names for messages, without reflection-based formatting on the hot path.
    static member private BinaryName(k: BinaryKind) =
        match k with
        | BinaryKind.Add -> "add"
        | BinaryKind.Sub -> "sub"
        | BinaryKind.Mul -> "mul"
        | BinaryKind.Div -> "div"
        | BinaryKind.Pow -> "pow"
        | BinaryKind.Max -> "maximum"
        | BinaryKind.Min -> "minimum"

    static member private CompareName(k: CompareKind) =
        match k with
        | CompareKind.Eq -> "eq"
        | CompareKind.Ne -> "ne"
        | CompareKind.Lt -> "lt"
        | CompareKind.Le -> "le"
        | CompareKind.Gt -> "gt"
        | CompareKind.Ge -> "ge"

    member internal _.Data = storage.Data
    member internal _.CpuStorage = storage

    member private t.SameDType (op: string) (o: RawTensor) =
        if o.DType <> dtype then
            invalidArg
                "other"
                (sprintf
                    "%s: dtypes differ (%O %O and %O %O); cast one with Tensor.cast."
                    op
                    dtype
                    shape
                    o.DType
                    o.Shape)

    member private t.Broadcast2 (op: string) (o: CpuRawTensor) =
        let outShape = Shape.broadcast op shape o.Shape
        outShape, Shape.broadcastStrides shape outShape, Shape.broadcastStrides o.Shape outShape

    override _.Backend = backend.Value
    override _.Storage = storage :> IScopedStorage

    override t.Unary(k) =
        let y = CpuRawTensor.Alloc(shape, dtype)

        // Some span kernels (TensorPrimitives.Sigmoid) refuse empty spans; an empty tensor maps to an empty one.
        if shape.Numel > 0 then
            CpuKernels.unary dtype k t.Data y.Data
        elif not dtype.IsFloatingPoint then
            CpuKernels.unary dtype k t.Data y.Data

        y :> RawTensor

    override t.Binary(k, other) =
        let op = CpuRawTensor.BinaryName k
        t.SameDType op other
        let o = CpuRawTensor.Of(other, op)
        let outShape, sa, sb = t.Broadcast2 op o
        let y = CpuRawTensor.Alloc(outShape, dtype)
        CpuKernels.binary dtype k t.Data sa o.Data sb y.Data outShape.Dims
        y :> RawTensor

    override t.Compare(k, other) =
        let op = CpuRawTensor.CompareName k
        t.SameDType op other
        let o = CpuRawTensor.Of(other, op)
        let outShape, sa, sb = t.Broadcast2 op o
        let y = CpuRawTensor.Alloc(outShape, DType.Bool)
        CpuKernels.compare dtype k t.Data sa o.Data sb y.Data outShape.Dims
        y :> RawTensor

    override t.Logical(k, other) =
        let op =
            match k with
            | LogicalKind.And -> "logicalAnd"
            | LogicalKind.Or -> "logicalOr"
            | LogicalKind.Xor -> "logicalXor"

        if dtype <> DType.Bool || other.DType <> DType.Bool then
            invalidArg "other" (sprintf "%s: both operands must be Bool, got %O and %O." op dtype other.DType)

        let o = CpuRawTensor.Of(other, op)
        let outShape, sa, sb = t.Broadcast2 op o
        let y = CpuRawTensor.Alloc(outShape, DType.Bool)
        CpuKernels.logical k t.Data sa o.Data sb y.Data outShape.Dims
        y :> RawTensor

    override t.LogicalNot() =
        if dtype <> DType.Bool then
            invalidArg "this" (sprintf "logicalNot: expected a Bool tensor, got %O." dtype)

        let y = CpuRawTensor.Alloc(shape, DType.Bool)

        FunctionalNets.Kernels.Elementwise.LogicalNot(
            ReadOnlySpan<bool>(t.Data :?> bool[]),
            Span<bool>(y.Data :?> bool[])
        )

        y :> RawTensor

    override t.Where(cond, other) =
        t.SameDType "where" other

        if cond.DType <> DType.Bool then
            invalidArg "cond" (sprintf "where: the condition must be Bool, got %O." cond.DType)

        let c = CpuRawTensor.Of(cond, "where")
        let o = CpuRawTensor.Of(other, "where")
        let s1 = Shape.broadcast "where" c.Shape shape
        let outShape = Shape.broadcast "where" s1 o.Shape
        let y = CpuRawTensor.Alloc(outShape, dtype)

        CpuKernels.where
            dtype
            c.Data
            (Shape.broadcastStrides c.Shape outShape)
            t.Data
            (Shape.broadcastStrides shape outShape)
            o.Data
            (Shape.broadcastStrides o.Shape outShape)
            y.Data
            outShape.Dims

        y :> RawTensor

    override t.Cast(target) =
        if target = dtype then
            t :> RawTensor
        else
            let y = CpuRawTensor.Alloc(shape, target)
            CpuKernels.convert dtype target t.Data y.Data
            y :> RawTensor

    override t.Sum(dims, keepDim) =
        let d = shape.Dims
        let keptShape = d |> Array.mapi (fun i n -> if Array.contains i dims then 1 else n)
        // Reduce the highest dims first so each pass is one [outer, n, inner] reduction over a contiguous buffer.
        let mutable cur = t
        let mutable curDims = Array.copy d

        let isRun = dims.Length > 0 && dims[dims.Length - 1] - dims[0] = dims.Length - 1

        if isRun then
            let outer = Array.fold (*) 1 d[.. dims[0] - 1]
            let n = Array.fold (*) 1 d[dims[0] .. dims[dims.Length - 1]]
            let inner = Array.fold (*) 1 d[dims[dims.Length - 1] + 1 ..]
            let y = CpuRawTensor.Alloc(Shape.Wrap keptShape, dtype)
            CpuKernels.sum dtype t.Data outer n inner y.Data
            cur <- y
        else
            for dim in Array.rev dims do
                let outer = Array.fold (*) 1 curDims[.. dim - 1]
                let n = curDims[dim]
                let inner = Array.fold (*) 1 curDims[dim + 1 ..]
                curDims[dim] <- 1
                let y = CpuRawTensor.Alloc(Shape.Wrap(Array.copy curDims), dtype)
                CpuKernels.sum dtype cur.Data outer n inner y.Data
                cur <- y

        let outShape =
            if keepDim then
                keptShape
            else
                d
                |> Array.indexed
                |> Array.filter (fun (i, _) -> not (Array.contains i dims))
                |> Array.map snd

        CpuRawTensor(cur.CpuStorage, Shape.Wrap outShape, dtype) :> RawTensor

    member private t.Extreme(isMax: bool, dim: int, keepDim: bool) =
        let d = shape.Dims
        let outer = Array.fold (*) 1 d[.. dim - 1]
        let n = d[dim]
        let inner = Array.fold (*) 1 d[dim + 1 ..]

        let outShape =
            if keepDim then
                Shape.withDim dim 1 shape
            else
                Shape.removeDim dim shape

        let y = CpuRawTensor.Alloc(outShape, dtype)
        let idx = CpuRawTensor.Alloc(outShape, DType.Int64)
        CpuKernels.extreme dtype isMax t.Data outer n inner y.Data (idx.Data :?> int64[])
        y :> RawTensor, idx :> RawTensor

    override t.MaxAlong(dim, keepDim) = t.Extreme(true, dim, keepDim)
    override t.MinAlong(dim, keepDim) = t.Extreme(false, dim, keepDim)

    override t.MatMul(transA, other, transB) =
        t.SameDType "matmul" other
        let o = CpuRawTensor.Of(other, "matmul")

        if shape.Rank < 2 || o.Shape.Rank < 2 then
            invalidArg "other" (sprintf "matmul: both operands need rank >= 2 here, got %O and %O." shape o.Shape)

        let ad, bd = shape.Dims, o.Shape.Dims
        let ra, rb = ad.Length, bd.Length

        let m, ka =
            (if transA then
                 ad[ra - 1], ad[ra - 2]
             else
                 ad[ra - 2], ad[ra - 1])

        let kb, n =
            (if transB then
                 bd[rb - 1], bd[rb - 2]
             else
                 bd[rb - 2], bd[rb - 1])

        if ka <> kb then
            invalidArg
                "other"
                (sprintf
                    "matmul: inner dimensions differ: %O%s x %O%s gives %d vs %d; expected the left operand's last dim to equal the right operand's second-to-last."
                    shape
                    (if transA then "^T" else "")
                    o.Shape
                    (if transB then "^T" else "")
                    ka
                    kb)

        let batchA = Shape.Wrap ad[.. ra - 3]
        let batchB = Shape.Wrap bd[.. rb - 3]
        let batch = Shape.broadcast "matmul (batch dims)" batchA batchB
        let nb = batch.Numel

        // A single matrix is broadcast with stride 0; a batch laid out like the broadcast batch is read in
        // place; anything else is expanded first.
        let prepare (x: CpuRawTensor) (xb: Shape) (rows: int) (cols: int) =
            if xb.Numel = 1 then
                x, 0L
            elif xb.Numel = nb then
                x, int64 (rows * cols)
            else
                let full = Shape.Wrap(Array.append batch.Dims [| rows; cols |])
                CpuRawTensor.Of(x.Expand full, "matmul"), int64 (rows * cols)

        let a, strideA = prepare t batchA ad[ra - 2] ad[ra - 1]
        let b, strideB = prepare o batchB bd[rb - 2] bd[rb - 1]
        let outShape = Shape.Wrap(Array.append batch.Dims [| m; n |])
        let y = CpuRawTensor.Alloc(outShape, dtype)

        match dtype with
        | DType.Float32 ->
            CpuKernels.sgemmBatched transA transB nb m n ka a.Data strideA b.Data strideB y.Data (int64 (m * n))
        | DType.Float64 ->
            CpuKernels.dgemmBatched transA transB nb m n ka a.Data strideA b.Data strideB y.Data (int64 (m * n))
        | _ -> invalidOp (sprintf "matmul is defined for float32 and float64 tensors, got %O; cast first." dtype)

        y :> RawTensor

    override t.Reshape(newShape) =
        if newShape.Numel <> shape.Numel then
            invalidArg "shape" (sprintf "reshape: cannot view %O (%d elements) as %O." shape shape.Numel newShape)

        CpuRawTensor(storage, newShape, dtype) :> RawTensor

    override t.Permute(perm) =
        let st = Shape.contiguousStrides shape
        let outDims = perm |> Array.map (fun p -> shape.Dims[p])
        let strides = perm |> Array.map (fun p -> st[p])
        let y = CpuRawTensor.Alloc(Shape.Wrap outDims, dtype)
        CpuKernels.stridedCopy dtype t.Data 0L strides y.Data outDims
        y :> RawTensor

    override t.Expand(target) =
        if target.Equals shape then
            t :> RawTensor
        else
            if not (Shape.canBroadcastTo shape target) then
                invalidArg "shape" (sprintf "expand: cannot expand %O to %O; only size-1 dims can grow." shape target)

            let y = CpuRawTensor.Alloc(target, dtype)
            CpuKernels.stridedCopy dtype t.Data 0L (Shape.broadcastStrides shape target) y.Data target.Dims
            y :> RawTensor

    override t.Slice(starts, steps, sizes) =
        let st = Shape.contiguousStrides shape
        let mutable offset = 0L

        for d in 0 .. starts.Length - 1 do
            offset <- offset + int64 starts[d] * int64 st[d]

        let strides = Array.init st.Length (fun d -> st[d] * steps[d])
        let y = CpuRawTensor.Alloc(Shape.Wrap(Array.copy sizes), dtype)
        CpuKernels.stridedCopy dtype t.Data offset strides y.Data sizes
        y :> RawTensor

    override t.SliceScatter(fullShape, starts, steps) =
        let y = CpuRawTensor.Alloc(fullShape, dtype)
        CpuKernels.fill dtype y.Data 0.0
        let st = Shape.contiguousStrides fullShape
        let mutable offset = 0L

        for d in 0 .. starts.Length - 1 do
            offset <- offset + int64 starts[d] * int64 st[d]

        let strides = Array.init st.Length (fun d -> st[d] * steps[d])
        CpuKernels.stridedAssign dtype t.Data y.Data offset strides shape.Dims
        y :> RawTensor

    override t.Gather(dim, index) =
        let ix = CpuRawTensor.Of(index, "gather")
        let y = CpuRawTensor.Alloc(ix.Shape, dtype)
        CpuKernels.gather dtype t.Data shape.Dims dim ix.Data ix.Shape.Dims y.Data
        y :> RawTensor

    override t.ScatterAdd(dim, index, src) =
        let ix = CpuRawTensor.Of(index, "scatterAdd")
        let s = CpuRawTensor.Of(src, "scatterAdd")
        let y = CpuRawTensor.Of(t.Clone(), "scatterAdd")
        CpuKernels.scatterAdd dtype y.Data shape.Dims dim ix.Data ix.Shape.Dims s.Data s.Shape.Dims
        y :> RawTensor

    override t.IndexSelect(dim, index) =
        let ix = CpuRawTensor.Of(index, "indexSelect")
        let y = CpuRawTensor.Alloc(Shape.withDim dim ix.Shape.Numel shape, dtype)
        CpuKernels.indexSelect dtype t.Data shape.Dims dim ix.Data y.Data
        y :> RawTensor

    override t.IndexAdd(dim, index, src) =
        let ix = CpuRawTensor.Of(index, "indexAdd")
        let s = CpuRawTensor.Of(src, "indexAdd")
        let y = CpuRawTensor.Of(t.Clone(), "indexAdd")
        CpuKernels.indexAdd dtype y.Data shape.Dims dim ix.Data s.Data
        y :> RawTensor

    override t.Pad(before, after, value) =
        let outDims = Array.init shape.Rank (fun d -> shape.Dims[d] + before[d] + after[d])
        let y = CpuRawTensor.Alloc(Shape.Wrap outDims, dtype)
        CpuKernels.fill dtype y.Data value
        let st = Shape.contiguousStrides y.Shape
        let mutable offset = 0L

        for d in 0 .. before.Length - 1 do
            offset <- offset + int64 before[d] * int64 st[d]

        CpuKernels.stridedAssign dtype t.Data y.Data offset st shape.Dims
        y :> RawTensor

    override t.AdamStep(m, v, b1, b2, eps, bc1, bc2) =
        for o in [ m; v ] do
            t.SameDType "adamStep" o
            Shape.checkEqual "adamStep" shape o.Shape

        let mIn = CpuRawTensor.Of(m, "adamStep")
        let vIn = CpuRawTensor.Of(v, "adamStep")
        let mOut = CpuRawTensor.Alloc(shape, dtype)
        let vOut = CpuRawTensor.Alloc(shape, dtype)
        let u = CpuRawTensor.Alloc(shape, dtype)

        match t.Data, mIn.Data, vIn.Data, mOut.Data, vOut.Data, u.Data with
        | (:? (float32[]) as g),
          (:? (float32[]) as m0),
          (:? (float32[]) as v0),
          (:? (float32[]) as m1),
          (:? (float32[]) as v1),
          (:? (float32[]) as up) ->
            FunctionalNets.Kernels.OptimizerKernels.Adam<float32>(
                ReadOnlySpan g,
                ReadOnlySpan m0,
                ReadOnlySpan v0,
                Span m1,
                Span v1,
                Span up,
                float32 b1,
                float32 b2,
                float32 eps,
                float32 bc1,
                float32 bc2
            )
        | (:? (float[]) as g),
          (:? (float[]) as m0),
          (:? (float[]) as v0),
          (:? (float[]) as m1),
          (:? (float[]) as v1),
          (:? (float[]) as up) ->
            FunctionalNets.Kernels.OptimizerKernels.Adam<float>(
                ReadOnlySpan g,
                ReadOnlySpan m0,
                ReadOnlySpan v0,
                Span m1,
                Span v1,
                Span up,
                b1,
                b2,
                eps,
                bc1,
                bc2
            )
        | _ -> invalidOp (sprintf "adamStep is defined for float32 and float64 tensors, got %O." dtype)

        mOut :> RawTensor, vOut :> RawTensor, u :> RawTensor

    override t.AdamApply(m, v, p, b1, b2, eps, bc1, bc2, scale) =
        for o in [ m; v; p ] do
            t.SameDType "adamApply" o
            Shape.checkEqual "adamApply" shape o.Shape

        let data (o: RawTensor) = CpuRawTensor.Of(o, "adamApply").Data
        let mOut = CpuRawTensor.Alloc(shape, dtype)
        let vOut = CpuRawTensor.Alloc(shape, dtype)
        let pOut = CpuRawTensor.Alloc(shape, dtype)

        match t.Data, data m, data v, data p, mOut.Data, vOut.Data, pOut.Data with
        | (:? (float32[]) as g),
          (:? (float32[]) as m0),
          (:? (float32[]) as v0),
          (:? (float32[]) as p0),
          (:? (float32[]) as m1),
          (:? (float32[]) as v1),
          (:? (float32[]) as p1) ->
            FunctionalNets.Kernels.OptimizerKernels.AdamApply<float32>(
                g,
                m0,
                v0,
                p0,
                m1,
                v1,
                p1,
                float32 b1,
                float32 b2,
                float32 eps,
                float32 bc1,
                float32 bc2,
                float32 scale
            )
        | (:? (float[]) as g),
          (:? (float[]) as m0),
          (:? (float[]) as v0),
          (:? (float[]) as p0),
          (:? (float[]) as m1),
          (:? (float[]) as v1),
          (:? (float[]) as p1) ->
            FunctionalNets.Kernels.OptimizerKernels.AdamApply<float>(
                g,
                m0,
                v0,
                p0,
                m1,
                v1,
                p1,
                b1,
                b2,
                eps,
                bc1,
                bc2,
                scale
            )
        | _ -> invalidOp (sprintf "adamApply is defined for float32 and float64 tensors, got %O." dtype)

        mOut :> RawTensor, vOut :> RawTensor, pOut :> RawTensor

    override t.Dropout(key, p) =
        let y = CpuRawTensor.Alloc(shape, dtype)
        let keep = CpuRawTensor.Alloc(shape, DType.Bool)
        let mask = keep.Data :?> bool[]

        match t.Data, y.Data with
        | (:? (float32[]) as x), (:? (float32[]) as yd) ->
            FunctionalNets.Kernels.Dropout.Forward(key.K0, key.K1, x, yd, mask, float32 p, float32 (1.0 / (1.0 - p)))
        | (:? (float[]) as x), (:? (float[]) as yd) ->
            FunctionalNets.Kernels.Dropout.Forward(key.K0, key.K1, x, yd, mask, p, 1.0 / (1.0 - p))
        | _ -> invalidOp (sprintf "dropout is defined for float32 and float64 tensors, got %O." dtype)

        y :> RawTensor, keep :> RawTensor

    override t.DropoutBackward(keep, p) =
        Shape.checkEqual "dropoutBackward" shape keep.Shape
        let dx = CpuRawTensor.Alloc(shape, dtype)

        match t.Data, CpuRawTensor.Of(keep, "dropoutBackward").Data, dx.Data with
        | (:? (float32[]) as dy), (:? (bool[]) as mask), (:? (float32[]) as d) ->
            FunctionalNets.Kernels.Dropout.Backward(dy, mask, d, float32 (1.0 / (1.0 - p)))
        | (:? (float[]) as dy), (:? (bool[]) as mask), (:? (float[]) as d) ->
            FunctionalNets.Kernels.Dropout.Backward(dy, mask, d, 1.0 / (1.0 - p))
        | _ ->
            invalidOp (
                sprintf
                    "dropoutBackward needs a float32 or float64 gradient and a Bool mask, got %O and %O."
                    dtype
                    keep.DType
            )

        dx :> RawTensor

    // ---- convolution primitives ----
    // The kernels validate through ConvGeometry, so the messages are the same from every entry point.
    member private t.ConvGeometry
        (
            op: string,
            input: Shape,
            weight: Shape,
            stride: int * int,
            padding: int * int,
            dilation: int * int,
            groups: int
        ) =
        let (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation

        FunctionalNets.Kernels.ConvGeometry.Create(
            op,
            input.ToArray(),
            weight.ToArray(),
            sh,
            sw,
            ph,
            pw,
            dh,
            dw,
            groups
        )

    member private t.ConvCheck (op: string) (other: RawTensor) =
        t.SameDType op other

        if dtype <> DType.Float32 && dtype <> DType.Float64 then
            invalidOp (sprintf "%s is defined for float32 and float64 tensors, got %O; cast first." op dtype)

        CpuRawTensor.Of(other, op)

    override t.Conv2d(weight, stride, padding, dilation, groups) =
        let w = t.ConvCheck "conv2d" weight
        let g = t.ConvGeometry("conv2d", shape, w.Shape, stride, padding, dilation, groups)
        let y = CpuRawTensor.Alloc(Shape.Wrap g.OutputShape, dtype)

        match t.Data, w.Data, y.Data with
        | (:? (float32[]) as x), (:? (float32[]) as wd), (:? (float32[]) as yd) ->
            FunctionalNets.Kernels.ConvKernels.Forward(&g, ReadOnlySpan x, ReadOnlySpan wd, Span yd)
        | (:? (float[]) as x), (:? (float[]) as wd), (:? (float[]) as yd) ->
            FunctionalNets.Kernels.ConvKernels.Forward(&g, ReadOnlySpan x, ReadOnlySpan wd, Span yd)
        | _ -> invalidOp "unreachable"

        y :> RawTensor

    override t.Conv2dInputGrad(weight, inputShape, stride, padding, dilation, groups) =
        let w = t.ConvCheck "conv2d input gradient" weight

        let g =
            t.ConvGeometry("conv2d input gradient", inputShape, w.Shape, stride, padding, dilation, groups)

        g.CheckOutput("conv2d input gradient", shape.ToArray())
        let dx = CpuRawTensor.Alloc(inputShape, dtype)

        match t.Data, w.Data, dx.Data with
        | (:? (float32[]) as dy), (:? (float32[]) as wd), (:? (float32[]) as d) ->
            FunctionalNets.Kernels.ConvKernels.InputGrad(&g, ReadOnlySpan dy, ReadOnlySpan wd, Span d)
        | (:? (float[]) as dy), (:? (float[]) as wd), (:? (float[]) as d) ->
            FunctionalNets.Kernels.ConvKernels.InputGrad(&g, ReadOnlySpan dy, ReadOnlySpan wd, Span d)
        | _ -> invalidOp "unreachable"

        dx :> RawTensor

    override t.Conv2dWeightGrad(input, weightShape, stride, padding, dilation, groups) =
        let x = t.ConvCheck "conv2d weight gradient" input

        let g =
            t.ConvGeometry("conv2d weight gradient", x.Shape, weightShape, stride, padding, dilation, groups)

        g.CheckOutput("conv2d weight gradient", shape.ToArray())
        let dw = CpuRawTensor.Alloc(weightShape, dtype)

        match t.Data, x.Data, dw.Data with
        | (:? (float32[]) as dy), (:? (float32[]) as xd), (:? (float32[]) as d) ->
            FunctionalNets.Kernels.ConvKernels.WeightGrad(&g, ReadOnlySpan dy, ReadOnlySpan xd, Span d)
        | (:? (float[]) as dy), (:? (float[]) as xd), (:? (float[]) as d) ->
            FunctionalNets.Kernels.ConvKernels.WeightGrad(&g, ReadOnlySpan dy, ReadOnlySpan xd, Span d)
        | _ -> invalidOp "unreachable"

        dw :> RawTensor


    // ---- pooling and upsampling primitives ----
    // The pooling geometry over the last two dims: every leading dim folds into the plane count.
    static member private Window
        (inShape: Shape, outH: int, outW: int, kernel: int[], stride: int[], padding: int[], dilation: int[])
        =
        let d = inShape.Dims
        let r = d.Length
        let h, w = d[r - 2], d[r - 1]
        let planes = if h * w = 0 then 0 else inShape.Numel / (h * w)

        FunctionalNets.Kernels.PoolWindow(
            planes,
            h,
            w,
            outH,
            outW,
            kernel[0],
            kernel[1],
            stride[0],
            stride[1],
            padding[0],
            padding[1],
            dilation[0],
            dilation[1]
        )

    static member private Resized(s: Shape, h: int, w: int) =
        let d = s.ToArray()
        d[d.Length - 2] <- h
        d[d.Length - 1] <- w
        Shape.Wrap d

    static member private NoWindow = [| 1; 1 |]

    // Runs a float32 or float64 kernel from input to a new output tensor of outShape.
    member private t.PlaneKernel
        (op: string, outShape: Shape, f32: float32[] -> float32[] -> unit, f64: float[] -> float[] -> unit)
        =
        let y = CpuRawTensor.Alloc(outShape, dtype)

        match t.Data, y.Data with
        | (:? (float32[]) as a), (:? (float32[]) as b) -> f32 a b
        | (:? (float[]) as a), (:? (float[]) as b) -> f64 a b
        | _ -> invalidOp (sprintf "%s is defined for float32 and float64 tensors, got %O %O." op dtype shape)

        y :> RawTensor

    override t.MaxPool2d(kernel, stride, padding, dilation, ceilMode) =
        let d = shape.Dims
        let r = d.Length

        let oh =
            PoolGeometry.outputLength (d[r - 2]) kernel[0] stride[0] padding[0] dilation[0] ceilMode

        let ow =
            PoolGeometry.outputLength (d[r - 1]) kernel[1] stride[1] padding[1] dilation[1] ceilMode

        let g = CpuRawTensor.Window(shape, oh, ow, kernel, stride, padding, dilation)
        let outShape = CpuRawTensor.Resized(shape, oh, ow)
        let idx = CpuRawTensor.Alloc(outShape, DType.Int64)
        let ix = idx.Data :?> int64[]

        let y =
            t.PlaneKernel(
                "maxPool2d",
                outShape,
                (fun a b -> FunctionalNets.Kernels.Pooling.MaxPool2d(a, g, b, ix)),
                (fun a b -> FunctionalNets.Kernels.Pooling.MaxPool2d(a, g, b, ix))
            )

        y, idx :> RawTensor

    override t.MaxPool2dBackward(indices, inputShape) =
        let d = shape.Dims

        let g =
            CpuRawTensor.Window(
                inputShape,
                d[d.Length - 2],
                d[d.Length - 1],
                CpuRawTensor.NoWindow,
                CpuRawTensor.NoWindow,
                [| 0; 0 |],
                CpuRawTensor.NoWindow
            )

        // The raw contract is public: a mismatched index tensor must fail here, not as a cast or range error.
        if indices.DType <> DType.Int64 || not (indices.Shape.Equals shape) then
            invalidArg
                "indices"
                (sprintf
                    "maxPool2dBackward: expected Int64 indices of the gradient's shape %O, got %O %O."
                    shape
                    indices.DType
                    indices.Shape)

        let ix = CpuRawTensor.Of(indices, "maxPool2dBackward").Data :?> int64[]

        t.PlaneKernel(
            "maxPool2dBackward",
            inputShape,
            (fun a b -> FunctionalNets.Kernels.Pooling.MaxPool2dBackward(a, ix, g, b)),
            (fun a b -> FunctionalNets.Kernels.Pooling.MaxPool2dBackward(a, ix, g, b))
        )

    override t.AvgPool2d(kernel, stride, padding, ceilMode, countIncludePad) =
        let d = shape.Dims
        let r = d.Length

        let oh =
            PoolGeometry.outputLength (d[r - 2]) kernel[0] stride[0] padding[0] 1 ceilMode

        let ow =
            PoolGeometry.outputLength (d[r - 1]) kernel[1] stride[1] padding[1] 1 ceilMode

        let g =
            CpuRawTensor.Window(shape, oh, ow, kernel, stride, padding, CpuRawTensor.NoWindow)

        t.PlaneKernel(
            "avgPool2d",
            CpuRawTensor.Resized(shape, oh, ow),
            (fun a b -> FunctionalNets.Kernels.Pooling.AvgPool2d(a, g, countIncludePad, b)),
            (fun a b -> FunctionalNets.Kernels.Pooling.AvgPool2d(a, g, countIncludePad, b))
        )

    override t.AvgPool2dBackward(inputShape, kernel, stride, padding, _ceilMode, countIncludePad) =
        // The output size (this gradient's last two dims) already reflects ceilMode.
        let d = shape.Dims

        let g =
            CpuRawTensor.Window(
                inputShape,
                d[d.Length - 2],
                d[d.Length - 1],
                kernel,
                stride,
                padding,
                CpuRawTensor.NoWindow
            )

        t.PlaneKernel(
            "avgPool2dBackward",
            inputShape,
            (fun a b -> FunctionalNets.Kernels.Pooling.AvgPool2dBackward(a, g, countIncludePad, b)),
            (fun a b -> FunctionalNets.Kernels.Pooling.AvgPool2dBackward(a, g, countIncludePad, b))
        )

    // The resampling ops ignore the window fields; only the plane sizes matter.
    member private t.ResampleWindow(inputShape: Shape, outH: int, outW: int) =
        CpuRawTensor.Window(
            inputShape,
            outH,
            outW,
            CpuRawTensor.NoWindow,
            CpuRawTensor.NoWindow,
            [| 0; 0 |],
            CpuRawTensor.NoWindow
        )

    // A resampling op's forward: this tensor's planes to planes of outputSize; the kernels see the window.
    member private t.ResampleTo
        (
            op: string,
            outputSize: int[],
            f32: FunctionalNets.Kernels.PoolWindow -> float32[] -> float32[] -> unit,
            f64: FunctionalNets.Kernels.PoolWindow -> float[] -> float[] -> unit
        ) =
        let g = t.ResampleWindow(shape, outputSize[0], outputSize[1])
        t.PlaneKernel(op, CpuRawTensor.Resized(shape, outputSize[0], outputSize[1]), f32 g, f64 g)

    // A resampling op's adjoint: this tensor is the output gradient, the result has inputShape.
    member private t.ResampleBack
        (
            op: string,
            inputShape: Shape,
            f32: FunctionalNets.Kernels.PoolWindow -> float32[] -> float32[] -> unit,
            f64: FunctionalNets.Kernels.PoolWindow -> float[] -> float[] -> unit
        ) =
        let d = shape.Dims
        let g = t.ResampleWindow(inputShape, d[d.Length - 2], d[d.Length - 1])
        t.PlaneKernel(op, inputShape, f32 g, f64 g)

    override t.AdaptiveAvgPool2d(outputSize) =
        t.ResampleTo(
            "adaptiveAvgPool2d",
            outputSize,
            (fun g a b -> FunctionalNets.Kernels.Pooling.AdaptiveAvgPool2d(a, g, b)),
            (fun g a b -> FunctionalNets.Kernels.Pooling.AdaptiveAvgPool2d(a, g, b))
        )

    override t.AdaptiveAvgPool2dBackward(inputShape) =
        t.ResampleBack(
            "adaptiveAvgPool2dBackward",
            inputShape,
            (fun g a b -> FunctionalNets.Kernels.Pooling.AdaptiveAvgPool2dBackward(a, g, b)),
            (fun g a b -> FunctionalNets.Kernels.Pooling.AdaptiveAvgPool2dBackward(a, g, b))
        )

    override t.UpsampleNearest2d(outputSize) =
        t.ResampleTo(
            "upsampleNearest",
            outputSize,
            (fun g a b -> FunctionalNets.Kernels.Upsample.Nearest2d(a, g, b)),
            (fun g a b -> FunctionalNets.Kernels.Upsample.Nearest2d(a, g, b))
        )

    override t.UpsampleNearest2dBackward(inputShape) =
        t.ResampleBack(
            "upsampleNearestBackward",
            inputShape,
            (fun g a b -> FunctionalNets.Kernels.Upsample.Nearest2dBackward(a, g, b)),
            (fun g a b -> FunctionalNets.Kernels.Upsample.Nearest2dBackward(a, g, b))
        )

    override t.UpsampleBilinear2d(outputSize, alignCorners) =
        t.ResampleTo(
            "upsampleBilinear",
            outputSize,
            (fun g a b -> FunctionalNets.Kernels.Upsample.Bilinear2d(a, g, alignCorners, b)),
            (fun g a b -> FunctionalNets.Kernels.Upsample.Bilinear2d(a, g, alignCorners, b))
        )

    override t.UpsampleBilinear2dBackward(inputShape, alignCorners) =
        t.ResampleBack(
            "upsampleBilinearBackward",
            inputShape,
            (fun g a b -> FunctionalNets.Kernels.Upsample.Bilinear2dBackward(a, g, alignCorners, b)),
            (fun g a b -> FunctionalNets.Kernels.Upsample.Bilinear2dBackward(a, g, alignCorners, b))
        )

    override t.CumSum(dim, reverse) =
        let d = shape.Dims
        let outer = Array.fold (fun acc n -> acc * int64 n) 1L d[.. dim - 1]
        let inner = Array.fold (*) 1 d[dim + 1 ..]
        let y = CpuRawTensor.Alloc(shape, dtype)

        match t.Data, y.Data with
        | (:? (float32[]) as a), (:? (float32[]) as b) ->
            FunctionalNets.Kernels.Scan.CumSum(a, outer, d[dim], inner, reverse, b)
        | (:? (float[]) as a), (:? (float[]) as b) ->
            FunctionalNets.Kernels.Scan.CumSum(a, outer, d[dim], inner, reverse, b)
        | (:? (int[]) as a), (:? (int[]) as b) ->
            FunctionalNets.Kernels.Scan.CumSum(a, outer, d[dim], inner, reverse, b)
        | (:? (int64[]) as a), (:? (int64[]) as b) ->
            FunctionalNets.Kernels.Scan.CumSum(a, outer, d[dim], inner, reverse, b)
        | _ -> invalidArg "x" (sprintf "cumsum: expected a numeric tensor, got %O %O; cast it first." dtype shape)

        y :> RawTensor

    member private _.Runs(op: string, normalized: int) =
        if normalized < 1 || shape.Numel % normalized <> 0 then
            invalidArg "normalized" (sprintf "%s: %d trailing elements do not tile input %O." op normalized shape)

        shape.Numel / normalized

    override t.LayerNorm(normalized, weight, bias, eps) =
        let runs = t.Runs("layerNorm", normalized)
        let y = CpuRawTensor.Alloc(shape, dtype)
        let mean = CpuRawTensor.Alloc(Shape.Wrap [| runs |], dtype)
        let rstd = CpuRawTensor.Alloc(Shape.Wrap [| runs |], dtype)

        let arr (o: RawTensor option) : 'T[] =
            match o with
            | Some r -> CpuRawTensor.Of(r, "layerNorm").Data :?> 'T[]
            | None -> Unchecked.defaultof<_>

        match t.Data with
        | :? (float32[]) as x ->
            FunctionalNets.Kernels.LayerNorm.Forward<float32>(
                x,
                int64 runs,
                normalized,
                arr weight,
                arr bias,
                eps,
                y.Data :?> float32[],
                mean.Data :?> float32[],
                rstd.Data :?> float32[]
            )
        | :? (float[]) as x ->
            FunctionalNets.Kernels.LayerNorm.Forward<float>(
                x,
                int64 runs,
                normalized,
                arr weight,
                arr bias,
                eps,
                y.Data :?> float[],
                mean.Data :?> float[],
                rstd.Data :?> float[]
            )
        | _ -> invalidArg "x" (sprintf "layerNorm: expected a Float32 or Float64 tensor, got %O %O." dtype shape)

        y :> RawTensor, mean :> RawTensor, rstd :> RawTensor

    override t.LayerNormBackward(input, mean, rstd, weight, normalized) =
        let runs = t.Runs("layerNormBackward", normalized)
        let dx = CpuRawTensor.Alloc(shape, dtype)
        let dw = CpuRawTensor.Alloc(Shape.Wrap [| normalized |], dtype)
        let db = CpuRawTensor.Alloc(Shape.Wrap [| normalized |], dtype)

        let data (r: RawTensor) =
            CpuRawTensor.Of(r, "layerNormBackward").Data

        let w: Array =
            match weight with
            | Some r -> data r
            | None -> Unchecked.defaultof<_>

        match t.Data with
        | :? (float32[]) as g ->
            FunctionalNets.Kernels.LayerNorm.Backward<float32>(
                g,
                data input :?> float32[],
                data mean :?> float32[],
                data rstd :?> float32[],
                int64 runs,
                normalized,
                w :?> float32[],
                dx.Data :?> float32[],
                dw.Data :?> float32[],
                db.Data :?> float32[]
            )
        | :? (float[]) as g ->
            FunctionalNets.Kernels.LayerNorm.Backward<float>(
                g,
                data input :?> float[],
                data mean :?> float[],
                data rstd :?> float[],
                int64 runs,
                normalized,
                w :?> float[],
                dx.Data :?> float[],
                dw.Data :?> float[],
                db.Data :?> float[]
            )
        | _ ->
            invalidArg "dy" (sprintf "layerNormBackward: expected a Float32 or Float64 tensor, got %O %O." dtype shape)

        dx :> RawTensor, dw :> RawTensor, db :> RawTensor

    override t.BatchNorm(weight, bias, eps) =
        let n, c, l = RawTensor.ChannelDims("batchNorm", shape)
        let y = CpuRawTensor.Alloc(shape, dtype)
        let mean = CpuRawTensor.Alloc(Shape.Wrap [| c |], dtype)
        let var = CpuRawTensor.Alloc(Shape.Wrap [| c |], dtype)

        let arr (o: RawTensor option) : 'T[] =
            match o with
            | Some r -> CpuRawTensor.Of(r, "batchNorm").Data :?> 'T[]
            | None -> Unchecked.defaultof<_>

        match t.Data with
        | :? (float32[]) as x ->
            FunctionalNets.Kernels.BatchNorm.Forward<float32>(
                x,
                n,
                c,
                l,
                arr weight,
                arr bias,
                eps,
                y.Data :?> float32[],
                mean.Data :?> float32[],
                var.Data :?> float32[]
            )
        | :? (float[]) as x ->
            FunctionalNets.Kernels.BatchNorm.Forward<float>(
                x,
                n,
                c,
                l,
                arr weight,
                arr bias,
                eps,
                y.Data :?> float[],
                mean.Data :?> float[],
                var.Data :?> float[]
            )
        | _ -> invalidArg "x" (sprintf "batchNorm: expected a Float32 or Float64 tensor, got %O %O." dtype shape)

        y :> RawTensor, mean :> RawTensor, var :> RawTensor

    override t.BatchNormBackward(input, mean, var, weight, eps) =
        let n, c, l = RawTensor.ChannelDims("batchNormBackward", shape)
        Shape.checkEqual "batchNormBackward" shape input.Shape
        let dx = CpuRawTensor.Alloc(shape, dtype)
        let dw = CpuRawTensor.Alloc(Shape.Wrap [| c |], dtype)
        let db = CpuRawTensor.Alloc(Shape.Wrap [| c |], dtype)

        let data (r: RawTensor) =
            CpuRawTensor.Of(r, "batchNormBackward").Data

        let w: Array =
            match weight with
            | Some r -> data r
            | None -> Unchecked.defaultof<_>

        match t.Data with
        | :? (float32[]) as g ->
            FunctionalNets.Kernels.BatchNorm.Backward<float32>(
                g,
                data input :?> float32[],
                data mean :?> float32[],
                data var :?> float32[],
                n,
                c,
                l,
                w :?> float32[],
                eps,
                dx.Data :?> float32[],
                dw.Data :?> float32[],
                db.Data :?> float32[]
            )
        | :? (float[]) as g ->
            FunctionalNets.Kernels.BatchNorm.Backward<float>(
                g,
                data input :?> float[],
                data mean :?> float[],
                data var :?> float[],
                n,
                c,
                l,
                w :?> float[],
                eps,
                dx.Data :?> float[],
                dw.Data :?> float[],
                db.Data :?> float[]
            )
        | _ ->
            invalidArg "dy" (sprintf "batchNormBackward: expected a Float32 or Float64 tensor, got %O %O." dtype shape)

        dx :> RawTensor, dw :> RawTensor, db :> RawTensor

    override t.AttentionSoftmax(scale, causal) =
        let d = shape.Dims

        if d.Length < 2 then
            invalidArg "x" (sprintf "attentionSoftmax: expected scores [..., L, S], got %O." shape)

        let l, s = d[d.Length - 2], d[d.Length - 1]
        let rows = int64 shape.Numel / int64 (max 1 s)

        t.PlaneKernel(
            "attentionSoftmax",
            shape,
            (fun a b -> FunctionalNets.Kernels.AttentionSoftmax.Forward(a, rows, l, s, scale, causal, b)),
            (fun a b -> FunctionalNets.Kernels.AttentionSoftmax.Forward(a, rows, l, s, scale, causal, b))
        )

    override t.AttentionSoftmaxBackward(output, scale) =
        let s = shape.Dims[shape.Rank - 1]
        let rows = int64 shape.Numel / int64 (max 1 s)
        let y = CpuRawTensor.Of(output, "attentionSoftmaxBackward").Data

        t.PlaneKernel(
            "attentionSoftmaxBackward",
            shape,
            (fun a b -> FunctionalNets.Kernels.AttentionSoftmax.Backward(a, y :?> float32[], rows, s, scale, b)),
            (fun a b -> FunctionalNets.Kernels.AttentionSoftmax.Backward(a, y :?> float[], rows, s, scale, b))
        )

    override q.PrefersFusedAttention(batch, l, s, e, ev, causal) =
        dtype = DType.Float32 && CpuAttention.prefersTiled batch l s e ev causal

    override q.Attention(k, v, scale, causal, keyLengths) =
        if dtype <> DType.Float32 then
            base.Attention(k, v, scale, causal, keyLengths)
        else
            let batch, l, s, e, ev = q.AttentionSizes("attention", k, v, keyLengths)
            let bh = Array.fold (*) 1 batch
            let o = CpuRawTensor.Alloc(Shape.Wrap(Array.append batch [| l; ev |]), dtype)
            let lse = CpuRawTensor.Alloc(Shape.Wrap(Array.append batch [| l |]), dtype)

            let f32 (r: RawTensor) =
                CpuRawTensor.Of(r, "attention").Data :?> float32[]

            FunctionalNets.Kernels.FlashAttention.Forward(
                ReadOnlySpan(q.Data :?> float32[]),
                ReadOnlySpan(f32 k),
                ReadOnlySpan(f32 v),
                bh,
                l,
                s,
                e,
                ev,
                float32 scale,
                causal,
                ReadOnlySpan(CpuAttention.lengths keyLengths),
                Span(o.Data :?> float32[]),
                Span(lse.Data :?> float32[])
            )

            o :> RawTensor, lse :> RawTensor

    override dO.AttentionBackward(q, k, v, o, lse, scale, causal, keyLengths) =
        if dtype <> DType.Float32 then
            base.AttentionBackward(q, k, v, o, lse, scale, causal, keyLengths)
        else
            let batch, l, s, e, ev = q.AttentionSizes("attentionBackward", k, v, keyLengths)
            let bh = Array.fold (*) 1 batch
            Shape.checkEqual "attentionBackward" (Shape.Wrap(Array.append batch [| l; ev |])) shape
            Shape.checkEqual "attentionBackward" shape o.Shape
            Shape.checkEqual "attentionBackward" (Shape.Wrap(Array.append batch [| l |])) lse.Shape

            let f32 (r: RawTensor) =
                CpuRawTensor.Of(r, "attentionBackward").Data :?> float32[]

            let dq, dk, dv =
                CpuRawTensor.Alloc(q.Shape, dtype),
                CpuRawTensor.Alloc(k.Shape, dtype),
                CpuRawTensor.Alloc(v.Shape, dtype)

            FunctionalNets.Kernels.FlashAttention.Backward(
                ReadOnlySpan(f32 q),
                ReadOnlySpan(f32 k),
                ReadOnlySpan(f32 v),
                ReadOnlySpan(f32 o),
                ReadOnlySpan(f32 lse),
                ReadOnlySpan(dO.Data :?> float32[]),
                bh,
                l,
                s,
                e,
                ev,
                float32 scale,
                causal,
                ReadOnlySpan(CpuAttention.lengths keyLengths),
                Span(dq.Data :?> float32[]),
                Span(dk.Data :?> float32[]),
                Span(dv.Data :?> float32[])
            )

            dq :> RawTensor, dk :> RawTensor, dv :> RawTensor

    override t.GeluTanh() =
        t.PlaneKernel(
            "geluTanh",
            shape,
            (fun a b -> FunctionalNets.Kernels.Gelu.TanhForward(ReadOnlySpan a, Span b)),
            (fun a b -> FunctionalNets.Kernels.Gelu.TanhForward(ReadOnlySpan a, Span b))
        )

    override t.GeluTanhBackward(grad) =
        t.SameDType "geluTanhBackward" grad
        Shape.checkEqual "geluTanhBackward" shape grad.Shape
        let g = CpuRawTensor.Of(grad, "geluTanhBackward").Data

        t.PlaneKernel(
            "geluTanhBackward",
            shape,
            (fun a b -> FunctionalNets.Kernels.Gelu.TanhBackward(ReadOnlySpan a, ReadOnlySpan(g :?> float32[]), Span b)),
            (fun a b -> FunctionalNets.Kernels.Gelu.TanhBackward(ReadOnlySpan a, ReadOnlySpan(g :?> float[]), Span b))
        )

    override t.ToArray() = t.Data.Clone() :?> Array

    override t.AddInPlace(other) =
        t.SameDType "addInPlace" other
        Shape.checkEqual "addInPlace" shape other.Shape
        CpuKernels.addInPlace dtype t.Data (CpuRawTensor.Of(other, "addInPlace").Data)

    override t.Clone() =
        let y = CpuRawTensor.Alloc(shape, dtype)
        Array.Copy(t.Data, y.Data, shape.Numel)
        y :> RawTensor

/// Creates CPU tensors.
and [<Sealed>] CpuBackend() =
    inherit Backend()

    static let dtypeOfArray (a: Array) =
        match a with
        | :? (float32[]) -> DType.Float32
        | :? (float[]) -> DType.Float64
        | :? (int[]) -> DType.Int32
        | :? (int64[]) -> DType.Int64
        | :? (bool[]) -> DType.Bool
        | _ ->
            invalidArg
                "data"
                (sprintf "Tensor data must be float32[], float[], int[], int64[] or bool[], got %s." (a.GetType().Name))

    override _.Device = Device.Cpu

    override _.Zeros(shape, dtype) =
        let y = CpuRawTensor.Alloc(shape, dtype)
        CpuKernels.fill dtype y.Data 0.0
        y :> RawTensor

    override _.Full(shape, dtype, value) =
        let y = CpuRawTensor.Alloc(shape, dtype)
        CpuKernels.fill dtype y.Data value
        y :> RawTensor

    override _.FromArray(data, shape) =
        let dtype = dtypeOfArray data

        if data.Length <> shape.Numel then
            invalidArg
                "data"
                (sprintf "Tensor data has %d elements but shape %O needs %d." data.Length shape shape.Numel)

        let y = CpuRawTensor.Alloc(shape, dtype)
        Array.Copy(data, y.Data, data.Length)
        y :> RawTensor

    override _.Arange(start, step, count, dtype) =
        let y = CpuRawTensor.Alloc(Shape.Wrap [| count |], dtype)

        match y.Data with
        | :? (float32[]) as a ->
            for i in 0 .. count - 1 do
                a[i] <- float32 (start + float i * step)
        | :? (float[]) as a ->
            for i in 0 .. count - 1 do
                a[i] <- start + float i * step
        | :? (int[]) as a ->
            for i in 0 .. count - 1 do
                a[i] <- int (start + float i * step)
        | :? (int64[]) as a ->
            for i in 0 .. count - 1 do
                a[i] <- int64 (start + float i * step)
        | _ -> invalidOp "arange: Bool is not a numeric dtype."

        y :> RawTensor

    override _.RandomUniform(key, shape, dtype) =
        let y = CpuRawTensor.Alloc(shape, dtype)

        match y.Data with
        | :? (float32[]) as a -> FunctionalNets.Kernels.Threefry.FillUniform(key.K0, key.K1, Span<float32>(a))
        | :? (float[]) as a -> FunctionalNets.Kernels.Threefry.FillUniform(key.K0, key.K1, Span<float>(a))
        | _ -> invalidOp (sprintf "rand: random floats need a floating-point dtype, got %O." dtype)

        y :> RawTensor

    override _.RandomNormal(key, shape, dtype) =
        let y = CpuRawTensor.Alloc(shape, dtype)

        match y.Data with
        | :? (float32[]) as a -> FunctionalNets.Kernels.Threefry.FillNormal(key.K0, key.K1, Span<float32>(a))
        | :? (float[]) as a -> FunctionalNets.Kernels.Threefry.FillNormal(key.K0, key.K1, Span<float>(a))
        | _ -> invalidOp (sprintf "randn: random floats need a floating-point dtype, got %O." dtype)

        y :> RawTensor

    override _.Cat(tensors, dim) =
        let first = tensors[0]
        let dtype = first.DType
        let total = tensors |> Array.sumBy (fun t -> t.Shape.Dims[dim])
        let outShape = Shape.withDim dim total first.Shape
        let y = CpuRawTensor.Alloc(outShape, dtype)
        let st = Shape.contiguousStrides outShape
        let mutable pos = 0

        for t in tensors do
            let c = CpuRawTensor.Of(t, "cat")
            CpuKernels.stridedAssign dtype c.Data y.Data (int64 pos * int64 st[dim]) st c.Shape.Dims
            pos <- pos + c.Shape.Dims[dim]

        y :> RawTensor
