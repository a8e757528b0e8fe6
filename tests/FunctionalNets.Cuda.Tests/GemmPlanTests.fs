/// The pure row-major -> cuBLAS column-major GEMM plan, run through a CPU implementation of exactly the cuBLAS
/// strided-batched call contract, against the CPU backend's matmul.
module FunctionalNets.Cuda.Tests.GemmPlanTests

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Cuda
open FunctionalNets.Cuda.Tests.Sim

let private runPlan (sa: int list) (ta: bool) (sb: int list) (tb: bool) =
    let a = floats -1.0 1.0 (List.fold (*) 1 sa)
    let b = floats -1.0 1.0 (List.fold (*) 1 sb)
    let plan = GemmPlan.matmul (Array.ofList sa) ta (Array.ofList sb) tb
    let c = Array.create (Array.fold (*) 1 plan.OutShape) nan

    // The call's A operand is the right matrix, its B the left one.
    for call in plan.Calls do
        GemmPlan.referenceGemm call b a c

    let expected =
        cpu.FromArray(a, Shape.ofList sa).MatMul(ta, cpu.FromArray(b, Shape.ofList sb), tb)

    Expect.equal (plan.OutShape) (expected.Shape.ToArray()) "plan.OutShape"
    let e = expected.ToArray() :?> float[]

    for i in 0 .. e.Length - 1 do
        Expect.isTrue (abs (e[i] - c[i]) < 1e-12) (sprintf "%A x %A: element %d: %g vs %g" sa sb i e[i] c[i])

    plan

/// The tests of this module.
let tests =
    testList
        "GemmPlan"
        [
            testCase "plans through the cuBLAS contract reproduce the CPU matmul"
            <| fun () ->
                for ta in [ false; true ] do
                    for tb in [ false; true ] do
                        let sa = if ta then [ 4; 3 ] else [ 3; 4 ]
                        let sb = if tb then [ 5; 4 ] else [ 4; 5 ]
                        runPlan sa ta sb tb |> ignore
                        runPlan (2 :: sa) ta (2 :: sb) tb |> ignore
                        runPlan (3 :: 1 :: sa) ta (2 :: sb) tb |> ignore
                        runPlan sa ta (2 :: 2 :: sb) tb |> ignore

            testCase "equal and fully broadcast batches fold into one strided call"
            <| fun () ->
                let p = runPlan [ 2; 3; 3; 4 ] false [ 2; 3; 4; 5 ] false
                Expect.equal (p.Calls.Length) (1) "p.Calls.Length"
                Expect.equal (p.Calls[0].BatchCount) (6) "p.Calls[0].BatchCount"
                Expect.equal (p.Calls[0].StrideA) (20) "p.Calls[0].StrideA"
                Expect.equal (p.Calls[0].StrideB) (12) "p.Calls[0].StrideB"
                Expect.equal (p.Calls[0].StrideC) (15) "p.Calls[0].StrideC"
                // Row-major C[3x5] = A[3x4] B[4x5] is column-major C^T = B^T A^T: m = 5, n = 3, ldc = 5.
                Expect.equal
                    ((p.Calls[0].M, p.Calls[0].N, p.Calls[0].K, p.Calls[0].Lda, p.Calls[0].Ldb, p.Calls[0].Ldc))
                    ((5, 3, 4, 5, 4, 5))
                    "(p.Calls[0].M, p.Calls[0].N, p.Calls[0].K, p.Calls[0].Lda, p.Calls[0].Ldb, p.Calls[0].Ldc)"

                let q = runPlan [ 3; 4 ] false [ 6; 4; 5 ] false
                Expect.equal (q.Calls.Length) (1) "q.Calls.Length"
                Expect.equal (q.Calls[0].StrideB) (0) "q.Calls[0].StrideB"

            testCase "partial broadcasting splits into one call per leading batch index"
            <| fun () ->
                let p = runPlan [ 2; 1; 3; 4 ] false [ 1; 3; 4; 2 ] false
                Expect.equal (p.Calls.Length) (2) "p.Calls.Length"
                Seq.iter (fun c -> Expect.equal (c.BatchCount) (3) "c.BatchCount") (p.Calls)

            testCase "mismatched inner dims are a clear error"
            <| fun () ->
                let e =
                    Expects.throws<ArgumentException>
                        "fun () -> GemmPlan.matmul [| 3; 4 |] false [| 5; 2 |] false"
                        (fun () -> GemmPlan.matmul [| 3; 4 |] false [| 5; 2 |] false |> ignore)

                Expect.stringContains (e.Message) ("inner dims differ") "the error message"

        ]
