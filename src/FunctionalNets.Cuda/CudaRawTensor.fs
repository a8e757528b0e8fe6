namespace FunctionalNets.Cuda

open System
open ILGPU
open ILGPU.Runtime
open FunctionalNets
open FunctionalNets.Cuda.Kernels

/// Device memory of one tensor (shared by reshaped views); a Scope's Release hands it back to the allocator.
[<Sealed>]
type internal CudaStorage(rt: DeviceRuntime, buffer: MemoryBuffer1D<byte, Stride1D.Dense>) =
    let mutable released = false

    member _.View: ArrayView<byte> =
        if released then
            raise (
                ReleasedTensorException
                    "This CUDA tensor's memory was released when the Scope that created it ended; return it from the scope to keep it."
            )

        buffer.View.BaseView

    member _.Runtime = rt

    /// New storage of at least bytes, owned by the innermost open Scope.
    static member Rent(rt: DeviceRuntime, bytes: int64) =
        DeviceRuntimes.bindThread rt
        let s = CudaStorage(rt, rt.Pool.Rent bytes)
        ScopeFrame.Track s
        s

    interface IScopedStorage with
        member _.Release() =
            if not released then
                released <- true
                rt.Pool.Return buffer

/// A contiguous row-major tensor in device memory. Every op launches ILGPU kernels on the device's one stream;
/// nothing synchronises with the host except ToArray (and the index checks named on each op).
[<Sealed>]
type CudaRawTensor internal (storage: CudaStorage, shape: Shape, dtype: DType, backend: Backend) =
    inherit RawTensor(shape, dtype, backend.Device)

    static member internal Code(d: DType) =
        match d with
        | DType.Float32 -> 0
        | DType.Float64 -> 1
        | DType.Int32 -> 2
        | DType.Int64 -> 3
        | DType.Bool -> 4

    member internal _.CudaStorage = storage
    member internal _.View = storage.View
    member internal _.Rt = storage.Runtime
    member internal _.L = storage.Runtime.Launcher

    member internal t.New(s: Shape, d: DType) =
        let bytes = max 1L (int64 s.Numel * int64 d.SizeInBytes)
        CudaRawTensor(CudaStorage.Rent(t.Rt, bytes), s, d, backend)

    /// This operand as a tensor of the same device, or a clear error naming both devices.
    member internal t.Of(r: RawTensor, op: string) : CudaRawTensor =
        match r with
        | :? CudaRawTensor as c when c.Device = t.Device -> c
        | _ ->
            invalidArg
                "other"
                (sprintf
                    "%s: the operands are on different devices (%O and %O); move one with Tensor.toDevice so both are on the same device."
                    op
                    t.Device
                    r.Device)

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

    member private t.RequireFloat(op: string) =
        if not dtype.IsFloatingPoint then
            invalidArg "this" (sprintf "%s is defined for float32 and float64 tensors, got %O; cast first." op dtype)

    /// [rank; dims; strides of each operand broadcast to dims].
    /// [rank; dims; strides of each operand] with size-1 dims dropped and adjacent dims merged wherever every
    /// operand walks them as one (stride[d] = stride[d + 1] * dims[d + 1]), so that a same-shape elementwise op
    /// indexes as rank 1 and a bias add as rank 2: fewer divisions per element in every kernel.
    static member internal Coalesced(dims: int[], strides: int[] list) =
        let keep = [| 0 .. dims.Length - 1 |] |> Array.filter (fun d -> dims[d] <> 1)
        let ds = ResizeArray<int>()
        let ss = strides |> List.map (fun _ -> ResizeArray<int>())

        for d in keep do
            let k = ds.Count

            let mergeable =
                k > 0
                && List.forall2 (fun (s: int[]) (acc: ResizeArray<int>) -> acc[k - 1] = s[d] * dims[d]) strides ss

            if mergeable then
                ds[k - 1] <- ds[k - 1] * dims[d]
                List.iter2 (fun (s: int[]) (acc: ResizeArray<int>) -> acc[k - 1] <- s[d]) strides ss
            else
                ds.Add dims[d]
                List.iter2 (fun (s: int[]) (acc: ResizeArray<int>) -> acc.Add s[d]) strides ss

        Array.concat
            [
                yield [| ds.Count |]
                yield ds.ToArray()
                for acc in ss do
                    yield acc.ToArray()
            ]

    /// The coalesced meta of operands broadcast to outShape.
    static member internal BroadcastMeta(outShape: Shape, operands: Shape list) =
        CudaRawTensor.Coalesced(outShape.ToArray(), operands |> List.map (fun s -> Shape.broadcastStrides s outShape))

    /// Waits for the device and raises the first out-of-range index its kernels recorded.
    static member internal RaiseIndexErrors(l: KernelLauncher) =
        let e = l.TakeIndexError()

        if e.HasValue then
            let struct (op, value, bound) =
                e.Value.ToTuple() |> fun (a, b, c) -> struct (a, b, c)

            invalidArg
                "index"
                (sprintf
                    "%s: index %d is out of range for a dim of size %d (found by the kernel; raised at the next synchronisation)."
                    op
                    value
                    bound)

    override _.Backend = backend
    override _.Storage = storage :> IScopedStorage

    override t.Unary(k) =
        if not dtype.IsFloatingPoint then
            t.RequireFloat((sprintf "%A" k).ToLowerInvariant())

        let y = t.New(shape, dtype)

        let op =
            match k with
            | UnaryKind.Neg -> 0
            | UnaryKind.Abs -> 1
            | UnaryKind.Sign -> 2
            | UnaryKind.Exp -> 3
            | UnaryKind.Log -> 4
            | UnaryKind.Sqrt -> 5
            | UnaryKind.Rsqrt -> 6
            | UnaryKind.Sin -> 7
            | UnaryKind.Cos -> 8
            | UnaryKind.Tanh -> 9
            | UnaryKind.Sigmoid -> 10
            | UnaryKind.Relu -> 11
            | UnaryKind.Step -> 12
            | UnaryKind.Reciprocal -> 13
            | UnaryKind.Square -> 14
            | UnaryKind.Softplus -> 15
            | UnaryKind.Erf -> 16
            | UnaryKind.Floor -> 17
            | UnaryKind.Ceil -> 18
            | UnaryKind.Round -> 19
            | UnaryKind.Log1p -> 20
            | UnaryKind.Expm1 -> 21

        t.L.Unary(CudaRawTensor.Code dtype, t.View, y.View, op, shape.Numel)
        y :> RawTensor

    override t.Binary(k, other) =
        let op =
            match k with
            | BinaryKind.Add -> "add"
            | BinaryKind.Sub -> "sub"
            | BinaryKind.Mul -> "mul"
            | BinaryKind.Div -> "div"
            | BinaryKind.Pow -> "pow"
            | BinaryKind.Max -> "maximum"
            | BinaryKind.Min -> "minimum"

        t.SameDType op other
        let o = t.Of(other, op)
        let outShape = Shape.broadcast op shape o.Shape
        let y = t.New(outShape, dtype)

        let code =
            match k with
            | BinaryKind.Add -> 0
            | BinaryKind.Sub -> 1
            | BinaryKind.Mul -> 2
            | BinaryKind.Div -> 3
            | BinaryKind.Pow -> 4
            | BinaryKind.Max -> 5
            | BinaryKind.Min -> 6

        t.L.Binary(
            CudaRawTensor.Code dtype,
            t.View,
            o.View,
            y.View,
            CudaRawTensor.BroadcastMeta(outShape, [ shape; o.Shape ]),
            code,
            outShape.Numel
        )

        y :> RawTensor

    override t.Compare(k, other) =
        let op =
            match k with
            | CompareKind.Eq -> "eq"
            | CompareKind.Ne -> "ne"
            | CompareKind.Lt -> "lt"
            | CompareKind.Le -> "le"
            | CompareKind.Gt -> "gt"
            | CompareKind.Ge -> "ge"

        t.SameDType op other
        let o = t.Of(other, op)
        let outShape = Shape.broadcast op shape o.Shape
        let y = t.New(outShape, DType.Bool)

        let code =
            match k with
            | CompareKind.Eq -> 0
            | CompareKind.Ne -> 1
            | CompareKind.Lt -> 2
            | CompareKind.Le -> 3
            | CompareKind.Gt -> 4
            | CompareKind.Ge -> 5

        t.L.Compare(
            CudaRawTensor.Code dtype,
            t.View,
            o.View,
            y.View,
            CudaRawTensor.BroadcastMeta(outShape, [ shape; o.Shape ]),
            code,
            outShape.Numel
        )

        y :> RawTensor

    override t.Logical(k, other) =
        let op, code =
            match k with
            | LogicalKind.And -> "logicalAnd", 0
            | LogicalKind.Or -> "logicalOr", 1
            | LogicalKind.Xor -> "logicalXor", 2

        if dtype <> DType.Bool || other.DType <> DType.Bool then
            invalidArg "other" (sprintf "%s: both operands must be Bool, got %O and %O." op dtype other.DType)

        let o = t.Of(other, op)
        let outShape = Shape.broadcast op shape o.Shape
        let y = t.New(outShape, DType.Bool)

        t.L.Logical(
            t.View,
            o.View,
            y.View,
            CudaRawTensor.BroadcastMeta(outShape, [ shape; o.Shape ]),
            code,
            outShape.Numel
        )

        y :> RawTensor

    override t.LogicalNot() =
        if dtype <> DType.Bool then
            invalidArg "this" (sprintf "logicalNot: expected a Bool tensor, got %O." dtype)

        let y = t.New(shape, DType.Bool)
        t.L.Not(t.View, y.View, shape.Numel)
        y :> RawTensor

    override t.Where(cond, other) =
        t.SameDType "where" other

        if cond.DType <> DType.Bool then
            invalidArg "cond" (sprintf "where: the condition must be Bool, got %O." cond.DType)

        let c = t.Of(cond, "where")
        let o = t.Of(other, "where")
        let s1 = Shape.broadcast "where" c.Shape shape
        let outShape = Shape.broadcast "where" s1 o.Shape
        let y = t.New(outShape, dtype)

        t.L.Where(
            CudaRawTensor.Code dtype,
            c.View,
            t.View,
            o.View,
            y.View,
            CudaRawTensor.BroadcastMeta(outShape, [ c.Shape; shape; o.Shape ]),
            outShape.Numel
        )

        y :> RawTensor

    override t.Cast(target) =
        if target = dtype then
            t :> RawTensor
        else
            let y = t.New(shape, target)
            t.L.Cast(CudaRawTensor.Code dtype, CudaRawTensor.Code target, t.View, y.View, shape.Numel)
            y :> RawTensor

    override t.Sum(dims, keepDim) =
        let d = shape.ToArray()
        let mutable cur = t
        let curDims = Array.copy d

        for dim in Array.rev dims do
            let outer = Array.fold (*) 1 curDims[.. dim - 1]
            let n = curDims[dim]
            let inner = Array.fold (*) 1 curDims[dim + 1 ..]
            curDims[dim] <- 1
            let y = t.New(Shape.Create curDims, dtype)
            t.L.Sum(CudaRawTensor.Code dtype, cur.View, y.View, outer, n, inner)
            cur <- y

        let outShape =
            if keepDim then
                curDims
            else
                d
                |> Array.indexed
                |> Array.filter (fun (i, _) -> not (Array.contains i dims))
                |> Array.map snd

        CudaRawTensor(cur.CudaStorage, Shape.Create outShape, dtype, backend) :> RawTensor

    member private t.Extreme(isMax: bool, dim: int, keepDim: bool) =
        let d = shape.ToArray()
        let outer = Array.fold (*) 1 d[.. dim - 1]
        let n = d[dim]
        let inner = Array.fold (*) 1 d[dim + 1 ..]

        if n = 0 then
            invalidArg "dim" (sprintf "%s: dim %d of %O is empty." (if isMax then "max" else "min") dim shape)

        let outShape =
            if keepDim then
                Shape.withDim dim 1 shape
            else
                Shape.removeDim dim shape

        let y = t.New(outShape, dtype)
        let idx = t.New(outShape, DType.Int64)
        t.L.Extreme(CudaRawTensor.Code dtype, t.View, y.View, idx.View, outer, n, inner, isMax)
        y :> RawTensor, idx :> RawTensor

    override t.MaxAlong(dim, keepDim) = t.Extreme(true, dim, keepDim)
    override t.MinAlong(dim, keepDim) = t.Extreme(false, dim, keepDim)

    override t.MatMul(transA, other, transB) =
        t.SameDType "matmul" other
        let o = t.Of(other, "matmul")

        if dtype <> DType.Float32 && dtype <> DType.Float64 then
            invalidOp (sprintf "matmul is defined for float32 and float64 tensors, got %O; cast first." dtype)

        if shape.Rank < 2 || o.Shape.Rank < 2 then
            invalidArg "other" (sprintf "matmul: both operands need rank >= 2 here, got %O and %O." shape o.Shape)

        let plan = GemmPlan.matmul (shape.ToArray()) transA (o.Shape.ToArray()) transB
        let y = t.New(Shape.Create plan.OutShape, dtype)

        for call in plan.Calls do
            t.RunGemm(call, t, o, y)

        y :> RawTensor

    override t.Reshape(newShape) =
        if newShape.Numel <> shape.Numel then
            invalidArg "shape" (sprintf "reshape: cannot view %O (%d elements) as %O." shape shape.Numel newShape)

        CudaRawTensor(storage, newShape, dtype, backend) :> RawTensor

    /// dst[dstOff + dstStrides . c] = src[srcOff + srcStrides . c] over dims.
    member internal t.StridedCopy
        (
            src: CudaRawTensor,
            srcOff: int,
            srcStrides: int[],
            dst: CudaRawTensor,
            dstOff: int,
            dstStrides: int[],
            dims: int[]
        ) =
        let n = Array.fold (*) 1 dims
        let meta = CudaRawTensor.Coalesced(dims, [ srcStrides; dstStrides ])
        t.L.Copy(dtype.SizeInBytes, src.View, dst.View, meta, srcOff, dstOff, n)

    override t.Permute(perm) =
        let st = Shape.contiguousStrides shape
        let d = shape.ToArray()
        let outDims = perm |> Array.map (fun p -> d[p])
        let y = t.New(Shape.Create outDims, dtype)
        t.StridedCopy(t, 0, (perm |> Array.map (fun p -> st[p])), y, 0, Shape.contiguousStrides y.Shape, outDims)
        y :> RawTensor

    override t.Expand(target) =
        if target.Equals shape then
            t :> RawTensor
        else
            if not (Shape.canBroadcastTo shape target) then
                invalidArg "shape" (sprintf "expand: cannot broadcast %O to %O." shape target)

            let y = t.New(target, dtype)

            t.StridedCopy(
                t,
                0,
                Shape.broadcastStrides shape target,
                y,
                0,
                Shape.contiguousStrides target,
                target.ToArray()
            )

            y :> RawTensor

    override t.Slice(starts, steps, sizes) =
        let st = Shape.contiguousStrides shape
        let mutable offset = 0

        for d in 0 .. starts.Length - 1 do
            offset <- offset + starts[d] * st[d]

        let y = t.New(Shape.Create sizes, dtype)

        t.StridedCopy(
            t,
            offset,
            Array.init st.Length (fun d -> st[d] * steps[d]),
            y,
            0,
            Shape.contiguousStrides y.Shape,
            sizes
        )

        y :> RawTensor

    override t.SliceScatter(fullShape, starts, steps) =
        let y = t.New(fullShape, dtype)
        t.L.Fill(CudaRawTensor.Code dtype, y.View, 0.0, fullShape.Numel)
        let st = Shape.contiguousStrides fullShape
        let mutable offset = 0

        for d in 0 .. starts.Length - 1 do
            offset <- offset + starts[d] * st[d]

        t.StridedCopy(
            t,
            0,
            Shape.contiguousStrides shape,
            y,
            offset,
            Array.init st.Length (fun d -> st[d] * steps[d]),
            shape.ToArray()
        )

        y :> RawTensor

    /// Index dtype check. Index values are checked inside the kernels (an out-of-range index is skipped and
    /// recorded); the error is raised at the next synchronisation (ToArray, Cuda.synchronize), naming the op, the
    /// index and the dim size, so that no op stops the stream for a check.
    member private t.CheckIndex(op: string, index: CudaRawTensor) =
        if index.DType <> DType.Int64 then
            invalidArg "index" (sprintf "%s: the index must be Int64, got %O." op index.DType)

    override t.Gather(dim, index) =
        let ix = t.Of(index, "gather")
        t.CheckIndex("gather", ix)
        let y = t.New(ix.Shape, dtype)

        let meta =
            Array.concat [ [| ix.Shape.Rank |]; ix.Shape.ToArray(); Shape.contiguousStrides shape ]

        t.L.Gather(CudaRawTensor.Code dtype, t.View, ix.View, y.View, meta, dim, shape[dim], ix.Shape.Numel)
        y :> RawTensor

    override t.ScatterAdd(dim, index, src) =
        let ix = t.Of(index, "scatterAdd")
        let s = t.Of(src, "scatterAdd")
        t.SameDType "scatterAdd" src
        t.CheckIndex("scatterAdd", ix)
        let y = t.Clone() :?> CudaRawTensor

        let meta =
            Array.concat
                [
                    [| ix.Shape.Rank |]
                    ix.Shape.ToArray()
                    Shape.contiguousStrides shape
                    Shape.contiguousStrides s.Shape
                ]

        t.L.ScatterAdd(CudaRawTensor.Code dtype, y.View, ix.View, s.View, meta, dim, shape[dim], ix.Shape.Numel)
        y :> RawTensor

    member private t.Around(dim: int) =
        let d = shape.ToArray()
        Array.fold (*) 1 d[.. dim - 1], d[dim], Array.fold (*) 1 d[dim + 1 ..]

    override t.IndexSelect(dim, index) =
        let ix = t.Of(index, "indexSelect")
        t.CheckIndex("indexSelect", ix)
        let outer, n, inner = t.Around dim
        let k = ix.Shape.Numel
        let y = t.New(Shape.withDim dim k shape, dtype)
        t.L.IndexSelect(CudaRawTensor.Code dtype, t.View, ix.View, y.View, outer, n, k, inner)
        y :> RawTensor

    override t.IndexAdd(dim, index, src) =
        let ix = t.Of(index, "indexAdd")
        let s = t.Of(src, "indexAdd")
        t.SameDType "indexAdd" src
        t.CheckIndex("indexAdd", ix)
        let outer, n, inner = t.Around dim
        let k = ix.Shape.Numel
        let y = t.Clone() :?> CudaRawTensor
        t.L.IndexAdd(CudaRawTensor.Code dtype, y.View, ix.View, s.View, outer, n, k, inner)
        y :> RawTensor

    override t.Pad(before, after, value) =
        let d = shape.ToArray()
        let outDims = Array.init d.Length (fun i -> before[i] + d[i] + after[i])
        let y = t.New(Shape.Create outDims, dtype)
        t.L.Fill(CudaRawTensor.Code dtype, y.View, value, y.Shape.Numel)
        let st = Shape.contiguousStrides y.Shape
        let mutable offset = 0

        for i in 0 .. d.Length - 1 do
            offset <- offset + before[i] * st[i]

        t.StridedCopy(t, 0, Shape.contiguousStrides shape, y, offset, st, d)
        y :> RawTensor

    override t.AdamStep(m, v, b1, b2, eps, bc1, bc2) =
        for o in [ m; v ] do
            t.SameDType "adamStep" o
            Shape.checkEqual "adamStep" shape o.Shape

        t.RequireFloat "adamStep"
        let mIn = t.Of(m, "adamStep")
        let vIn = t.Of(v, "adamStep")
        let mOut = t.New(shape, dtype)
        let vOut = t.New(shape, dtype)
        let u = t.New(shape, dtype)

        t.L.AdamStep(
            CudaRawTensor.Code dtype,
            t.View,
            mIn.View,
            vIn.View,
            mOut.View,
            vOut.View,
            u.View,
            b1,
            b2,
            eps,
            bc1,
            bc2,
            shape.Numel
        )

        mOut :> RawTensor, vOut :> RawTensor, u :> RawTensor

    /// Runs one planned GEMM call: cuBLAS on a GPU that has it, else the ILGPU kernel of the same contract.
    /// The call's A operand is the right matrix, its B the left one (see GemmPlan).
    member internal t.RunGemm(call: GemmCall, left: CudaRawTensor, right: CudaRawTensor, out: CudaRawTensor) =
        match t.Rt.Cublas with
        | _ when call.M = 0 || call.N = 0 || call.BatchCount = 0 -> ()
        | Some _ when call.K = 0 ->
            // cuBLAS rejects leading dimensions of 0; an empty inner dim gives zeros (beta is 0 in every plan).
            t.L.Fill(CudaRawTensor.Code dtype, out.View, 0.0, out.Shape.Numel)
        | Some h ->
            h.Run(
                call,
                (dtype = DType.Float64),
                Transfer.Address right.View,
                Transfer.Address left.View,
                Transfer.Address out.View
            )
        | None ->
            t.L.GemmStridedBatched(
                CudaRawTensor.Code dtype,
                right.View,
                left.View,
                out.View,
                GemmPlan.kernelArgs call,
                call.Alpha,
                call.Beta,
                call.BatchCount
            )

    /// The im2col meta: C, H, W, KH, KW, OH, OW, strides, paddings, dilations.
    static member private ConvMeta(geo: ConvGeometry, (sh, sw), (ph, pw), (dh, dw)) =
        [|
            geo.C
            geo.H
            geo.W
            geo.KH
            geo.KW
            geo.OH
            geo.OW
            sh
            sw
            ph
            pw
            dh
            dw
        |]

    /// cuDNN's descriptors and algorithms for this conv on a GPU that has libcudnn.so.9, else None (im2col + GEMM).
    member private t.Cudnn(input: Shape, weight: Shape, stride, padding, dilation, groups: int) =
        match t.Rt.Cudnn with
        | Some h when input.Numel > 0 && weight.Numel > 0 ->
            let plan =
                ConvPlan.create (input.ToArray()) (weight.ToArray()) stride padding dilation groups

            match h.Prepare(plan, (dtype = DType.Float64)) with
            | Ok c -> Some(h, c)
            | Error _ -> None
        | _ -> None

    /// Runs f with a device workspace of at least bytes, returned to the allocator after the (stream-ordered) call.
    member private t.WithWorkspace(bytes: int64, f: nativeint -> unit) =
        let ws = t.Rt.Pool.Rent(max 256L bytes)

        try
            f (Transfer.Address ws.View.BaseView)
        finally
            t.Rt.Pool.Return ws

    member private t.Im2col(x: CudaRawTensor, geo: ConvGeometry, meta: int[]) =
        let cols =
            t.New(Shape.Create [| geo.N; geo.C * geo.KH * geo.KW; geo.OH * geo.OW |], dtype)

        t.L.Im2col(CudaRawTensor.Code dtype, x.View, cols.View, meta, geo.N)
        cols

    override t.Conv2d(weight, stride, padding, dilation, groups) =
        t.RequireFloat "conv2d"
        t.SameDType "conv2d" weight
        let w = t.Of(weight, "conv2d")

        let geo =
            ConvGeometry.Create("conv2d", shape.ToArray(), w.Shape.ToArray(), stride, padding, dilation, groups)

        match t.Cudnn(shape, w.Shape, stride, padding, dilation, groups) with
        | Some(h, c) ->
            let y = t.New(Shape.Create geo.OutputShape, dtype)

            t.WithWorkspace(
                c.Forward.WorkspaceBytes,
                fun ws ->
                    h.Forward(
                        c,
                        (dtype = DType.Float64),
                        Transfer.Address t.View,
                        Transfer.Address w.View,
                        Transfer.Address y.View,
                        ws
                    )
            )

            y :> RawTensor
        | None ->

            let meta = CudaRawTensor.ConvMeta(geo, stride, padding, dilation)
            let cols = t.Im2col(t, geo, meta)
            let y = t.New(Shape.Create geo.OutputShape, dtype)
            let l = geo.OH * geo.OW
            let og, cgk = geo.O / groups, geo.C / groups * geo.KH * geo.KW
            let ck = geo.C * geo.KH * geo.KW

            for gi in 0 .. groups - 1 do
                let call =
                    GemmPlan.rowMajor
                        false
                        false
                        og
                        l
                        cgk
                        (cgk, gi * og * cgk, 0)
                        (l, gi * cgk * l, ck * l)
                        (l, gi * og * l, geo.O * l)
                        geo.N

                t.RunGemm(call, w, cols, y)

            (cols.Storage).Release()
            y :> RawTensor

    override t.Conv2dInputGrad(weight, inputShape, stride, padding, dilation, groups) =
        t.RequireFloat "conv2d"
        t.SameDType "conv2d" weight
        let w = t.Of(weight, "conv2d")

        let geo =
            ConvGeometry.Create("conv2d", inputShape.ToArray(), w.Shape.ToArray(), stride, padding, dilation, groups)

        match t.Cudnn(inputShape, w.Shape, stride, padding, dilation, groups) with
        | Some(h, c) ->
            let dx = t.New(inputShape, dtype)

            t.WithWorkspace(
                c.BackwardData.WorkspaceBytes,
                fun ws ->
                    h.BackwardData(
                        c,
                        (dtype = DType.Float64),
                        Transfer.Address w.View,
                        Transfer.Address t.View,
                        Transfer.Address dx.View,
                        ws
                    )
            )

            dx :> RawTensor
        | None ->

            let meta = CudaRawTensor.ConvMeta(geo, stride, padding, dilation)
            let l = geo.OH * geo.OW
            let og, cgk = geo.O / groups, geo.C / groups * geo.KH * geo.KW
            let ck = geo.C * geo.KH * geo.KW
            let dcols = t.New(Shape.Create [| geo.N; ck; l |], dtype)

            for gi in 0 .. groups - 1 do
                let call =
                    GemmPlan.rowMajor
                        true
                        false
                        cgk
                        l
                        og
                        (cgk, gi * og * cgk, 0)
                        (l, gi * og * l, geo.O * l)
                        (l, gi * cgk * l, ck * l)
                        geo.N

                t.RunGemm(call, w, t, dcols)

            let dx = t.New(inputShape, dtype)
            t.L.Col2im(CudaRawTensor.Code dtype, dcols.View, dx.View, meta, geo.N)
            (dcols.Storage).Release()
            dx :> RawTensor

    override t.Conv2dWeightGrad(input, weightShape, stride, padding, dilation, groups) =
        t.RequireFloat "conv2d"
        t.SameDType "conv2d" input
        let x = t.Of(input, "conv2d")

        let geo =
            ConvGeometry.Create("conv2d", x.Shape.ToArray(), weightShape.ToArray(), stride, padding, dilation, groups)

        match t.Cudnn(x.Shape, weightShape, stride, padding, dilation, groups) with
        | Some(h, c) ->
            let dw = t.New(weightShape, dtype)

            t.WithWorkspace(
                c.BackwardFilter.WorkspaceBytes,
                fun ws ->
                    h.BackwardFilter(
                        c,
                        (dtype = DType.Float64),
                        Transfer.Address x.View,
                        Transfer.Address t.View,
                        Transfer.Address dw.View,
                        ws
                    )
            )

            dw :> RawTensor
        | None ->

            let meta = CudaRawTensor.ConvMeta(geo, stride, padding, dilation)
            let cols = t.Im2col(x, geo, meta)
            let l = geo.OH * geo.OW
            let og, cgk = geo.O / groups, geo.C / groups * geo.KH * geo.KW
            let ck = geo.C * geo.KH * geo.KW
            let perSample = t.New(Shape.Create [| geo.N; geo.O; cgk |], dtype)

            for gi in 0 .. groups - 1 do
                let call =
                    GemmPlan.rowMajor
                        false
                        true
                        og
                        cgk
                        l
                        (l, gi * og * l, geo.O * l)
                        (l, gi * cgk * l, ck * l)
                        (cgk, gi * og * cgk, geo.O * cgk)
                        geo.N

                t.RunGemm(call, t, cols, perSample)

            let dw = t.New(weightShape, dtype)
            t.L.Sum(CudaRawTensor.Code dtype, perSample.View, dw.View, 1, geo.N, geo.O * cgk)
            (cols.Storage).Release()
            (perSample.Storage).Release()
            dw :> RawTensor

    /// The pooling meta of this tensor's planes and an output of oh x ow.
    static member private PoolMeta
        (h: int, w: int, kernel: int[], oh: int, ow: int, stride: int[], padding: int[], dilation: int[])
        =
        [|
            0
            h
            w
            kernel[0]
            kernel[1]
            oh
            ow
            stride[0]
            stride[1]
            padding[0]
            padding[1]
            dilation[0]
            dilation[1]
        |]

    member private _.Planes(s: Shape) =
        let d = s.ToArray()
        Array.fold (*) 1 d[.. d.Length - 3], d[d.Length - 2], d[d.Length - 1]

    static member private WithPlane(s: Shape, h: int, w: int) =
        let d = s.ToArray()
        d[d.Length - 2] <- h
        d[d.Length - 1] <- w
        Shape.Create d

    override t.MaxPool2d(kernel, stride, padding, dilation, ceilMode) =
        let planes, h, w = t.Planes shape

        let oh =
            PoolGeometry.outputLength h kernel[0] stride[0] padding[0] dilation[0] ceilMode

        let ow =
            PoolGeometry.outputLength w kernel[1] stride[1] padding[1] dilation[1] ceilMode

        let outShape = CudaRawTensor.WithPlane(shape, oh, ow)
        let y = t.New(outShape, dtype)
        let idx = t.New(outShape, DType.Int64)
        let meta = CudaRawTensor.PoolMeta(h, w, kernel, oh, ow, stride, padding, dilation)
        t.L.MaxPool(CudaRawTensor.Code dtype, t.View, y.View, idx.View, meta, planes)
        y :> RawTensor, idx :> RawTensor

    override t.MaxPool2dBackward(indices, inputShape) =
        let ix = t.Of(indices, "maxPool2dBackward")
        let _, h, w = t.Planes inputShape
        let _, oh, ow = t.Planes shape
        let dx = t.New(inputShape, dtype)
        t.L.Fill(CudaRawTensor.Code dtype, dx.View, 0.0, inputShape.Numel)
        t.L.MaxPoolBackward(CudaRawTensor.Code dtype, t.View, ix.View, dx.View, oh * ow, h * w, shape.Numel)
        dx :> RawTensor

    override t.AvgPool2d(kernel, stride, padding, ceilMode, countIncludePad) =
        let planes, h, w = t.Planes shape
        let oh = PoolGeometry.outputLength h kernel[0] stride[0] padding[0] 1 ceilMode
        let ow = PoolGeometry.outputLength w kernel[1] stride[1] padding[1] 1 ceilMode
        let y = t.New(CudaRawTensor.WithPlane(shape, oh, ow), dtype)
        let meta = CudaRawTensor.PoolMeta(h, w, kernel, oh, ow, stride, padding, [| 1; 1 |])
        t.L.AvgPool(CudaRawTensor.Code dtype, t.View, y.View, meta, planes, countIncludePad)
        y :> RawTensor

    override t.AvgPool2dBackward(inputShape, kernel, stride, padding, _ceilMode, countIncludePad) =
        let planes, h, w = t.Planes inputShape
        let _, oh, ow = t.Planes shape
        let dx = t.New(inputShape, dtype)
        t.L.Fill(CudaRawTensor.Code dtype, dx.View, 0.0, inputShape.Numel)
        let meta = CudaRawTensor.PoolMeta(h, w, kernel, oh, ow, stride, padding, [| 1; 1 |])
        t.L.AvgPoolBackward(CudaRawTensor.Code dtype, t.View, dx.View, meta, planes, countIncludePad)
        dx :> RawTensor

    member private t.ResampleTo(oh: int, ow: int, mode: int, align: bool) =
        t.RequireFloat "resample"
        let planes, h, w = t.Planes shape
        let y = t.New(CudaRawTensor.WithPlane(shape, oh, ow), dtype)
        let meta = [| h; w; oh; ow; mode; (if align then 1 else 0) |]

        if h * w = 0 then
            t.L.Fill(CudaRawTensor.Code dtype, y.View, 0.0, y.Shape.Numel)

        t.L.Resample(CudaRawTensor.Code dtype, t.View, y.View, meta, planes)
        y :> RawTensor

    member private t.ResampleBack(inputShape: Shape, mode: int, align: bool) =
        t.RequireFloat "resample"
        let planes, h, w = t.Planes inputShape
        let _, oh, ow = t.Planes shape
        let dx = t.New(inputShape, dtype)
        t.L.Fill(CudaRawTensor.Code dtype, dx.View, 0.0, inputShape.Numel)

        t.L.ResampleBackward(
            CudaRawTensor.Code dtype,
            t.View,
            dx.View,
            [| h; w; oh; ow; mode; (if align then 1 else 0) |],
            planes
        )

        dx :> RawTensor

    override t.AdaptiveAvgPool2d(outputSize) =
        t.ResampleTo(outputSize[0], outputSize[1], 0, false)

    override t.AdaptiveAvgPool2dBackward(inputShape) = t.ResampleBack(inputShape, 0, false)

    override t.UpsampleNearest2d(outputSize) =
        t.ResampleTo(outputSize[0], outputSize[1], 1, false)

    override t.UpsampleNearest2dBackward(inputShape) = t.ResampleBack(inputShape, 1, false)

    override t.UpsampleBilinear2d(outputSize, alignCorners) =
        t.ResampleTo(outputSize[0], outputSize[1], 2, alignCorners)

    override t.UpsampleBilinear2dBackward(inputShape, alignCorners) =
        t.ResampleBack(inputShape, 2, alignCorners)

    override t.CumSum(dim, reverse) =
        if dtype = DType.Bool then
            invalidArg "x" (sprintf "cumsum: expected a numeric tensor, got %O %O; cast it first." dtype shape)

        let outer, n, inner = t.Around dim
        let y = t.New(shape, dtype)
        t.L.CumSum(CudaRawTensor.Code dtype, t.View, y.View, outer, n, inner, reverse)
        y :> RawTensor

    member private t.Runs(op: string, normalized: int) =
        if normalized < 1 || shape.Numel % normalized <> 0 then
            invalidArg "normalized" (sprintf "%s: %d trailing elements do not tile input %O." op normalized shape)

        shape.Numel / normalized

    override t.LayerNorm(normalized, weight, bias, eps) =
        t.RequireFloat "layerNorm"
        let runs = t.Runs("layerNorm", normalized)
        let y = t.New(shape, dtype)
        let mean = t.New(Shape.Create [| runs |], dtype)
        let rstd = t.New(Shape.Create [| runs |], dtype)

        let view (o: RawTensor option) =
            o |> Option.map (fun r -> t.Of(r, "layerNorm").View)

        let w, b = view weight, view bias

        let flags = (if w.IsSome then 1 else 0) ||| (if b.IsSome then 2 else 0)

        t.L.LayerNorm(
            CudaRawTensor.Code dtype,
            t.View,
            defaultArg w t.View,
            defaultArg b t.View,
            y.View,
            mean.View,
            rstd.View,
            runs,
            normalized,
            flags,
            eps
        )

        y :> RawTensor, mean :> RawTensor, rstd :> RawTensor

    override t.LayerNormBackward(input, mean, rstd, weight, normalized) =
        t.RequireFloat "layerNormBackward"
        let runs = t.Runs("layerNormBackward", normalized)
        let x = t.Of(input, "layerNormBackward")
        let m = t.Of(mean, "layerNormBackward")
        let rs = t.Of(rstd, "layerNormBackward")
        let w = weight |> Option.map (fun r -> t.Of(r, "layerNormBackward"))
        let dx = t.New(shape, dtype)
        let dw = t.New(Shape.Create [| normalized |], dtype)
        let db = t.New(Shape.Create [| normalized |], dtype)

        t.L.LayerNormBackward(
            CudaRawTensor.Code dtype,
            t.View,
            x.View,
            m.View,
            rs.View,
            (match w with
             | Some w -> w.View
             | None -> t.View),
            w.IsSome,
            dx.View,
            dw.View,
            db.View,
            runs,
            normalized
        )

        dx :> RawTensor, dw :> RawTensor, db :> RawTensor

    override t.AttentionSoftmax(scale, causal) =
        t.RequireFloat "attentionSoftmax"

        if shape.Rank < 2 then
            invalidArg "x" (sprintf "attentionSoftmax: expected scores [..., L, S], got %O." shape)

        let l, s = shape[shape.Rank - 2], shape[shape.Rank - 1]
        let y = t.New(shape, dtype)

        if s > 0 then
            t.L.AttentionSoftmax(CudaRawTensor.Code dtype, t.View, y.View, shape.Numel / s, l, s, scale, causal)

        y :> RawTensor

    override t.AttentionSoftmaxBackward(output, scale) =
        t.RequireFloat "attentionSoftmaxBackward"
        let y = t.Of(output, "attentionSoftmaxBackward")
        let s = shape[shape.Rank - 1]
        let dx = t.New(shape, dtype)

        if s > 0 then
            t.L.AttentionSoftmaxBackward(CudaRawTensor.Code dtype, t.View, y.View, dx.View, shape.Numel / s, s, scale)

        dx :> RawTensor

    override t.GeluTanh() =
        t.RequireFloat "geluTanh"
        let y = t.New(shape, dtype)
        t.L.GeluTanh(CudaRawTensor.Code dtype, t.View, y.View, shape.Numel)
        y :> RawTensor

    override t.GeluTanhBackward(grad) =
        t.RequireFloat "geluTanhBackward"
        let g = t.Of(grad, "geluTanhBackward")
        Shape.checkEqual "geluTanhBackward" shape g.Shape
        let y = t.New(shape, dtype)
        t.L.GeluTanhBackward(CudaRawTensor.Code dtype, t.View, g.View, y.View, shape.Numel)
        y :> RawTensor

    override t.ToArray() =
        let n = shape.Numel

        let a: Array =
            match dtype with
            | DType.Float32 -> Array.zeroCreate<float32> n
            | DType.Float64 -> Array.zeroCreate<float> n
            | DType.Int32 -> Array.zeroCreate<int> n
            | DType.Int64 -> Array.zeroCreate<int64> n
            | DType.Bool -> Array.zeroCreate<byte> n

        DeviceRuntimes.bindThread t.Rt
        CudaRawTensor.RaiseIndexErrors t.L
        t.Rt.Staging.ToHost(t.View, a)

        match a with
        | :? (byte[]) as b -> b |> Array.map (fun v -> v <> 0uy) :> Array
        | _ -> a

    override t.AddInPlace(other) =
        let o = t.Of(other, "addInPlace")
        t.SameDType "addInPlace" other
        Shape.checkEqual "addInPlace" shape o.Shape
        t.L.AddInto(CudaRawTensor.Code dtype, t.View, o.View, shape.Numel)

    override t.Clone() =
        let y = t.New(shape, dtype)
        Transfer.DeviceCopy(t.View, y.View, int64 shape.Numel * int64 dtype.SizeInBytes)
        y :> RawTensor

