/// The tiled shared-memory GEMM kernel (the GEMM wherever cuBLAS is absent, and on the simulator) against the CPU
/// implementation of cuBLAS's strided-batched call contract: transposes, padded leading dimensions, offsets,
/// batch strides, alpha and beta, at sizes that are not multiples of the tile.
module FunctionalNets.Cuda.Tests.GemmKernelTests

open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Cuda
open FunctionalNets.Cuda.Tests.Sim

let private run (call: GemmCall) =
    let rowsA, colsA = (if call.TransA then call.K, call.M else call.M, call.K)
    let rowsB, colsB = (if call.TransB then call.N, call.K else call.K, call.N)
    // Column-major: a matrix of r rows occupies ld * cols elements, ld >= r.
    let sizeOf (off: int) (stride: int) (ld: int) (cols: int) =
        off + stride * (call.BatchCount - 1) + ld * cols

    let a = floats -1.0 1.0 (sizeOf call.OffsetA call.StrideA call.Lda colsA)
    let b = floats -1.0 1.0 (sizeOf call.OffsetB call.StrideB call.Ldb colsB)
    let c = floats -1.0 1.0 (sizeOf call.OffsetC call.StrideC call.Ldc call.N)

    Expect.isTrue
        (call.Lda >= rowsA && call.Ldb >= rowsB && call.Ldc >= call.M)
        "call.Lda >= rowsA && call.Ldb >= rowsB && call.Ldc >= call.M"

    let expected = Array.copy c
    GemmPlan.referenceGemm call a b expected
    let g = gpu () :?> CudaBackend

    let dev (x: float[]) =
        g.FromArray(x, Shape.ofArray [| x.Length |]) :?> CudaRawTensor

    let da, db, dc = dev a, dev b, dev c

    g.Runtime.Launcher.GemmStridedBatched(
        1,
        da.View,
        db.View,
        dc.View,
        GemmPlan.kernelArgs call,
        call.Alpha,
        call.Beta,
        call.BatchCount
    )

    let actual = dc.ToArray() :?> float[]

    for i in 0 .. expected.Length - 1 do
        Expect.isTrue
            (abs (expected[i] - actual[i]) < 1e-12)
            (sprintf "%A: element %d: %g vs %g" call i expected[i] actual[i])

/// The tests of this module.
let tests =
    testList
        "GemmKernel"
        [
            testCase "the tiled GEMM kernel follows cuBLAS's strided-batched contract"
            <| fun () ->
                for m, n, k in [ (5, 7, 3); (4, 4, 9); (1, 6, 5); (9, 2, 1) ] do
                    for ta in [ false; true ] do
                        for tb in [ false; true ] do
                            let lda = (if ta then k else m) + 1
                            let ldb = (if tb then n else k) + 2
                            let ldc = m + 1

                            run
                                {
                                    TransA = ta
                                    TransB = tb
                                    M = m
                                    N = n
                                    K = k
                                    Alpha = 1.5
                                    OffsetA = 3
                                    Lda = lda
                                    StrideA = lda * (if ta then m else k) + 1
                                    OffsetB = 1
                                    Ldb = ldb
                                    StrideB = ldb * (if tb then k else n)
                                    Beta = (if ta then 0.5 else 0.0)
                                    OffsetC = 2
                                    Ldc = ldc
                                    StrideC = ldc * n + 3
                                    BatchCount = 2
                                }

        ]
