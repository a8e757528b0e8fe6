namespace FunctionalNets.Cuda

open System
open System.Runtime.InteropServices

/// Raw cuBLAS v2 entry points (DllImport: F# cannot use LibraryImport). The name "cublas" is resolved by the
/// loader (NativeLibraries) to the newest libcublas it finds. Device pointers come from ILGPU views.
module internal CublasNative =
    [<DllImport("cublas", EntryPoint = "cublasCreate_v2")>]
    extern int cublasCreate(nativeint& handle)

    [<DllImport("cublas", EntryPoint = "cublasDestroy_v2")>]
    extern int cublasDestroy(nativeint handle)

    [<DllImport("cublas", EntryPoint = "cublasSetStream_v2")>]
    extern int cublasSetStream(nativeint handle, nativeint stream)

    [<DllImport("cublas", EntryPoint = "cublasSetMathMode")>]
    extern int cublasSetMathMode(nativeint handle, int mode)

    [<DllImport("cublas", EntryPoint = "cublasSgemmStridedBatched")>]
    extern int cublasSgemmStridedBatched(
        nativeint handle,
        int transa,
        int transb,
        int m,
        int n,
        int k,
        float32& alpha,
        nativeint a,
        int lda,
        int64 strideA,
        nativeint b,
        int ldb,
        int64 strideB,
        float32& beta,
        nativeint c,
        int ldc,
        int64 strideC,
        int batchCount
    )

    [<DllImport("cublas", EntryPoint = "cublasDgemmStridedBatched")>]
    extern int cublasDgemmStridedBatched(
        nativeint handle,
        int transa,
        int transb,
        int m,
        int n,
        int k,
        float& alpha,
        nativeint a,
        int lda,
        int64 strideA,
        nativeint b,
        int ldb,
        int64 strideB,
        float& beta,
        nativeint c,
        int ldc,
        int64 strideC,
        int batchCount
    )

/// A cuBLAS handle bound to one stream, running GemmPlan calls on raw device pointers.
type internal CublasHandle private (handle: nativeint) =
    static let check (what: string) (status: int) =
        if status <> 0 then
            invalidOp (sprintf "cuBLAS %s failed with status %d (see cublasStatus_t)." what status)

    /// A handle on the stream, or None with the reason when libcublas is missing.
    static member TryCreate(stream: nativeint, allowTf32: bool) : Result<CublasHandle, string> =
        NativeLibraries.registerOwnResolver ()
        let probe = NativeLibraries.probe "cublas"

        match probe.Found with
        | None -> Error(NativeLibraries.describeProbe probe)
        | Some _ ->
            let mutable h = 0n
            check "cublasCreate" (CublasNative.cublasCreate (&h))
            check "cublasSetStream" (CublasNative.cublasSetStream (h, stream))
            // CUBLAS_DEFAULT_MATH = 0; CUBLAS_TF32_TENSOR_OP_MATH = 3 only on explicit request.
            check "cublasSetMathMode" (CublasNative.cublasSetMathMode (h, (if allowTf32 then 3 else 0)))
            Ok(new CublasHandle(h))

    /// Runs one planned call; a, b and c are the device addresses of the call's A, B and C buffers.
    member _.Run(call: GemmCall, isDouble: bool, a: nativeint, b: nativeint, c: nativeint) =
        let op t = if t then 1 else 0
        let elem = if isDouble then 8n else 4n
        let pa = a + nativeint call.OffsetA * elem
        let pb = b + nativeint call.OffsetB * elem
        let pc = c + nativeint call.OffsetC * elem

        if isDouble then
            let mutable alpha = call.Alpha
            let mutable beta = call.Beta

            CublasNative.cublasDgemmStridedBatched (
                handle,
                op call.TransA,
                op call.TransB,
                call.M,
                call.N,
                call.K,
                &alpha,
                pa,
                call.Lda,
                int64 call.StrideA,
                pb,
                call.Ldb,
                int64 call.StrideB,
                &beta,
                pc,
                call.Ldc,
                int64 call.StrideC,
                call.BatchCount
            )
            |> check "cublasDgemmStridedBatched"
        else
            let mutable alpha = float32 call.Alpha
            let mutable beta = float32 call.Beta

            CublasNative.cublasSgemmStridedBatched (
                handle,
                op call.TransA,
                op call.TransB,
                call.M,
                call.N,
                call.K,
                &alpha,
                pa,
                call.Lda,
                int64 call.StrideA,
                pb,
                call.Ldb,
                int64 call.StrideB,
                &beta,
                pc,
                call.Ldc,
                int64 call.StrideC,
                call.BatchCount
            )
            |> check "cublasSgemmStridedBatched"

    interface IDisposable with
        member _.Dispose() =
            CublasNative.cublasDestroy handle |> ignore
