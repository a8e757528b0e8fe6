/// The native-library loader and the messages of a machine without a driver (this CI machine has none).
module FunctionalNets.Cuda.Tests.LoaderTests

open System
open System.IO
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Cuda

// The process's environment as the loader would see it with FUNCTIONALNETS_CUDA_LIBS set to dir: passed to the
// loader rather than set, so that no test changes what the tests running beside it see.
let private withLibs (dir: string) (name: string) =
    if name = "FUNCTIONALNETS_CUDA_LIBS" then
        dir
    else
        Environment.GetEnvironmentVariable name

/// The tests of this module.
let tests =
    testList
        "Loader"
        [
            testCase "the override folder is searched first and every path tried is reported"
            <| fun () ->
                let dir = Directory.CreateTempSubdirectory("fn-cuda-libs").FullName

                try
                    let folders = NativeLibraries.searchFoldersWith (withLibs dir)
                    Expect.equal (List.head folders) dir "the override folder comes first"
                    let p = NativeLibraries.probeIn folders "cublas"

                    Expect.exists
                        p.Tried
                        (fun t -> t.StartsWith(Path.Combine(dir, "libcublas.so.13")))
                        "the override folder is tried"

                    Expect.exists p.Tried (fun t -> t.Contains "(system search)") "the system search is tried"

                    if p.Found.IsNone then
                        Expect.stringContains
                            (NativeLibraries.describeProbe p)
                            "NOT FOUND"
                            "the report of a missing library"
                finally
                    Directory.Delete(dir, true)

            testCase "a library file that is present but not loadable is reported as such"
            <| fun () ->
                let dir = Directory.CreateTempSubdirectory("fn-cuda-libs").FullName

                try
                    File.WriteAllText(Path.Combine(dir, "libcudnn.so.9"), "not an ELF file")

                    let p =
                        NativeLibraries.probeIn (NativeLibraries.searchFoldersWith (withLibs dir)) "cudnn"

                    Expect.exists
                        p.Tried
                        (fun t -> t = Path.Combine(dir, "libcudnn.so.9") + ": present but failed to load")
                        "the unloadable file is reported"
                finally
                    Directory.Delete(dir, true)

            testCase "describe lists every library and the simulator state"
            <| fun () ->
                let d = Cuda.describe ()

                for lib in [ "cuda:"; "cublas:"; "cublasLt:"; "cudnn:" ] do
                    Expect.stringContains d lib "Cuda.describe ()"

                Expect.stringContains d "tried" "Cuda.describe ()"
                Expect.stringContains d "simulator" "Cuda.describe ()"
                // No libcudnn.so.9 on CI machines: describe must say that conv2d falls back to im2col + GEMM.
                if (NativeLibraries.probe "cudnn").Found.IsNone then
                    Expect.stringContains d "conv2d runs as im2col + GEMM" "Cuda.describe ()"

            testCase "without a driver a real device is a clear error and the CPU keeps working"
            <| fun () ->
                // The simulator is a process-wide choice, so the real path is exercised through its internal constructor.
                let present = (NativeLibraries.probe "cuda").Found.IsSome

                if not present then
                    let e =
                        Expects.throws<InvalidOperationException>
                            "fun () -> DeviceRuntimes.createReal 0 |> ignore"
                            (fun () -> DeviceRuntimes.createReal 0 |> ignore)

                    Expect.stringContains (e.Message) ("Device.Cuda 0") "the error message"
                    Expect.stringContains (e.Message) ("FUNCTIONALNETS_CUDA_SIMULATE=1") "the error message"
                    Expect.stringContains (e.Message) ("libcuda.so.1") "the error message"
                    let t = Tensor.create ([ 1.0; 2.0 ], DType.Float64)

                    Expect.equal
                        ((Tensor.sum t).Raw.ToArray() :?> float[] |> Array.head)
                        (3.0)
                        "(Tensor.sum t).Raw.ToArray() :?> float[] |> Array.head"

        ]
