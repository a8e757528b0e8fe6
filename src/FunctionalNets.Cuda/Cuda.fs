namespace FunctionalNets.Cuda

open System
open System.Text
open FunctionalNets

/// The CUDA backend's entry points: choosing the device (or its simulation), describing what was found, memory.
[<RequireQualifiedAccess>]
module Cuda =
    /// Runs Device.Cuda n on ILGPU's CPU accelerator (every kernel executes, one OS thread per GPU thread) instead
    /// of a GPU. Only ever used when asked for, here or with FUNCTIONALNETS_CUDA_SIMULATE=1; call it before the
    /// first CUDA tensor is created.
    let useSimulator () = DeviceRuntimes.setSimulate true

    /// True when CUDA devices run on the simulator.
    let isSimulated () = DeviceRuntimes.simulating ()

    /// Lets cuBLAS use TF32 tensor cores for float32 GEMM (faster, about 10 bits of mantissa in the products).
    /// Off by default; takes effect for devices initialised afterwards.
    let allowTf32 (allow: bool) = DeviceRuntimes.allowTf32 <- allow

    let private backendGate = obj ()

    /// The backend of CUDA device n, created and registered with Backends at first use. On a machine without a
    /// GPU (and without the simulator switch) this raises an exception that says what was expected, what was
    /// found and what to do; the process can go on using the CPU.
    let backend (index: int) : CudaBackend =
        let device = Device.Cuda index

        lock backendGate (fun () ->
            match
                (try
                    Some(Backends.get device)
                 with :? InvalidOperationException ->
                     None)
            with
            | Some(:? CudaBackend as b) -> b
            | _ ->
                let b = CudaBackend(DeviceRuntimes.get index)
                Backends.register b
                b)

    /// Initialises CUDA device n (see backend) and returns it as a Device for tensor creation.
    let init (index: int) : Device =
        backend index |> ignore
        Device.Cuda index

    /// A device from its command-line name: "cpu", "cuda" (GPU 0), "cuda:N" (GPU N) or "cuda-sim" (device 0 on the
    /// simulator, chosen for the whole process); case-insensitive; CUDA devices are initialised now. An unknown
    /// name raises ArgumentException listing the accepted ones; "cuda" without a GPU raises init's
    /// InvalidOperationException (what was expected, what was found, what to do). Never substitutes a device.
    let parseDevice (name: string) : Device =
        let n = (if isNull name then "" else name).Trim().ToLowerInvariant()

        let unknown () =
            invalidArg
                "name"
                (sprintf
                    "Unknown device '%s': use cpu, cuda, cuda:N (the GPU's index) or cuda-sim (the CUDA backend simulated on the CPU)."
                    name)

        match n with
        | "cpu" -> Device.Cpu
        | "cuda" -> init 0
        | "cuda-sim" ->
            useSimulator ()
            init 0
        | _ when n.StartsWith "cuda:" ->
            match
                Int32.TryParse(
                    n.Substring 5,
                    Globalization.NumberStyles.None,
                    Globalization.CultureInfo.InvariantCulture
                )
            with
            | true, i -> init i
            | _ -> unknown ()
        | _ -> unknown ()

    /// Waits for every kernel launched on device n; raises an out-of-range index a kernel met since the last check.
    let synchronize (index: int) =
        let rt = DeviceRuntimes.get index
        rt.Accelerator.Synchronize()
        CudaRawTensor.RaiseIndexErrors rt.Launcher

    /// The caching allocator's counters for device n.
    let memoryStats (index: int) = (DeviceRuntimes.get index).Pool.Stats

    /// Host<->device copies of device n so far: uploads, downloads (each a host read that waits for the device),
    /// uploads that waited for a pinned slot, and the pinned host bytes held.
    let transferStats (index: int) =
        let s = (DeviceRuntimes.get index).Staging

        {|
            Uploads = s.Uploads
            Downloads = s.Downloads
            SlotWaits = s.SlotWaits
            PinnedBytes = s.PinnedBytes
        |}

    /// Frees the cached (unused) device buffers of device n.
    let emptyCache (index: int) =
        (DeviceRuntimes.get index).Pool.EmptyCache()

    /// Contract members the CUDA backend computes on the CPU backend with a copy each way (none: every member runs
    /// as device kernels, or as the contract's defaults composed of them).
    let hostFallbacks: string list = []

    /// What the backend found: the simulator switch, each native library with every path tried, the devices in
    /// use and how their GEMM runs, and the host fallbacks.
    let describe () : string =
        let sb = StringBuilder()
        let line (s: string) = sb.AppendLine s |> ignore

        line (
            sprintf
                "FunctionalNets.Cuda: simulator %s (Cuda.useSimulator or FUNCTIONALNETS_CUDA_SIMULATE=1)"
                (if isSimulated () then
                     "ON: Device.Cuda n runs on ILGPU's CPU accelerator"
                 else
                     "off")
        )

        line (
            sprintf
                "FUNCTIONALNETS_CUDA_LIBS=%s CUDA_PATH=%s"
                (Environment.GetEnvironmentVariable "FUNCTIONALNETS_CUDA_LIBS"
                 |> Option.ofObj
                 |> Option.defaultValue "(unset)")
                (Environment.GetEnvironmentVariable "CUDA_PATH"
                 |> Option.ofObj
                 |> Option.defaultValue "(unset)")
        )

        for lib in [ "cuda"; "cublas"; "cublasLt"; "cudnn" ] do
            line (NativeLibraries.describeProbe (NativeLibraries.probe lib))

        line (
            match CudnnHandle.TryVersion() with
            | Ok v -> sprintf "cuDNN version %d: conv2d runs through cuDNN on a GPU" v
            | Error _ -> "cuDNN: libcudnn.so.9 not found; conv2d runs as im2col + GEMM (cuBLAS where found)"
        )

        for rt in DeviceRuntimes.all () do
            line (
                sprintf
                    "cuda:%d = %s (%s); GEMM: %s; conv2d: %s"
                    rt.Index
                    rt.Accelerator.Name
                    (if rt.Simulated then "simulated" else "GPU")
                    rt.CublasNote
                    rt.ConvNote
            )

        line (
            "Host fallbacks (CPU backend, copied each way): "
            + (if hostFallbacks.IsEmpty then
                   "none"
               else
                   String.Join(", ", hostFallbacks))
        )

        sb.ToString()

    /// Describe as a method name for C# callers.
    let Describe () = describe ()
