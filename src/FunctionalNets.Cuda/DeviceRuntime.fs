namespace FunctionalNets.Cuda

open System
open System.Collections.Concurrent
open System.Threading
open ILGPU
open ILGPU.Runtime
open ILGPU.Runtime.CPU
open ILGPU.Runtime.Cuda
open FunctionalNets
open FunctionalNets.Cuda.Kernels

/// Device memory counters of one device's caching allocator.
type MemoryStats =
    {
        /// Bytes held in live tensors.
        InUseBytes: int64
        /// Bytes kept in the cache for reuse.
        CachedBytes: int64
        /// Allocations served from the cache.
        CacheHits: int64
        /// Allocations that went to the device.
        DeviceAllocations: int64
    }

/// A caching allocator: buffers are rounded up to a power of two (at least 256 bytes) and returned to a bucket
/// of their size when a Scope releases them, so a training loop stops allocating after its first step. Reuse is
/// stream-ordered (one stream per device), so a buffer can be handed out again before earlier kernels finish.
type internal DevicePool(acc: Accelerator) =
    let buckets =
        ConcurrentDictionary<int64, ConcurrentBag<MemoryBuffer1D<byte, Stride1D.Dense>>>()

    let mutable inUse = 0L
    let mutable cached = 0L
    let mutable hits = 0L
    let mutable allocs = 0L

    static member BucketOf(bytes: int64) =
        let mutable b = 256L

        while b < bytes do
            b <- b * 2L

        b

    member _.Rent(bytes: int64) =
        let size = DevicePool.BucketOf bytes
        let bag = buckets.GetOrAdd(size, fun _ -> ConcurrentBag())
        Interlocked.Add(&inUse, size) |> ignore

        match bag.TryTake() with
        | true, b ->
            Interlocked.Add(&cached, -size) |> ignore
            Interlocked.Increment(&hits) |> ignore
            b
        | _ ->
            Interlocked.Increment(&allocs) |> ignore

            try
                acc.Allocate1D<byte>(size)
            with
            | :? AcceleratorException
            | :? OutOfMemoryException as e ->
                // A failed allocation leaves the counters as they were.
                Interlocked.Add(&inUse, -size) |> ignore
                Interlocked.Decrement(&allocs) |> ignore

                invalidOp (
                    sprintf
                        "Out of device memory on %s: could not allocate %d bytes (%d in use, %d cached). Free tensors with Scope.run, use a smaller batch, or call Cuda.emptyCache (). (%s)"
                        acc.Name
                        size
                        inUse
                        cached
                        e.Message
                )

    member _.Return(b: MemoryBuffer1D<byte, Stride1D.Dense>) =
        let size = b.Length
        Interlocked.Add(&inUse, -size) |> ignore
        Interlocked.Add(&cached, size) |> ignore
        buckets.GetOrAdd(size, fun _ -> ConcurrentBag()).Add b

    member _.EmptyCache() =
        acc.Synchronize()

        for bag in buckets.Values do
            let mutable b = Unchecked.defaultof<_>

            while bag.TryTake(&b) do
                Interlocked.Add(&cached, -b.Length) |> ignore
                b.Dispose()

    member _.Stats =
        {
            InUseBytes = inUse
            CachedBytes = cached
            CacheHits = hits
            DeviceAllocations = allocs
        }

/// One device's ILGPU context, accelerator, kernels, allocator and (on a GPU with libcublas) cuBLAS handle.
type internal DeviceRuntime =
    {
        Index: int
        Context: Context
        Accelerator: Accelerator
        Launcher: KernelLauncher
        Pool: DevicePool
        /// Pinned host buffers for host<->device copies; counts uploads and downloads (host reads).
        Staging: PinnedStaging
        Simulated: bool
        Cublas: CublasHandle option
        CublasNote: string
        /// cuDNN for conv2d (GPU with libcudnn.so.9 only); None runs im2col + GEMM.
        Cudnn: CudnnHandle option
        ConvNote: string
    }

