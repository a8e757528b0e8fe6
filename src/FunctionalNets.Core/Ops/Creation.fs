namespace FunctionalNets

open System
open System.Runtime.CompilerServices
open System.Runtime.InteropServices

/// Tensors shaped like another, converting dtype and device, and reading values back (the factories that take a
/// shape are static members of Tensor itself, in Tensor.fs).
[<AutoOpen; Extension>]
module CreationOps =
    type Tensor with
        /// Zeros with the shape, dtype and device of x.
        [<CompiledName("ZerosLike"); Extension>]
        static member zerosLike(x: Tensor) =
            Args.required "zerosLike" "x" x
            TConst(x.Raw.Backend.Zeros(x.Shape, x.DType))

        /// Ones with the shape, dtype and device of x.
        [<CompiledName("OnesLike"); Extension>]
        static member onesLike(x: Tensor) =
            Args.required "onesLike" "x" x
            TConst(x.Raw.Backend.Full(x.Shape, x.DType, 1.0))

        /// value everywhere, with the shape, dtype and device of x.
        [<CompiledName("FullLike"); Extension>]
        static member fullLike(x: Tensor, value: float) =
            Args.required "fullLike" "x" x
            TConst(x.Raw.Backend.Full(x.Shape, x.DType, value))

        /// The same values in another dtype (differentiable between floating-point dtypes).
        [<CompiledName("Cast"); Extension>]
        static member cast(x: Tensor, dtype: DType) =
            Args.required "cast" "x" x
            Args.required "cast" "dtype" dtype

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
        [<CompiledName("ToArray"); Extension>]
        static member toArray(x: Tensor) =
            Args.required "toArray" "x" x

            x.Raw.ToArray()

        /// The values as float[] in row-major order, whatever the dtype.
        [<CompiledName("ToDoubleArray"); Extension>]
        static member toFloatArray(x: Tensor) : float[] =
            Args.required "toFloatArray" "x" x

            match x.Raw.ToArray() with
            | :? (float32[]) as a -> Array.map float a
            | :? (float[]) as a -> a
            | :? (int[]) as a -> Array.map float a
            | :? (int64[]) as a -> Array.map float a
            | :? (bool[]) as a -> Array.map (fun b -> if b then 1.0 else 0.0) a
            | a -> invalidOp (sprintf "toFloatArray: unexpected storage %s." (a.GetType().Name))

        /// The values as float32[] in row-major order, whatever the dtype.
        [<CompiledName("ToSingleArray"); Extension>]
        static member toFloat32Array(x: Tensor) : float32[] =
            Args.required "toFloat32Array" "x" x

            match x.Raw.ToArray() with
            | :? (float32[]) as a -> a
            | _ -> Array.map float32 (Tensor.toFloatArray x)

        /// The sizes of the dims, outermost first (a copy).
        [<CompiledName("Dims"); Extension>]
        static member dims(x: Tensor) : int[] =
            Args.required "dims" "x" x

            x.Shape.ToArray()

        /// The single value of a one-element tensor.
        [<CompiledName("ToScalar"); Extension>]
        static member toScalar(x: Tensor) : float =
            Args.required "toScalar" "x" x

            if x.Numel <> 1 then
                invalidArg "x" (sprintf "toScalar: expected a tensor with one element, got shape %O." x.Shape)

            (Tensor.toFloatArray x)[0]

        /// The value with every derivative level removed (no gradient flows through it).
        [<CompiledName("Detach"); Extension>]
        static member detach(x: Tensor) =
            Args.required "detach" "x" x

            x.NoDiff

        /// The same values on another device (a copy through host memory; the tensor itself when already there).
        /// The device's backend must be loaded (for CUDA: FunctionalNets.Cuda's Cuda.init). Tensors carrying
        /// derivatives are refused: move the inputs and parameters before differentiating.
        [<CompiledName("ToDevice")>]
        static member toDevice(device: Device, x: Tensor) =
            Args.required "toDevice" "device" device
            Args.required "toDevice" "x" x

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
