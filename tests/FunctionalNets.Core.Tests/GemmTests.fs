module FunctionalNets.Tests.GemmTests

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets.Kernels
open FunctionalNets.Kernels.GemmImpl

/// Every micro-kernel family: the natively fastest one and, forced, the others (Vector512 runs emulated without
/// AVX-512, so its tiles are still checked here, only slowly; the big cases use the native one alone).
let private allIsas = [ GemmIsa.Scalar; GemmIsa.Vector256; GemmIsa.Vector512 ]

let private withIsa (isa: GemmIsa option) f =
    let saved = GemmIsaSelector.Override
    GemmIsaSelector.Override <- Option.toNullable isa

    try
        f ()
    finally
        GemmIsaSelector.Override <- saved

/// Reference product with double accumulation, plus for each element the magnitude sum
/// |alpha| * sum |a_ip b_pj| + |beta c_ij| that the rounding error scales with.
let private reference
    transA
    transB
    m
    n
    k
    (alpha: float)
    (a: float[])
    lda
    (b: float[])
    ldb
    (beta: float)
    (c: float[])
    ldc
    =
    // op(A) by rows and op(B) by columns, both contiguous, so the k = 1000 case stays around a second.
    let opA =
        Array.init (m * k) (fun idx -> let i, p = idx / k, idx % k in if transA then a[p * lda + i] else a[i * lda + p])

    let opBT =
        Array.init (n * k) (fun idx -> let j, p = idx / k, idx % k in if transB then b[j * ldb + p] else b[p * ldb + j])

    let expected = Array.copy c
    let magnitude = Array.zeroCreate c.Length

    for i in 0 .. m - 1 do
        for j in 0 .. n - 1 do
            // Two interleaved sums halve the add-latency chain that bounds this loop.
            let mutable s0, s1, sa0, sa1 = 0.0, 0.0, 0.0, 0.0
            let ai, bj = i * k, j * k
            let mutable p = 0

            while p + 1 < k do
                let xy0 = opA[ai + p] * opBT[bj + p]
                let xy1 = opA[ai + p + 1] * opBT[bj + p + 1]
                s0 <- s0 + xy0
                s1 <- s1 + xy1
                sa0 <- sa0 + abs xy0
                sa1 <- sa1 + abs xy1
                p <- p + 2

            if p < k then
                let xy = opA[ai + p] * opBT[bj + p]
                s0 <- s0 + xy
                sa0 <- sa0 + abs xy

            let s, sa = s0 + s1, sa0 + sa1
            let old = if beta = 0.0 then 0.0 else beta * c[i * ldc + j]
            expected[i * ldc + j] <- alpha * s + old
            magnitude[i * ldc + j] <- abs alpha * sa + abs old

    expected, magnitude

/// Random values that float32 holds exactly, so the float and double runs start from the same numbers.
let private randoms (rng: Random) len =
    Array.init len (fun _ -> float (float32 (rng.NextDouble() * 2.0 - 1.0)))

type private Case =
    {
        TransA: bool
        TransB: bool
        M: int
        N: int
        K: int
        Alpha: float
        Beta: float
        Pad: int
    }

let private layout c =
    let aRows, aCols = if c.TransA then c.K, c.M else c.M, c.K
    let bRows, bCols = if c.TransB then c.N, c.K else c.K, c.N
    let lda, ldb, ldc = aCols + c.Pad, bCols + c.Pad, c.N + c.Pad
    // A few spare elements past the last row catch writes beyond the matrix as mismatches.
    aRows * lda + 3, lda, bRows * ldb + 3, ldb, c.M * ldc + 3, ldc

let private assertClose name (tol: float) (expected: float[]) (magnitude: float[]) (actual: float[]) =
    for idx in 0 .. expected.Length - 1 do
        let err = abs (actual[idx] - expected[idx])

        if not (err <= tol * magnitude[idx] + 1e-30) then
            failwithf
                "%s: element %d is %g, expected %g (error %g, allowed %g)"
                name
                idx
                actual[idx]
                expected[idx]
                err
                (tol * magnitude[idx])

