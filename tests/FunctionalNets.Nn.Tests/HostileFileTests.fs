/// Issue 13: hostile files and killed processes. Each test reproduces one finding of the fuzzing and
/// fault campaign: bounded readers, no silent truncation, errors that name the file, checkpoint metadata
/// checked on load, no leftovers after killed saves, and no writes beside the inputs.
module FunctionalNets.Tests.Nn.HostileFileTests

open System
open System.Buffers.Binary
open System.Diagnostics
open System.Formats.Tar
open System.IO
open System.IO.Compression
open System.Text
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn

let private gzip = TestFiles.gzip

let private withTemp f = TestFiles.withTemp "fn-hostile-" f

/// The gzip of `header` followed by `zeros` zero bytes, written in chunks (no large buffer here).
let private gzipBomb (header: byte[]) (zeros: int64) =
    use ms = new MemoryStream()

    do
        use gz = new GZipStream(ms, CompressionLevel.Fastest)
        gz.Write(header, 0, header.Length)
        let chunk = Array.zeroCreate<byte>(1 <<< 20)
        let mutable left = zeros

        while left > 0L do
            let n = int (min left (int64 chunk.Length))
            gz.Write(chunk, 0, n)
            left <- left - int64 n

    ms.ToArray()

/// The bytes f allocates on this thread (the readers run on the calling thread).
let private allocatedBy (f: unit -> unit) =
    let before = GC.GetAllocatedBytesForCurrentThread()
    f ()
    GC.GetAllocatedBytesForCurrentThread() - before

let private be32 (v: int) =
    let b = Array.zeroCreate<byte> 4
    BinaryPrimitives.WriteInt32BigEndian(Span b, v)
    b

let private idx (dims: int list) (data: byte[]) =
    Array.concat [ [| 0uy; 0uy; 8uy; byte dims.Length |]; yield! dims |> List.map be32; data ]

let private mnistDir = lazy (DataLocation.findMnist None)

let private shippedLabelsGz () =
    File.ReadAllBytes(Path.Combine(mnistDir.Value, "t10k-labels-idx1-ubyte.gz"))

/// Runs f expecting an InvalidDataException whose message names path and holds every fragment.
let private rejects (path: string) (fragments: string list) (f: unit -> unit) =
    let e = Expects.throws<InvalidDataException> "f" f
    Expect.stringContains e.Message path "e.Message"

    for x in fragments do
        Expect.stringContains e.Message x "e.Message"

// ---------------------------------------------------------------- MNIST / IDX

let ``MNIST: a labels .gz cut to 104 bytes fails without allocating more than a few times its size`` () =
    withTemp (fun d ->
        let gz = shippedLabelsGz ()
        let path = Path.Combine(d, "t10k-labels-idx1-ubyte.gz")

        // Cut to 104 bytes, its last four bytes read as a size of 955,675,592; and cut by 104 bytes.
        for cut in [ 104; gz.Length - 104 ] do
            File.WriteAllBytes(path, gz[.. cut - 1])

            let bytes =
                allocatedBy (fun () -> rejects path [] (fun () -> Mnist.readIdx true path |> ignore))

            // The file is at most 4.4 kB and declares 10,008 bytes of content.
            Expect.isTrue (bytes < 2_000_000L) (sprintf "allocated %d bytes" bytes))

let ``MNIST: gzip bombs fail at the first byte past what the header promises`` () =
    withTemp (fun d ->
        // 10,000 labels promised, 64 MB of zeros delivered, the trailer honest about the 64 MB.
        let bomb = gzipBomb (idx [ 10000 ] [||]) 64_000_000L
        let path = Path.Combine(d, "labels-idx1-ubyte.gz")
        File.WriteAllBytes(path, bomb)

        let bytes =
            allocatedBy (fun () -> rejects path [ "10008" ] (fun () -> Mnist.readIdx false path |> ignore))

        Expect.isTrue (bytes < 2_000_000L) (sprintf "allocated %d bytes" bytes)

        // The same with the trailer's size forged to what the header promises: inflating stops at byte 10,009.
        let forged = Array.copy bomb
        BinaryPrimitives.WriteUInt32LittleEndian(Span(forged, forged.Length - 4, 4), 10008u)
        File.WriteAllBytes(path, forged)

        let bytes =
            allocatedBy (fun () -> rejects path [ "10008" ] (fun () -> Mnist.readIdx false path |> ignore))

        Expect.isTrue (bytes < 2_000_000L) (sprintf "allocated %d bytes" bytes))

