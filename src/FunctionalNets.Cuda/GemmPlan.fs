namespace FunctionalNets.Cuda

/// One cublas<t>gemmStridedBatched call in cuBLAS's own (column-major) terms. The call's A operand is our right
/// matrix and its B operand our left one: a row-major C = L R is, read column-major, C^T = R^T L^T.
/// Offsets are in elements from the start of each buffer; batch b reads A at OffsetA + b StrideA (likewise B, C).
type GemmCall =
    {
        /// op(A) = A^T (CUBLAS_OP_T) when set, else CUBLAS_OP_N.
        TransA: bool
        /// op(B) = B^T when set.
        TransB: bool
        /// Rows of op(A) and of C.
        M: int
        /// Columns of op(B) and of C.
        N: int
        /// Columns of op(A), rows of op(B).
        K: int
        Alpha: float
        OffsetA: int
        Lda: int
        StrideA: int
        OffsetB: int
        Ldb: int
        StrideB: int
        Beta: float
        OffsetC: int
        Ldc: int
        StrideC: int
        BatchCount: int
    }

/// The plan of a row-major batched matmul: the output shape and the cuBLAS calls that compute it.
type GemmPlan = { OutShape: int[]; Calls: GemmCall[] }

/// The pure mapping from FunctionalNets' row-major batched matmul (transposes, broadcast batch dims) to cuBLAS's
/// column-major strided-batched GEMM, and a CPU implementation of exactly cuBLAS's call contract that tests it.
[<RequireQualifiedAccess>]
module GemmPlan =
    /// Plans left @ right (each optionally read with its last two dims swapped) over broadcast batch dims.
    /// Batch dims whose offsets form one arithmetic progression for every operand fold into one strided call;
    /// the rest (partial broadcasting such as [2; 1] x [1; 3]) become one call per remaining batch index.
    let matmul (left: int[]) (transLeft: bool) (right: int[]) (transRight: bool) : GemmPlan =
        if left.Length < 2 || right.Length < 2 then
            invalidArg "left" (sprintf "matmul plan: both operands need rank >= 2, got %A and %A." left right)

        let rl, cl = left[left.Length - 2], left[left.Length - 1]
        let rr, cr = right[right.Length - 2], right[right.Length - 1]
        let m, k = (if transLeft then cl, rl else rl, cl)
        let k2, n = (if transRight then cr, rr else rr, cr)

        if k <> k2 then
            invalidArg
                "right"
                (sprintf
                    "matmul plan: inner dims differ: the left operand %A gives %d columns, the right %A gives %d rows."
                    left
                    k
                    right
                    k2)

        let lb = left[.. left.Length - 3]
        let rb = right[.. right.Length - 3]
        let rank = max lb.Length rb.Length

        let pad (b: int[]) =
            Array.append (Array.create (rank - b.Length) 1) b

        let lb, rb = pad lb, pad rb

        let ob =
            Array.init rank (fun d ->
                if lb[d] = rb[d] || rb[d] = 1 then
                    lb[d]
                elif lb[d] = 1 then
                    rb[d]
                else
                    invalidArg "right" (sprintf "matmul plan: batch dims %A and %A do not broadcast." left right))

        // Element strides of each operand's batch dims over the output batch dims (0 where broadcast).
        let batchStrides (b: int[]) (matrix: int) =
            let s = Array.zeroCreate rank
            let mutable acc = matrix

            for d in rank - 1 .. -1 .. 0 do
                s[d] <- (if b[d] = 1 then 0 else acc)
                acc <- acc * b[d]

            s

        let sl = batchStrides lb (rl * cl)
        let sr = batchStrides rb (rr * cr)
        let sc = batchStrides ob (m * n)
        // Drop size-1 output dims: they never move an offset.
        let dims = [| 0 .. rank - 1 |] |> Array.filter (fun d -> ob[d] <> 1)
        // The longest trailing run of dims over which every operand's offset is stride * flat index.
        let foldable (i: int) =
            let d, e = dims[i], dims[i + 1]

            [ sl; sr; sc ] |> List.forall (fun s -> s[d] = s[e] * ob[e])

        let mutable start = dims.Length

        if dims.Length > 0 then
            start <- dims.Length - 1

            while start > 0 && foldable (start - 1) do
                start <- start - 1

        let run = dims[start..]
        let prefix = dims[.. start - 1]
        let count = run |> Array.fold (fun a d -> a * ob[d]) 1

        let strideOf (s: int[]) =
            if run.Length = 0 then 0 else s[run[run.Length - 1]]

        let prefixCount = prefix |> Array.fold (fun a d -> a * ob[d]) 1

        let calls =
            Array.init prefixCount (fun p ->
                let mutable rem = p
                let mutable offL, offR, offC = 0, 0, 0

                for i in prefix.Length - 1 .. -1 .. 0 do
                    let d = prefix[i]
                    let c = rem % ob[d]
                    rem <- rem / ob[d]
                    offL <- offL + c * sl[d]
                    offR <- offR + c * sr[d]
                    offC <- offC + c * sc[d]

                {
                    TransA = transRight
                    TransB = transLeft
                    M = n
                    N = m
                    K = k
                    Alpha = 1.0
                    OffsetA = offR
                    Lda = cr
                    StrideA = strideOf sr
                    OffsetB = offL
                    Ldb = cl
                    StrideB = strideOf sl
                    Beta = 0.0
                    OffsetC = offC
                    Ldc = n
                    StrideC = strideOf sc
                    BatchCount = count
                })

        {
            OutShape = Array.append ob [| m; n |]
            Calls = calls
        }

    /// One row-major product C_b = op(L_b) op(R_b) ([m x k] times [k x n]) for b < batch, each operand given by its
    /// stored row length (ld), offset and batch stride, as the equivalent column-major cuBLAS call (A = R, B = L).
    let rowMajor
        (transL: bool)
        (transR: bool)
        (m: int)
        (n: int)
        (k: int)
        (ldL: int, offL: int, strideL: int)
        (ldR: int, offR: int, strideR: int)
        (ldC: int, offC: int, strideC: int)
        (batch: int)
        =
        {
            TransA = transR
            TransB = transL
            M = n
            N = m
            K = k
            Alpha = 1.0
            OffsetA = offR
            Lda = ldR
            StrideA = strideR
            OffsetB = offL
            Ldb = ldL
            StrideB = strideL
            Beta = 0.0
            OffsetC = offC
            Ldc = ldC
            StrideC = strideC
            BatchCount = batch
        }

    /// The call's integer arguments in the order the device GEMM kernel reads them:
    /// transa, transb, m, n, k, lda, ldb, ldc, strideA, strideB, strideC, offA, offB, offC.
    let kernelArgs (c: GemmCall) =
        [|
            (if c.TransA then 1 else 0)
            (if c.TransB then 1 else 0)
            c.M
            c.N
            c.K
            c.Lda
            c.Ldb
            c.Ldc
            c.StrideA
            c.StrideB
            c.StrideC
            c.OffsetA
            c.OffsetB
            c.OffsetC
        |]

    /// cublasDgemmStridedBatched's contract on host arrays (column-major, leading dimensions, strides, alpha,
    /// beta; C is read only when beta <> 0, as cuBLAS does). The reference the plan is tested through.
    let referenceGemm (c: GemmCall) (a: float[]) (b: float[]) (cOut: float[]) =
        for bi in 0 .. c.BatchCount - 1 do
            let oa = c.OffsetA + bi * c.StrideA
            let ob = c.OffsetB + bi * c.StrideB
            let oc = c.OffsetC + bi * c.StrideC

            for j in 0 .. c.N - 1 do
                for i in 0 .. c.M - 1 do
                    let mutable acc = 0.0

                    for l in 0 .. c.K - 1 do
                        let av =
                            if c.TransA then
                                a[oa + l + i * c.Lda]
                            else
                                a[oa + i + l * c.Lda]

                        let bv =
                            if c.TransB then
                                b[ob + j + l * c.Ldb]
                            else
                                b[ob + l + j * c.Ldb]

                        acc <- acc + av * bv

                    let idx = oc + i + j * c.Ldc

                    cOut[idx] <-
                        if c.Beta = 0.0 then
                            c.Alpha * acc
                        else
                            c.Alpha * acc + c.Beta * cOut[idx]

module internal AssemblyInfo =
    [<assembly: System.Runtime.CompilerServices.InternalsVisibleTo("FunctionalNets.Cuda.Tests")>]
    do ()