let private checkSgemm (rng: Random) isa (c: Case) =
    let aLen, lda, bLen, ldb, cLen, ldc = layout c
    let a, b, c0 = randoms rng aLen, randoms rng bLen, randoms rng cLen

    let exp, mag =
        reference c.TransA c.TransB c.M c.N c.K c.Alpha a lda b ldb c.Beta c0 ldc

    let af, bf, cf = Array.map float32 a, Array.map float32 b, Array.map float32 c0

    withIsa isa (fun () ->
        Gemm.Sgemm(
            c.TransA,
            c.TransB,
            c.M,
            c.N,
            c.K,
            float32 c.Alpha,
            ReadOnlySpan af,
            lda,
            ReadOnlySpan bf,
            ldb,
            float32 c.Beta,
            Span cf,
            ldc
        ))
    // float32 inputs are exact in the reference; the only error is float32 rounding, growing like sqrt(k).
    assertClose (sprintf "Sgemm %A %A" isa c) (2e-6 * (sqrt (float c.K) + 2.0)) exp mag (Array.map float cf)

let private checkDgemm (rng: Random) isa (c: Case) =
    let aLen, lda, bLen, ldb, cLen, ldc = layout c
    let a, b, c0 = randoms rng aLen, randoms rng bLen, randoms rng cLen

    let exp, mag =
        reference c.TransA c.TransB c.M c.N c.K c.Alpha a lda b ldb c.Beta c0 ldc

    let cd = Array.copy c0

    withIsa isa (fun () ->
        Gemm.Dgemm(
            c.TransA,
            c.TransB,
            c.M,
            c.N,
            c.K,
            c.Alpha,
            ReadOnlySpan a,
            lda,
            ReadOnlySpan b,
            ldb,
            c.Beta,
            Span cd,
            ldc
        ))

    assertClose (sprintf "Dgemm %A %A" isa c) (1e-14 * (sqrt (float c.K) + 2.0)) exp mag cd

let private transposes = [ false, false; false, true; true, false; true, true ]

let private caseOf (ta, tb) (m, n, k) pad =
    {
        TransA = ta
        TransB = tb
        M = m
        N = n
        K = k
        Alpha = 1.5
        Beta = -0.75
        Pad = pad
    }

let ``square sizes, all transposes, every kernel family`` () =
    let rng = Random 1

    for isa in allIsas do
        for s in [ 1; 7; 63; 129 ] do
            for t in transposes do
                checkSgemm rng (Some isa) (caseOf t (s, s, s) 0)
                checkDgemm rng (Some isa) (caseOf t (s, s, s) 0)

let ``odd shapes with padded leading dimensions, every kernel family`` () =
    let rng = Random 2

    let shapes =
        [ 3, 17, 5; 65, 1, 130; 1, 300, 2; 130, 65, 1; 37, 45, 300; 13, 33, 17 ]

    for isa in allIsas do
        for shape in shapes do
            for t in transposes do
                checkSgemm rng (Some isa) (caseOf t shape 5)
                checkDgemm rng (Some isa) (caseOf t shape 3)

let ``large products on the native kernels, threaded`` () =
    let rng = Random 3
    checkSgemm rng None (caseOf (false, false) (1000, 1000, 1000) 0)
    // The MLP's skinny shapes, big enough to be split across threads.
    checkSgemm rng None (caseOf (false, true) (64, 512, 784) 0)
    checkSgemm rng None (caseOf (true, false) (512, 300, 64) 7)
    checkDgemm rng None (caseOf (true, true) (200, 310, 290) 1)