let ``MNIST: a .gz cut inside its trailer, or with a wrong CRC-32, is rejected`` () =
    withTemp (fun d ->
        let gz = shippedLabelsGz ()
        let path = Path.Combine(d, "t10k-labels-idx1-ubyte.gz")
        // Cut inside the length field: the data and the CRC are whole, the length is not.
        File.WriteAllBytes(path, gz[.. gz.Length - 3])
        rejects path [ "gzip" ] (fun () -> Mnist.readIdx false path |> ignore)
        // Cut right after the deflate data: no trailer at all.
        File.WriteAllBytes(path, gz[.. gz.Length - 9])
        rejects path [ "gzip" ] (fun () -> Mnist.readIdx false path |> ignore)
        let crc = Array.copy gz
        crc[crc.Length - 8] <- crc[crc.Length - 8] ^^^ 1uy
        File.WriteAllBytes(path, crc)
        rejects path [ "gzip" ] (fun () -> Mnist.readIdx false path |> ignore))

let ``IDX: negative dims are rejected even when their product is positive`` () =
    withTemp (fun d ->
        let path = Path.Combine(d, "odd-idx2-ubyte")
        File.WriteAllBytes(path, idx [ -2; -3 ] (Array.zeroCreate 6))
        rejects path [ "negative" ] (fun () -> Mnist.readIdx false path |> ignore))

let ``IDX: dims whose product wraps past 2^64 are rejected`` () =
    withTemp (fun d ->
        // 65536^4 = 2^64, which wraps to 0 in 64-bit arithmetic: an empty file claimed to be huge.
        let path = Path.Combine(d, "huge-idx4-ubyte")
        File.WriteAllBytes(path, idx [ 65536; 65536; 65536; 65536 ] [||])
        rejects path [ "MaxIdxBytes" ] (fun () -> Mnist.readIdx false path |> ignore)
        File.WriteAllBytes(path + ".gz", gzip (idx [ 65536; 65536; 65536; 65536 ] [||]))
        rejects (path + ".gz") [ "MaxIdxBytes" ] (fun () -> Mnist.readIdx false (path + ".gz") |> ignore))

// ---------------------------------------------------------------- text

let private sampleText =
    String.replicate 200 "In the beginning God created the heaven and the earth. "

let ``Text: truncated .txt.gz files raise instead of loading a shorter text`` () =
    withTemp (fun d ->
        let gz = gzip (Encoding.UTF8.GetBytes sampleText)
        let path = Path.Combine(d, "corpus.txt.gz")

        for cut in [ 1; 2; 10; 20; gz.Length / 2; gz.Length - 9; gz.Length - 4; gz.Length - 1 ] do
            File.WriteAllBytes(path, gz[.. cut - 1])
            rejects path [] (fun () -> Text.load path |> ignore)

        File.WriteAllBytes(path, gz)
        Expect.equal (Text.load path) sampleText "Text.load path")

let ``Text: gzip bytes under a plain .txt name are rejected`` () =
    withTemp (fun d ->
        let path = Path.Combine(d, "corpus.txt")
        File.WriteAllBytes(path, gzip (Encoding.UTF8.GetBytes sampleText))
        rejects path [ "gzip"; ".gz" ] (fun () -> Text.load path |> ignore))

