namespace FunctionalNets.Cuda

open System
open System.IO
open System.Runtime.InteropServices
open System.Collections.Concurrent

/// What the loader found for one native library: the path it loaded (if any) and every candidate it tried.
type LibraryProbe =
    {
        /// The short name (cuda, cublas, cublasLt, cudnn).
        Library: string
        /// The file or soname that loaded, if any.
        Found: string option
        /// The handle of the loaded library (IntPtr.Zero when none).
        Handle: nativeint
        /// Every candidate tried, in order, each with what happened.
        Tried: string list
    }

/// Finds the CUDA driver and libraries over versioned sonames and the usual install folders:
/// FUNCTIONALNETS_CUDA_LIBS (folders separated by the path separator), CUDA_PATH, /usr/local/cuda*/lib64, the pip
/// layouts (site-packages/nvidia/*/lib, nvidia/cu13/lib) of the Python installations and environments it can
/// see, and finally the system's own search.
[<RequireQualifiedAccess>]
module NativeLibraries =
    let private isWindows = RuntimeInformation.IsOSPlatform OSPlatform.Windows

    /// The file names tried for a library, newest version first.
    let candidateNames (library: string) : string list =
        if isWindows then
            match library with
            | "cuda" -> [ "nvcuda.dll" ]
            | "cublas" -> [ "cublas64_13.dll"; "cublas64_12.dll"; "cublas64_11.dll" ]
            | "cublasLt" -> [ "cublasLt64_13.dll"; "cublasLt64_12.dll"; "cublasLt64_11.dll" ]
            | "cudnn" -> [ "cudnn64_9.dll" ]
            | other -> [ other + ".dll" ]
        else
            match library with
            | "cuda" -> [ "libcuda.so.1"; "libcuda.so" ]
            | "cublas" -> [ "libcublas.so.13"; "libcublas.so.12"; "libcublas.so.11"; "libcublas.so" ]
            | "cublasLt" ->
                [
                    "libcublasLt.so.13"
                    "libcublasLt.so.12"
                    "libcublasLt.so.11"
                    "libcublasLt.so"
                ]
            | "cudnn" -> [ "libcudnn.so.9"; "libcudnn.so" ]
            | other -> [ "lib" + other + ".so" ]

    let private subdirs (dir: string) (pattern: string) =
        try
            if Directory.Exists dir then
                Directory.GetDirectories(dir, pattern) |> Array.sortDescending |> List.ofArray
            else
                []
        with _ ->
            []

    /// The Python site-packages folders the loader looks into for pip's nvidia-* wheels.
    let private sitePackages () =
        let home = Environment.GetFolderPath Environment.SpecialFolder.UserProfile

        let roots =
            [
                match Environment.GetEnvironmentVariable "VIRTUAL_ENV" with
                | null
                | "" -> ()
                | v -> yield Path.Combine(v, "lib")
                match Environment.GetEnvironmentVariable "CONDA_PREFIX" with
                | null
                | "" -> ()
                | v -> yield Path.Combine(v, "lib")
                yield "/usr/local/lib"
                yield "/usr/lib"
                yield "/opt/conda/lib"
                yield Path.Combine(home, ".local", "lib")
            ]

        [
            for r in roots do
                for py in subdirs r "python3*" do
                    yield Path.Combine(py, "site-packages")
                    yield Path.Combine(py, "dist-packages")
        ]
        |> List.filter Directory.Exists

    /// The folders searched, in order, before the system search, with the environment read through getEnv (a
    /// parameter so that tests can name their own folders without changing the process's environment).
    let searchFoldersWith (getEnv: string -> string) : string list =
        [
            match getEnv "FUNCTIONALNETS_CUDA_LIBS" with
            | null
            | "" -> ()
            | v ->
                for p in v.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries) do
                    yield p
            match getEnv "CUDA_PATH" with
            | null
            | "" -> ()
            | v ->
                yield Path.Combine(v, "lib64")
                yield Path.Combine(v, "lib")
                yield Path.Combine(v, "bin")
            if not isWindows then
                yield "/usr/local/cuda/lib64"

                for d in subdirs "/usr/local" "cuda-*" do
                    yield Path.Combine(d, "lib64")

                for sp in sitePackages () do
                    yield Path.Combine(sp, "nvidia", "cu13", "lib")

                    for d in subdirs (Path.Combine(sp, "nvidia")) "*" do
                        yield Path.Combine(d, "lib")
        ]
        |> List.distinct

    /// The folders searched, in order, before the system search.
    let searchFolders () : string list =
        searchFoldersWith Environment.GetEnvironmentVariable

    /// Tries every candidate for a library in the given folders, then the system search (no caching).
    let probeIn (folders: string list) (library: string) : LibraryProbe =
        let names = candidateNames library
        let tried = ResizeArray<string>()
        let mutable found = None
        let mutable handle = IntPtr.Zero

        let attempt (what: string) (path: string) =
            if found.IsNone then
                match NativeLibrary.TryLoad path with
                | true, h ->
                    found <- Some what
                    handle <- h
                    tried.Add(what + ": loaded")
                | _ -> tried.Add(what + ": present but failed to load")

        for dir in folders do
            for name in names do
                if found.IsNone then
                    let p = Path.Combine(dir, name)

                    if File.Exists p then
                        attempt p p
                    else
                        tried.Add(p + ": not found")

        for name in names do
            if found.IsNone then
                match NativeLibrary.TryLoad name with
                | true, h ->
                    found <- Some name
                    handle <- h
                    tried.Add(name + " (system search): loaded")
                | _ -> tried.Add(name + " (system search): not found")

        {
            Library = library
            Found = found
            Handle = handle
            Tried = List.ofSeq tried
        }

    /// Tries every candidate for a library (no caching): each folder and name, then the system search.
    let probeUncached (library: string) : LibraryProbe = probeIn (searchFolders ()) library

    let private cache = ConcurrentDictionary<string, Lazy<LibraryProbe>>()

    /// The probe for a library, run once per process.
    let probe (library: string) =
        cache.GetOrAdd(library, (fun l -> lazy (probeUncached l))).Value

    /// Forgets earlier probes (after FUNCTIONALNETS_CUDA_LIBS changed).
    let reset () = cache.Clear()

    /// A readable report of one probe.
    let describeProbe (p: LibraryProbe) =
        let head =
            match p.Found with
            | Some f -> sprintf "%s: found %s" p.Library f
            | None -> sprintf "%s: NOT FOUND (%d candidates tried)" p.Library p.Tried.Length

        String.Join(Environment.NewLine, head :: (p.Tried |> List.map (fun t -> "    tried " + t)))

    /// Resolves ILGPU's own imports ("cuda", "nvcuda") to the driver this loader finds, so that libcuda.so.1
    /// (the name drivers install) is used where ILGPU would only look for libcuda.so.
    let private ilgpuResolver =
        DllImportResolver(fun name _ _ ->
            match name with
            | "cuda"
            | "nvcuda"
            | "libcuda"
            | "libcuda.so" -> (probe "cuda").Handle
            | _ -> IntPtr.Zero)

    let private registered =
        lazy
            (try
                NativeLibrary.SetDllImportResolver(typeof<ILGPU.Context>.Assembly, ilgpuResolver)
                true
             with :? InvalidOperationException ->
                 // Another component registered one first; ILGPU's own search then applies.
                 false)

    /// Registers the resolver for ILGPU's assembly (once; idempotent).
    let registerIlgpuResolver () = registered.Value

    /// Resolves this assembly's own DllImport names ("cublas", "cudnn") to what the loader found.
    let private ownResolver =
        DllImportResolver(fun name _ _ ->
            match name with
            | "cublas"
            | "cudnn" -> (probe name).Handle
            | _ -> IntPtr.Zero)

    let private ownRegistered =
        lazy
            (try
                NativeLibrary.SetDllImportResolver(typeof<LibraryProbe>.Assembly, ownResolver)
             with :? InvalidOperationException ->
                 ())

    /// Registers the resolver for this assembly's cuBLAS and cuDNN imports (once; idempotent).
    let registerOwnResolver () = ownRegistered.Force()
