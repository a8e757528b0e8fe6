module FunctionalNets.Tests.Nn.FetchTests

open System
open System.Formats.Tar
open System.IO
open System.Net
open System.Net.Sockets
open System.Security.Cryptography
open System.Threading.Tasks
open Expecto
open FunctionalNets.Testing
open FunctionalNets.Nn

// Fetch (download, verify, extract, cache) with local files only: file:// URLs, and a listener on 127.0.0.1
// for the HTTP paths. Expected sizes and checksums are computed here with SHA256.HashData, not by Fetch.

let private withTemp f = TestFiles.withTemp "fn-fetch-" f

let private hex (bytes: byte[]) =
    Convert.ToHexStringLower(SHA256.HashData bytes)

/// Some bytes that are not all alike, so a swapped or shifted copy has another checksum.
let private payload (n: int) =
    Array.init n (fun i -> byte ((i * 31 + i / 7) % 251))

let private remoteOf (name: string) (url: string) (bytes: byte[]) : RemoteFile =
    {
        FileName = name
        Url = url
        Size = bytes.LongLength
        Sha256 = hex bytes
    }

/// A published file: the bytes written into folder `source`, and the RemoteFile naming them by file:// URL.
let private published (d: string) (name: string) (bytes: byte[]) =
    let source = Path.Combine(d, "source")
    Directory.CreateDirectory source |> ignore
    let path = Path.Combine(source, name)
    File.WriteAllBytes(path, bytes)
    remoteOf name (Uri(path).AbsoluteUri) bytes

let private entries (dir: string) =
    if Directory.Exists dir then
        Directory.GetFileSystemEntries dir
        |> Array.map (fun p -> string (Path.GetFileName p))
        |> Array.sort
    else
        [||]

// ---------------------------------------------------------------- verify

let ``verify names a missing file with where to get it`` () =
    withTemp (fun d ->
        let remote = remoteOf "a.bin" "https://example.org/a.bin" (payload 100)
        let path = Path.Combine(d, "a.bin")

        let e =
            Expects.throws<FileNotFoundException> "Fetch.verify \"Demo\" remote path" (fun () ->
                Fetch.verify "Demo" remote path)

        Expect.equal e.FileName path "e.FileName"

        for x in [ "Demo"; path; "https://example.org/a.bin"; "100 bytes"; remote.Sha256 ] do
            Expect.stringContains e.Message x "e.Message")

let ``verify rejects a short file, a long one and one with other contents, naming sizes and checksums`` () =
    withTemp (fun d ->
        let bytes = payload 1000
        let remote = remoteOf "a.bin" "https://example.org/a.bin" bytes
        let path = Path.Combine(d, "a.bin")

        let rejects (content: byte[]) (fragments: string list) =
            File.WriteAllBytes(path, content)

            let e =
                Expects.throws<InvalidDataException> "Fetch.verify \"Demo\" remote path" (fun () ->
                    Fetch.verify "Demo" remote path)

            for x in path :: "https://example.org/a.bin" :: fragments do
                Expect.stringContains e.Message x "e.Message"

        rejects bytes[..899] [ "truncated"; "900 bytes"; "expected 1,000" ]
        rejects (Array.append bytes [| 0uy |]) [ "too long"; "1,001 bytes" ]
        let altered = Array.copy bytes
        altered[500] <- altered[500] + 1uy
        rejects altered [ hex altered; remote.Sha256 ]

        File.WriteAllBytes(path, bytes)
        Fetch.verify "Demo" remote path
        Expect.equal (Fetch.problem remote path) None "Fetch.problem remote path")

// ---------------------------------------------------------------- download

let ``download copies a file:// source into place, and a second call uses the cached copy`` () =
    withTemp (fun d ->
        let bytes = payload 200_000
        let remote = published d "a.bin" bytes
        let dir = Path.Combine(d, "cache", "demo")

        let path = Fetch.download "Demo" remote dir
        Expect.equal path (Path.Combine(dir, "a.bin")) "path"
        Expect.equal (File.ReadAllBytes path) bytes "File.ReadAllBytes path"
        Expect.equal (entries dir) [| "a.bin" |] "entries dir"

        // The source is gone: only the cache can answer, and the file is not rewritten.
        File.Delete(Path.Combine(d, "source", "a.bin"))
        let stamp = File.GetLastWriteTimeUtc path
        Expect.equal (Fetch.download "Demo" remote dir) path "Fetch.download \"Demo\" remote dir"
        Expect.equal (File.GetLastWriteTimeUtc path) stamp "File.GetLastWriteTimeUtc path"
        Expect.equal (entries dir) [| "a.bin" |] "entries dir")

