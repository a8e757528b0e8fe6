namespace FunctionalNets.Nn

open System.Runtime.InteropServices
open FunctionalNets

/// The nonlinearity an initializer scales for, as in PyTorch's torch.nn.init.calculate_gain.
[<RequireQualifiedAccess>]
type Nonlinearity =
    /// Identity (also what convolutions and plain linear maps use): gain 1.
    | Linear
    /// Logistic sigmoid: gain 1.
    | Sigmoid
    /// Hyperbolic tangent: gain 5/3.
    | Tanh
    /// ReLU: gain sqrt 2.
    | Relu
    /// Leaky ReLU with the negative slope given separately: gain sqrt(2 / (1 + slope^2)).
    | LeakyRelu
    /// SELU: gain 3/4.
    | Selu

/// Which fan a Kaiming initializer preserves: fan_in keeps the forward activations' variance,
/// fan_out keeps the backward gradients' variance.
[<RequireQualifiedAccess>]
type FanMode =
    | FanIn
    | FanOut

/// Weight initializers with PyTorch's formulas (torch.nn.init). Each draws from a Key, so the same key
/// gives the same weights on every device; the dtype defaults to Defaults.DType (Float32) and the device
/// to Defaults.Device (an omitted dtype or device arrives as null). The options are named arguments with
/// PyTorch's defaults, and each member's PascalCase CompiledName is what C# calls (Init.KaimingUniform).
[<AbstractClass; Sealed>]
type Init =
    static member private Dims(op: string, shape: int seq) =
        Check.notNull op "shape" shape
        let dims = Array.ofSeq shape

        if dims |> Array.exists (fun d -> d < 0) then
            invalidArg "shape" (sprintf "%s: shape %A has a negative dimension." op dims)

        dims

    /// The recommended gain for a nonlinearity (PyTorch's calculate_gain); param is the leaky ReLU
    /// negative slope (default 0.01) and is ignored by the other nonlinearities.
    [<CompiledName("CalculateGain")>]
    static member calculateGain
        (nonlinearity: Nonlinearity, [<Optional; DefaultParameterValue(0.01)>] param: float)
        : float =
        Check.notNull "Init.CalculateGain" "nonlinearity" nonlinearity

        match nonlinearity with
        | Nonlinearity.Linear
        | Nonlinearity.Sigmoid -> 1.0
        | Nonlinearity.Tanh -> 5.0 / 3.0
        | Nonlinearity.Relu -> sqrt 2.0
        | Nonlinearity.LeakyRelu -> sqrt (2.0 / (1.0 + param * param))
        | Nonlinearity.Selu -> 0.75

    /// (fan_in, fan_out) of a weight shape, as PyTorch's _calculate_fan_in_and_fan_out: for
    /// [out; in; k1; k2; ...] fan_in = in * k1 * k2 * ... and fan_out = out * k1 * k2 * ....
    [<CompiledName("Fans")>]
    static member fans(shape: int seq) : int * int =
        let dims = Init.Dims("Init.Fans", shape)

        if dims.Length < 2 then
            invalidArg
                "shape"
                (sprintf
                    "Init.fans: fan in and fan out need a weight with at least 2 dims ([out; in; ...]), got %A."
                    dims)

        let receptive = Array.fold (*) 1 dims[2..]
        dims[1] * receptive, dims[0] * receptive

    /// Zeros.
    [<CompiledName("Zeros")>]
    static member zeros(shape: int seq, [<Optional>] dtype: DType, [<Optional>] device: Device) : Tensor =
        let dims = Init.Dims("Init.Zeros", shape)
        Tensor.zeros (dims, ?dtype = Check.given dtype, ?device = Check.given device)

    /// Every element equal to value.
    [<CompiledName("Constant")>]
    static member constant
        (shape: int seq, value: float, [<Optional>] dtype: DType, [<Optional>] device: Device)
        : Tensor =
        let dims = Init.Dims("Init.Constant", shape)
        Tensor.full (dims, value, ?dtype = Check.given dtype, ?device = Check.given device)

    /// Uniform values in [low, high) (default [0, 1)).
    [<CompiledName("Uniform")>]
    static member uniform
        (
            key: Key,
            shape: int seq,
            [<Optional; DefaultParameterValue(0.0)>] low: float,
            [<Optional; DefaultParameterValue(1.0)>] high: float,
            [<Optional>] dtype: DType,
            [<Optional>] device: Device
        ) : Tensor =
        let dims = Init.Dims("Init.Uniform", shape)

        if not (high >= low) then
            invalidArg "high" (sprintf "Init.Uniform: high (%g) must be >= low (%g)." high low)

        let u =
            Tensor.rand (key, dims, ?dtype = Check.given dtype, ?device = Check.given device)

        // The draw is [0, 1): an affine map keeps it inside [low, high) and carries no derivative.
        (u * (high - low) + low).NoDiff

    /// Normal values with the given mean (default 0) and standard deviation (default 1).
    [<CompiledName("Normal")>]
    static member normal
        (
            key: Key,
            shape: int seq,
            [<Optional; DefaultParameterValue(0.0)>] mean: float,
            [<Optional; DefaultParameterValue(1.0)>] std: float,
            [<Optional>] dtype: DType,
            [<Optional>] device: Device
        ) : Tensor =
        let dims = Init.Dims("Init.Normal", shape)

        if not (std >= 0.0) then
            invalidArg "std" (sprintf "Init.Normal: std must be >= 0, got %g." std)

        (Tensor.randn (key, dims, ?dtype = Check.given dtype, ?device = Check.given device)
         * std
         + mean)
            .NoDiff

    /// Glorot/Xavier uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)), so the variance is
    /// gain^2 * 2 / (fan_in + fan_out).
    [<CompiledName("XavierUniform")>]
    static member xavierUniform
        (
            key: Key,
            shape: int seq,
            [<Optional; DefaultParameterValue(1.0)>] gain: float,
            [<Optional>] dtype: DType,
            [<Optional>] device: Device
        ) : Tensor =
        let fanIn, fanOut = Init.fans shape
        let a = gain * sqrt (6.0 / float (fanIn + fanOut))
        Init.uniform (key, shape, -a, a, dtype, device)

    /// Glorot/Xavier normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)).
    [<CompiledName("XavierNormal")>]
    static member xavierNormal
        (
            key: Key,
            shape: int seq,
            [<Optional; DefaultParameterValue(1.0)>] gain: float,
            [<Optional>] dtype: DType,
            [<Optional>] device: Device
        ) : Tensor =
        let fanIn, fanOut = Init.fans shape
        let std = gain * sqrt (2.0 / float (fanIn + fanOut))
        Init.normal (key, shape, 0.0, std, dtype, device)

    /// The standard deviation He/Kaiming initialization targets: gain / sqrt(fan).
    static member private KaimingStd(op: string, dims: int[], a: float, mode: FanMode, nonlinearity: Nonlinearity) =
        let fanIn, fanOut = Init.fans dims

        let fan =
            match Check.given mode |> Option.defaultValue FanMode.FanIn with
            | FanMode.FanIn -> fanIn
            | FanMode.FanOut -> fanOut

        if fan = 0 then
            invalidArg "shape" (sprintf "%s: shape %A has a zero fan; there is nothing to scale by." op dims)

        // PyTorch's defaults: a = 0 with leaky_relu, which is ReLU's gain sqrt 2.
        let gain =
            Init.calculateGain (Check.given nonlinearity |> Option.defaultValue Nonlinearity.LeakyRelu, a)

        gain / sqrt (float fan)

    /// He/Kaiming uniform: U(-bound, bound) with bound = sqrt 3 * gain / sqrt(fan). a is the leaky ReLU negative
    /// slope (default 0), mode picks fan_in (default) or fan_out, nonlinearity defaults to LeakyRelu as in PyTorch.
    [<CompiledName("KaimingUniform")>]
    static member kaimingUniform
        (
            key: Key,
            shape: int seq,
            [<Optional; DefaultParameterValue(0.0)>] a: float,
            [<Optional>] mode: FanMode,
            [<Optional>] nonlinearity: Nonlinearity,
            [<Optional>] dtype: DType,
            [<Optional>] device: Device
        ) : Tensor =
        let dims = Init.Dims("Init.KaimingUniform", shape)

        let bound =
            sqrt 3.0 * Init.KaimingStd("Init.KaimingUniform", dims, a, mode, nonlinearity)

        Init.uniform (key, dims, -bound, bound, dtype, device)

    /// He/Kaiming normal: N(0, std^2) with std = gain / sqrt(fan); the arguments are those of kaimingUniform.
    [<CompiledName("KaimingNormal")>]
    static member kaimingNormal
        (
            key: Key,
            shape: int seq,
            [<Optional; DefaultParameterValue(0.0)>] a: float,
            [<Optional>] mode: FanMode,
            [<Optional>] nonlinearity: Nonlinearity,
            [<Optional>] dtype: DType,
            [<Optional>] device: Device
        ) : Tensor =
        let dims = Init.Dims("Init.KaimingNormal", shape)
        let std = Init.KaimingStd("Init.KaimingNormal", dims, a, mode, nonlinearity)
        Init.normal (key, dims, 0.0, std, dtype, device)