let ``beta 0 ignores NaN in C and alpha 0 or k 0 only scale C`` () =
    let a = Array.create 12 1.0f
    let b = Array.create 12 2.0f
    let c = Array.create 9 Single.NaN
    Gemm.Sgemm(false, false, 3, 3, 4, 1.0f, ReadOnlySpan a, 4, ReadOnlySpan b, 3, 0.0f, Span c, 3)
    Seq.iter (fun x -> Expect.equal x 8.0f "x") c
    let c = Array.create 9 2.0f

    Gemm.Sgemm(
        false,
        false,
        3,
        3,
        0,
        1.0f,
        ReadOnlySpan<float32>.Empty,
        0,
        ReadOnlySpan<float32>.Empty,
        3,
        0.5f,
        Span c,
        3
    )

    Seq.iter (fun x -> Expect.equal x 1.0f "x") c
    let c = Array.create 9 Double.NaN
    Gemm.Dgemm(true, true, 3, 3, 0, 1.0, ReadOnlySpan<float>.Empty, 3, ReadOnlySpan<float>.Empty, 0, 0.0, Span c, 3)
    Seq.iter (fun x -> Expect.equal x 0.0 "x") c
    let c = Array.create 9 4.0
    let ad, bd = Array.create 12 Double.NaN, Array.create 12 1.0
    Gemm.Dgemm(false, false, 3, 3, 4, 0.0, ReadOnlySpan ad, 4, ReadOnlySpan bd, 3, 0.25, Span c, 3)
    Seq.iter (fun x -> Expect.equal x 1.0 "x") c
    // Empty outputs are fine with empty spans.
    Gemm.Sgemm(
        false,
        false,
        0,
        5,
        3,
        1.0f,
        ReadOnlySpan<float32>.Empty,
        3,
        ReadOnlySpan(Array.zeroCreate 15),
        5,
        0.0f,
        Span<float32>.Empty,
        5
    )

let private checkBatched (rng: Random) isa transA transB batch m n k broadcastA broadcastB =
    let aSize, bSize, cSize = m * k, k * n, m * n

    let strideA, strideB =
        (if broadcastA then 0 else aSize), (if broadcastB then 0 else bSize)

    let a = randoms rng (if broadcastA then aSize else batch * aSize)
    let b = randoms rng (if broadcastB then bSize else batch * bSize)
    let c0 = randoms rng (batch * cSize)
    let lda, ldb = (if transA then m else k), (if transB then k else n)
    let expected = Array.zeroCreate c0.Length
    let magnitude = Array.zeroCreate c0.Length

    for i in 0 .. batch - 1 do
        let e, mg =
            reference
                transA
                transB
                m
                n
                k
                0.5
                a[i * strideA ..]
                lda
                b[i * strideB ..]
                ldb
                2.0
                c0[i * cSize .. i * cSize + cSize - 1]
                n

        Array.blit e 0 expected (i * cSize) cSize
        Array.blit mg 0 magnitude (i * cSize) cSize

    let cf = Array.map float32 c0
    let cd = Array.copy c0

    withIsa isa (fun () ->
        Gemm.SgemmBatched(
            transA,
            transB,
            batch,
            m,
            n,
            k,
            0.5f,
            ReadOnlySpan(Array.map float32 a),
            int64 strideA,
            ReadOnlySpan(Array.map float32 b),
            int64 strideB,
            2.0f,
            Span cf,
            int64 cSize
        )

        Gemm.DgemmBatched(
            transA,
            transB,
            batch,
            m,
            n,
            k,
            0.5,
            ReadOnlySpan a,
            int64 strideA,
            ReadOnlySpan b,
            int64 strideB,
            2.0,
            Span cd,
            int64 cSize
        ))

    assertClose "SgemmBatched" (2e-6 * (sqrt (float k) + 2.0)) expected magnitude (Array.map float cf)
    assertClose "DgemmBatched" (1e-14 * (sqrt (float k) + 2.0)) expected magnitude cd

let ``batched with broadcast operands`` () =
    let rng = Random 4

    for isa in [ GemmIsa.Scalar; GemmIsa.Vector256 ] do
        checkBatched rng (Some isa) false false 5 7 9 11 true false
        checkBatched rng (Some isa) true true 3 17 6 23 false true
    // Many small matrices (spread over threads whole) and a few big ones (each threaded inside).
    checkBatched rng None false true 40 16 24 32 true false
    checkBatched rng None true false 3 96 160 128 false true
    checkBatched rng None false false 4 5 6 0 false false

    Gemm.SgemmBatched(
        false,
        false,
        0,
        3,
        3,
        3,
        1.0f,
        ReadOnlySpan<float32>.Empty,
        9L,
        ReadOnlySpan<float32>.Empty,
        9L,
        0.0f,
        Span<float32>.Empty,
        9L
    )

let private assertMessage (f: unit -> unit) (parts: string list) =
    let ex = Expects.throwsAny<ArgumentException> "f ()" (fun () -> f ())

    for p in parts do
        Expect.stringContains ex.Message p "ex.Message"