let ``Text: invalid UTF-8 raises naming the byte offset`` () =
    withTemp (fun d ->
        let path = Path.Combine(d, "corpus.txt")
        let bytes = Array.append (Encoding.UTF8.GetBytes "héllo") [| 0xffuy; 0x41uy |]
        File.WriteAllBytes(path, bytes)
        rejects path [ "UTF-8"; "offset 6" ] (fun () -> Text.load path |> ignore)
        File.WriteAllBytes(path + ".gz", gzip bytes)
        rejects (path + ".gz") [ "UTF-8"; "offset 6" ] (fun () -> Text.load (path + ".gz") |> ignore))

let ``Text: the lenient option replaces invalid UTF-8`` () =
    withTemp (fun d ->
        let path = Path.Combine(d, "corpus.txt")
        File.WriteAllBytes(path, Array.append (Encoding.UTF8.GetBytes "ab") [| 0xffuy; 0x41uy |])
        Expect.equal (Text.loadWith true path) "ab\uFFFDA" "Text.loadWith true path")

let ``Text: a .txt.gz bomb fails fast without a large allocation`` () =
    withTemp (fun d ->
        let path = Path.Combine(d, "bomb.txt.gz")
        // 600 MB of spaces would pass Text.MaxBytes: rejected from the trailer before inflating.
        File.WriteAllBytes(path, gzipBomb [||] 600_000_000L)

        let bytes =
            allocatedBy (fun () -> rejects path [] (fun () -> Text.load path |> ignore))

        Expect.isTrue (bytes < 4_000_000L) (sprintf "allocated %d bytes" bytes)

        // 64 MB with the trailer forged to say 100 bytes: inflating stops at byte 101.
        let forged = gzipBomb [||] 64_000_000L
        BinaryPrimitives.WriteUInt32LittleEndian(Span(forged, forged.Length - 4, 4), 100u)
        File.WriteAllBytes(path, forged)

        let bytes =
            allocatedBy (fun () -> rejects path [] (fun () -> Text.load path |> ignore))

        Expect.isTrue (bytes < 4_000_000L) (sprintf "allocated %d bytes" bytes))

let ``Text.windows rejects a window larger than the corpus instead of a negative count`` () =
    let ids = Array.init 100 id

    for block in [ Int32.MaxValue; Int32.MaxValue - 1; 100 ] do
        Expects.throws<ArgumentException> "Text.windows block 1 ids" (fun () -> Text.windows block 1 ids |> ignore)
        |> ignore

    Expect.equal ((Text.windows 99 1 ids).Count) 1 "(Text.windows 99 1 ids).Count"

// ---------------------------------------------------------------- CIFAR-10

let private cifarBatchBytes = 3073 * 10000

let private writeTar (path: string) (members: (string * byte[]) list) =
    use f = File.Create path
    use gz = new GZipStream(f, CompressionLevel.Fastest)
    use tar = new TarWriter(gz, TarEntryFormat.Pax, false)

    for name, data in members do
        let e = PaxTarEntry(TarEntryType.RegularFile, name)
        e.DataStream <- new MemoryStream(data)
        tar.WriteEntry e

let private officialMembers () =
    let batch = Array.zeroCreate<byte> cifarBatchBytes

    [
        for f in Cifar10.trainFiles @ [ Cifar10.TestFile ] -> "cifar-10-batches-bin/" + f, batch
        yield "cifar-10-batches-bin/" + Cifar10.MetaFile, Encoding.ASCII.GetBytes(String.Join("\n", Cifar10.ClassNames))
    ]

let ``CIFAR-10: an archive cut inside its gzip trailer is rejected`` () =
    withTemp (fun d ->
        let good = Path.Combine(d, "good.tar.gz")
        writeTar good (officialMembers ())
        let bytes = File.ReadAllBytes good

        for cut in [ 2; 4; 6 ] do
            let archive = Path.Combine(d, sprintf "cut%d" cut, Cifar10.ArchiveName)
            Directory.CreateDirectory(Path.GetDirectoryName archive) |> ignore
            File.WriteAllBytes(archive, bytes[.. bytes.Length - 1 - cut])
            rejects archive [ "gzip" ] (fun () -> Cifar10.loadWith ignore archive |> ignore)
            // Nothing written beside it.
            Expect.equal
                (Directory.GetFileSystemEntries(Path.GetDirectoryName archive))
                [| archive |]
                "Directory.GetFileSystemEntries(Path.GetDirectoryName archive)")