let ``a download of the wrong size or checksum keeps nothing and leaves an existing file as it was`` () =
    withTemp (fun d ->
        let bytes = payload 5000
        let good = published d "a.bin" bytes
        let dir = Path.Combine(d, "cache")
        Directory.CreateDirectory dir |> ignore
        let old = [| 1uy; 2uy; 3uy |]
        File.WriteAllBytes(Path.Combine(dir, "a.bin"), old)

        let fails (remote: RemoteFile) (fragments: string list) =
            let e =
                Expects.throws<InvalidDataException> "Fetch.download \"Demo\" remote dir" (fun () ->
                    Fetch.download "Demo" remote dir |> ignore)

            for x in "a.bin" :: remote.Url :: fragments do
                Expect.stringContains e.Message x "e.Message"

            Expect.equal (entries dir) [| "a.bin" |] "entries dir"

            Expect.equal
                (File.ReadAllBytes(Path.Combine(dir, "a.bin")))
                old
                "File.ReadAllBytes(Path.Combine(dir, \"a.bin\"))"

        // The publisher promises more bytes than arrive: a transfer cut short.
        fails { good with Size = 6000L } [ "cut short"; "5,000"; "6,000" ]
        // Fewer bytes promised than the source holds: the copy stops one byte past the promise.
        fails { good with Size = 4000L } [ "more than 4,000"; "not the published file" ]
        // The right size, other contents.
        let other = hex [| 9uy |]
        fails { good with Sha256 = other } [ hex bytes; other ])

let ``an unreachable source names the file, the URL and what to do, and writes nothing`` () =
    withTemp (fun d ->
        let dir = Path.Combine(d, "cache")
        // A port that was free a moment ago and is closed now: the connection is refused at once.
        let port =
            let l = new TcpListener(IPAddress.Loopback, 0)
            l.Start()
            let p = (l.LocalEndpoint :?> IPEndPoint).Port
            l.Stop()
            p

        for url in
            [
                sprintf "http://127.0.0.1:%d/a.bin" port
                Uri(Path.Combine(d, "nowhere", "a.bin")).AbsoluteUri
            ] do
            let remote = remoteOf "a.bin" url (payload 10)

            let e =
                Expects.throws<IOException> "Fetch.download \"Demo\" remote dir" (fun () ->
                    Fetch.download "Demo" remote dir |> ignore)

            for x in [ "Demo"; "a.bin"; url; dir; DataLocation.EnvironmentVariable ] do
                Expect.stringContains e.Message x "e.Message"

            Expect.isEmpty (entries dir) "entries dir")

/// Serves each request to http://127.0.0.1:port/ with respond, for as many requests as given.
let private serve (requests: int) (respond: HttpListenerResponse -> unit) (test: string -> unit) =
    let port =
        let l = new TcpListener(IPAddress.Loopback, 0)
        l.Start()
        let p = (l.LocalEndpoint :?> IPEndPoint).Port
        l.Stop()
        p

    let prefix = sprintf "http://127.0.0.1:%d/" port
    use listener = new HttpListener()
    listener.Prefixes.Add prefix
    listener.Start()

    let server =
        Task.Run(fun () ->
            for _ in 1..requests do
                let ctx = listener.GetContext()
                respond ctx.Response)

    try
        test prefix
    finally
        listener.Stop()

    server.Wait()

let ``over HTTP: an error status and a connection dropped mid-body are named, and nothing is kept`` () =
    withTemp (fun d ->
        let dir = Path.Combine(d, "cache")
        let bytes = payload 4096

        serve
            1
            (fun r ->
                r.StatusCode <- 404
                r.Close())
            (fun prefix ->
                let remote = remoteOf "a.bin" (prefix + "a.bin") bytes

                let e =
                    Expects.throws<IOException> "Fetch.download \"Demo\" remote dir" (fun () ->
                        Fetch.download "Demo" remote dir |> ignore)

                Expect.stringContains e.Message "404" "e.Message"
                Expect.stringContains e.Message remote.Url "e.Message"
                Expect.isEmpty (entries dir) "entries dir")

        serve
            1
            (fun r ->
                // Promise the whole file, send half, then drop the connection.
                r.ContentLength64 <- bytes.LongLength
                r.OutputStream.Write(bytes, 0, 2048)
                r.OutputStream.Flush()
                r.Abort())
            (fun prefix ->
                let remote = remoteOf "a.bin" (prefix + "a.bin") bytes

                let e =
                    Expects.throwsAny<IOException> "Fetch.download \"Demo\" remote dir" (fun () ->
                        Fetch.download "Demo" remote dir |> ignore)

                Expect.stringContains e.Message remote.Url "e.Message"
                Expect.isEmpty (entries dir) "entries dir")

        serve
            1
            (fun r ->
                r.ContentLength64 <- bytes.LongLength
                r.OutputStream.Write(bytes, 0, bytes.Length)
                r.Close())
            (fun prefix ->
                let remote = remoteOf "a.bin" (prefix + "a.bin") bytes
                let path = Fetch.download "Demo" remote dir
                Expect.equal (File.ReadAllBytes path) bytes "File.ReadAllBytes path"
                Expect.equal (entries dir) [| "a.bin" |] "entries dir"))

