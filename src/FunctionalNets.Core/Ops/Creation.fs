namespace FunctionalNets

open System
open System.Collections

/// Creating tensors, converting dtype and device, and reading values back.
[<AutoOpen>]
module CreationOps =
    let private backendOf (device: Device option) =
        Backends.get (defaultArg device Defaults.Device)

    let private floatDType (dtype: DType option) = defaultArg dtype Defaults.DType

    /// Walks nested lists/arrays/seqs of numbers or bools into a flat array and a shape.
    let private flatten (value: obj) : Array * int[] =
        let rec dimsOf (v: obj) =
            match v with
            | :? string -> invalidArg "value" "tensor: strings are not tensor data."
            | :? Array as a when a.Rank > 1 -> [ for r in 0 .. a.Rank - 1 -> a.GetLength r ]
            | :? IEnumerable as e ->
                let items = [ for x in e -> x ]

                match items with
                | [] -> [ 0 ]
                | first :: _ -> items.Length :: dimsOf first
            | _ -> []

        let leaves = Collections.Generic.List<obj>()

        let rec collect (v: obj) =
            match v with
            | :? Array as a when a.Rank > 1 ->
                for x in a do
                    leaves.Add x
            | :? IEnumerable as e when not (v :? string) ->
                for x in e do
                    collect x
            | x -> leaves.Add x

        let dims = dimsOf value
        collect value
        let n = List.fold (*) 1 dims

        if leaves.Count <> n then
            invalidArg
                "value"
                (sprintf
                    "tensor: nested data is ragged; expected %d elements for shape %A, found %d."
                    n
                    dims
                    leaves.Count)

        let arr: Array =
            if leaves.Count = 0 then
                Array.zeroCreate<float32> 0
            else
                match leaves[0] with
                | :? float -> leaves |> Seq.map (fun o -> o :?> float) |> Array.ofSeq :> Array
                | :? float32 -> leaves |> Seq.map (fun o -> o :?> float32) |> Array.ofSeq :> Array
                | :? int -> leaves |> Seq.map (fun o -> o :?> int) |> Array.ofSeq :> Array
                | :? int64 -> leaves |> Seq.map (fun o -> o :?> int64) |> Array.ofSeq :> Array
                | :? bool -> leaves |> Seq.map (fun o -> o :?> bool) |> Array.ofSeq :> Array
                | o -> invalidArg "value" (sprintf "tensor: unsupported element type %s." (o.GetType().Name))

        arr, Array.ofList dims

    type Tensor with
        /// A tensor from a typed array (float32[], float[], int[], int64[] or bool[]) and a shape.
        static member ofArray(data: Array, shape: int seq, ?device: Device) =
            let shape = Shape.Create(Array.ofSeq shape)

            if data.Length <> shape.Numel then
                invalidArg
                    "data"
                    (sprintf "ofArray: the array has %d elements but shape %O needs %d." data.Length shape shape.Numel)

            TConst((backendOf device).FromArray(data, shape))

        /// A tensor from nested F# lists/arrays of numbers or bools: tensor [[1.0; 2.0]; [3.0; 4.0]].
        /// F# floats become Float32 unless a dtype is given (as PyTorch does with Python floats).
        static member create(value: obj, ?dtype: DType, ?device: Device) =
            let data, dims = flatten value
            let t = Tensor.ofArray (data, dims, ?device = device)
            // F# floats are read as doubles so an explicit Float64 keeps every digit; without a dtype they
            // become the default floating-point type, as Python floats become float32 in PyTorch.
            let target =
                match dtype, data with
                | Some d, _ -> d
                | None, (:? (float[])) -> Defaults.DType
                | None, _ -> t.DType

            if target <> t.DType then TConst(t.Raw.Cast target) else t

        /// A scalar (rank 0) tensor.
        static member scalar(value: float, ?dtype: DType, ?device: Device) =
            TConst((backendOf device).Full(Shape.Scalar, floatDType dtype, value))

        /// Zeros.
        static member zeros(shape: int seq, ?dtype: DType, ?device: Device) =
            TConst((backendOf device).Zeros(Shape.Create(Array.ofSeq shape), floatDType dtype))

        /// Ones.
        static member ones(shape: int seq, ?dtype: DType, ?device: Device) =
            TConst((backendOf device).Full(Shape.Create(Array.ofSeq shape), floatDType dtype, 1.0))

        /// Every element equal to value.
        static member full(shape: int seq, value: float, ?dtype: DType, ?device: Device) =
            TConst((backendOf device).Full(Shape.Create(Array.ofSeq shape), floatDType dtype, value))

        /// Zeros with the shape, dtype and device of x.
        static member zerosLike(x: Tensor) =
            TConst(x.Raw.Backend.Zeros(x.Shape, x.DType))

        /// Ones with the shape, dtype and device of x.
        static member onesLike(x: Tensor) =
            TConst(x.Raw.Backend.Full(x.Shape, x.DType, 1.0))

        /// value everywhere, with the shape, dtype and device of x.
        static member fullLike(x: Tensor, value: float) =
            TConst(x.Raw.Backend.Full(x.Shape, x.DType, value))

        /// start, start + step, ... up to but excluding stop (Float32 unless a dtype is given).
        static member arange(stop: float, ?start: float, ?step: float, ?dtype: DType, ?device: Device) =
            let start = defaultArg start 0.0
            let step = defaultArg step 1.0

            if step = 0.0 then
                invalidArg "step" "arange: step must not be zero."

            let count = max 0 (int (Math.Ceiling((stop - start) / step)))
            TConst((backendOf device).Arange(start, step, count, floatDType dtype))

        /// count evenly spaced values from start to stop inclusive.
        static member linspace(start: float, stop: float, count: int, ?dtype: DType, ?device: Device) =
            if count < 0 then
                invalidArg "count" (sprintf "linspace: count must be >= 0, got %d." count)

            let step =
                if count > 1 then
                    (stop - start) / float (count - 1)
                else
                    0.0

            TConst((backendOf device).Arange(start, step, count, floatDType dtype))

        /// The n x m identity (m defaults to n).
        static member eye(n: int, ?m: int, ?dtype: DType, ?device: Device) =
            let m = defaultArg m n
            let dtype = floatDType dtype
            let data = Array.zeroCreate<float>(n * m)

            for i in 0 .. (min n m) - 1 do
                data[i * m + i] <- 1.0

            TConst((backendOf device).FromArray(data, Shape.Create [| n; m |]).Cast dtype)

        /// Uniform [0, 1) values drawn from a key.
        static member rand(key: Key, shape: int seq, ?dtype: DType, ?device: Device) =
            TConst((backendOf device).RandomUniform(key, Shape.Create(Array.ofSeq shape), floatDType dtype))

        /// Standard normal values drawn from a key.
        static member randn(key: Key, shape: int seq, ?dtype: DType, ?device: Device) =
            TConst((backendOf device).RandomNormal(key, Shape.Create(Array.ofSeq shape), floatDType dtype))

        /// Uniform integers in [low, high) drawn from a key (Int64 unless a dtype is given).
        static member randint(key: Key, low: int, high: int, shape: int seq, ?dtype: DType, ?device: Device) =
            if high <= low then
                invalidArg "high" (sprintf "randint: high (%d) must be greater than low (%d)." high low)

            let u =
                (backendOf device).RandomUniform(key, Shape.Create(Array.ofSeq shape), DType.Float64)

            let b = u.Backend

            let scaled =
                u.Binary(BinaryKind.Mul, b.Full(Shape.Scalar, DType.Float64, float (high - low)))

            let shifted =
                scaled.Unary(UnaryKind.Floor).Binary(BinaryKind.Add, b.Full(Shape.Scalar, DType.Float64, float low))

            TConst(shifted.Cast(defaultArg dtype DType.Int64))

        /// The same values in another dtype (differentiable between floating-point dtypes).
        static member cast(x: Tensor, dtype: DType) =
            if x.DType = dtype then
                x
            elif x.DType.IsFloatingPoint && dtype.IsFloatingPoint then
                let from = x.DType

                TensorCore.apply
                    {
                        Name = "cast"
                        Raw = fun r -> r[0].Cast dtype
                        Jvp = fun _ _ _ t -> Tensor.cast (t, dtype)
                        Vjp = fun _ _ _ g -> Tensor.cast (g, from)
                    }
                    [| x |]
            else
                TConst(x.Raw.Cast dtype)

        /// The values as a typed array in row-major order (float32[], float[], int[], int64[] or bool[]).
        static member toArray(x: Tensor) = x.Raw.ToArray()

        /// The values as float[] in row-major order, whatever the dtype.
        static member toFloatArray(x: Tensor) : float[] =
            match x.Raw.ToArray() with
            | :? (float32[]) as a -> Array.map float a
            | :? (float[]) as a -> a
            | :? (int[]) as a -> Array.map float a
            | :? (int64[]) as a -> Array.map float a
            | :? (bool[]) as a -> Array.map (fun b -> if b then 1.0 else 0.0) a
            | a -> invalidOp (sprintf "toFloatArray: unexpected storage %s." (a.GetType().Name))

        /// The single value of a one-element tensor.
        static member toScalar(x: Tensor) : float =
            if x.Numel <> 1 then
                invalidArg "x" (sprintf "toScalar: expected a tensor with one element, got shape %O." x.Shape)

            (Tensor.toFloatArray x)[0]

        /// The value with every derivative level removed (no gradient flows through it).
        static member detach(x: Tensor) = x.NoDiff

        /// The same values on another device (a copy through host memory; the tensor itself when already there).
        /// The device's backend must be loaded (for CUDA: FunctionalNets.Cuda's Cuda.init). Tensors carrying
        /// derivatives are refused: move the inputs and parameters before differentiating.
        static member toDevice(device: Device, x: Tensor) =
            if x.Device = device then
                x
            else
                match x with
                | TConst r -> TConst((Backends.get device).FromArray(r.ToArray(), r.Shape))
                | _ ->
                    invalidOp (
                        sprintf
                            "toDevice: the tensor %O on %O carries derivatives; move inputs and parameters to %O before calling grad/jvp."
                            x.Shape
                            x.Device
                            device
                    )
