namespace FunctionalNets.Nn

open FunctionalNets
open System
open System.Buffers.Binary
open System.Globalization
open System.IO
open System.IO.Compression
open System.Security.Cryptography
open System.Text

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

    /// The lower-case hex md5 of a file.
    let md5Of (path: string) : string =
        use s = File.OpenRead path
        Convert.ToHexStringLower(MD5.HashData s)

    let private markerName = "source.txt"

    let private mismatchWarning (archive: string) (md5: string) =
        sprintf
            "warning: CIFAR-10 archive %s has md5 %s, not the official %s. Its layout and sizes are right, so it is used as it is; if it should be the official archive, it is damaged or re-encoded: download it again from %s."
            archive
            md5
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

    /// A name that changes when the archive at this path is replaced (path, length and write time).
    let private extractionName (archive: string) =
        let info = FileInfo archive

        let id =
            sprintf "%s|%d|%d" info.FullName info.Length info.LastWriteTimeUtc.Ticks
            |> Encoding.UTF8.GetBytes
            |> SHA256.HashData
            |> Convert.ToHexStringLower

        "cifar-10-extracted-" + id[..15]

    let private tryDelete (dir: string) =
        try
            if Directory.Exists dir then
                Directory.Delete(dir, true)
        with _ ->
            ()

    /// The file an extraction in progress holds open (FileShare.None) inside its temporary folder.
    let private lockName = ".extracting"

    /// Removes the temporary folders ".<name>.<guid>.tmp" under root that extractions killed mid-way left
    /// behind: those whose lock file nobody holds any more. A live extraction's folder is left alone.
    let private removeStaleExtractions (root: string) (name: string) =
        try
            if Directory.Exists root then
                for d in Directory.EnumerateDirectories(root, "." + name + ".*.tmp") do
                    let lock = Path.Combine(d, lockName)

                    if File.Exists lock then
                        let free =
                            try
                                use _held =
                                    new FileStream(lock, FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1)

                                true
                            with
                            | :? IOException
                            | :? UnauthorizedAccessException -> false

                        if free then
                            tryDelete d
        with
        | :? IOException
        | :? UnauthorizedAccessException -> ()

    /// Unpacks the batch files of the archive into temp/cifar-10-batches-bin (other members are skipped;
    /// only the known file names are written, so no member can land outside temp). Each wanted member's
    /// size is checked against the format before a byte of it is written; the gzip stream is inflated
    /// with a limit and its CRC-32 and length are checked against its trailer. The tar stream (ustar, with
    /// pax and GNU extended headers) is read here, block by block: headers are checksummed, and extended
    /// headers are held in memory only up to 64 KiB, so no header's claim sets an allocation.
    let private unpack (archive: string) (temp: string) =
        let target = Path.Combine(temp, BatchesFolder)
        Directory.CreateDirectory target |> ignore
        let wanted = Collections.Generic.HashSet<string>(allFiles)
        let written = Collections.Generic.HashSet<string>()

        let problem (what: string) =
            InvalidDataException(
                sprintf
                    "CIFAR-10 archive %s could not be unpacked: %s. It is truncated, corrupt or not the official %s; download it again from %s."
                    archive
                    what
                    ArchiveName
                    Url
            )

        let corrupt (e: exn) =
            raise (
                InvalidDataException(
                    sprintf
                        "CIFAR-10 archive %s could not be unpacked (%s): it is truncated or not a gzip-compressed tar file. Download %s again from %s."
                        archive
                        e.Message
                        ArchiveName
                        Url,
                    e
                )
            )

        let file =
            new FileStream(archive, FileMode.Open, FileAccess.Read, FileShare.Read, 1 <<< 16)

        let limit = Math.Min(MaxArchiveContent, Gzip.maxInflated file.Length)

        use gz =
            try
                new VerifiedGzipStream(file, limit, fun m -> problem m :> exn)
            with
            | :? InvalidDataException ->
                file.Dispose()
                reraise ()
            | e ->
                file.Dispose()
                corrupt e

        let fail (what: string) : 'a = raise (problem what)
        let block = Array.zeroCreate<byte> 512
        let buffer = Array.zeroCreate<byte> 65536

        // Exactly n bytes of the tar stream into dst (or nowhere): a short read is a truncated archive.
        let copy (n: int64) (dst: Stream | null) (what: string) =
            let mutable left = n

            while left > 0L do
                let want = int (Math.Min(left, int64 buffer.Length))
                let got = gz.ReadAtLeast(Span(buffer, 0, want), want, false)

                if got < want then
                    fail (sprintf "the tar stream ends inside %s" what)

                match dst with
                | null -> ()
                | d -> d.Write(buffer, 0, got)

                left <- left - int64 got

        let padding (size: int64) = (512L - size % 512L) % 512L

        let field (at: int) (len: int) =
            let span = ReadOnlySpan(block, at, len)
            let n = span.IndexOf 0uy
            Encoding.UTF8.GetString(if n < 0 then span else span.Slice(0, n))

        // Sizes: octal digits (space or NUL terminated), or the GNU base-256 form (high bit set).
        let number (at: int) (len: int) (what: string) =
            if block[at] &&& 0x80uy <> 0uy then
                if
                    block[at] <> 0x80uy
                    || (ReadOnlySpan(block, at + 1, len - 9)).IndexOfAnyExcept 0uy >= 0
                then
                    fail (sprintf "a tar header's %s field is negative or too large" what)

                BinaryPrimitives.ReadInt64BigEndian(ReadOnlySpan(block, at + len - 8, 8))
                |> fun v ->
                    if v < 0L then
                        fail (sprintf "a tar header's %s field is negative" what)
                    else
                        v
            else
                let digits = (field at len).Trim([| ' '; char 0 |])
                let mutable v = 0L

                for c in digits do
                    if c < '0' || c > '7' || v > (Int64.MaxValue >>> 3) then
                        fail (sprintf "a tar header's %s field '%s' is not an octal number" what digits)

                    v <- v * 8L + int64 (int c - int '0')

                v

        // Extended headers (pax 'x'/'g', GNU 'L'/'K') are read into memory only up to this size.
        let maxExtended = 65536L

        let readExtended (size: int64) (kind: char) =
            if size > maxExtended then
                fail (
                    sprintf
                        "a tar extended header of type '%c' claims %s bytes, more than the %s allowed"
                        kind
                        (n0 size)
                        (n0 maxExtended)
                )

            use ms = new MemoryStream()
            copy size ms "an extended header"
            copy (padding size) null "an extended header's padding"
            ms.ToArray()

        // pax records "<length> <key>=<value>\n": the path and size overrides of the next member.
        let paxRecords (data: byte[]) =
            let mutable at = 0
            let mutable path = None
            let mutable size = None

            while at < data.Length && data[at] <> 0uy do
                let space = Array.IndexOf(data, byte ' ', at)

                let len =
                    match
                        (if space > at then
                             Int32.TryParse(Encoding.ASCII.GetString(data, at, space - at))
                         else
                             (false, 0))
                    with
                    | true, n when n > space - at && at + n <= data.Length && data[at + n - 1] = byte '\n' -> n
                    | _ -> fail "a pax extended header record is malformed"

                let record = Encoding.UTF8.GetString(data, space + 1, at + len - space - 2)
                let eq = record.IndexOf '='

                if eq < 0 then
                    fail "a pax extended header record has no '='"

                match record.Substring(0, eq) with
                | "path" -> path <- Some(record.Substring(eq + 1))
                | "size" ->
                    match Int64.TryParse(record.Substring(eq + 1)) with
                    | true, v when v >= 0L -> size <- Some v
                    | _ -> fail (sprintf "a pax size record '%s' is not a size" record)
                | _ -> ()

                at <- at + len

            path, size

        try
            let mutable nextPath: string option = None
            let mutable nextSize: int64 option = None
            let mutable fin = false

            while not fin do
                let got = gz.ReadAtLeast(Span(block), 512, false)

                if got < 512 then
                    fail "the tar stream ends without its end-of-archive blocks"

                if (ReadOnlySpan block).IndexOfAnyExcept 0uy < 0 then
                    fin <- true
                else
                    // The checksum: the header's bytes summed with the checksum field read as spaces.
                    let stored = number 148 8 "checksum"
                    let mutable sum = 0L

                    for i in 0..511 do
                        sum <- sum + (if i >= 148 && i < 156 then 32L else int64 block[i])

                    if stored <> sum then
                        fail (sprintf "a tar header's checksum is %d but its bytes sum to %d" stored sum)

                    let kind = char block[156]
                    let headerSize = number 124 12 "size"
                    let size = defaultArg nextSize headerSize

                    let name =
                        match nextPath with
                        | Some p -> p
                        | None ->
                            let n = field 0 100

                            if (field 257 6).StartsWith "ustar" && block[345] <> 0uy then
                                field 345 155 + "/" + n
                            else
                                n

                    match kind with
                    | 'x' ->
                        let p, z = paxRecords (readExtended headerSize kind)
                        nextPath <- p
                        nextSize <- z
                    | 'L' -> nextPath <- Some((Encoding.UTF8.GetString(readExtended headerSize kind)).TrimEnd(char 0))
                    | 'g'
                    | 'K' -> readExtended headerSize kind |> ignore
                    | _ ->
                        nextPath <- None
                        nextSize <- None
                        let baseName = string (Path.GetFileName(name.TrimEnd('/')))
                        let regular = kind = '0' || kind = char 0 || kind = '7'

                        if regular && wanted.Contains baseName then
                            let ok =
                                if baseName = MetaFile then
                                    size <= MaxMetaBytes
                                else
                                    size = fileBytes

                            if not ok then
                                fail (
                                    sprintf
                                        "its member %s holds %s bytes; %s"
                                        name
                                        (n0 size)
                                        (if baseName = MetaFile then
                                             sprintf "the class list may hold at most %s" (n0 MaxMetaBytes)
                                         else
                                             sprintf
                                                 "a batch file holds %s (%s records of %s bytes)"
                                                 (n0 fileBytes)
                                                 (n0 RecordsPerFile)
                                                 (n0 RecordBytes))
                                )

                            if not (written.Add baseName) then
                                fail (sprintf "it holds %s twice" baseName)

                            do
                                use out = File.Create(Path.Combine(target, baseName))
                                copy size out name
                        else
                            // Skipped through a fixed buffer: nothing is allocated for it.
                            copy size null name

                        copy (padding size) null (name + "'s padding")

            // The tar stream ends with zero blocks before the gzip data does: read to the end so the
            // trailer's CRC-32 and length are checked (an archive cut inside its trailer fails here).
            while gz.Read(buffer, 0, buffer.Length) > 0 do
                ()
        with
        | :? EndOfStreamException
        | :? FormatException
        | :? ArgumentException as e -> corrupt e

        target

    /// The extracted batches folder of the archive under root (a folder the caller names, created if
    /// needed; never the archive's own folder unless the caller names it), unpacking it on first use. The
    /// archive is unpacked into a temporary folder which is renamed into place only once complete and checked, so a crash or a
    /// concurrent load never leaves a half-written folder in use. The md5 of the archive is computed then
    /// and kept with the extraction; a mismatch with ArchiveMd5 is reported through warn (each load).
    let extractTo (warn: string -> unit) (root: string) (archive: string) : string =
        let archive = Path.GetFullPath archive
        let root = Path.GetFullPath root

        if not (File.Exists archive) then
            raise (
                FileNotFoundException(
                    sprintf "CIFAR-10 archive %s does not exist. Download %s from %s." archive ArchiveName Url,
                    archive
                )
            )

        let name = extractionName archive

        let existing =
            Some(Path.Combine(root, name))
            |> Option.filter (fun d -> File.Exists(Path.Combine(d, markerName)))

        let dir =
            match existing with
            | Some d -> d
            | None ->
                let rec unpackUnder roots (errors: string list) =
                    match roots with
                    | [] ->
                        raise (
                            IOException(
                                sprintf
                                    "CIFAR-10 archive %s could not be extracted: the folder to extract into is not writable (%s). Extract it by hand and pass the folder holding %s, name a writable folder to extract into, or set XDG_CACHE_HOME to a writable folder."
                                    archive
                                    (String.concat "; " (List.rev errors))
                                    BatchesFolder
                            )
                        )
                    | root :: rest ->
                        let temp =
                            Path.Combine(root, sprintf ".%s.%s.tmp" name (Guid.NewGuid().ToString "N"))

                        let created =
                            try
                                Directory.CreateDirectory root |> ignore
                                Directory.CreateDirectory temp |> ignore
                                Ok temp
                            with
                            | :? UnauthorizedAccessException
                            | :? IOException as e -> Error(sprintf "%s: %s" root e.Message)

                        match created with
                        | Error e -> unpackUnder rest (e :: errors)
                        | Ok temp ->
                            try
                                // Held while this process extracts: a killed extraction's lock dies with it,
                                // which is how a later one knows its folder is stale (removeStaleExtractions).
                                let lock =
                                    new FileStream(
                                        Path.Combine(temp, lockName),
                                        FileMode.CreateNew,
                                        FileAccess.Write,
                                        FileShare.None
                                    )

                                let batches =
                                    try
                                        unpack archive temp
                                    with _ ->
                                        lock.Dispose()
                                        reraise ()

                                try
                                    checkLayout batches
                                with
                                | :? FileNotFoundException as e ->
                                    raise (
                                        InvalidDataException(
                                            sprintf
                                                "CIFAR-10 archive %s does not hold the official layout: %s"
                                                archive
                                                e.Message,
                                            e
                                        )
                                    )
                                | :? InvalidDataException as e ->
                                    raise (InvalidDataException(sprintf "CIFAR-10 archive %s: %s" archive e.Message, e))

                                let md5 = md5Of archive

                                File.WriteAllLines(
                                    Path.Combine(temp, markerName),
                                    [| "archive=" + archive; "md5=" + md5 |]
                                )

                                lock.Dispose()
                                File.Delete(Path.Combine(temp, lockName))

                                let final = Path.Combine(root, name)

                                try
                                    Directory.Move(temp, final)
                                with :? IOException when File.Exists(Path.Combine(final, markerName)) ->
                                    // Another process finished the same extraction first: use its copy.
                                    tryDelete temp

                                final
                            with e ->
                                tryDelete temp
                                reraise ()

                // Only into the root the caller named or the per-user cache: never beside the archive,
                // whose folder may be a shared dataset folder (and root ignores read-only bits).
                removeStaleExtractions root name
                unpackUnder [ root ] []

        let md5 =
            File.ReadAllLines(Path.Combine(dir, markerName))
            |> Array.tryPick (fun l -> if l.StartsWith "md5=" then Some(l.Substring 4) else None)
            |> Option.defaultValue ""

        if md5 <> ArchiveMd5 then
            warn (mismatchWarning archive md5)

        Path.Combine(dir, BatchesFolder)

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
    /// warnings (an archive whose md5 differs from the official one) through warn.
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
    /// md5 differs from the official one) through warn. An archive is extracted under the per-user cache.
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
    /// under the per-user cache (DataLocation.cacheRoot()/cifar10), never into the archive's folder. An archive whose md5
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
                            "  - download %s from %s (md5 %s) into %s."
                            ArchiveName
                            Url
                            ArchiveMd5
                            (DataLocation.resolve None "cifar10")
                    ]

            raise (FileNotFoundException(msg, ArchiveName))
