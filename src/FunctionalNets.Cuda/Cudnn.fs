namespace FunctionalNets.Cuda

open System
open System.Collections.Concurrent
open System.Runtime.InteropServices

/// cudnnConvolution{Fwd,BwdData,BwdFilter}AlgoPerf_t (the three share one layout).
[<Struct; StructLayout(LayoutKind.Sequential)>]
type internal CudnnAlgoPerf =
    val mutable Algo: int
    val mutable Status: int
    val mutable Time: float32
    val mutable Memory: unativeint
    val mutable Determinism: int
    val mutable MathType: int
    val mutable Reserved0: int
    val mutable Reserved1: int
    val mutable Reserved2: int

/// Raw cuDNN 9 entry points of the legacy convolution API (libcudnn.so.9's shim forwards them to libcudnn_cnn and
/// libcudnn_ops). "cudnn" is resolved by the loader (NativeLibraries). Device pointers come from ILGPU views.
module internal CudnnNative =
    [<DllImport("cudnn")>]
    extern unativeint cudnnGetVersion()

    [<DllImport("cudnn")>]
    extern nativeint cudnnGetErrorString(int status)

    [<DllImport("cudnn")>]
    extern int cudnnCreate(nativeint& handle)

    [<DllImport("cudnn")>]
    extern int cudnnDestroy(nativeint handle)

    [<DllImport("cudnn")>]
    extern int cudnnSetStream(nativeint handle, nativeint stream)

    [<DllImport("cudnn")>]
    extern int cudnnCreateTensorDescriptor(nativeint& desc)

    [<DllImport("cudnn")>]
    extern int cudnnSetTensor4dDescriptor(nativeint desc, int format, int dataType, int n, int c, int h, int w)

    [<DllImport("cudnn")>]
    extern int cudnnDestroyTensorDescriptor(nativeint desc)

    [<DllImport("cudnn")>]
    extern int cudnnCreateFilterDescriptor(nativeint& desc)

    [<DllImport("cudnn")>]
    extern int cudnnSetFilter4dDescriptor(nativeint desc, int dataType, int format, int k, int c, int h, int w)

    [<DllImport("cudnn")>]
    extern int cudnnDestroyFilterDescriptor(nativeint desc)

    [<DllImport("cudnn")>]
    extern int cudnnCreateConvolutionDescriptor(nativeint& desc)

    [<DllImport("cudnn")>]
    extern int cudnnSetConvolution2dDescriptor(
        nativeint desc,
        int padH,
        int padW,
        int u,
        int v,
        int dilationH,
        int dilationW,
        int mode,
        int computeType
    )

    [<DllImport("cudnn")>]
    extern int cudnnSetConvolutionGroupCount(nativeint desc, int groups)

    [<DllImport("cudnn")>]
    extern int cudnnSetConvolutionMathType(nativeint desc, int mathType)

    [<DllImport("cudnn")>]
    extern int cudnnDestroyConvolutionDescriptor(nativeint desc)

    [<DllImport("cudnn")>]
    extern int cudnnGetConvolutionForwardAlgorithm_v7(
        nativeint handle,
        nativeint xDesc,
        nativeint wDesc,
        nativeint convDesc,
        nativeint yDesc,
        int requested,
        int& returned,
        CudnnAlgoPerf[] perf
    )

    [<DllImport("cudnn")>]
    extern int cudnnGetConvolutionBackwardDataAlgorithm_v7(
        nativeint handle,
        nativeint wDesc,
        nativeint dyDesc,
        nativeint convDesc,
        nativeint dxDesc,
        int requested,
        int& returned,
        CudnnAlgoPerf[] perf
    )

    [<DllImport("cudnn")>]
    extern int cudnnGetConvolutionBackwardFilterAlgorithm_v7(
        nativeint handle,
        nativeint xDesc,
        nativeint dyDesc,
        nativeint convDesc,
        nativeint dwDesc,
        int requested,
        int& returned,
        CudnnAlgoPerf[] perf
    )

    [<DllImport("cudnn")>]
    extern int cudnnConvolutionForward(
        nativeint handle,
        nativeint alpha,
        nativeint xDesc,
        nativeint x,
        nativeint wDesc,
        nativeint w,
        nativeint convDesc,
        int algo,
        nativeint workspace,
        unativeint workspaceBytes,
        nativeint beta,
        nativeint yDesc,
        nativeint y
    )

    [<DllImport("cudnn")>]
    extern int cudnnConvolutionBackwardData(
        nativeint handle,
        nativeint alpha,
        nativeint wDesc,
        nativeint w,
        nativeint dyDesc,
        nativeint dy,
        nativeint convDesc,
        int algo,
        nativeint workspace,
        unativeint workspaceBytes,
        nativeint beta,
        nativeint dxDesc,
        nativeint dx
    )

    [<DllImport("cudnn")>]
    extern int cudnnConvolutionBackwardFilter(
        nativeint handle,
        nativeint alpha,
        nativeint xDesc,
        nativeint x,
        nativeint dyDesc,
        nativeint dy,
        nativeint convDesc,
        int algo,
        nativeint workspace,
        unativeint workspaceBytes,
        nativeint beta,
        nativeint dwDesc,
        nativeint dw
    )

