namespace FunctionalNets

open System.Threading

/// Element types a tensor can hold.
[<RequireQualifiedAccess>]
type DType =
    | Float32
    | Float64
    | Int32
    | Int64
    | Bool

    /// Bytes per element.
    member d.SizeInBytes =
        match d with
        | Float32
        | Int32 -> 4
        | Float64
        | Int64 -> 8
        | Bool -> 1

    /// True for Float32 and Float64.
    member d.IsFloatingPoint =
        match d with
        | Float32
        | Float64 -> true
        | _ -> false

    /// The PyTorch-style name (float32, int64, ...).
    member d.Name =
        match d with
        | Float32 -> "float32"
        | Float64 -> "float64"
        | Int32 -> "int32"
        | Int64 -> "int64"
        | Bool -> "bool"

    override d.ToString() = d.Name

/// Where a tensor's storage lives.
[<RequireQualifiedAccess>]
type Device =
    | Cpu
    | Cuda of index: int

    override d.ToString() =
        match d with
        | Cpu -> "cpu"
        | Cuda i -> sprintf "cuda:%d" i

/// The process-wide defaults used when a call names no dtype or device. Each call may override them.
[<AbstractClass; Sealed>]
type Defaults private () =
    static let mutable dtype = DType.Float32
    static let mutable device = Device.Cpu
    static let gate = obj ()

    /// Element type of new floating-point tensors when a call names none (Float32 unless changed).
    static member DType
        with get () = lock gate (fun () -> dtype)
        and set (v: DType) =
            if not v.IsFloatingPoint then
                invalidArg "value" (sprintf "Defaults.DType must be a floating-point type, got %O." v)

            lock gate (fun () -> dtype <- v)

    /// Device of new tensors when a call names none (Cpu unless changed).
    static member Device
        with get () = lock gate (fun () -> device)
        and set (v: Device) = lock gate (fun () -> device <- v)
