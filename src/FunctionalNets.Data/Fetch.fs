namespace FunctionalNets.Nn

open System
open System.Buffers.Binary
open System.Globalization
open System.IO
open System.Net.Http
open System.Security.Cryptography
open System.Text
open System.Threading.Tasks

/// A file as its publisher serves it: where it comes from and the exact size and sha256 it must have.
type RemoteFile =
    {
        /// The file's name on disk, e.g. "train-images-idx3-ubyte.gz" (a plain name, no folders).
        FileName: string
        /// Where it is downloaded from: an https:// or http:// URL, or file:// for a local mirror.
        Url: string
        /// The exact size in bytes.
        Size: int64
        /// The lower-case hex sha256 of the whole file.
        Sha256: string
    }

/// What an archive extraction does with one regular file of the archive (tar member or gzip content).
[<RequireQualifiedAccess>]
type MemberChoice =
    /// Write it under this plain file name (no folders) into the extraction folder.
    | Keep of fileName: string
    /// Skip it without writing or allocating anything for it.
    | Skip
    /// Stop: the archive is not the expected one, for this reason.
    | Reject of problem: string

/// An archive extracted under a cache folder: the folder the members were written to and the sha256 of
/// the archive they came from (computed once, at extraction).
type Extraction =
    {
        /// The complete extraction folder (root/&lt;prefix&gt;&lt;id&gt;); the archive's members are written in it.
        Folder: string
        /// The lower-case hex sha256 of the archive, as recorded when it was extracted.
        ArchiveSha256: string
    }

