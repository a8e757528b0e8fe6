/// The pure row-major -> cuBLAS column-major GEMM plan, run through a CPU implementation of exactly the cuBLAS
/// strided-batched call contract, against the CPU backend's matmul.
module FunctionalNets.Cuda.Tests.GemmPlanTests

open System
open Xunit
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

    Assert.Equal<int[]>(expected.Shape.ToArray(), plan.OutShape)
    let e = expected.ToArray() :?> float[]

    for i in 0 .. e.Length - 1 do
        Assert.True(abs (e[i] - c[i]) < 1e-12, sprintf "%A x %A: element %d: %g vs %g" sa sb i e[i] c[i])

    plan

[<Fact>]
let ``plans through the cuBLAS contract reproduce the CPU matmul`` () =
    for ta in [ false; true ] do
        for tb in [ false; true ] do
            let sa = if ta then [ 4; 3 ] else [ 3; 4 ]
            let sb = if tb then [ 5; 4 ] else [ 4; 5 ]
            runPlan sa ta sb tb |> ignore
            runPlan (2 :: sa) ta (2 :: sb) tb |> ignore
            runPlan (3 :: 1 :: sa) ta (2 :: sb) tb |> ignore
            runPlan sa ta (2 :: 2 :: sb) tb |> ignore

[<Fact>]
let ``equal and fully broadcast batches fold into one strided call`` () =
    let p = runPlan [ 2; 3; 3; 4 ] false [ 2; 3; 4; 5 ] false
    Assert.Equal(1, p.Calls.Length)
    Assert.Equal(6, p.Calls[0].BatchCount)
    Assert.Equal(20, p.Calls[0].StrideA)
    Assert.Equal(12, p.Calls[0].StrideB)
    Assert.Equal(15, p.Calls[0].StrideC)
    // Row-major C[3x5] = A[3x4] B[4x5] is column-major C^T = B^T A^T: m = 5, n = 3, ldc = 5.
    Assert.Equal(
        (5, 3, 4, 5, 4, 5),
        (p.Calls[0].M, p.Calls[0].N, p.Calls[0].K, p.Calls[0].Lda, p.Calls[0].Ldb, p.Calls[0].Ldc)
    )

    let q = runPlan [ 3; 4 ] false [ 6; 4; 5 ] false
    Assert.Equal(1, q.Calls.Length)
    Assert.Equal(0, q.Calls[0].StrideB)

[<Fact>]
let ``partial broadcasting splits into one call per leading batch index`` () =
    let p = runPlan [ 2; 1; 3; 4 ] false [ 1; 3; 4; 2 ] false
    Assert.Equal(2, p.Calls.Length)
    Assert.All(p.Calls, fun c -> Assert.Equal(3, c.BatchCount))

[<Fact>]
let ``mismatched inner dims are a clear error`` () =
    let e =
        Assert.Throws<ArgumentException>(fun () -> GemmPlan.matmul [| 3; 4 |] false [| 5; 2 |] false |> ignore)

    Assert.Contains("inner dims differ", e.Message)
