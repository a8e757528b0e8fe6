namespace FunctionalNets.Bridges

open System
open System.Runtime.CompilerServices
open FunctionalNets

[<assembly: InternalsVisibleTo("FunctionalNets")>]
do ()

/// The tensor ops under plain .NET names for the C# host. F# declares most ops as extension members of
/// Tensor in the file of their family, and the compiler gives those names other .NET languages cannot call;
/// these forwarders are checked by the compiler, so a renamed op breaks the build, not a user's program.
[<AbstractClass; Sealed>]
type internal TensorBridge =
    static member OfArray(data: Array, shape: int seq, device: Device option) =
        Tensor.ofArray (data, shape, ?device = device)

    static member Zeros(shape: int seq, dtype: DType option, device: Device option) =
        Tensor.zeros (shape, ?dtype = dtype, ?device = device)

    static member Ones(shape: int seq, dtype: DType option, device: Device option) =
        Tensor.ones (shape, ?dtype = dtype, ?device = device)

    static member Scalar(value: float, dtype: DType option, device: Device option) =
        Tensor.scalar (value, ?dtype = dtype, ?device = device)

    static member Rand(key: Key, shape: int seq, dtype: DType option, device: Device option) =
        Tensor.rand (key, shape, ?dtype = dtype, ?device = device)

    static member Randn(key: Key, shape: int seq, dtype: DType option, device: Device option) =
        Tensor.randn (key, shape, ?dtype = dtype, ?device = device)

    static member ToFloatArray(x: Tensor) : float[] = Tensor.toFloatArray x
    static member ToDevice(device: Device, x: Tensor) = Tensor.toDevice (device, x)
    static member ToArray(x: Tensor) : Array = Tensor.toArray x
    static member ToScalar(x: Tensor) : float = Tensor.toScalar x
    static member Cast(x: Tensor, dtype: DType) = Tensor.cast (x, dtype)
    static member Relu(x: Tensor) = Tensor.relu x
    static member Gelu(x: Tensor) = Tensor.gelu x
    static member Silu(x: Tensor) = Tensor.silu x
    static member Softplus(x: Tensor, beta: float, threshold: float) = Tensor.softplus (x, beta, threshold)

    static member Max(x: Tensor, dims: int seq option, keepDim: bool option) =
        Tensor.max (x, ?dims = dims, ?keepDim = keepDim)

    static member Min(x: Tensor, dims: int seq option, keepDim: bool option) =
        Tensor.min (x, ?dims = dims, ?keepDim = keepDim)

    static member MaxWithIndices(x: Tensor, dim: int, keepDim: bool) = Tensor.maxWithIndices (x, dim, keepDim)
    static member Maximum(a: Tensor, b: Tensor) = Tensor.maximum (a, b)
    static member Minimum(a: Tensor, b: Tensor) = Tensor.minimum (a, b)

    static member Std(x: Tensor, dims: int seq option, keepDim: bool option, unbiased: bool option) =
        Tensor.std (x, ?dims = dims, ?keepDim = keepDim, ?unbiased = unbiased)

    static member Var(x: Tensor, dims: int seq option, keepDim: bool option, unbiased: bool option) =
        Tensor.var (x, ?dims = dims, ?keepDim = keepDim, ?unbiased = unbiased)

    static member LogSumExp(x: Tensor, dim: int, keepDim: bool) = Tensor.logsumexp (x, dim, keepDim)
    static member Pow(x: Tensor, exponent: Tensor) = Tensor.pow (x, exponent)
    static member Grad(f: Func<Tensor, Tensor>, x: Tensor) = Diff.grad (fun t -> f.Invoke t) x

    static member Pad(x: Tensor, padding: (int * int)[], mode: PadMode) = Tensor.pad (x, padding, mode)
    static member Sigmoid(x: Tensor) = Tensor.sigmoid x
    static member Tanh(x: Tensor) = Tensor.tanh x
    static member Exp(x: Tensor) = Tensor.exp x
    static member Log(x: Tensor) = Tensor.log x
    static member Abs(x: Tensor) = Tensor.abs x
    static member Sqrt(x: Tensor) = Tensor.sqrt x
    static member Square(x: Tensor) = Tensor.square x
    static member Softmax(x: Tensor, dim: int option) = Tensor.softmax (x, ?dim = dim)
    static member LogSoftmax(x: Tensor, dim: int option) = Tensor.logSoftmax (x, ?dim = dim)

    static member SumAll(x: Tensor, dims: int seq option, keepDim: bool option) =
        Tensor.sum (x, ?dims = dims, ?keepDim = keepDim)

    static member SumDim(x: Tensor, dim: int, keepDim: bool option) = Tensor.sum (x, dim, ?keepDim = keepDim)

    static member MeanAll(x: Tensor, dims: int seq option, keepDim: bool option) =
        Tensor.mean (x, ?dims = dims, ?keepDim = keepDim)

    static member MeanDim(x: Tensor, dim: int, keepDim: bool option) =
        Tensor.mean (x, dim, ?keepDim = keepDim)

    static member Argmax(x: Tensor, dim: int option, keepDim: bool option) =
        Tensor.argmax (x, ?dim = dim, ?keepDim = keepDim)

    static member Matmul(a: Tensor, b: Tensor) = Tensor.matmul (a, b)
    static member Linear(x: Tensor, weight: Tensor, bias: Tensor option) = Tensor.linear (x, weight, ?bias = bias)
    static member Reshape(x: Tensor, dims: int seq) = Tensor.reshape (x, dims)

    static member Transpose(x: Tensor, dim0: int option, dim1: int option) =
        Tensor.transpose (x, ?dim0 = dim0, ?dim1 = dim1)

    static member Clamp(x: Tensor, min: float option, max: float option) =
        Tensor.clamp (x, ?min = min, ?max = max)