// ---------------------------------------------------------------- extraction

let private gzipFile (path: string) (write: Stream -> unit) =
    use f = File.Create path
    use gz = new Compression.GZipStream(f, Compression.CompressionLevel.Fastest)
    write gz

let private tarGz (path: string) (members: (string * byte[]) list) =
    gzipFile path (fun gz ->
        use tar = new TarWriter(gz, TarEntryFormat.Pax, false)

        for name, data in members do
            let e = PaxTarEntry(TarEntryType.RegularFile, name)
            e.DataStream <- new MemoryStream(data)
            tar.WriteEntry e)

let private keepBin (path: string) (_: int64) =
    let name = string (Path.GetFileName path)

    if name.EndsWith ".bin" then
        MemberChoice.Keep name
    else
        MemberChoice.Skip

let ``a tar.gz is extracted once into the cache, never beside the archive, and reused by the next call`` () =
    withTemp (fun d ->
        let source = Path.Combine(d, "shared")
        Directory.CreateDirectory source |> ignore
        let archive = Path.Combine(source, "demo.tar.gz")
        let a, b = payload 3000, payload 70_000
        tarGz archive [ "demo/a.bin", a; "demo/readme.txt", payload 10; "demo/b.bin", b ]

        let remote =
            remoteOf "demo.tar.gz" "https://example.org/demo.tar.gz" (File.ReadAllBytes archive)

        let root = Path.Combine(d, "cache")
        let mutable unpacked = 0

        let unpack arc folder =
            unpacked <- unpacked + 1
            Fetch.unpackTarGz "Demo" remote (1L <<< 20) keepBin arc folder

        let x = Fetch.extractOnce "Demo" "demo-" unpack root archive
        Expect.equal unpacked 1 "unpacked"
        Expect.equal x.ArchiveSha256 (hex (File.ReadAllBytes archive)) "x.ArchiveSha256"
        Expect.equal (Path.GetDirectoryName x.Folder) root "Path.GetDirectoryName x.Folder"
        Expect.stringStarts (Path.GetFileName x.Folder) "demo-" "Path.GetFileName x.Folder"

        Expect.equal
            (File.ReadAllBytes(Path.Combine(x.Folder, "a.bin")))
            a
            "File.ReadAllBytes(Path.Combine(x.Folder, \"a.bin\"))"

        Expect.equal
            (File.ReadAllBytes(Path.Combine(x.Folder, "b.bin")))
            b
            "File.ReadAllBytes(Path.Combine(x.Folder, \"b.bin\"))"

        Expect.isFalse
            (File.Exists(Path.Combine(x.Folder, "readme.txt")))
            "File.Exists(Path.Combine(x.Folder, \"readme.txt\"))"
        // Only the finished folder under root; nothing was written beside the archive.
        Expect.equal (entries root) [| Path.GetFileName x.Folder |] "entries root"
        Expect.equal (entries source) [| "demo.tar.gz" |] "entries source"

        let again = Fetch.extractOnce "Demo" "demo-" unpack root archive
        Expect.equal unpacked 1 "unpacked"
        Expect.equal again x "again")

