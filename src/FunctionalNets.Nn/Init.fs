namespace FunctionalNets.Nn

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
/// to Defaults.Device.
[<AbstractClass; Sealed>]
type Init =
    static member private Check(op: string, shape: int[]) =
        if shape |> Array.exists (fun d -> d < 0) then
            invalidArg "shape" (sprintf "Init.%s: shape %A has a negative dimension." op shape)

    /// The recommended gain for a nonlinearity (PyTorch's calculate_gain); param is the leaky ReLU
    /// negative slope (default 0.01) and is ignored by the other nonlinearities.
    static member calculateGain(nonlinearity: Nonlinearity, ?param: float) : float =
        match nonlinearity with
        | Nonlinearity.Linear
        | Nonlinearity.Sigmoid -> 1.0
        | Nonlinearity.Tanh -> 5.0 / 3.0
        | Nonlinearity.Relu -> sqrt 2.0
        | Nonlinearity.LeakyRelu ->
            let slope = defaultArg param 0.01
            sqrt (2.0 / (1.0 + slope * slope))
        | Nonlinearity.Selu -> 0.75

    /// (fan_in, fan_out) of a weight shape, as PyTorch's _calculate_fan_in_and_fan_out: for
    /// [out; in; k1; k2; ...] fan_in = in * k1 * k2 * ... and fan_out = out * k1 * k2 * ....
    static member fans(shape: int seq) : int * int =
        let dims = Array.ofSeq shape

        if dims.Length < 2 then
            invalidArg
                "shape"
                (sprintf
                    "Init.fans: fan in and fan out need a weight with at least 2 dims ([out; in; ...]), got %A."
                    dims)

        let receptive = Array.fold (*) 1 dims[2..]
        dims[1] * receptive, dims[0] * receptive

    /// Zeros.
    static member zeros(shape: int seq, ?dtype: DType, ?device: Device) : Tensor =
        Tensor.zeros (shape, ?dtype = dtype, ?device = device)

    /// Every element equal to value.
    static member constant(shape: int seq, value: float, ?dtype: DType, ?device: Device) : Tensor =
        Tensor.full (shape, value, ?dtype = dtype, ?device = device)

    /// Uniform values in [low, high) (default [0, 1)).
    static member uniform
        (key: Key, shape: int seq, ?low: float, ?high: float, ?dtype: DType, ?device: Device)
        : Tensor =
        let dims = Array.ofSeq shape
        Init.Check("uniform", dims)
        let low = defaultArg low 0.0
        let high = defaultArg high 1.0

        if not (high >= low) then
            invalidArg "high" (sprintf "Init.uniform: high (%g) must be >= low (%g)." high low)

        let u = Tensor.rand (key, dims, ?dtype = dtype, ?device = device)
        // The draw is [0, 1): an affine map keeps it inside [low, high) and carries no derivative.
        (u * (high - low) + low).NoDiff

    /// Normal values with the given mean (default 0) and standard deviation (default 1).
    static member normal(key: Key, shape: int seq, ?mean: float, ?std: float, ?dtype: DType, ?device: Device) : Tensor =
        let dims = Array.ofSeq shape
        Init.Check("normal", dims)
        let mean = defaultArg mean 0.0
        let std = defaultArg std 1.0

        if not (std >= 0.0) then
            invalidArg "std" (sprintf "Init.normal: std must be >= 0, got %g." std)

        (Tensor.randn (key, dims, ?dtype = dtype, ?device = device) * std + mean).NoDiff

    /// Glorot/Xavier uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)), so the variance is
    /// gain^2 * 2 / (fan_in + fan_out).
    static member xavierUniform(key: Key, shape: int seq, ?gain: float, ?dtype: DType, ?device: Device) : Tensor =
        let dims = Array.ofSeq shape
        let fanIn, fanOut = Init.fans dims
        let a = defaultArg gain 1.0 * sqrt (6.0 / float (fanIn + fanOut))
        Init.uniform (key, dims, -a, a, ?dtype = dtype, ?device = device)

    /// Glorot/Xavier normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)).
    static member xavierNormal(key: Key, shape: int seq, ?gain: float, ?dtype: DType, ?device: Device) : Tensor =
        let dims = Array.ofSeq shape
        let fanIn, fanOut = Init.fans dims
        let std = defaultArg gain 1.0 * sqrt (2.0 / float (fanIn + fanOut))
        Init.normal (key, dims, 0.0, std, ?dtype = dtype, ?device = device)

    /// The standard deviation He/Kaiming initialization targets: gain / sqrt(fan).
    static member private KaimingStd
        (op: string, dims: int[], a: float option, mode: FanMode option, nonlinearity: Nonlinearity option)
        =
        let fanIn, fanOut = Init.fans dims

        let fan =
            match defaultArg mode FanMode.FanIn with
            | FanMode.FanIn -> fanIn
            | FanMode.FanOut -> fanOut

        if fan = 0 then
            invalidArg "shape" (sprintf "Init.%s: shape %A has a zero fan; there is nothing to scale by." op dims)

        // PyTorch's defaults: a = 0 with leaky_relu, which is ReLU's gain sqrt 2.
        let gain =
            Init.calculateGain (defaultArg nonlinearity Nonlinearity.LeakyRelu, defaultArg a 0.0)

        gain / sqrt (float fan)

    /// He/Kaiming uniform: U(-bound, bound) with bound = sqrt 3 * gain / sqrt(fan). a is the leaky ReLU negative
    /// slope (default 0), mode picks fan_in (default) or fan_out, nonlinearity defaults to LeakyRelu as in PyTorch.
    static member kaimingUniform
        (
            key: Key,
            shape: int seq,
            ?a: float,
            ?mode: FanMode,
            ?nonlinearity: Nonlinearity,
            ?dtype: DType,
            ?device: Device
        ) : Tensor =
        let dims = Array.ofSeq shape

        let bound =
            sqrt 3.0 * Init.KaimingStd("kaimingUniform", dims, a, mode, nonlinearity)

        Init.uniform (key, dims, -bound, bound, ?dtype = dtype, ?device = device)

    /// He/Kaiming normal: N(0, std^2) with std = gain / sqrt(fan); the arguments are those of kaimingUniform.
    static member kaimingNormal
        (
            key: Key,
            shape: int seq,
            ?a: float,
            ?mode: FanMode,
            ?nonlinearity: Nonlinearity,
            ?dtype: DType,
            ?device: Device
        ) : Tensor =
        let dims = Array.ofSeq shape
        let std = Init.KaimingStd("kaimingNormal", dims, a, mode, nonlinearity)
        Init.normal (key, dims, 0.0, std, ?dtype = dtype, ?device = device)