let ``CIFAR-10: a tar member larger than the format allows is rejected before it is written`` () =
    withTemp (fun d ->
        let archive = Path.Combine(d, "src", Cifar10.ArchiveName)
        Directory.CreateDirectory(Path.GetDirectoryName archive) |> ignore
        // A first batch file of 40 MB (the format's is 30,730,000 bytes).
        writeTar archive [ "cifar-10-batches-bin/data_batch_1.bin", Array.zeroCreate 40_000_000 ]

        rejects archive [ "data_batch_1.bin"; "40,000,000"; "30,730,000" ] (fun () ->
            Cifar10.loadWith ignore archive |> ignore)

        Expect.equal
            (Directory.GetFileSystemEntries(Path.GetDirectoryName archive))
            [| archive |]
            "Directory.GetFileSystemEntries(Path.GetDirectoryName archive)")

let ``CIFAR-10: loading an archive never writes into the archive's folder`` () =
    withTemp (fun d ->
        let src = Directory.CreateDirectory(Path.Combine(d, "dataset")).FullName
        let archive = Path.Combine(src, Cifar10.ArchiveName)
        writeTar archive (officialMembers ())
        let batches = Cifar10.batchesDirOf ignore archive

        try
            Expect.equal
                ((Cifar10.loadWith ignore archive).Test.Count)
                10000
                "(Cifar10.loadWith ignore archive).Test.Count"
            // Only the archive is in its folder: the extraction went to the per-user cache.
            Expect.equal (Directory.GetFileSystemEntries src) [| archive |] "Directory.GetFileSystemEntries src"
            Expect.stringStarts batches (DataLocation.cacheRoot ()) "batches"
        finally
            // Remove this test's extraction from the cache.
            let extraction = Path.GetDirectoryName batches

            if extraction.StartsWith(DataLocation.cacheRoot ()) && Directory.Exists extraction then
                Directory.Delete(extraction, true))

let ``CIFAR-10: an archive is extracted only under the folder the caller names`` () =
    withTemp (fun d ->
        let src = Directory.CreateDirectory(Path.Combine(d, "dataset")).FullName
        let archive = Path.Combine(src, Cifar10.ArchiveName)
        writeTar archive (officialMembers ())
        let root = Path.Combine(d, "extracted")
        let c = Cifar10.loadFrom ignore root archive
        Expect.equal c.Test.Count 10000 "c.Test.Count"
        Expect.equal (Directory.GetFileSystemEntries src) [| archive |] "Directory.GetFileSystemEntries src"

        let only =
            Expects.single "Directory.GetDirectories root" (Directory.GetDirectories root)

        Expect.stringStarts (Path.GetFileName only) "cifar-10-extracted-" "Path.GetFileName only"

        Expect.equal
            (Cifar10.batchesDirIn ignore root archive)
            (Path.Combine(only, Cifar10.BatchesFolder))
            "Cifar10.batchesDirIn ignore root archive")

// ---------------------------------------------------------------- safetensors

let private le64 (v: int64) =
    let b = Array.zeroCreate<byte> 8
    BinaryPrimitives.WriteInt64LittleEndian(Span b, v)
    b

let private stFile (header: byte[]) (data: byte[]) =
    Array.concat [ le64 (int64 header.Length); header; data ]

let private stJson (json: string) (data: byte[]) =
    stFile (Encoding.UTF8.GetBytes json) data

let private stRejects (bytes: byte[]) (fragments: string list) =
    withTemp (fun d ->
        let path = Path.Combine(d, "t.safetensors")
        File.WriteAllBytes(path, bytes)
        rejects path fragments (fun () -> SafeTensors.read path |> ignore))

let private stAccepts (bytes: byte[]) =
    withTemp (fun d ->
        let path = Path.Combine(d, "t.safetensors")
        File.WriteAllBytes(path, bytes)
        SafeTensors.read path)

