namespace FunctionalNets.Cpu

open System
open System.Numerics
open FunctionalNets
open FunctionalNets.Kernels

/// Typed entry points into FunctionalNets.Kernels, dispatched on DType. Arrays are exact-length buffers.
module internal CpuKernels =
    let unaryOp k =
        match k with
        | UnaryKind.Neg -> UnaryOp.Neg
        | UnaryKind.Abs -> UnaryOp.Abs
        | UnaryKind.Sign -> UnaryOp.Sign
        | UnaryKind.Exp -> UnaryOp.Exp
        | UnaryKind.Log -> UnaryOp.Log
        | UnaryKind.Sqrt -> UnaryOp.Sqrt
        | UnaryKind.Rsqrt -> UnaryOp.Rsqrt
        | UnaryKind.Sin -> UnaryOp.Sin
        | UnaryKind.Cos -> UnaryOp.Cos
        | UnaryKind.Tanh -> UnaryOp.Tanh
        | UnaryKind.Sigmoid -> UnaryOp.Sigmoid
        | UnaryKind.Relu -> UnaryOp.Relu
        | UnaryKind.Step -> UnaryOp.Step
        | UnaryKind.Reciprocal -> UnaryOp.Reciprocal
        | UnaryKind.Square -> UnaryOp.Square
        | UnaryKind.Softplus -> UnaryOp.Softplus
        | UnaryKind.Erf -> UnaryOp.Erf
        | UnaryKind.Floor -> UnaryOp.Floor
        | UnaryKind.Ceil -> UnaryOp.Ceil
        | UnaryKind.Round -> UnaryOp.Round
        | UnaryKind.Log1p -> UnaryOp.Log1p
        | UnaryKind.Expm1 -> UnaryOp.Expm1

    let binaryOp k =
        match k with
        | BinaryKind.Add -> BinaryOp.Add
        | BinaryKind.Sub -> BinaryOp.Sub
        | BinaryKind.Mul -> BinaryOp.Mul
        | BinaryKind.Div -> BinaryOp.Div
        | BinaryKind.Pow -> BinaryOp.Pow
        | BinaryKind.Max -> BinaryOp.Max
        | BinaryKind.Min -> BinaryOp.Min

    let compareOp k =
        match k with
        | CompareKind.Eq -> CompareOp.Eq
        | CompareKind.Ne -> CompareOp.Ne
        | CompareKind.Lt -> CompareOp.Lt
        | CompareKind.Le -> CompareOp.Le
        | CompareKind.Gt -> CompareOp.Gt
        | CompareKind.Ge -> CompareOp.Ge

    let inline private ro (a: Array) : ReadOnlySpan<'T> = ReadOnlySpan<'T>(a :?> 'T[])
    let inline private rw (a: Array) : Span<'T> = Span<'T>(a :?> 'T[])
    let inline private ints (a: int[]) = ReadOnlySpan<int>(a)

    let private notFor (op: string) (dtype: DType) (what: string) =
        invalidOp (sprintf "%s is not defined for %O tensors; %s." op dtype what)

    let private unaryT<'T
        when 'T: unmanaged
        and 'T: (new: unit -> 'T)
        and 'T: struct
        and 'T :> ValueType
        and 'T :> IFloatingPointIeee754<'T>>
        op
        (x: Array)
        (y: Array)
        =
        Elementwise.Unary<'T>(op, ro x, rw y)

    let unary (dtype: DType) (k: UnaryKind) (x: Array) (y: Array) =
        match dtype with
        | DType.Float32 -> unaryT<float32> (unaryOp k) x y
        | DType.Float64 -> unaryT<float> (unaryOp k) x y
        | _ -> notFor (sprintf "%A" k) dtype "cast to a floating-point dtype first"

    let private binaryT<'T
        when 'T: unmanaged and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType and 'T :> INumber<'T>>
        op
        (a: Array)
        sa
        (b: Array)
        sb
        (y: Array)
        shape
        =
        Elementwise.Binary<'T>(op, ro a, ints sa, ro b, ints sb, rw y, ints shape)

    let binary (dtype: DType) (k: BinaryKind) a sa b sb y shape =
        let op = binaryOp k

        match dtype with
        | DType.Float32 -> binaryT<float32> op a sa b sb y shape
        | DType.Float64 -> binaryT<float> op a sa b sb y shape
        | DType.Int32 -> binaryT<int> op a sa b sb y shape
        | DType.Int64 -> binaryT<int64> op a sa b sb y shape
        | DType.Bool -> notFor (sprintf "%A" k) dtype "use logical ops or cast to a numeric dtype"

    let private compareT<'T
        when 'T: unmanaged and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType and 'T :> INumber<'T>>
        op
        (a: Array)
        sa
        (b: Array)
        sb
        (y: Array)
        shape
        =
        Elementwise.Compare<'T>(op, ro a, ints sa, ro b, ints sb, rw y, ints shape)

    let compare (dtype: DType) (k: CompareKind) a sa b sb y shape =
        let op = compareOp k

        match dtype with
        | DType.Float32 -> compareT<float32> op a sa b sb y shape
        | DType.Float64 -> compareT<float> op a sa b sb y shape
        | DType.Int32 -> compareT<int> op a sa b sb y shape
        | DType.Int64 -> compareT<int64> op a sa b sb y shape
        | DType.Bool ->
            // Bool equality is computed on bytes: 0/1 compare exactly like the booleans.
            match k with
            | CompareKind.Eq
            | CompareKind.Ne ->
                let toBytes (x: Array) =
                    let src = x :?> bool[]
                    Array.init src.Length (fun i -> if src[i] then 1uy else 0uy) :> Array

                compareT<byte> op (toBytes a) sa (toBytes b) sb y shape
            | _ -> notFor (sprintf "%A" k) dtype "only eq and ne compare Bool tensors"

    let logical (k: LogicalKind) (a: Array) sa (b: Array) sb (y: Array) shape =
        match k with
        | LogicalKind.And -> Elementwise.LogicalAnd(ro a, ints sa, ro b, ints sb, rw y, ints shape)
        | LogicalKind.Or -> Elementwise.LogicalOr(ro a, ints sa, ro b, ints sb, rw y, ints shape)
        | LogicalKind.Xor -> Elementwise.LogicalXor(ro a, ints sa, ro b, ints sb, rw y, ints shape)

    let private whereT<'T when 'T: unmanaged and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (c: Array)
        sc
        (a: Array)
        sa
        (b: Array)
        sb
        (y: Array)
        shape
        =
        Elementwise.Where<'T>(ro c, ints sc, ro a, ints sa, ro b, ints sb, rw y, ints shape)

    let where (dtype: DType) c sc a sa b sb y shape =
        match dtype with
        | DType.Float32 -> whereT<float32> c sc a sa b sb y shape
        | DType.Float64 -> whereT<float> c sc a sa b sb y shape
        | DType.Int32 -> whereT<int> c sc a sa b sb y shape
        | DType.Int64 -> whereT<int64> c sc a sa b sb y shape
        | DType.Bool -> whereT<bool> c sc a sa b sb y shape

    let private convertT<'A, 'B
        when 'A: unmanaged
        and 'A: (new: unit -> 'A)
        and 'A: struct
        and 'A :> ValueType
        and 'A :> INumber<'A>
        and 'B: unmanaged
        and 'B: (new: unit -> 'B)
        and 'B: struct
        and 'B :> ValueType
        and 'B :> INumber<'B>>
        (x: Array)
        (y: Array)
        =
        Elementwise.Convert<'A, 'B>(ro x, rw y)

    let private toNumeric<'B
        when 'B: unmanaged and 'B: (new: unit -> 'B) and 'B: struct and 'B :> ValueType and 'B :> INumber<'B>>
        (src: DType)
        (x: Array)
        (y: Array)
        =
        match src with
        | DType.Float32 -> convertT<float32, 'B> x y
        | DType.Float64 -> convertT<float, 'B> x y
        | DType.Int32 -> convertT<int, 'B> x y
        | DType.Int64 -> convertT<int64, 'B> x y
        | DType.Bool -> Elementwise.FromBool<'B>(ro x, rw y)

    let private toBoolT<'A
        when 'A: unmanaged and 'A: (new: unit -> 'A) and 'A: struct and 'A :> ValueType and 'A :> INumber<'A>>
        (x: Array)
        (y: Array)
        =
        Elementwise.ToBool<'A>(ro x, rw y)

    let convert (src: DType) (dst: DType) (x: Array) (y: Array) =
        match dst with
        | DType.Float32 -> toNumeric<float32> src x y
        | DType.Float64 -> toNumeric<float> src x y
        | DType.Int32 -> toNumeric<int> src x y
        | DType.Int64 -> toNumeric<int64> src x y
        | DType.Bool ->
            match src with
            | DType.Float32 -> toBoolT<float32> x y
            | DType.Float64 -> toBoolT<float> x y
            | DType.Int32 -> toBoolT<int> x y
            | DType.Int64 -> toBoolT<int64> x y
            | DType.Bool -> Array.Copy(x, y, x.Length)

    let private sumT<'T
        when 'T: unmanaged and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType and 'T :> INumber<'T>>
        (x: Array)
        outer
        n
        inner
        (y: Array)
        =
        Reduce.Sum<'T>(ro x, outer, n, inner, rw y)

    let sum (dtype: DType) x outer n inner y =
        match dtype with
        | DType.Float32 -> sumT<float32> x outer n inner y
        | DType.Float64 -> sumT<float> x outer n inner y
        | DType.Int32 -> sumT<int> x outer n inner y
        | DType.Int64 -> sumT<int64> x outer n inner y
        | DType.Bool -> notFor "sum" dtype "cast to a numeric dtype first"

    let private extremeT<'T
        when 'T: unmanaged and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType and 'T :> INumber<'T>>
        isMax
        (x: Array)
        outer
        n
        inner
        (y: Array)
        (idx: int64[])
        =
        if isMax then
            Reduce.Max<'T>(ro x, outer, n, inner, rw y, Span<int64>(idx))
        else
            Reduce.Min<'T>(ro x, outer, n, inner, rw y, Span<int64>(idx))

    let extreme (dtype: DType) isMax x outer n inner y idx =
        match dtype with
        | DType.Float32 -> extremeT<float32> isMax x outer n inner y idx
        | DType.Float64 -> extremeT<float> isMax x outer n inner y idx
        | DType.Int32 -> extremeT<int> isMax x outer n inner y idx
        | DType.Int64 -> extremeT<int64> isMax x outer n inner y idx
        | DType.Bool -> notFor (if isMax then "max" else "min") dtype "cast to a numeric dtype first"

    let private stridedCopyT<'T when 'T: unmanaged and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (x: Array)
        (offset: int64)
        strides
        (y: Array)
        shape
        =
        Layout.StridedCopy<'T>(ro x, offset, ints strides, rw y, ints shape)

    /// y (contiguous, shape) <- x read at offset with strides.
    let stridedCopy (dtype: DType) x offset strides y shape =
        match dtype with
        | DType.Float32 -> stridedCopyT<float32> x offset strides y shape
        | DType.Float64 -> stridedCopyT<float> x offset strides y shape
        | DType.Int32 -> stridedCopyT<int> x offset strides y shape
        | DType.Int64 -> stridedCopyT<int64> x offset strides y shape
        | DType.Bool -> stridedCopyT<bool> x offset strides y shape

    let private stridedAssignT<'T when 'T: unmanaged and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (x: Array)
        (y: Array)
        (offset: int64)
        strides
        shape
        =
        Layout.StridedAssign<'T>(ro x, rw y, offset, ints strides, ints shape)

    /// y at offset with strides <- x (contiguous, shape).
    let stridedAssign (dtype: DType) x y offset strides shape =
        match dtype with
        | DType.Float32 -> stridedAssignT<float32> x y offset strides shape
        | DType.Float64 -> stridedAssignT<float> x y offset strides shape
        | DType.Int32 -> stridedAssignT<int> x y offset strides shape
        | DType.Int64 -> stridedAssignT<int64> x y offset strides shape
        | DType.Bool -> stridedAssignT<bool> x y offset strides shape

    let private gatherT<'T when 'T: unmanaged and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (x: Array)
        xShape
        dim
        (index: Array)
        indexShape
        (y: Array)
        =
        Indexing.Gather<'T>(ro x, ints xShape, dim, ro index, ints indexShape, rw y)

    let gather (dtype: DType) x xShape dim index indexShape y =
        match dtype with
        | DType.Float32 -> gatherT<float32> x xShape dim index indexShape y
        | DType.Float64 -> gatherT<float> x xShape dim index indexShape y
        | DType.Int32 -> gatherT<int> x xShape dim index indexShape y
        | DType.Int64 -> gatherT<int64> x xShape dim index indexShape y
        | DType.Bool -> gatherT<bool> x xShape dim index indexShape y

    let private scatterAddT<'T
        when 'T: unmanaged and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType and 'T :> INumber<'T>>
        (y: Array)
        yShape
        dim
        (index: Array)
        indexShape
        (src: Array)
        srcShape
        =
        Indexing.ScatterAdd<'T>(rw y, ints yShape, dim, ro index, ints indexShape, ro src, ints srcShape)

    let scatterAdd (dtype: DType) y yShape dim index indexShape src srcShape =
        match dtype with
        | DType.Float32 -> scatterAddT<float32> y yShape dim index indexShape src srcShape
        | DType.Float64 -> scatterAddT<float> y yShape dim index indexShape src srcShape
        | DType.Int32 -> scatterAddT<int> y yShape dim index indexShape src srcShape
        | DType.Int64 -> scatterAddT<int64> y yShape dim index indexShape src srcShape
        | DType.Bool -> notFor "scatterAdd" dtype "cast to a numeric dtype first"

    let private indexSelectT<'T when 'T: unmanaged and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (x: Array)
        xShape
        dim
        (index: Array)
        (y: Array)
        =
        Indexing.IndexSelect<'T>(ro x, ints xShape, dim, ro index, rw y)

    let indexSelect (dtype: DType) x xShape dim index y =
        match dtype with
        | DType.Float32 -> indexSelectT<float32> x xShape dim index y
        | DType.Float64 -> indexSelectT<float> x xShape dim index y
        | DType.Int32 -> indexSelectT<int> x xShape dim index y
        | DType.Int64 -> indexSelectT<int64> x xShape dim index y
        | DType.Bool -> indexSelectT<bool> x xShape dim index y

    let private indexAddT<'T
        when 'T: unmanaged and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType and 'T :> INumber<'T>>
        (y: Array)
        yShape
        dim
        (index: Array)
        (src: Array)
        =
        Indexing.IndexAdd<'T>(rw y, ints yShape, dim, ro index, ro src)

    let indexAdd (dtype: DType) y yShape dim index src =
        match dtype with
        | DType.Float32 -> indexAddT<float32> y yShape dim index src
        | DType.Float64 -> indexAddT<float> y yShape dim index src
        | DType.Int32 -> indexAddT<int> y yShape dim index src
        | DType.Int64 -> indexAddT<int64> y yShape dim index src
        | DType.Bool -> notFor "indexAdd" dtype "cast to a numeric dtype first"

    let private addInPlaceT<'T
        when 'T: unmanaged and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType and 'T :> INumber<'T>>
        (acc: Array)
        (x: Array)
        =
        Elementwise.AddInPlace<'T>(rw acc, ro x)

    let addInPlace (dtype: DType) acc x =
        match dtype with
        | DType.Float32 -> addInPlaceT<float32> acc x
        | DType.Float64 -> addInPlaceT<float> acc x
        | DType.Int32 -> addInPlaceT<int> acc x
        | DType.Int64 -> addInPlaceT<int64> acc x
        | DType.Bool -> notFor "addInPlace" dtype "cast to a numeric dtype first"

    /// Fills with a value converted to the dtype.
    let fill (dtype: DType) (y: Array) (value: float) =
        match dtype with
        | DType.Float32 -> Elementwise.Fill<float32>(rw y, float32 value)
        | DType.Float64 -> Elementwise.Fill<float>(rw y, value)
        | DType.Int32 -> Elementwise.Fill<int>(rw y, int value)
        | DType.Int64 -> Elementwise.Fill<int64>(rw y, int64 value)
        | DType.Bool -> Elementwise.Fill<bool>(rw y, (value <> 0.0))

    let sgemmBatched transA transB batch m n k (a: Array) strideA (b: Array) strideB (c: Array) strideC =
        Gemm.SgemmBatched(transA, transB, batch, m, n, k, 1.0f, ro a, strideA, ro b, strideB, 0.0f, rw c, strideC)

    let dgemmBatched transA transB batch m n k (a: Array) strideA (b: Array) strideB (c: Array) strideC =
        Gemm.DgemmBatched(transA, transB, batch, m, n, k, 1.0, ro a, strideA, ro b, strideB, 0.0, rw c, strideC)
