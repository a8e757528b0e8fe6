namespace FunctionalNets.Nn

open FunctionalNets
open System
open System.Globalization
open System.IO

/// One CIFAR-10 split as the binary batches store it: Count images of 3 x 32 x 32 uint8 pixels (the R
/// plane, then G, then B, each row-major) and their labels 0..9.
type Cifar10Raw =
    {
        Images: byte[]
        Labels: byte[]
        Count: int
    }

/// The CIFAR-10 reader (Krizhevsky, 2009) for the "binary version" archive cifar-10-binary.tar.gz or
/// its extracted cifar-10-batches-bin folder, checked for layout, sizes and labels before use.
[<RequireQualifiedAccess>]
module Cifar10 =
    /// Rows and columns of an image.
    [<Literal>]
    let Side = 32

    /// Colour planes per image (R, G, B).
    [<Literal>]
    let Channels = 3

    /// Bytes per record: one label byte and 3 x 32 x 32 pixel bytes.
    [<Literal>]
    let RecordBytes = 3073

    /// Records in each batch file.
    [<Literal>]
    let RecordsPerFile = 10000

    /// The archive's file name as its authors publish it.
    [<Literal>]
    let ArchiveName = "cifar-10-binary.tar.gz"

    /// The folder the archive unpacks to.
    [<Literal>]
    let BatchesFolder = "cifar-10-batches-bin"

    /// Where the archive is published.
    [<Literal>]
    let Url = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"

    /// The md5 the authors publish for cifar-10-binary.tar.gz.
    [<Literal>]
    let ArchiveMd5 = "c32a1d4ab5d03f1284b67883e8d87530"

    /// Per-channel mean of the training pixels scaled to [0, 1] (R, G, B); see Transforms.normalize.
    let Mean = Transforms.cifar10Mean

    /// Per-channel standard deviation of the training pixels scaled to [0, 1] (R, G, B).
    let Std = Transforms.cifar10Std

    /// The ten class names in label order, as batches.meta.txt lists them.
    let ClassNames =
        [|
            "airplane"
            "automobile"
            "bird"
            "cat"
            "deer"
            "dog"
            "frog"
            "horse"
            "ship"
            "truck"
        |]

    /// The five training batch files, in order.
    let trainFiles = [ for i in 1..5 -> sprintf "data_batch_%d.bin" i ]

    /// The test batch file.
    [<Literal>]
    let TestFile = "test_batch.bin"

    /// The class-names file.
    [<Literal>]
    let MetaFile = "batches.meta.txt"

    let private allFiles = trainFiles @ [ TestFile; MetaFile ]

    let private pixels = Channels * Side * Side
    let private fileBytes = int64 RecordBytes * int64 RecordsPerFile

    let private n0 (v: int64) =
        v.ToString("N0", CultureInfo.InvariantCulture)

    let private fix =
        sprintf
            "Delete the extracted %s folder and load the archive again (it is re-extracted), or download %s again from %s."
            BatchesFolder
            ArchiveName
            Url

    let private bad (path: string) (problem: string) (remedy: string) =
        raise (InvalidDataException(sprintf "CIFAR-10 file %s: %s. %s" path problem remedy))

    /// The folder holding the batch files: dir itself when data_batch_1.bin or test_batch.bin is in it,
    /// else dir/cifar-10-batches-bin when that folder exists.
    let tryBatchesDir (dir: string) : string option =
        let inner = Path.Combine(dir, BatchesFolder)

        if
            File.Exists(Path.Combine(dir, trainFiles.Head))
            || File.Exists(Path.Combine(dir, TestFile))
        then
            Some dir
        elif Directory.Exists inner then
            Some inner
        else
            None

    /// Checks that every batch file and batches.meta.txt are in dir and that each batch file has exactly
    /// 10,000 records of 3,073 bytes; raises FileNotFoundException or InvalidDataException naming the file.
    let checkLayout (dir: string) : unit =
        let missing =
            allFiles |> List.filter (fun f -> not (File.Exists(Path.Combine(dir, f))))

        if not missing.IsEmpty then
            let names = String.concat ", " missing

            raise (
                FileNotFoundException(
                    sprintf
                        "CIFAR-10 folder %s lacks %s. It must hold %s as the official %s unpacks them. %s"
                        dir
                        names
                        (String.concat ", " allFiles)
                        ArchiveName
                        fix,
                    Path.Combine(dir, missing.Head)
                )
            )

        for f in trainFiles @ [ TestFile ] do
            let path = Path.Combine(dir, f)
            let len = FileInfo(path).Length

            if len <> fileBytes then
                bad
                    path
                    (sprintf
                        "%s has %s bytes; expected %s (%s records of %s bytes)%s"
                        f
                        (n0 len)
                        (n0 fileBytes)
                        (n0 RecordsPerFile)
                        (n0 RecordBytes)
                        (if len < fileBytes then
                             ", so it is truncated"
                         else
                             ", so it has extra bytes or is not a CIFAR-10 batch"))
                    fix

    /// The class names in batches.meta.txt (one per line, blank lines ignored); there must be ten.
    let readClasses (path: string) : string[] =
        let names =
            File.ReadAllLines path
            |> Array.map (fun l -> l.Trim())
            |> Array.filter (fun l -> l <> "")

        if names.Length <> 10 then
            bad
                path
                (sprintf
                    "it lists %d class names (%s); expected the ten CIFAR-10 classes, one per line"
                    names.Length
                    (String.concat ", " names))
                fix

        names

    let private readInto (path: string) (images: byte[]) (labels: byte[]) (first: int) =
        let bytes = File.ReadAllBytes path

        if int64 bytes.Length <> fileBytes then
            bad path (sprintf "it has %s bytes; expected %s" (n0 bytes.LongLength) (n0 fileBytes)) fix

        for r in 0 .. RecordsPerFile - 1 do
            let at = r * RecordBytes
            let label = bytes[at]

            if label > 9uy then
                bad
                    path
                    (sprintf
                        "record %s (byte offset %s) has label %d; labels must be 0..9, so the file is corrupt or not a CIFAR-10 batch"
                        (n0 (int64 r))
                        (n0 (int64 at))
                        label)
                    fix

            labels[first + r] <- label
            Buffer.BlockCopy(bytes, at + 1, images, (first + r) * pixels, pixels)

    /// The raw images and labels of the given batch files (in order) from dir, after checkLayout.
    let loadRaw (dir: string) (files: string list) : Cifar10Raw =
        checkLayout dir
        let count = files.Length * RecordsPerFile
        let images = GC.AllocateUninitializedArray<byte>(count * pixels)
        let labels = Array.zeroCreate<byte> count

        files
        |> List.iteri (fun k f -> readInto (Path.Combine(dir, f)) images labels (k * RecordsPerFile))

        {
            Images = images
            Labels = labels
            Count = count
        }

    /// A dataset over raw CIFAR-10: inputs Float32 [n; 3; 32; 32] with pixels scaled to [0, 1] (normalise
    /// with Transforms.normalize Mean Std), targets Int64 [n]. Pixels stay as bytes (150 MB for the
    /// training set rather than 600 MB of floats) and each batch is converted with a lookup table.
    let toDataset (raw: Cifar10Raw) : IDataset =
        let lut = Array.init 256 (fun v -> float32 v / 255.0f)

        { new IDataset with
            member _.Count = raw.Count

            member _.GetBatch(indices) =
                let n = indices.Length
                let x = GC.AllocateUninitializedArray<float32>(n * pixels)
                let y = Array.zeroCreate<int64> n

                for b in 0 .. n - 1 do
                    let i = indices[b]

                    if i < 0 || i >= raw.Count then
                        raise (
                            ArgumentOutOfRangeException(
                                "indices",
                                sprintf "CIFAR-10: index %d is out of range for %d examples." i raw.Count
                            )
                        )

                    let src = ReadOnlySpan(raw.Images, i * pixels, pixels)
                    let dst = Span(x, b * pixels, pixels)

                    for k in 0 .. pixels - 1 do
                        dst[k] <- lut[int src[k]]

                    y[b] <- int64 raw.Labels[i]

                {
                    Input = Tensor.ofArray (x, [ n; Channels; Side; Side ])
                    Target = Tensor.ofArray (y, [ n ])
                }
        }

    // ---------------------------------------------------------------- the archive

    /// The lower-case hex sha256 of the official cifar-10-binary.tar.gz (the authors publish its md5,
    /// ArchiveMd5; this is the same file's sha256).
    [<Literal>]
    let ArchiveSha256 =
        "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"

    /// The size of the official archive in bytes.
    [<Literal>]
    let ArchiveSize = 170052171L

    /// The official archive as Fetch downloads and verifies it.
    let official: RemoteFile =
        {
            FileName = ArchiveName
            Url = Url
            Size = ArchiveSize
            Sha256 = ArchiveSha256
        }

    let private mismatchWarning (archive: string) (sha256: string) =
        sprintf
            "warning: CIFAR-10 archive %s has sha256 %s, not the official %s (md5 %s). Its layout and sizes are right, so it is used as it is; if it should be the official archive, it is damaged or re-encoded: download it again from %s."
            archive
            sha256
            ArchiveSha256
            ArchiveMd5
            Url

    /// The most bytes the archive may hold once decompressed (the tar stream): 256 MiB. The official
    /// archive holds about 184 MB; inflating stops at the first byte past this or past what the archive's
    /// size can hold, so a gzip bomb fails early.
    [<Literal>]
    let MaxArchiveContent = 268435456L

    /// The most bytes batches.meta.txt may hold in an archive (the official one holds 61).
    [<Literal>]
    let MaxMetaBytes = 65536L

    /// The folder extractions go under unless the caller names one: DataLocation.cacheRoot()/cifar10.
    let defaultExtractionRoot () : string =
        Path.Combine(DataLocation.cacheRoot (), "cifar10")

    // Which archive members are written: the batch files and the class list, each checked for its size
    // before a byte of it is written; everything else is skipped.
    let private choose (path: string) (size: int64) =
        let name = string (Path.GetFileName path)

        if not (List.contains name allFiles) then
            MemberChoice.Skip
        elif name = MetaFile && size > MaxMetaBytes then
            MemberChoice.Reject(
                sprintf "it holds %s bytes; the class list may hold at most %s" (n0 size) (n0 MaxMetaBytes)
            )
        elif name <> MetaFile && size <> fileBytes then
            MemberChoice.Reject(
                sprintf
                    "it holds %s bytes; a batch file holds %s (%s records of %s bytes)"
                    (n0 size)
                    (n0 fileBytes)
                    (n0 RecordsPerFile)
                    (n0 RecordBytes)
            )
        else
            MemberChoice.Keep name

    // Unpacks the batch files into temp/cifar-10-batches-bin and checks the layout they make.
    let private unpack (archive: string) (temp: string) =
        let batches = Path.Combine(temp, BatchesFolder)
        Directory.CreateDirectory batches |> ignore
        Fetch.unpackTarGz "CIFAR-10" official MaxArchiveContent choose archive batches

        try
            checkLayout batches
        with
        | :? FileNotFoundException as e ->
            raise (
                InvalidDataException(
                    sprintf "CIFAR-10 archive %s does not hold the official layout: %s" archive e.Message,
                    e
                )
            )
        | :? InvalidDataException as e ->
            raise (InvalidDataException(sprintf "CIFAR-10 archive %s: %s" archive e.Message, e))

    /// The extracted batches folder of the archive under root (a folder the caller names, created if
    /// needed; never the archive's own folder unless the caller names it), unpacking it on first use through
    /// Fetch.extractOnce: into a temporary folder renamed into place only once complete and checked, so a
    /// crash or a concurrent load never leaves a half-written folder in use. The sha256 of the archive is
    /// computed then and kept with the extraction; a mismatch with ArchiveSha256 is reported through warn
    /// (each load).
    let extractTo (warn: string -> unit) (root: string) (path: string) : string =
        let full = Path.GetFullPath path

        if not (File.Exists full) then
            raise (
                FileNotFoundException(
                    sprintf "CIFAR-10 archive %s does not exist. Download %s from %s." full ArchiveName Url,
                    full
                )
            )

        let x = Fetch.extractOnce "CIFAR-10" "cifar-10-extracted-" unpack root full

        if x.ArchiveSha256 <> ArchiveSha256 then
            warn (mismatchWarning full x.ArchiveSha256)

        Path.Combine(x.Folder, BatchesFolder)

    /// Downloads the official archive into dir (created if needed) from Url unless a copy with the right
    /// size and sha256 is already there, and returns its path; see Fetch.download. Without a network it fails
    /// with an IOException that says how to get the archive by hand.
    let download (dir: string) : string = Fetch.download "CIFAR-10" official dir

    /// extractTo under defaultExtractionRoot (): the per-user cache, never the archive's own folder.
    let extract (warn: string -> unit) (archive: string) : string =
        extractTo warn (defaultExtractionRoot ()) archive

    let private isArchive (path: string) =
        path.EndsWith(".tar.gz", StringComparison.OrdinalIgnoreCase)
        || path.EndsWith(".tgz", StringComparison.OrdinalIgnoreCase)

    /// The batches folder for a path: an archive (extracted under extractionRoot on first use, see
    /// extractTo), a folder holding the batch files, a folder holding cifar-10-batches-bin/, or a folder
    /// holding the archive.
    let batchesDirIn (warn: string -> unit) (extractionRoot: string) (path: string) : string =
        let full = Path.GetFullPath path

        if File.Exists full then
            if isArchive full then
                extractTo warn extractionRoot full
            else
                raise (
                    InvalidDataException(
                        sprintf
                            "CIFAR-10: %s is a file but not a .tar.gz archive. Pass %s itself or the folder that holds the batch files (%s)."
                            full
                            ArchiveName
                            BatchesFolder
                    )
                )
        elif Directory.Exists full then
            match tryBatchesDir full with
            | Some d -> d
            | None ->
                let archive = Path.Combine(full, ArchiveName)

                if File.Exists archive then
                    extractTo warn extractionRoot archive
                else
                    raise (
                        FileNotFoundException(
                            sprintf
                                "CIFAR-10 folder %s holds neither the batch files (%s), nor a %s folder, nor %s. Download %s from %s into it, or pass the folder or archive you have."
                                full
                                (String.concat ", " allFiles)
                                BatchesFolder
                                ArchiveName
                                ArchiveName
                                Url,
                            archive
                        )
                    )
        else
            raise (
                FileNotFoundException(
                    sprintf
                        "CIFAR-10: %s does not exist. Pass %s or a folder holding its extracted %s folder (Cifar10.find looks in the usual places)."
                        full
                        ArchiveName
                        BatchesFolder,
                    full
                )
            )

    /// batchesDirIn extracting an archive under defaultExtractionRoot () (the per-user cache).
    let batchesDirOf (warn: string -> unit) (path: string) : string =
        batchesDirIn warn (defaultExtractionRoot ()) path

    /// Both splits and the class names from path (see batchesDirIn), an archive being extracted under
    /// extractionRoot (a folder the caller names; nothing is ever written beside the archive), reporting
    /// warnings (an archive whose sha256 differs from the official one) through warn.
    let loadFrom
        (warn: string -> unit)
        (extractionRoot: string)
        (path: string)
        : {|
            Train: IDataset
            Test: IDataset
            Classes: string[]
        |}
        =
        let dir = batchesDirIn warn extractionRoot path
        let classes = readClasses (Path.Combine(dir, MetaFile))

        {|
            Train = toDataset (loadRaw dir trainFiles)
            Test = toDataset (loadRaw dir [ TestFile ])
            Classes = classes
        |}

    /// Both splits and the class names from path (see batchesDirOf), reporting warnings (an archive whose
    /// sha256 differs from the official one) through warn. An archive is extracted under the per-user cache.
    let loadWith
        (warn: string -> unit)
        (path: string)
        : {|
            Train: IDataset
            Test: IDataset
            Classes: string[]
        |}
        =
        loadFrom warn (defaultExtractionRoot ()) path

    /// Both splits and the class names from the archive cifar-10-binary.tar.gz or a folder holding
    /// cifar-10-batches-bin/ (or the batch files themselves): 50,000 training and 10,000 test examples,
    /// inputs Float32 [n; 3; 32; 32] in [0, 1], targets Int64 [n]. An archive is extracted on first use
    /// under the per-user cache (DataLocation.cacheRoot()/cifar10), never into the archive's folder. An archive whose sha256
    /// differs from the official one is used when its layout and sizes are right, with a warning on stderr.
    let load
        (path: string)
        : {|
            Train: IDataset
            Test: IDataset
            Classes: string[]
        |}
        =
        loadWith (fun msg -> eprintfn "%s" msg) path

    // ---------------------------------------------------------------- finding the data

    let private holdsCifar (path: string) =
        (File.Exists path && isArchive path)
        || (Directory.Exists path
            && ((tryBatchesDir path).IsSome || File.Exists(Path.Combine(path, ArchiveName))))

    let private walkUp (start: string) =
        let rec go (d: DirectoryInfo | null) =
            match d with
            | null -> []
            | d -> Path.Combine(d.FullName, "data", "cifar10") :: go d.Parent

        go (DirectoryInfo(Path.GetFullPath start))

    /// The places find looks, in order, for the given explicit path.
    let candidates (explicitPath: string option) : string list =
        match explicitPath with
        | Some p ->
            // An explicit path is authoritative: never fall back silently to another copy.
            let full = Path.GetFullPath p
            [ full; Path.Combine(full, "cifar10") ]
        | None ->
            [
                match Environment.GetEnvironmentVariable DataLocation.EnvironmentVariable with
                | null -> ()
                | s when String.IsNullOrWhiteSpace s -> ()
                | root ->
                    yield Path.GetFullPath(Path.Combine(root, "cifar10"))
                    yield Path.GetFullPath root
                yield Path.Combine(DataLocation.cacheRoot (), "cifar10")
                yield! walkUp AppContext.BaseDirectory
                yield! walkUp Environment.CurrentDirectory
            ]
            |> List.distinct

    /// A path load accepts: the explicit path if given (the archive, or a folder holding it, the batches
    /// or a cifar10 sub-folder with them); otherwise $FUNCTIONALNETS_DATA/cifar10 (or the archive directly
    /// in $FUNCTIONALNETS_DATA), the per-user cache's cifar10 folder, and the repository's data/cifar10
    /// found by walking up from the application's folder and the current directory. Raises
    /// FileNotFoundException listing every place it looked and how to get the data there.
    let find (explicitPath: string option) : string =
        let cands = candidates explicitPath

        match cands |> List.tryFind holdsCifar with
        | Some p -> p
        | None ->
            let msg =
                String.concat
                    Environment.NewLine
                    [
                        sprintf
                            "CIFAR-10 was not found: no %s and no %s folder with the batch files. Looked in:"
                            ArchiveName
                            BatchesFolder
                        cands |> List.map (fun c -> "  - " + c) |> String.concat Environment.NewLine
                        "To fix it, do one of:"
                        "  - pass the archive or the folder holding it (or its extracted batches) explicitly;"
                        sprintf
                            "  - set %s to a folder with a 'cifar10' sub-folder holding the archive;"
                            DataLocation.EnvironmentVariable
                        sprintf
                            "  - download %s from %s (sha256 %s; Cifar10.download does this and checks it) into %s."
                            ArchiveName
                            Url
                            ArchiveSha256
                            (DataLocation.resolve None "cifar10")
                    ]

            raise (FileNotFoundException(msg, ArchiveName))
