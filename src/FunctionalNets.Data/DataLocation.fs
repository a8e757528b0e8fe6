namespace FunctionalNets.Nn

open FunctionalNets
open System
open System.IO

/// Where datasets live on disk: an explicit path, else the FUNCTIONALNETS_DATA environment variable,
/// else a per-user cache folder. Nothing here touches the network.
[<RequireQualifiedAccess>]
module DataLocation =
    /// The environment variable naming a folder that holds one sub-folder per dataset.
    [<Literal>]
    let EnvironmentVariable = "FUNCTIONALNETS_DATA"

    /// The four MNIST files, without the ".gz" suffix (either form is accepted).
    let mnistFiles =
        [
            "train-images-idx3-ubyte"
            "train-labels-idx1-ubyte"
            "t10k-images-idx3-ubyte"
            "t10k-labels-idx1-ubyte"
        ]

    /// Canonical download location of the MNIST files (the mirror PyTorch's torchvision uses; the
    /// original http://yann.lecun.com/exdb/mnist/ is often unavailable).
    let mnistUrl = "https://ossci-datasets.s3.amazonaws.com/mnist/"

    let private envValue (name: string) =
        match Environment.GetEnvironmentVariable name with
        | null -> None
        | s when String.IsNullOrWhiteSpace s -> None
        | s -> Some s

    /// cacheRoot with the environment read through `environment` (a variable's value, or None when unset).
    let cacheRootWith (environment: string -> string option) : string =
        match environment "XDG_CACHE_HOME" with
        | Some xdg -> Path.Combine(xdg, "functionalnets")
        | None ->
            if OperatingSystem.IsWindows() then
                Path.Combine(Environment.GetFolderPath Environment.SpecialFolder.LocalApplicationData, "functionalnets")
            else
                let home = Environment.GetFolderPath Environment.SpecialFolder.UserProfile
                // UserProfile can be empty for service accounts; the temp folder is the last resort.
                let home =
                    if String.IsNullOrEmpty home then
                        Path.GetTempPath()
                    else
                        home

                Path.Combine(home, ".cache", "functionalnets")

    /// The per-user cache root: $XDG_CACHE_HOME/functionalnets, else ~/.cache/functionalnets on Unix,
    /// else %LOCALAPPDATA%\functionalnets on Windows.
    let cacheRoot () : string = cacheRootWith envValue

    /// resolve with the environment read through `environment` (a variable's value, or None when unset).
    let resolveWith
        (environment: string -> string option)
        (explicitPath: string option)
        (datasetName: string)
        : string =
        match explicitPath with
        | Some p -> Path.GetFullPath p
        | None ->
            match environment EnvironmentVariable with
            | Some root -> Path.GetFullPath(Path.Combine(root, datasetName))
            | None -> Path.Combine(cacheRootWith environment, datasetName)

    /// The folder for a dataset: the explicit path if given; else $FUNCTIONALNETS_DATA/&lt;datasetName&gt; if
    /// the variable is set; else the per-user cache folder (see cacheRoot) joined with datasetName.
    /// The folder is not created and need not exist.
    let resolve (explicitPath: string option) (datasetName: string) : string =
        resolveWith envValue explicitPath datasetName

    /// The path of an MNIST file in dir: the ".gz" form if present, else the uncompressed one, else None.
    let tryMnistFile (dir: string) (baseName: string) : string option =
        let gz = Path.Combine(dir, baseName + ".gz")
        let raw = Path.Combine(dir, baseName)

        if File.Exists gz then Some gz
        elif File.Exists raw then Some raw
        else None

    let private hasMnist (dir: string) =
        Directory.Exists dir
        && mnistFiles |> List.forall (fun f -> (tryMnistFile dir f).IsSome)

    /// Folders named data/mnist in start and each of its ancestors (how a fresh clone finds its own copy).
    let private walkUp (start: string) =
        let rec go (d: DirectoryInfo | null) =
            match d with
            | null -> []
            | d -> Path.Combine(d.FullName, "data", "mnist") :: go d.Parent

        go (DirectoryInfo(Path.GetFullPath start))

    /// The places findMnist looks, in order, for the given explicit path.
    let mnistCandidates (explicitPath: string option) : string list =
        match explicitPath with
        | Some p ->
            // An explicit path is authoritative: never fall back silently to another copy. It may name
            // the folder with the files or a data root that has an "mnist" sub-folder.
            let full = Path.GetFullPath p
            [ full; Path.Combine(full, "mnist") ]
        | None ->
            [
                match envValue EnvironmentVariable with
                | Some root -> yield Path.GetFullPath(Path.Combine(root, "mnist"))
                | None -> ()
                yield Path.Combine(cacheRoot (), "mnist")
                yield! walkUp AppContext.BaseDirectory
                yield! walkUp Environment.CurrentDirectory
            ]
            |> List.distinct

    /// The folder holding the four MNIST files (gzipped or not). Looks in the explicit path if given;
    /// otherwise in $FUNCTIONALNETS_DATA/mnist, the per-user cache, and the repository's data/mnist found
    /// by walking up from the application's folder and from the current directory. Raises
    /// FileNotFoundException listing every place it looked and how to get the files there.
    let findMnist (explicitPath: string option) : string =
        let candidates = mnistCandidates explicitPath

        match candidates |> List.tryFind hasMnist with
        | Some dir -> dir
        | None ->
            let looked =
                candidates
                |> List.map (fun c -> "  - " + c)
                |> String.concat Environment.NewLine

            let files = mnistFiles |> List.map (fun f -> f + ".gz") |> String.concat ", "

            let msg =
                String.concat
                    Environment.NewLine
                    [
                        sprintf
                            "MNIST was not found. It needs the four files %s (gzipped or not) in one folder. Looked in:"
                            files
                        looked
                        "To fix it, do one of:"
                        "  - pass the folder that holds the files explicitly;"
                        sprintf "  - set %s to a folder with an 'mnist' sub-folder holding them;" EnvironmentVariable
                        sprintf
                            "  - download them from %s into %s (Mnist.download does this and checks the sha256 of each file; the checksums are listed in data/mnist/README.md)."
                            mnistUrl
                            (resolve None "mnist")
                    ]

            raise (FileNotFoundException(msg, files))