/// The chosen algorithm of one direction and the workspace it needs.
type internal CudnnAlgo = { Algo: int; WorkspaceBytes: int64 }

/// One plan's descriptors on one handle, with the algorithm of each direction (chosen once by cuDNN's heuristics).
type internal CudnnConv =
    {
        XDesc: nativeint
        WDesc: nativeint
        ConvDesc: nativeint
        YDesc: nativeint
        Forward: CudnnAlgo
        BackwardData: CudnnAlgo
        BackwardFilter: CudnnAlgo
    }

/// A cuDNN handle bound to one stream, running ConvPlan calls on raw device pointers. Descriptors and algorithm
/// choices are cached per plan and dtype for the handle's lifetime (a training loop sees few distinct shapes).
type internal CudnnHandle private (handle: nativeint, allowTf32: bool) =
    // alpha = 1, beta = 0 as float (bytes 0-7) and as double (bytes 8-23): cuDNN reads them from host memory.
    let scalars =
        let p = Marshal.AllocHGlobal 24
        Marshal.WriteInt32(p, 0, BitConverter.SingleToInt32Bits 1.0f)
        Marshal.WriteInt32(p, 4, 0)
        Marshal.WriteInt64(p, 8, BitConverter.DoubleToInt64Bits 1.0)
        Marshal.WriteInt64(p, 16, 0L)
        p

    let prepared =
        ConcurrentDictionary<struct (ConvPlan * bool), Result<CudnnConv, string>>()

    static let errorText (status: int) =
        try
            Marshal.PtrToStringAnsi(CudnnNative.cudnnGetErrorString status)
        with _ ->
            "unknown"

    static let check (what: string) (status: int) =
        if status <> 0 then
            invalidOp (sprintf "cuDNN %s failed with status %d (%s)." what status (errorText status))

    /// The first algorithm cuDNN's heuristics rank as usable (status 0), or an error naming the direction.
    static let choose (what: string) (count: int) (perf: CudnnAlgoPerf[]) =
        perf
        |> Array.truncate count
        |> Array.tryFind (fun p -> p.Status = 0)
        |> function
            | Some p ->
                Ok
                    {
                        Algo = p.Algo
                        WorkspaceBytes = int64 p.Memory
                    }
            | None -> Error(sprintf "cuDNN offers no %s algorithm for this convolution" what)

    /// cuDNN's version number (e.g. 90100), or the reason it could not be read.
    static member TryVersion() : Result<int, string> =
        NativeLibraries.registerOwnResolver ()
        let probe = NativeLibraries.probe "cudnn"

        match probe.Found with
        | None -> Error(NativeLibraries.describeProbe probe)
        | Some _ ->
            try
                Ok(int (CudnnNative.cudnnGetVersion ()))
            with e ->
                Error(sprintf "libcudnn loaded but cudnnGetVersion failed: %s" e.Message)

    /// A handle on the stream, or None with the reason when libcudnn.so.9 is missing or unusable.
    static member TryCreate(stream: nativeint, allowTf32: bool) : Result<CudnnHandle, string> =
        match CudnnHandle.TryVersion() with
        | Error why -> Error why
        | Ok v when v < 90000 -> Error(sprintf "libcudnn reports version %d; the bindings need cuDNN 9" v)
        | Ok _ ->
            try
                let mutable h = 0n
                check "cudnnCreate" (CudnnNative.cudnnCreate (&h))
                check "cudnnSetStream" (CudnnNative.cudnnSetStream (h, stream))
                Ok(new CudnnHandle(h, allowTf32))
            with e ->
                Error e.Message

    static member private Destroy(x: nativeint, w: nativeint, c: nativeint, y: nativeint) =
        if x <> 0n then
            CudnnNative.cudnnDestroyTensorDescriptor x |> ignore

        if y <> 0n then
            CudnnNative.cudnnDestroyTensorDescriptor y |> ignore

        if w <> 0n then
            CudnnNative.cudnnDestroyFilterDescriptor w |> ignore

        if c <> 0n then
            CudnnNative.cudnnDestroyConvolutionDescriptor c |> ignore

    member private _.Describe(p: ConvPlan, isDouble: bool) : Result<CudnnConv, string> =
        // CUDNN_DATA_FLOAT = 0, CUDNN_DATA_DOUBLE = 1; CUDNN_TENSOR_NCHW = 0; CUDNN_CROSS_CORRELATION = 1;
        // CUDNN_DEFAULT_MATH = 0 (lets float32 use TF32 tensor cores), CUDNN_FMA_MATH = 3 (never does).
        let dt = if isDouble then 1 else 0
        let mutable x, w, c, y = 0n, 0n, 0n, 0n

        try
            check "cudnnCreateTensorDescriptor" (CudnnNative.cudnnCreateTensorDescriptor (&x))

            check
                "cudnnSetTensor4dDescriptor"
                (CudnnNative.cudnnSetTensor4dDescriptor (x, 0, dt, p.X.N, p.X.C, p.X.H, p.X.W))

            check "cudnnCreateFilterDescriptor" (CudnnNative.cudnnCreateFilterDescriptor (&w))

            check
                "cudnnSetFilter4dDescriptor"
                (CudnnNative.cudnnSetFilter4dDescriptor (w, dt, 0, p.Filter.K, p.Filter.C, p.Filter.R, p.Filter.S))

            check "cudnnCreateConvolutionDescriptor" (CudnnNative.cudnnCreateConvolutionDescriptor (&c))
            let cv = p.Conv

            check
                "cudnnSetConvolution2dDescriptor"
                (CudnnNative.cudnnSetConvolution2dDescriptor (
                    c,
                    cv.PadH,
                    cv.PadW,
                    cv.StrideH,
                    cv.StrideW,
                    cv.DilationH,
                    cv.DilationW,
                    1,
                    dt
                ))

            check "cudnnSetConvolutionGroupCount" (CudnnNative.cudnnSetConvolutionGroupCount (c, cv.Groups))

            check
                "cudnnSetConvolutionMathType"
                (CudnnNative.cudnnSetConvolutionMathType (c, (if allowTf32 && not isDouble then 0 else 3)))

            check "cudnnCreateTensorDescriptor" (CudnnNative.cudnnCreateTensorDescriptor (&y))

            check
                "cudnnSetTensor4dDescriptor"
                (CudnnNative.cudnnSetTensor4dDescriptor (y, 0, dt, p.Y.N, p.Y.C, p.Y.H, p.Y.W))

            let perf = Array.zeroCreate<CudnnAlgoPerf> 8
            let mutable n = 0

            check
                "cudnnGetConvolutionForwardAlgorithm_v7"
                (CudnnNative.cudnnGetConvolutionForwardAlgorithm_v7 (handle, x, w, c, y, perf.Length, &n, perf))

            let fwd = choose "forward" n perf

            check
                "cudnnGetConvolutionBackwardDataAlgorithm_v7"
                (CudnnNative.cudnnGetConvolutionBackwardDataAlgorithm_v7 (handle, w, y, c, x, perf.Length, &n, perf))

            let bwdData = choose "backward-data" n perf

            check
                "cudnnGetConvolutionBackwardFilterAlgorithm_v7"
                (CudnnNative.cudnnGetConvolutionBackwardFilterAlgorithm_v7 (handle, x, y, c, w, perf.Length, &n, perf))

            let bwdFilter = choose "backward-filter" n perf

            match fwd, bwdData, bwdFilter with
            | Ok f, Ok d, Ok g ->
                Ok
                    {
                        XDesc = x
                        WDesc = w
                        ConvDesc = c
                        YDesc = y
                        Forward = f
                        BackwardData = d
                        BackwardFilter = g
                    }
            | _ ->
                let why =
                    [ fwd; bwdData; bwdFilter ]
                    |> List.choose (function
                        | Error e -> Some e
                        | Ok _ -> None)

                CudnnHandle.Destroy(x, w, c, y)
                Error(String.Join("; ", why))
        with e ->
            CudnnHandle.Destroy(x, w, c, y)
            Error e.Message

    /// The plan's descriptors and algorithms, or why cuDNN cannot run it (the caller then uses im2col + GEMM).
    member h.Prepare(p: ConvPlan, isDouble: bool) : Result<CudnnConv, string> =
        prepared.GetOrAdd(struct (p, isDouble), (fun _ -> h.Describe(p, isDouble)))

    member private _.Alpha(isDouble: bool) =
        if isDouble then scalars + 8n else scalars

    member private _.Beta(isDouble: bool) =
        if isDouble then scalars + 16n else scalars + 4n

    /// y = conv(x, w); ws is a device workspace of at least c.Forward.WorkspaceBytes.
    member h.Forward(c: CudnnConv, isDouble: bool, x: nativeint, w: nativeint, y: nativeint, ws: nativeint) =
        CudnnNative.cudnnConvolutionForward (
            handle,
            h.Alpha isDouble,
            c.XDesc,
            x,
            c.WDesc,
            w,
            c.ConvDesc,
            c.Forward.Algo,
            ws,
            unativeint c.Forward.WorkspaceBytes,
            h.Beta isDouble,
            c.YDesc,
            y
        )
        |> check "cudnnConvolutionForward"

    /// dx = conv^T(dy, w).
    member h.BackwardData(c: CudnnConv, isDouble: bool, w: nativeint, dy: nativeint, dx: nativeint, ws: nativeint) =
        CudnnNative.cudnnConvolutionBackwardData (
            handle,
            h.Alpha isDouble,
            c.WDesc,
            w,
            c.YDesc,
            dy,
            c.ConvDesc,
            c.BackwardData.Algo,
            ws,
            unativeint c.BackwardData.WorkspaceBytes,
            h.Beta isDouble,
            c.XDesc,
            dx
        )
        |> check "cudnnConvolutionBackwardData"

    /// dw = sum over the batch of corr(x, dy).
    member h.BackwardFilter(c: CudnnConv, isDouble: bool, x: nativeint, dy: nativeint, dw: nativeint, ws: nativeint) =
        CudnnNative.cudnnConvolutionBackwardFilter (
            handle,
            h.Alpha isDouble,
            c.XDesc,
            x,
            c.YDesc,
            dy,
            c.ConvDesc,
            c.BackwardFilter.Algo,
            ws,
            unativeint c.BackwardFilter.WorkspaceBytes,
            h.Beta isDouble,
            c.WDesc,
            dw
        )
        |> check "cudnnConvolutionBackwardFilter"

    interface IDisposable with
        member _.Dispose() =
            for r in prepared.Values do
                match r with
                | Ok c -> CudnnHandle.Destroy(c.XDesc, c.WDesc, c.ConvDesc, c.YDesc)
                | Error _ -> ()

            prepared.Clear()
            CudnnNative.cudnnDestroy handle |> ignore
            Marshal.FreeHGlobal scalars