let ``safetensors: invalid UTF-8 and lone surrogates in names, dtypes and metadata name the file`` () =
    let withByte (prefix: string) (b: byte) (suffix: string) =
        Array.concat [ Encoding.UTF8.GetBytes prefix; [| b |]; Encoding.UTF8.GetBytes suffix ]

    let entry = """{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"""
    stRejects (stFile (withByte "{\"x" 0xffuy ("\":" + entry + "}")) (Array.zeroCreate 4)) [ "UTF-8" ]
    stRejects (stJson ("{\"x\\ud800\":" + entry + "}") (Array.zeroCreate 4)) [ "surrogate" ]

    stRejects
        (stJson """{"x":{"dtype":"F\ud800","shape":[1],"data_offsets":[0,4]}}""" (Array.zeroCreate 4))
        [ "surrogate" ]

    stRejects
        (stJson ("{\"__metadata__\":{\"k\\udc00\":\"v\"},\"x\":" + entry + "}") (Array.zeroCreate 4))
        [ "surrogate" ]

    stRejects
        (stJson ("{\"__metadata__\":{\"k\":\"v\\ud800\"},\"x\":" + entry + "}") (Array.zeroCreate 4))
        [ "surrogate" ]

let ``safetensors: a non-number in shape or data_offsets names the file`` () =
    for shape, offsets in
        [
            "[\"1\"]", "[0,4]"
            "[null]", "[0,4]"
            "[1]", "[0,\"4\"]"
            "[1]", "[{},4]"
            "[[1]]", "[0,4]"
        ] do
        stRejects
            (stJson
                (sprintf """{"x":{"dtype":"F32","shape":%s,"data_offsets":%s}}""" shape offsets)
                (Array.zeroCreate 4))
            [ "non-negative integers" ]

let ``safetensors: holes between tensors and trailing bytes are rejected`` () =
    stRejects
        (stJson
            """{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"y":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"""
            (Array.zeroCreate 12))
        [ "belong to no tensor" ]

    stRejects (stJson """{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""" (Array.zeroCreate 8)) [ "trailing" ]
    // A hole at the start: the first tensor must begin at data offset 0.
    stRejects
        (stJson """{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""" (Array.zeroCreate 8))
        [ "belong to no tensor" ]

let ``safetensors: duplicate keys and fields are rejected`` () =
    stRejects
        (stJson """{"x":{"dtype":"F32","dtype":"I32","shape":[1],"data_offsets":[0,4]}}""" (Array.zeroCreate 4))
        [ "'dtype' twice" ]

    stRejects
        (stJson
            """{"__metadata__":{"a":"1","a":"2"},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"""
            (Array.zeroCreate 4))
        [ "'a' twice" ]

    stRejects
        (stJson
            """{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"""
            (Array.zeroCreate 8))
        [ "'x' twice" ]

let ``safetensors: unknown fields at any depth and zero-element tensors with large dims are accepted`` () =
    let deep = String.replicate 40 "[" + "1" + String.replicate 40 "]"

    let ts, _ =
        stAccepts (
            stJson
                (sprintf
                    """{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":{"a":%s,"b":{"c":"d"}}},"e":{"dtype":"F32","shape":[2000000000,2000000000,2000000000,0],"data_offsets":[4,4]}}"""
                    deep)
                (Array.zeroCreate 4)
        )

    Expect.equal (List.map fst ts) [ "x"; "e" ] "List.map fst ts"
    Expect.equal ((snd ts[1]).Numel) 0 "(snd ts[1]).Numel"

// ---------------------------------------------------------------- checkpoint metadata

let private smallState () =
    {
        Params = PTree.node [ "w", Leaf(Tensor.ofArray ([| 1.0f; 2.0f |], [ 2 ])) ]
        State = PTree.empty
        Opt = PTree.empty
        Step = 3L
        Key = Key.create 3L
        LrScale = 1.0
    }