let ``an interrupted or rejected extraction leaves nothing under the cache root`` () =
    withTemp (fun d ->
        let archive = Path.Combine(d, "demo.tar.gz")
        tarGz archive [ "a.bin", payload 100_000; "b.bin", payload 100_000 ]
        let bytes = File.ReadAllBytes archive
        let remote = remoteOf "demo.tar.gz" "https://example.org/demo.tar.gz" bytes
        let root = Path.Combine(d, "cache")

        let fails (unpack: string -> string -> unit) =
            Expects.throwsAny<Exception> "Fetch.extractOnce \"Demo\" \"demo-\" unpack root archive" (fun () ->
                Fetch.extractOnce "Demo" "demo-" unpack root archive |> ignore)
            |> ignore

            Expect.isEmpty (entries root) "entries root"

        // A crash half-way through writing a member.
        fails (fun _ folder ->
            File.WriteAllBytes(Path.Combine(folder, "a.bin"), payload 10)
            raise (IOException "disk gone"))

        // The archive cut in the middle of its second member.
        let cut = Path.Combine(d, "cut.tar.gz")
        File.WriteAllBytes(cut, bytes[.. bytes.Length * 3 / 4])

        let e =
            Expects.throws<InvalidDataException>
                "Fetch.extractOnce \"Demo\" \"demo-\" (Fetch.unpackTarGz \"Demo\" remote (1L <<< 20) keepBin) ..."
                (fun () ->
                    Fetch.extractOnce "Demo" "demo-" (Fetch.unpackTarGz "Demo" remote (1L <<< 20) keepBin) root cut
                    |> ignore)

        Expect.stringContains e.Message cut "e.Message"
        Expect.stringContains e.Message remote.Url "e.Message"
        Expect.isEmpty (entries root) "entries root"

        // A member the caller rejects by its size.
        fails (Fetch.unpackTarGz "Demo" remote (1L <<< 20) (fun _ _ -> MemberChoice.Reject "too big"))

        // A name with a folder in it is the caller's error, not a corrupt archive.
        Expects.throws<ArgumentException>
            "Fetch.extractOnce \"Demo\" \"demo-\" (Fetch.unpackTarGz \"Demo\" remote (1L <<< 20) (fun _ _ ..."
            (fun () ->
                Fetch.extractOnce
                    "Demo"
                    "demo-"
                    (Fetch.unpackTarGz "Demo" remote (1L <<< 20) (fun _ _ -> MemberChoice.Keep "../a.bin"))
                    root
                    archive
                |> ignore)
        |> ignore

        Expect.isEmpty (entries root) "entries root")

let ``a .gz file is extracted under its name without .gz, and a truncated one is rejected`` () =
    withTemp (fun d ->
        let data = payload 50_000
        let gz = Path.Combine(d, "corpus.txt.gz")
        gzipFile gz (fun s -> s.Write(data, 0, data.Length))

        let remote =
            remoteOf "corpus.txt.gz" "https://example.org/corpus.txt.gz" (File.ReadAllBytes gz)

        let root = Path.Combine(d, "cache")
        let seen = ResizeArray<string * int64>()

        let choose name size =
            seen.Add((name, size))
            MemberChoice.Keep name

        let x =
            Fetch.extractOnce "Demo" "corpus-" (Fetch.unpackGz "Demo" remote (1L <<< 20) choose) root gz

        Expect.equal (List.ofSeq seen) [ "corpus.txt", 50_000L ] "List.ofSeq seen"

        Expect.equal
            (File.ReadAllBytes(Path.Combine(x.Folder, "corpus.txt")))
            data
            "File.ReadAllBytes(Path.Combine(x.Folder, \"corpus.txt\"))"

        let bytes = File.ReadAllBytes gz
        let cut = Path.Combine(d, "cut.txt.gz")
        File.WriteAllBytes(cut, bytes[.. bytes.Length - 9])

        Expects.throws<InvalidDataException>
            "Fetch.extractOnce \"Demo\" \"corpus-\" (Fetch.unpackGz \"Demo\" remote (1L <<< 20) choose) ro..."
            (fun () ->
                Fetch.extractOnce "Demo" "corpus-" (Fetch.unpackGz "Demo" remote (1L <<< 20) choose) root cut
                |> ignore)
        |> ignore

        Expect.equal (entries root) [| Path.GetFileName x.Folder |] "entries root")

/// The tests of this module.
let tests =
    testList
        "Fetch"
        [
            testCase
                "verify names a missing file with where to get it"
                ``verify names a missing file with where to get it``
            testCase
                "verify rejects a short file, a long one and one with other contents, naming sizes and checksums"
                ``verify rejects a short file, a long one and one with other contents, naming sizes and checksums``
            testCase
                "download copies a file:// source into place, and a second call uses the cached copy"
                ``download copies a file:// source into place, and a second call uses the cached copy``
            testCase
                "a download of the wrong size or checksum keeps nothing and leaves an existing file as it was"
                ``a download of the wrong size or checksum keeps nothing and leaves an existing file as it was``
            testCase
                "an unreachable source names the file, the URL and what to do, and writes nothing"
                ``an unreachable source names the file, the URL and what to do, and writes nothing``
            testCase
                "over HTTP: an error status and a connection dropped mid-body are named, and nothing is kept"
                ``over HTTP: an error status and a connection dropped mid-body are named, and nothing is kept``
            testCase
                "a tar.gz is extracted once into the cache, never beside the archive, and reused by the next call"
                ``a tar.gz is extracted once into the cache, never beside the archive, and reused by the next call``
            testCase
                "an interrupted or rejected extraction leaves nothing under the cache root"
                ``an interrupted or rejected extraction leaves nothing under the cache root``
            testCase
                "a .gz file is extracted under its name without .gz, and a truncated one is rejected"
                ``a .gz file is extracted under its name without .gz, and a truncated one is rejected``
        ]