/// Creates tensors on one CUDA device (or its simulation on ILGPU's CPU accelerator).
and [<Sealed>] CudaBackend internal (rt: DeviceRuntime) as this =
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

    let alloc (shape: Shape) (dtype: DType) =
        let bytes = max 1L (int64 shape.Numel * int64 dtype.SizeInBytes)
        CudaRawTensor(CudaStorage.Rent(rt, bytes), shape, dtype, this)

    member internal _.Runtime = rt
    /// True when this device runs on ILGPU's CPU accelerator (Cuda.useSimulator or FUNCTIONALNETS_CUDA_SIMULATE).
    member _.IsSimulated = rt.Simulated

    override _.Device = Device.Cuda rt.Index

    override _.Zeros(shape, dtype) =
        let y = alloc shape dtype
        rt.Launcher.Fill(CudaRawTensor.Code dtype, y.View, 0.0, shape.Numel)
        y :> RawTensor

    override _.Full(shape, dtype, value) =
        let y = alloc shape dtype
        rt.Launcher.Fill(CudaRawTensor.Code dtype, y.View, value, shape.Numel)
        y :> RawTensor

    override _.FromArray(data, shape) =
        let dtype = dtypeOfArray data

        if data.Length <> shape.Numel then
            invalidArg
                "data"
                (sprintf "Tensor data has %d elements but shape %O needs %d." data.Length shape shape.Numel)

        let y = alloc shape dtype
        rt.Staging.ToDevice(data, y.View)
        y :> RawTensor

    override _.Arange(start, step, count, dtype) =
        if dtype = DType.Bool then
            invalidOp "arange: Bool is not a numeric dtype."

        let y = alloc (Shape.Create [| count |]) dtype
        rt.Launcher.Arange(CudaRawTensor.Code dtype, y.View, start, step, count)
        y :> RawTensor

    override _.RandomUniform(key, shape, dtype) =
        if not dtype.IsFloatingPoint then
            invalidOp (sprintf "rand: random floats need a floating-point dtype, got %O." dtype)

        let y = alloc shape dtype
        rt.Launcher.RandomUniform(CudaRawTensor.Code dtype, y.View, key.K0, key.K1, shape.Numel)
        y :> RawTensor

    override _.RandomNormal(key, shape, dtype) =
        if not dtype.IsFloatingPoint then
            invalidOp (sprintf "randn: random floats need a floating-point dtype, got %O." dtype)

        let y = alloc shape dtype
        rt.Launcher.RandomNormal(CudaRawTensor.Code dtype, y.View, key.K0, key.K1, shape.Numel)
        y :> RawTensor

    override this.Cat(tensors, dim) =
        let first = tensors[0]
        let dtype = first.DType
        let total = tensors |> Array.sumBy (fun t -> t.Shape[dim])
        let outShape = Shape.withDim dim total first.Shape
        let y = alloc outShape dtype
        let st = Shape.contiguousStrides outShape
        let mutable pos = 0

        for t in tensors do
            let c =
                match t with
                | :? CudaRawTensor as c when c.Device = this.Device -> c
                | _ ->
                    invalidArg
                        "tensors"
                        (sprintf
                            "cat: the tensors are on different devices (%O and %O); move them to one device first."
                            this.Device
                            t.Device)

            if c.DType <> dtype then
                invalidArg "tensors" (sprintf "cat: dtypes differ (%O and %O)." dtype c.DType)

            y.StridedCopy(c, 0, Shape.contiguousStrides c.Shape, y, pos * st[dim], st, c.Shape.ToArray())
            pos <- pos + c.Shape[dim]

        y :> RawTensor