/// A checkpoint of smallState with the metadata entry `key` replaced by `value`.
let private withEntry (path: string) (key: string) (value: string) =
    Checkpoint.save path (smallState ()) Map.empty
    let tensors, meta = SafeTensors.read path
    SafeTensors.write path tensors (meta |> Map.add key value)

let ``checkpoint metadata is checked on load and errors name the file and the entry`` () =
    withTemp (fun d ->
        let path = Path.Combine(d, "c.safetensors")

        for key, value in
            [
                "lr_scale", "NaN"
                "lr_scale", "Infinity"
                "lr_scale", "-Infinity"
                "lr_scale", "-0.5"
                "step", "-1"
                "format", "someone-else/2"
            ] do
            withEntry path key value
            rejects path [ key ] (fun () -> Checkpoint.load path |> ignore)
            rejects path [ key ] (fun () -> Checkpoint.loadInto path (smallState ()) |> ignore)

        // A bare "params" tensor beside "params.x", in a file without the structure entry.
        SafeTensors.write
            path
            [ "params", Tensor.zeros [ 1 ]; "params.x", Tensor.zeros [ 1 ] ]
            (Map.ofList [ "format", Checkpoint.FormatTag; "step", "0"; "key", "0,0"; "lr_scale", "1" ])

        rejects path [ "'params'" ] (fun () -> Checkpoint.load path |> ignore))

// ---------------------------------------------------------------- killed saves

let ``after killed saves the next save or load leaves the checkpoint and nothing else`` () =
    withTemp (fun d ->
        let path = Path.Combine(d, "model.safetensors")
        let other = Path.Combine(d, "other.safetensors")
        let good = smallState ()
        Checkpoint.save path good Map.empty
        Checkpoint.save other good Map.empty
        // Three writers killed inside their first save: with its temp file open, complete, and open again.
        let points = [ "opened", 1; "written", 1; "opened", 1 ]

        let killAll () =
            let temps =
                points
                |> List.map (fun point ->
                    match CheckpointWriterProcess.killAt path point with
                    | Some tmp -> tmp
                    | None -> failtestf "the writer named no temp file at %A" point)

            // Each killed save left its temp file, until the next save (the next writer's) removed it.
            let last = List.last temps
            Expect.isTrue (File.Exists last) (sprintf "%s, the last killed save's temp file, is there" last)

            for t in temps |> List.take (temps.Length - 1) do
                Expect.isFalse (File.Exists t) (sprintf "%s was left behind by a killed save" t)

            Expect.equal (Directory.GetFiles(d).Length) 3 "files: the two checkpoints and the last temp file"

        killAll ()
        let loaded, _ = Checkpoint.load path
        Expect.equal loaded.Step 3L "loaded.Step"
        Expect.equal (Directory.GetFiles d |> Array.sort) [| path; other |] "Directory.GetFiles d |> Array.sort"

        killAll ()
        Checkpoint.save path good Map.empty
        Expect.equal (Directory.GetFiles d |> Array.sort) [| path; other |] "Directory.GetFiles d |> Array.sort"

        // A temp file a live writer holds is not touched by another save of the same path.
        use held =
            new FileStream(
                Path.Combine(d, ".model.safetensors.0123456789abcdef0123456789abcdef.tmp"),
                FileMode.CreateNew,
                FileAccess.Write,
                FileShare.None
            )

        Checkpoint.save path good Map.empty
        Expect.equal (Directory.GetFiles(d).Length) 3 "Directory.GetFiles(d).Length")

// ---------------------------------------------------------------- more hostile archives and checkpoints

/// A 512-byte ustar header block for a member of the given type and declared size.
let private tarHeader (name: string) (typeflag: char) (size: int64) =
    let h = Array.zeroCreate<byte> 512

    let put (at: int) (s: string) =
        Encoding.ASCII.GetBytes(s).CopyTo(h, at)

    put 0 name
    put 100 "0000644\000"
    put 108 "0000000\000"
    put 116 "0000000\000"
    put 124 (Convert.ToString(size, 8).PadLeft(11, '0') + "\000")
    put 136 "00000000000\000"
    h[156] <- byte typeflag
    put 257 "ustar\00000"
    put 148 "        "
    let sum = h |> Array.sumBy int
    put 148 (Convert.ToString(sum, 8).PadLeft(6, '0') + "\000 ")
    h