/// Creates device runtimes. A real CUDA accelerator is used for Device.Cuda n; ILGPU's CPU accelerator only when
/// asked (FUNCTIONALNETS_CUDA_SIMULATE=1 or Cuda.useSimulator), never silently in place of a GPU.
module internal DeviceRuntimes =
    let mutable private simulate =
        match Environment.GetEnvironmentVariable "FUNCTIONALNETS_CUDA_SIMULATE" with
        | "1"
        | "true"
        | "yes" -> true
        | _ -> false

    let mutable allowTf32 = false
    let private gate = obj ()
    let private runtimes = ConcurrentDictionary<int, DeviceRuntime>()

    let simulating () = simulate

    /// Makes the device's context current on the calling thread (a CUDA context is per thread: the data loader's
    /// prefetch thread and the training thread both launch work). A thread-static check when already bound.
    let bindThread (rt: DeviceRuntime) =
        if not (obj.ReferenceEquals(Accelerator.Current, rt.Accelerator)) then
            rt.Accelerator.Bind()

    let setSimulate (v: bool) =
        lock gate (fun () ->
            if not runtimes.IsEmpty && v <> simulate then
                invalidOp
                    "Cuda.useSimulator: a CUDA device is already in use; choose the simulator before the first tensor is created on a CUDA device."

            simulate <- v)

    /// A runtime on ILGPU's CPU accelerator.
    let createSimulated (index: int) : DeviceRuntime =
        let ctx =
            Context.Create(fun b -> b.CPU().EnableAlgorithms().Profiling().Optimize(OptimizationLevel.O1) |> ignore)

        let acc = ctx.CreateCPUAccelerator(0, CPUAcceleratorMode.Parallel) :> Accelerator

        {
            Index = index
            Context = ctx
            Accelerator = acc
            Launcher = new KernelLauncher(acc)
            Pool = DevicePool acc
            Staging = new PinnedStaging(acc)
            Simulated = true
            Cublas = None
            CublasNote = "simulated device: GEMM runs the cuBLAS call contract in an ILGPU kernel"
            Cudnn = None
            ConvNote =
                "simulated device: im2col + the GEMM kernel (the cuDNN plan is tested on the CPU by its reference)"
        }

    /// A runtime on CUDA GPU n, or a clear error naming what was expected and found and what to do.
    let createReal (index: int) : DeviceRuntime =
        NativeLibraries.registerIlgpuResolver () |> ignore

        let ctx =
            try
                Context.Create(fun b ->
                    b.Cuda().EnableAlgorithms().Profiling().Optimize(OptimizationLevel.O2) |> ignore)
            with e ->
                invalidOp (sprintf "Device.Cuda %d: ILGPU could not initialise CUDA (%s)." index e.Message)

        let devices = ctx.GetCudaDevices()

        if index < 0 || index >= devices.Count then
            ctx.Dispose()
            let driver = NativeLibraries.probe "cuda"

            invalidOp (
                sprintf
                    "Device.Cuda %d: expected an NVIDIA GPU with a working driver, found %d CUDA device(s). %s%sTo run the CUDA backend on the CPU for testing, set FUNCTIONALNETS_CUDA_SIMULATE=1 or call Cuda.useSimulator () before creating tensors; otherwise keep using Device.Cpu. Cuda.describe () lists every path tried."
                    index
                    devices.Count
                    (match driver.Found with
                     | Some f -> sprintf "The driver library loaded from %s. " f
                     | None -> "No CUDA driver library (libcuda.so.1) was found. ")
                    Environment.NewLine
            )

        let acc = ctx.CreateCudaAccelerator(index) :> Accelerator
        let stream = (acc.DefaultStream :?> CudaStream).StreamPtr

        let cublas, note =
            match CublasHandle.TryCreate(stream, allowTf32) with
            | Ok h -> Some h, "cuBLAS"
            | Error why -> None, "cuBLAS not found, GEMM runs the ILGPU kernel: " + why

        let cudnn, convNote =
            match CudnnHandle.TryCreate(stream, allowTf32) with
            | Ok h -> Some h, "cuDNN (legacy convolution API; im2col + GEMM where cuDNN declines a shape)"
            | Error why -> None, "im2col + GEMM (cuDNN not used: " + why + ")"

        {
            Index = index
            Context = ctx
            Accelerator = acc
            Launcher = new KernelLauncher(acc)
            Pool = DevicePool acc
            Staging = new PinnedStaging(acc)
            Simulated = false
            Cublas = cublas
            CublasNote = note
            Cudnn = cudnn
            ConvNote = convNote
        }

    let private create (index: int) =
        if simulate then createSimulated index else createReal index

    /// The runtime for device n, created at first use.
    let get (index: int) =
        match runtimes.TryGetValue index with
        | true, r -> r
        | _ -> lock gate (fun () -> runtimes.GetOrAdd(index, create))

    /// The runtimes created so far.
    let all () = runtimes.Values |> List.ofSeq