/// The one place datasets are fetched, verified, extracted and cached: downloads stream into a temporary
/// file beside the target and are renamed into place only once their size and sha256 are right; archives
/// are extracted into a temporary folder under a cache root (never beside the archive, whose folder may be
/// read-only or shared) that is renamed into place only when complete; a complete extraction or a valid
/// file is reused by the next call. Where files go is DataLocation's business.
[<RequireQualifiedAccess>]
module Fetch =
    let private n0 (v: int64) =
        v.ToString("N0", CultureInfo.InvariantCulture)

    /// The lower-case hex sha256 of a file.
    let sha256Of (path: string) : string =
        use s =
            new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 <<< 16)

        Convert.ToHexStringLower(SHA256.HashData s)

    let private refetch (remote: RemoteFile) =
        sprintf "Delete it and download %s again from %s." remote.FileName remote.Url

    /// Why the file at path is not remote (a missing file, a wrong size or a wrong sha256), or None when it is.
    let problem (remote: RemoteFile) (path: string) : string option =
        if not (File.Exists path) then
            Some "it does not exist"
        else
            let size = FileInfo(path).Length

            if size < remote.Size then
                Some(sprintf "it is truncated: %s bytes, expected %s" (n0 size) (n0 remote.Size))
            elif size > remote.Size then
                Some(sprintf "it is too long: %s bytes, expected %s" (n0 size) (n0 remote.Size))
            else
                let actual = sha256Of path

                if actual <> remote.Sha256 then
                    Some(sprintf "its sha256 is %s, expected %s (same size, different contents)" actual remote.Sha256)
                else
                    None

    /// Checks the file at path against remote's size and sha256. A missing file raises FileNotFoundException,
    /// a short, long or altered one InvalidDataException; both name the dataset, the file, what was wrong and
    /// where to get the file again.
    let verify (dataset: string) (remote: RemoteFile) (path: string) : unit =
        match problem remote path with
        | None -> ()
        | Some _ when not (File.Exists path) ->
            raise (
                FileNotFoundException(
                    sprintf
                        "%s file %s does not exist. Download %s from %s (%s bytes, sha256 %s) into %s."
                        dataset
                        path
                        remote.FileName
                        remote.Url
                        (n0 remote.Size)
                        remote.Sha256
                        (Path.GetDirectoryName(Path.GetFullPath path)),
                    path
                )
            )
        | Some p -> raise (InvalidDataException(sprintf "%s file %s: %s. %s" dataset path p (refetch remote)))

    let private isFileUrl (url: string) =
        url.StartsWith("file:", StringComparison.OrdinalIgnoreCase)

    /// The bytes of url as a stream: a local file for file://, the response body for http(s).
    let private openSource (http: HttpClient) (url: string) : Stream =
        if isFileUrl url then
            new FileStream(Uri(url).LocalPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 <<< 16)
        else
            let response =
                http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead).GetAwaiter().GetResult()

            if not response.IsSuccessStatusCode then
                let status = response.StatusCode
                response.Dispose()
                raise (HttpRequestException(sprintf "the server answered %d %O" (int status) status))

            response.Content.ReadAsStream()

    let private unreachable (dataset: string) (remote: RemoteFile) (dir: string) (reason: string) (inner: exn) =
        IOException(
            sprintf
                "%s: could not download %s from %s (%s). Without a network, copy %s (%s bytes, sha256 %s) into %s by hand, set %s to a folder holding it, or pass its folder explicitly."
                dataset
                remote.FileName
                remote.Url
                reason
                remote.FileName
                (n0 remote.Size)
                remote.Sha256
                dir
                DataLocation.EnvironmentVariable,
            inner
        )

    // Copies at most remote.Size + 1 bytes of source into target, hashing them: a source that is longer than
    // the file must be is detected without reading it all. Returns the bytes copied and their sha256. A
    // failed read (a connection dropped mid-transfer) raises what `cut` makes of it.
    let private copyHashed (remote: RemoteFile) (cut: IOException -> exn) (source: Stream) (target: Stream) =
        use hash = IncrementalHash.CreateHash HashAlgorithmName.SHA256
        let buffer = Array.zeroCreate<byte>(1 <<< 16)
        let mutable total = 0L
        let mutable reading = true

        while reading do
            let want = int (Math.Min(int64 buffer.Length, remote.Size + 1L - total))

            let got =
                if want <= 0 then
                    0
                else
                    try
                        source.Read(buffer, 0, want)
                    with :? IOException as e ->
                        raise (cut e)

            if got = 0 then
                reading <- false
            else
                target.Write(buffer, 0, got)
                hash.AppendData(buffer, 0, got)
                total <- total + int64 got

        total, Convert.ToHexStringLower(hash.GetHashAndReset())

    /// The path of remote's file in dir, downloaded from remote.Url unless a valid copy (right size and
    /// sha256) is already there: then nothing is read from the network and the file is not touched. dir is
    /// created if needed. The download streams into a temporary file in dir that is renamed over the target
    /// only once its size and sha256 are right; on any failure it is deleted and an existing file is left as
    /// it was. Failures: IOException when the source cannot be reached or dir cannot be written (naming the
    /// file, the URL and what to do), InvalidDataException when what arrived has the wrong size or sha256.
    let downloadWith (http: HttpClient) (dataset: string) (remote: RemoteFile) (dir: string) : string =
        if
            String.IsNullOrWhiteSpace remote.FileName
            || Path.GetFileName remote.FileName <> remote.FileName
        then
            invalidArg
                "remote"
                (sprintf "Fetch.download: %s file name '%s' must be a plain file name." dataset remote.FileName)

        let dir = Path.GetFullPath dir
        let target = Path.Combine(dir, remote.FileName)

        if (problem remote target).IsNone then
            target
        else
            let temp =
                Path.Combine(dir, sprintf ".%s.%s.download" remote.FileName (Guid.NewGuid().ToString "N"))

            try
                try
                    Directory.CreateDirectory dir |> ignore

                    let size, sha =
                        use source = openSource http remote.Url
                        use out = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None)

                        let cut (e: IOException) =
                            unreachable dataset remote dir ("the transfer broke off: " + e.Message) e :> exn

                        copyHashed remote cut source out

                    let arrived what =
                        InvalidDataException(
                            sprintf
                                "%s: the download of %s from %s %s. Nothing was kept; try again, or download it by hand into %s."
                                dataset
                                remote.FileName
                                remote.Url
                                what
                                dir
                        )

                    if size <> remote.Size then
                        raise (
                            arrived (
                                sprintf
                                    "gave %s%s bytes, expected %s (%s)"
                                    (if size > remote.Size then "more than " else "")
                                    (n0 (Math.Min(size, remote.Size)))
                                    (n0 remote.Size)
                                    (if size < remote.Size then
                                         "the transfer was cut short"
                                     else
                                         "it is not the published file")
                            )
                        )

                    if sha <> remote.Sha256 then
                        raise (
                            arrived (
                                sprintf
                                    "has sha256 %s, expected %s (the right size but other contents)"
                                    sha
                                    remote.Sha256
                            )
                        )

                    File.Move(temp, target, true)
                    target
                with
                | :? HttpRequestException as e -> raise (unreachable dataset remote dir e.Message e)
                | :? TaskCanceledException as e -> raise (unreachable dataset remote dir "timed out" e)
                | :? FileNotFoundException
                | :? DirectoryNotFoundException as e when isFileUrl remote.Url ->
                    raise (unreachable dataset remote dir e.Message e)
                | :? UnauthorizedAccessException as e ->
                    raise (
                        IOException(
                            sprintf
                                "%s: cannot write %s into %s (%s). Pass a writable folder, or set %s to one."
                                dataset
                                remote.FileName
                                dir
                                e.Message
                                DataLocation.EnvironmentVariable,
                            e
                        )
                    )
            finally
                if File.Exists temp then
                    File.Delete temp

    /// downloadWith over a client made for this call (a 30-minute timeout: the files are up to ~170 MB).
    let download (dataset: string) (remote: RemoteFile) (dir: string) : string =
        use http = new HttpClient(Timeout = TimeSpan.FromMinutes 30.0)
        downloadWith http dataset remote dir

    // ---------------------------------------------------------------- extraction

    let private markerName = "source.txt"

    /// The file an extraction in progress holds open (FileShare.None) inside its temporary folder.
    let private lockName = ".extracting"

    let private tryDelete (dir: string) =
        try
            if Directory.Exists dir then
                Directory.Delete(dir, true)
        with _ ->
            ()

    /// A name that changes when the archive at this path is replaced (path, length and write time). The
    /// trailing "sha256" marks this marker format: folders from before it recorded an md5 and are not reused.
    let private extractionName (prefix: string) (archive: string) =
        let info = FileInfo archive

        let id =
            sprintf "%s|%d|%d|sha256" info.FullName info.Length info.LastWriteTimeUtc.Ticks
            |> Encoding.UTF8.GetBytes
            |> SHA256.HashData
            |> Convert.ToHexStringLower

        prefix + id[..15]

    /// Removes the temporary folders ".<name>.<guid>.tmp" under root that extractions killed mid-way left
    /// behind: those whose lock file nobody holds any more. A live extraction's folder is left alone.
    let private removeStale (root: string) (name: string) =
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

    let private readMarker (folder: string) =
        File.ReadAllLines(Path.Combine(folder, markerName))
        |> Array.tryPick (fun l -> if l.StartsWith "sha256=" then Some(l.Substring 7) else None)
        |> Option.defaultValue ""

    /// The extraction of archive under root (created if needed): the folder root/&lt;prefix&gt;&lt;id&gt;, where id
    /// changes when the archive is replaced. The first call runs unpack archive temp into a fresh temporary
    /// folder under root while holding a lock file in it, records the archive's path and sha256, and renames
    /// the folder into place; unpack raises to reject the archive, and then nothing is left under root. Later
    /// calls (and other processes) reuse the complete folder; temporary folders of killed extractions are
    /// removed. Nothing is ever written beside the archive. A root that cannot be written raises IOException
    /// naming the archive and the remedies.
    let extractOnce
        (dataset: string)
        (prefix: string)
        (unpack: string -> string -> unit)
        (root: string)
        (archive: string)
        : Extraction =
        let archive = Path.GetFullPath archive
        let root = Path.GetFullPath root

        if not (File.Exists archive) then
            raise (FileNotFoundException(sprintf "%s archive %s does not exist." dataset archive, archive))

        let name = extractionName prefix archive
        let final = Path.Combine(root, name)

        if File.Exists(Path.Combine(final, markerName)) then
            {
                Folder = final
                ArchiveSha256 = readMarker final
            }
        else
            removeStale root name

            let temp =
                Path.Combine(root, sprintf ".%s.%s.tmp" name (Guid.NewGuid().ToString "N"))

            try
                Directory.CreateDirectory temp |> ignore
            with
            | :? UnauthorizedAccessException
            | :? IOException as e ->
                raise (
                    IOException(
                        sprintf
                            "%s archive %s could not be extracted: the folder to extract into, %s, is not writable (%s). Name a writable folder to extract into, set XDG_CACHE_HOME to one, or extract the archive by hand and pass the extracted folder."
                            dataset
                            archive
                            root
                            e.Message,
                        e
                    )
                )

            try
                // Held while this process extracts: a killed extraction's lock dies with it, which is how a
                // later one knows its folder is stale (removeStale).
                let sha =
                    use _lock =
                        new FileStream(
                            Path.Combine(temp, lockName),
                            FileMode.CreateNew,
                            FileAccess.Write,
                            FileShare.None
                        )

                    unpack archive temp
                    sha256Of archive

                File.Delete(Path.Combine(temp, lockName))
                File.WriteAllLines(Path.Combine(temp, markerName), [| "archive=" + archive; "sha256=" + sha |])

                try
                    Directory.Move(temp, final)
                with :? IOException when File.Exists(Path.Combine(final, markerName)) ->
                    // Another process finished the same extraction first: use its copy.
                    tryDelete temp

                {
                    Folder = final
                    ArchiveSha256 = readMarker final
                }
            with _ ->
                tryDelete temp
                reraise ()

    /// How unpacking failures read: the dataset, the archive, what was wrong and where to get it again.
    let private unpackProblem (dataset: string) (remote: RemoteFile) (archive: string) (what: string) =
        InvalidDataException(
            sprintf
                "%s archive %s could not be unpacked: %s. It is truncated, corrupt or not the official %s; download it again from %s."
                dataset
                archive
                what
                remote.FileName
                remote.Url
        )

    let private checkName (dataset: string) (name: string) =
        if
            String.IsNullOrWhiteSpace name
            || Path.GetFileName name <> name
            || name = "."
            || name = ".."
        then
            invalidArg "choose" (sprintf "%s: extraction name '%s' must be a plain file name." dataset name)

    let private openGzip (dataset: string) (remote: RemoteFile) (archive: string) (maxContent: int64) =
        let file =
            new FileStream(archive, FileMode.Open, FileAccess.Read, FileShare.Read, 1 <<< 16)

        let limit = Math.Min(maxContent, Gzip.maxInflated file.Length)

        try
            new VerifiedGzipStream(file, limit, fun m -> unpackProblem dataset remote archive m :> exn)
        with
        | :? InvalidDataException ->
            file.Dispose()
            reraise ()
        | e ->
            file.Dispose()
            raise (unpackProblem dataset remote archive e.Message)

    /// Inflates the gzip file archive (at most maxContent bytes, and no more than its size can hold; CRC-32
    /// and length checked against its trailer) into folder under the name choose gives the file name without
    /// ".gz" and the trailer's size. For extractOnce's unpack; failures raise InvalidDataException naming the
    /// archive and where to get it again.
    let unpackGz
        (dataset: string)
        (remote: RemoteFile)
        (maxContent: int64)
        (choose: string -> int64 -> MemberChoice)
        (archive: string)
        (folder: string)
        : unit =
        use gz = openGzip dataset remote archive maxContent
        let inner = string (Path.GetFileName archive)

        let inner =
            if inner.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) then
                inner[.. inner.Length - 4]
            else
                inner

        match choose inner (int64 gz.DeclaredSize) with
        | MemberChoice.Skip -> ()
        | MemberChoice.Reject p -> raise (unpackProblem dataset remote archive p)
        | MemberChoice.Keep name ->
            checkName dataset name
            use out = File.Create(Path.Combine(folder, name))
            gz.CopyTo out

    /// Unpacks the regular members of the tar.gz archive that choose keeps (given each member's path and
    /// size, before a byte of it is written) into folder, under the plain names it gives: no member can land
    /// outside folder. The gzip stream is inflated with a limit (maxContent, and what the archive's size can
    /// hold) and its CRC-32 and length are checked against its trailer. The tar stream (ustar, with pax and
    /// GNU extended headers) is read block by block: headers are checksummed, and extended headers are held
    /// in memory only up to 64 KiB, so no header's claim sets an allocation. A name kept twice is an error.
    /// For extractOnce's unpack; failures raise InvalidDataException naming the archive and the remedy.
    let unpackTarGz
        (dataset: string)
        (remote: RemoteFile)
        (maxContent: int64)
        (choose: string -> int64 -> MemberChoice)
        (archive: string)
        (folder: string)
        : unit =
        let written = Collections.Generic.HashSet<string>()
        let problem = unpackProblem dataset remote archive
        use gz = openGzip dataset remote archive maxContent
        let fail (what: string) : 'a = raise (problem what)

        let corrupt (e: exn) : 'a =
            raise (
                InvalidDataException(
                    sprintf
                        "%s archive %s could not be unpacked (%s): it is truncated or not a gzip-compressed tar file. Download %s again from %s."
                        dataset
                        archive
                        e.Message
                        remote.FileName
                        remote.Url,
                    e
                )
            )

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
                        let regular = kind = '0' || kind = char 0 || kind = '7'

                        let choice =
                            if regular then
                                choose (name.TrimEnd '/') size
                            else
                                MemberChoice.Skip

                        match choice with
                        | MemberChoice.Reject p -> fail (sprintf "its member %s: %s" name p)
                        | MemberChoice.Keep keep ->
                            checkName dataset keep

                            if not (written.Add keep) then
                                fail (sprintf "it holds %s twice" keep)

                            do
                                use out = File.Create(Path.Combine(folder, keep))
                                copy size out name
                        | MemberChoice.Skip ->
                            // Skipped through a fixed buffer: nothing is allocated for it.
                            copy size null name

                        copy (padding size) null (name + "'s padding")

            // The tar stream ends with zero blocks before the gzip data does: read to the end so the
            // trailer's CRC-32 and length are checked (an archive cut inside its trailer fails here).
            while gz.Read(buffer, 0, buffer.Length) > 0 do
                ()
        with
        | :? EndOfStreamException
        | :? FormatException as e -> corrupt e
        // Span and decoder misuse by a hostile header; a bad name from choose is the caller's error and passes.
        | :? ArgumentException as e when e.ParamName <> "choose" -> corrupt e