let ``invalid arguments raise ArgumentException naming the op and sizes`` () =
    let a, b, c =
        Array.zeroCreate<float32> 100, Array.zeroCreate<float32> 100, Array.zeroCreate<float32> 100

    let sg ta tb m n k lda ldb ldc (a: float32[]) (b: float32[]) (c: float32[]) () =
        Gemm.Sgemm(ta, tb, m, n, k, 1.0f, ReadOnlySpan a, lda, ReadOnlySpan b, ldb, 0.0f, Span c, ldc)

    assertMessage (sg false false -1 2 2 2 2 2 a b c) [ "Sgemm"; "m=-1"; "n=2"; "k=2"; "non-negative" ]
    assertMessage (sg false false 4 5 6 5 5 5 a b c) [ "Sgemm"; "m=4, n=5, k=6"; "lda"; "at least 6" ]
    assertMessage (sg true false 4 5 6 3 5 5 a b c) [ "Sgemm"; "k x m"; "lda"; "at least 4" ]
    assertMessage (sg false true 4 5 6 6 5 5 a b c) [ "Sgemm"; "n x k"; "ldb"; "at least 6" ]
    assertMessage (sg false false 4 5 6 6 5 4 a b c) [ "Sgemm"; "ldc"; "at least 5" ]

    assertMessage
        (sg false false 4 5 6 6 5 5 a b (Array.zeroCreate 19))
        [ "Sgemm"; "C needs at least 20 elements"; "has 19" ]

    assertMessage (sg false false 10 10 20 20 10 10 a b c) [ "Sgemm"; "m=10, n=10, k=20"; "A needs at least 200" ]
    let d = Array.zeroCreate<float> 10

    assertMessage
        (fun () -> Gemm.Dgemm(false, true, 3, 4, 5, 1.0, ReadOnlySpan d, 5, ReadOnlySpan d, 5, 0.0, Span d, 4))
        [ "Dgemm"; "m=3, n=4, k=5"; "A needs at least 15" ]

    assertMessage
        (fun () ->
            Gemm.SgemmBatched(false, false, 2, 3, 3, 3, 1.0f, ReadOnlySpan a, 9L, ReadOnlySpan b, 0L, 0.0f, Span c, 4L))
        [ "SgemmBatched"; "batch=2"; "strideC"; "at least m*n = 9" ]

    assertMessage
        (fun () ->
            Gemm.SgemmBatched(
                false,
                false,
                4,
                5,
                5,
                5,
                1.0f,
                ReadOnlySpan a,
                26L,
                ReadOnlySpan b,
                0L,
                0.0f,
                Span c,
                25L
            ))
        [ "SgemmBatched"; "A needs at least 103" ]

    assertMessage
        (fun () ->
            Gemm.SgemmBatched(
                false,
                false,
                3,
                2,
                2,
                2,
                1.0f,
                ReadOnlySpan a,
                Int64.MaxValue / 2L,
                ReadOnlySpan b,
                0L,
                0.0f,
                Span c,
                4L
            ))
        [ "SgemmBatched"; "A needs at least" ]

    assertMessage
        (fun () ->
            Gemm.DgemmBatched(false, false, -1, 1, 1, 1, 1.0, ReadOnlySpan d, 1L, ReadOnlySpan d, 1L, 0.0, Span d, 1L))
        [ "DgemmBatched"; "batch=-1" ]

let tests =
    testList
        "Gemm"
        [
            testCase
                "square sizes, all transposes, every kernel family"
                ``square sizes, all transposes, every kernel family``
            testCase
                "odd shapes with padded leading dimensions, every kernel family"
                ``odd shapes with padded leading dimensions, every kernel family``
            testCase "large products on the native kernels, threaded" ``large products on the native kernels, threaded``
            testCase
                "beta 0 ignores NaN in C and alpha 0 or k 0 only scale C"
                ``beta 0 ignores NaN in C and alpha 0 or k 0 only scale C``
            testCase "batched with broadcast operands" ``batched with broadcast operands``
            testCase
                "invalid arguments raise ArgumentException naming the op and sizes"
                ``invalid arguments raise ArgumentException naming the op and sizes``
        ]
