/// The native-library loader and the messages of a machine without a driver (this CI machine has none).
module FunctionalNets.Cuda.Tests.LoaderTests

open System
open System.IO
open Xunit
open FunctionalNets
open FunctionalNets.Cuda

let private withLibs (dir: string) (f: unit -> unit) =
    let old = Environment.GetEnvironmentVariable "FUNCTIONALNETS_CUDA_LIBS"
    Environment.SetEnvironmentVariable("FUNCTIONALNETS_CUDA_LIBS", dir)

    try
        f ()
    finally
        Environment.SetEnvironmentVariable("FUNCTIONALNETS_CUDA_LIBS", old)
        NativeLibraries.reset ()

[<Fact>]
let ``the override folder is searched first and every path tried is reported`` () =
    let dir = Directory.CreateTempSubdirectory("fn-cuda-libs").FullName

    try
        withLibs dir (fun () ->
            let folders = NativeLibraries.searchFolders ()
            Assert.Equal(dir, List.head folders)
            let p = NativeLibraries.probeUncached "cublas"
            Assert.Contains(p.Tried, fun t -> t.StartsWith(Path.Combine(dir, "libcublas.so.13")))
            Assert.Contains(p.Tried, fun t -> t.Contains "(system search)")

            if p.Found.IsNone then
                Assert.Contains("NOT FOUND", NativeLibraries.describeProbe p))
    finally
        Directory.Delete(dir, true)

[<Fact>]
let ``a library file that is present but not loadable is reported as such`` () =
    let dir = Directory.CreateTempSubdirectory("fn-cuda-libs").FullName

    try
        File.WriteAllText(Path.Combine(dir, "libcudnn.so.9"), "not an ELF file")

        withLibs dir (fun () ->
            let p = NativeLibraries.probeUncached "cudnn"
            Assert.Contains(p.Tried, fun t -> t = Path.Combine(dir, "libcudnn.so.9") + ": present but failed to load"))
    finally
        Directory.Delete(dir, true)

[<Fact>]
let ``describe lists every library and the simulator state`` () =
    let d = Cuda.describe ()

    for lib in [ "cuda:"; "cublas:"; "cublasLt:"; "cudnn:" ] do
        Assert.Contains(lib, d)

    Assert.Contains("tried", d)
    Assert.Contains("simulator", d)
    // No libcudnn.so.9 on CI machines: describe must say that conv2d falls back to im2col + GEMM.
    if (NativeLibraries.probe "cudnn").Found.IsNone then
        Assert.Contains("conv2d runs as im2col + GEMM", d)

[<Fact>]
let ``without a driver a real device is a clear error and the CPU keeps working`` () =
    // The simulator is a process-wide choice, so the real path is exercised through its internal constructor.
    let present = (NativeLibraries.probe "cuda").Found.IsSome

    if not present then
        let e =
            Assert.Throws<InvalidOperationException>(fun () -> DeviceRuntimes.createReal 0 |> ignore)

        Assert.Contains("Device.Cuda 0", e.Message)
        Assert.Contains("FUNCTIONALNETS_CUDA_SIMULATE=1", e.Message)
        Assert.Contains("libcuda.so.1", e.Message)
        let t = Tensor.create ([ 1.0; 2.0 ], DType.Float64)
        Assert.Equal(3.0, (Tensor.sum t).Raw.ToArray() :?> float[] |> Array.head)