let ``CIFAR-10: tar headers claiming huge extended headers or long names fail without allocating them`` () =
    withTemp (fun d ->
        let src = Directory.CreateDirectory(Path.Combine(d, "src")).FullName
        let archive = Path.Combine(src, Cifar10.ArchiveName)
        let root = Path.Combine(d, "extracted")

        for typeflag in [ 'x'; 'g'; 'L'; 'K' ] do
            // The header claims 1 GiB (and 8 GiB) of header data; 2 kB follow.
            for size in [ 1L <<< 30; 8L <<< 30 ] do
                let tar =
                    Array.concat
                        [
                            tarHeader "cifar-10-batches-bin/x" typeflag size
                            Array.create 2048 (byte 'a')
                        ]

                File.WriteAllBytes(archive, gzip tar)

                let bytes =
                    allocatedBy (fun () ->
                        rejects archive [] (fun () -> Cifar10.loadFrom ignore root archive |> ignore))

                Expect.isTrue (bytes < 4_000_000L) (sprintf "type %c, size %d: allocated %d bytes" typeflag size bytes)
                Expect.equal (Directory.GetFileSystemEntries src) [| archive |] "Directory.GetFileSystemEntries src")

let ``checkpoint: a malformed structure entry names the file instead of an undocumented exception`` () =
    withTemp (fun d ->
        let path = Path.Combine(d, "c.safetensors")

        for structure in
            [
                "[]"
                "1"
                "{\"params\":[[\"w\\ud800\",null]],\"state\":[],\"opt\":[]}"
                "{\"params\":[[1,null]],\"state\":[],\"opt\":[]}"
                "{\"params\":{},\"state\":[],\"opt\":[]}"
            ] do
            withEntry path "structure" structure
            rejects path [ "structure" ] (fun () -> Checkpoint.load path |> ignore))

let ``CIFAR-10: the temporary folder of a killed extraction is removed by the next one, a live one is kept`` () =
    withTemp (fun d ->
        let src = Directory.CreateDirectory(Path.Combine(d, "src")).FullName
        let archive = Path.Combine(src, Cifar10.ArchiveName)
        writeTar archive (officialMembers ())
        let root = Path.Combine(d, "extracted")
        // The extraction's name, from a first extraction; then its folder is removed again.
        let batches = Cifar10.batchesDirIn ignore root archive
        let name = Path.GetFileName(Path.GetDirectoryName batches)
        Directory.Delete(Path.Combine(root, name), true)

        let tempFolder (guid: string) (locked: bool) =
            let t =
                Directory.CreateDirectory(Path.Combine(root, sprintf ".%s.%s.tmp" name guid)).FullName

            File.WriteAllBytes(Path.Combine(t, "data_batch_1.bin"), Array.zeroCreate 1000)

            let lock =
                new FileStream(Path.Combine(t, ".extracting"), FileMode.CreateNew, FileAccess.Write, FileShare.None)

            if locked then
                Some lock
            else
                lock.Dispose()
                None

        // A killed extraction (its lock file no longer held) and a live one (held).
        tempFolder "0123456789abcdef0123456789abcdef" false |> ignore
        use live = (tempFolder "fedcba9876543210fedcba9876543210" true).Value

        Expect.equal
            ((Cifar10.loadFrom ignore root archive).Test.Count)
            10000
            "(Cifar10.loadFrom ignore root archive).Test.Count"

        Expect.equal
            (Directory.GetDirectories root |> Array.map Path.GetFileName |> Array.sort)
            [| "." + name + ".fedcba9876543210fedcba9876543210.tmp"; name |]
            "Directory.GetDirectories root |> Array.map Path.GetFileName |> Array.sort")

