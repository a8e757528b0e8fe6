/// Every kernel compiles to PTX for sm_80 (which the driver JIT-compiles for Hopper) on a machine with no GPU.
module FunctionalNets.Cuda.Tests.PtxTests

open Expecto
open FunctionalNets.Testing
open ILGPU.Runtime.Cuda
open FunctionalNets.Cuda.Kernels

/// The tests of this module.
let tests =
    testList
        "Ptx"
        [
            testCase "every kernel compiles to PTX for sm_80 without a GPU"
            <| fun () ->
                let results = PtxCheck.CompileAll(CudaArchitecture.SM_80, CudaInstructionSet.ISA_80)
                Expect.isTrue (results.Count > 50) (sprintf "only %d kernels enumerated" results.Count)

                let failed =
                    results
                    |> Seq.filter (fun struct (_, e, _) -> not (isNull e))
                    |> Seq.map (fun struct (k, e, _) -> k + ": " + e)
                    |> List.ofSeq

                Expect.isTrue
                    (failed.IsEmpty)
                    (sprintf
                        "%d of %d kernels failed to compile to PTX:\n%s"
                        failed.Length
                        results.Count
                        (String.concat "\n" failed))

        ]