/// The tests of this module.
let tests =
    testList
        "HostileFile"
        [
            testCase
                "MNIST: a labels .gz cut to 104 bytes fails without allocating more than a few times its size"
                ``MNIST: a labels .gz cut to 104 bytes fails without allocating more than a few times its size``
            testCase
                "MNIST: gzip bombs fail at the first byte past what the header promises"
                ``MNIST: gzip bombs fail at the first byte past what the header promises``
            testCase
                "MNIST: a .gz cut inside its trailer, or with a wrong CRC-32, is rejected"
                ``MNIST: a .gz cut inside its trailer, or with a wrong CRC-32, is rejected``
            testCase
                "IDX: negative dims are rejected even when their product is positive"
                ``IDX: negative dims are rejected even when their product is positive``
            testCase
                "IDX: dims whose product wraps past 2^64 are rejected"
                ``IDX: dims whose product wraps past 2^64 are rejected``
            testCase
                "Text: truncated .txt.gz files raise instead of loading a shorter text"
                ``Text: truncated .txt.gz files raise instead of loading a shorter text``
            testCase
                "Text: gzip bytes under a plain .txt name are rejected"
                ``Text: gzip bytes under a plain .txt name are rejected``
            testCase
                "Text: invalid UTF-8 raises naming the byte offset"
                ``Text: invalid UTF-8 raises naming the byte offset``
            testCase
                "Text: the lenient option replaces invalid UTF-8"
                ``Text: the lenient option replaces invalid UTF-8``
            testCase
                "Text: a .txt.gz bomb fails fast without a large allocation"
                ``Text: a .txt.gz bomb fails fast without a large allocation``
            testCase
                "Text.windows rejects a window larger than the corpus instead of a negative count"
                ``Text.windows rejects a window larger than the corpus instead of a negative count``
            testCase
                "CIFAR-10: an archive cut inside its gzip trailer is rejected"
                ``CIFAR-10: an archive cut inside its gzip trailer is rejected``
            testCase
                "CIFAR-10: a tar member larger than the format allows is rejected before it is written"
                ``CIFAR-10: a tar member larger than the format allows is rejected before it is written``
            testCase
                "CIFAR-10: loading an archive never writes into the archive's folder"
                ``CIFAR-10: loading an archive never writes into the archive's folder``
            testCase
                "CIFAR-10: an archive is extracted only under the folder the caller names"
                ``CIFAR-10: an archive is extracted only under the folder the caller names``
            testCase
                "safetensors: invalid UTF-8 and lone surrogates in names, dtypes and metadata name the file"
                ``safetensors: invalid UTF-8 and lone surrogates in names, dtypes and metadata name the file``
            testCase
                "safetensors: a non-number in shape or data_offsets names the file"
                ``safetensors: a non-number in shape or data_offsets names the file``
            testCase
                "safetensors: holes between tensors and trailing bytes are rejected"
                ``safetensors: holes between tensors and trailing bytes are rejected``
            testCase
                "safetensors: duplicate keys and fields are rejected"
                ``safetensors: duplicate keys and fields are rejected``
            testCase
                "safetensors: unknown fields at any depth and zero-element tensors with large dims are accepted"
                ``safetensors: unknown fields at any depth and zero-element tensors with large dims are accepted``
            testCase
                "checkpoint metadata is checked on load and errors name the file and the entry"
                ``checkpoint metadata is checked on load and errors name the file and the entry``
            testCase
                "after killed saves the next save or load leaves the checkpoint and nothing else"
                ``after killed saves the next save or load leaves the checkpoint and nothing else``
            testCase
                "CIFAR-10: tar headers claiming huge extended headers or long names fail without allocating them"
                ``CIFAR-10: tar headers claiming huge extended headers or long names fail without allocating them``
            testCase
                "checkpoint: a malformed structure entry names the file instead of an undocumented exception"
                ``checkpoint: a malformed structure entry names the file instead of an undocumented exception``
            testCase
                "CIFAR-10: the temporary folder of a killed extraction is removed by the next one, a live one is kept"
                ``CIFAR-10: the temporary folder of a killed extraction is removed by the next one, a live one is kept``
        ]
