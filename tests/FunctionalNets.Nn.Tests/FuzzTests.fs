/// Issue 13, item 7: the fuzzing campaign as seeded tests, one per reader. Each case mutates a valid file
/// (bit flips, cuts, forged size fields, inserted or appended bytes; for gzip files also the content under
/// the compression) and asserts that the reader either rejects it with its documented exception type and a
/// message naming the file, or accepts only what the format's rules allow; and that it allocates no more
/// than a small multiple of the input (plus the content the file validly declares).
module FunctionalNets.Tests.Nn.FuzzTests

open System
open System.Buffers.Binary
open System.Formats.Tar
open System.IO
open System.IO.Compression
open System.Text
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn

let private gzip = TestFiles.gzip

let private withTemp f = TestFiles.withTemp "fn-fuzz-" f

/// CRC-32 bit by bit: an oracle independent of the library's table-driven one.
let private crc32 (data: byte[]) =
    let mutable c = 0xFFFFFFFFu

    for b in data do
        c <- c ^^^ uint32 b

        for _ in 0..7 do
            c <-
                if c &&& 1u <> 0u then
                    0xEDB88320u ^^^ (c >>> 1)
                else
                    c >>> 1

    ~~~c

/// Whether the gzip file is one member whose trailer matches content (what an accepted file must be).
let private gzipHolds (file: byte[]) (content: byte[]) =
    file.Length >= 20
    && file[0] = 0x1fuy
    && file[1] = 0x8buy
    && BinaryPrimitives.ReadUInt32LittleEndian(ReadOnlySpan(file, file.Length - 8, 4)) = crc32 content
    && BinaryPrimitives.ReadUInt32LittleEndian(ReadOnlySpan(file, file.Length - 4, 4)) = uint32 content.Length

let private extremes =
    [| 0u; 1u; 0x7FFFFFFFu; 0x80000000u; 0xFFFFFFFFu; 0xFFFFu; 0x10000u; 255u |]

/// One random mutation of bytes: flips, a cut, a forged 32-bit field, inserted or appended bytes.
let private mutate (rng: Random) (bytes: byte[]) : byte[] =
    let b = Array.copy bytes

    let at () =
        if b.Length = 0 then 0 else rng.Next b.Length

    match rng.Next 7 with
    | 0 ->
        for _ in 1 .. 1 + rng.Next 4 do
            if b.Length > 0 then
                let i = at ()
                b[i] <- b[i] ^^^ byte (1 <<< rng.Next 8)

        b
    | 1 -> b[.. rng.Next(b.Length + 1) - 1]
    | 2 when b.Length >= 4 ->
        let i = rng.Next(b.Length - 3)
        let v = extremes[rng.Next extremes.Length]

        if rng.Next 2 = 0 then
            BinaryPrimitives.WriteUInt32BigEndian(Span(b, i, 4), v)
        else
            BinaryPrimitives.WriteUInt32LittleEndian(Span(b, i, 4), v)

        b
    | 3 ->
        let i = rng.Next(b.Length + 1)
        let extra = Array.init (1 + rng.Next 16) (fun _ -> byte (rng.Next 256))
        Array.concat [ b[.. i - 1]; extra; b[i..] ]
    | 4 -> Array.append b (Array.init (1 + rng.Next 64) (fun _ -> byte (rng.Next 256)))
    | 5 when b.Length > 8 ->
        // Near the end, where gzip keeps its trailer.
        let i = b.Length - 1 - rng.Next 8
        b[i] <- b[i] ^^^ byte (1 + rng.Next 255)
        b
    | _ ->
        let i = at ()

        if b.Length > 0 then
            b[i] <- byte (rng.Next 256)

        b

/// Runs read on the file; a rejection must be one of the documented exception types and name the file.
/// Returns Some result when the file is accepted. Asserts the allocation bound.
let private attempt (path: string) (bound: int64) (read: unit -> 'T) : 'T option =
    let before = GC.GetAllocatedBytesForCurrentThread()

    let result =
        try
            Some(read ())
        with
        | :? InvalidDataException as e ->
            Expect.isTrue (e.Message.Contains path) (sprintf "the message does not name %s: %s" path e.Message)
            None
        | e -> failwithf "%s: undocumented %s: %s" path (e.GetType().FullName) e.Message

    let allocated = GC.GetAllocatedBytesForCurrentThread() - before
    Expect.isTrue (allocated <= bound) (sprintf "%s: allocated %d bytes, bound %d" path allocated bound)
    result

// ---------------------------------------------------------------- IDX / MNIST

let private idxOf (dims: int list) (data: byte[]) =
    Array.concat
        [
            [| 0uy; 0uy; 8uy; byte dims.Length |]
            yield!
                dims
                |> List.map (fun d ->
                    let b = Array.zeroCreate<byte> 4
                    BinaryPrimitives.WriteInt32BigEndian(Span b, d)
                    b)
            data
        ]

/// What the IDX rules accept: the magic, non-negative dims, and exactly their product of data bytes.
let private idxValid (content: byte[]) (dims: int[]) (data: byte[]) =
    content.Length >= 4
    && content[0] = 0uy
    && content[1] = 0uy
    && content[2] = 8uy
    && int content[3] = dims.Length
    && dims |> Array.forall (fun d -> d >= 0)
    && int64 data.Length = (dims |> Array.fold (fun a d -> a * int64 d) 1L)
    && content.Length = 4 + 4 * dims.Length + data.Length
    && content[4 + 4 * dims.Length ..] = data

let ``fuzz: the IDX reader rejects or accepts only valid files, within bounded memory`` () =
    withTemp (fun d ->
        let rng = Random 13
        let pixels = Array.init (40 * 28 * 28) (fun i -> byte ((i * 7919) % 251))
        let images = idxOf [ 40; 28; 28 ] pixels
        let labels = idxOf [ 40 ] (Array.init 40 (fun i -> byte (i % 10)))
        let mutable accepted = 0

        for case in 0..299 do
            let content = if case % 3 = 0 then labels else images
            let gz = case % 4 <> 3

            let file, name =
                match case % 4 with
                | 0
                | 1 -> mutate rng (gzip content), "f-idx-ubyte.gz"
                | 2 -> gzip (mutate rng content), "f-idx-ubyte.gz"
                | _ -> mutate rng content, "f-idx-ubyte"

            let path = Path.Combine(d, sprintf "%03d-%s" case name)
            File.WriteAllBytes(path, file)
            let bound = 8L * (int64 file.Length + int64 content.Length) + 1_000_000L

            match attempt path bound (fun () -> Mnist.readIdx false path) with
            | Some(dims, data) ->
                accepted <- accepted + 1

                let plain =
                    if gz then
                        use s = new GZipStream(new MemoryStream(file), CompressionMode.Decompress)
                        use ms = new MemoryStream()
                        s.CopyTo ms
                        ms.ToArray()
                    else
                        file

                Expect.isTrue (idxValid plain dims data) (sprintf "%s was accepted but breaks the IDX rules" path)

                Expect.isTrue (not gz || gzipHolds file plain) (sprintf "%s was accepted with a bad gzip trailer" path)
            | None -> ()

            File.Delete path

        Expect.isTrue (accepted > 0) "no case was accepted, so the oracle was never exercised")

// ---------------------------------------------------------------- text

let ``fuzz: the text loader rejects or accepts only valid files, within bounded memory`` () =
    withTemp (fun d ->
        let rng = Random 17

        let words =
            [|
                "the"
                "LORD"
                "said"
                "unto"
                "Moses"
                "café"
                "naïve"
                "Ελλάδα"
                "日本"
                "\n"
            |]

        let text = String.Join(" ", Array.init 3000 (fun _ -> words[rng.Next words.Length]))
        let utf8 = Encoding.UTF8.GetBytes text
        let mutable accepted = 0

        for case in 0..299 do
            let gz = case % 3 <> 2

            let file, content =
                match case % 3 with
                | 0 -> mutate rng (gzip utf8), None
                | 1 ->
                    let c = mutate rng utf8
                    gzip c, Some c
                | _ -> mutate rng utf8, None

            let path = Path.Combine(d, sprintf "%03d.txt%s" case (if gz then ".gz" else ""))
            File.WriteAllBytes(path, file)
            let bound = 8L * (int64 file.Length + int64 utf8.Length) + 1_000_000L

            match attempt path bound (fun () -> Text.load path) with
            | Some s ->
                accepted <- accepted + 1

                let plain =
                    if gz then
                        use z = new GZipStream(new MemoryStream(file), CompressionMode.Decompress)
                        use ms = new MemoryStream()
                        z.CopyTo ms
                        ms.ToArray()
                    else
                        file

                content |> Option.iter (fun c -> Expect.equal plain c "plain")

                Expect.isTrue (Unicode.Utf8.IsValid(ReadOnlySpan plain)) (sprintf "%s: invalid UTF-8 accepted" path)

                Expect.isTrue (not gz || gzipHolds file plain) (sprintf "%s was accepted with a bad gzip trailer" path)

                Expect.isTrue
                    (gz || not (plain.Length >= 2 && plain[0] = 0x1fuy && plain[1] = 0x8buy))
                    "gz || not (plain.Length >= 2 && plain[0] = 0x1fuy && plain[1] = 0x8buy)"

                Expect.equal s (Encoding.UTF8.GetString plain) "s"
            | None -> ()

            File.Delete path

        Expect.isTrue (accepted > 0) "no case was accepted, so the oracle was never exercised")

// ---------------------------------------------------------------- safetensors and checkpoints

/// What the safetensors rules accept, checked independently of the reader: the header length fits, the
/// header is UTF-8 JSON, and the tensors' byte ranges tile the data from 0 to the end of the file.
let private safetensorsValid (file: byte[]) (tensors: (string * Tensor) list) =
    if file.Length < 8 then
        false
    else
        let n = BinaryPrimitives.ReadInt64LittleEndian(ReadOnlySpan(file, 0, 8))

        n >= 0L
        && n <= int64 file.Length - 8L
        && Unicode.Utf8.IsValid(ReadOnlySpan(file, 8, int n))
        && (tensors |> List.sumBy (fun (_, t) -> int64 t.Numel * int64 t.DType.SizeInBytes)) =
            int64 file.Length - 8L - n
        && (tensors |> List.map fst |> List.distinct |> List.length) = tensors.Length

/// Mutations aimed at the JSON header: kinds swapped, keys doubled, escapes and bytes that are not UTF-8.
let private mutateHeader (rng: Random) (json: string) =
    let swaps =
        [|
            "\"shape\":[", "\"shape\":[\"1\","
            "\"data_offsets\":[", "\"data_offsets\":[null,"
            "\"dtype\":", "\"dtype\":\"F32\",\"dtype\":"
            "\"F32\"", "\"F\\ud800\""
            "\"w\"", "\"w\\udfff\""
            "\"step\":", "\"step\":\"1\",\"step\":"
            "\"data_offsets\":[", "\"extra\":{\"a\":[[[{}]]]},\"data_offsets\":["
            "]", ",0]"
            "\"lr_scale\":\"1\"", "\"lr_scale\":\"NaN\""
            "\"step\":\"5\"", "\"step\":\"-5\""
            "\"params.b\"", "\"params\""
        |]

    let a, b = swaps[rng.Next swaps.Length]
    let i = json.IndexOf(a, StringComparison.Ordinal)

    if i < 0 then
        json
    else
        json.Substring(0, i) + b + json.Substring(i + a.Length)

let ``fuzz: the safetensors and checkpoint readers reject or accept only valid files, within bounded memory`` () =
    withTemp (fun d ->
        let rng = Random 19
        let basePath = Path.Combine(d, "base.safetensors")

        let state =
            {
                Params =
                    PTree.node
                        [
                            "w", Leaf(Tensor.ofArray (Array.init 64 float32, [ 8; 8 ]))
                            "b", Leaf(Tensor.ofArray ([| 1.0; 2.0 |], [ 2 ]))
                        ]
                State = PTree.node [ "n", Leaf(Tensor.ofArray ([| 3L |], [ 1 ])) ]
                Opt = PTree.node [ "m", Leaf(Tensor.ofArray ([| true; false |], [ 2 ])) ]
                Step = 5L
                Key = Key.create 5L
                LrScale = 1.0
            }

        Checkpoint.save basePath state (Map.ofList [ "note", "ß" ])
        let good = File.ReadAllBytes basePath

        let headerLen =
            int (BinaryPrimitives.ReadInt64LittleEndian(ReadOnlySpan(good, 0, 8)))

        let json = Encoding.UTF8.GetString(good, 8, headerLen)
        let data = good[8 + headerLen ..]
        let mutable accepted = 0

        for case in 0..399 do
            let file =
                match case % 4 with
                | 0 ->
                    let h = Encoding.UTF8.GetBytes(mutateHeader rng json)
                    let len = Array.zeroCreate<byte> 8
                    BinaryPrimitives.WriteInt64LittleEndian(Span len, int64 h.Length)
                    Array.concat [ len; h; data ]
                | 1 ->
                    // Bytes of the header only: it stays the same length, so offsets still line up.
                    let b = Array.copy good
                    let i = 8 + rng.Next headerLen
                    b[i] <- byte (rng.Next 256)
                    b
                | _ -> mutate rng good

            let path = Path.Combine(d, sprintf "%03d.safetensors" case)
            File.WriteAllBytes(path, file)
            let bound = 8L * int64 file.Length + 1_000_000L

            match attempt path bound (fun () -> SafeTensors.read path) with
            | Some(tensors, _) ->
                accepted <- accepted + 1

                Expect.isTrue (safetensorsValid file tensors) (sprintf "%s was accepted but breaks the rules" path)
            | None -> ()

            match attempt path bound (fun () -> Checkpoint.load path) with
            | Some(ts, _) ->
                Expect.isTrue (Double.IsFinite ts.LrScale && ts.LrScale >= 0.0) path
                Expect.isTrue (ts.Step >= 0L) path
            | None -> ()

            File.Delete path

        Expect.isTrue (accepted > 0) "no case was accepted, so the oracle was never exercised")

// ---------------------------------------------------------------- CIFAR-10 archives

let ``fuzz: CIFAR-10 extraction rejects corrupt archives, within bounded memory and leaving nothing behind`` () =
    withTemp (fun d ->
        let rng = Random 23

        // Mostly an archive whose batch member has the wrong size (rejected before writing, so cases are
        // cheap); every tenth case one whose batch member is right (written, then the archive is found
        // to lack the other files).
        let tarOf (batchBytes: int) =
            use ms = new MemoryStream()

            do
                use w = new TarWriter(ms, TarEntryFormat.Pax, true)

                for name, bytes in
                    [
                        "cifar-10-batches-bin/" + Cifar10.MetaFile,
                        Encoding.ASCII.GetBytes(String.Join("\n", Cifar10.ClassNames))
                        "cifar-10-batches-bin/readme.html", Array.init 3000 (fun i -> byte (32 + i % 90))
                        "cifar-10-batches-bin/data_batch_1.bin", Array.init batchBytes (fun i -> byte (i % 7))
                    ] do
                    let e = PaxTarEntry(TarEntryType.RegularFile, name)
                    e.DataStream <- new MemoryStream(bytes)
                    w.WriteEntry e

            ms.ToArray()

        let full = tarOf (3073 * 10000)
        let small = tarOf 3073
        let packedFull, packedSmall = gzip full, gzip small
        // The tar's headers are in its first few kB: mutate there, under the compression.
        let headerPart = 8192
        let root = Path.Combine(d, "extracted")
        let src = Directory.CreateDirectory(Path.Combine(d, "src")).FullName

        // The offsets of the tar's header blocks (ustar magic at 257).
        let headers =
            [|
                for at in 0..512 .. headerPart - 512 do
                    if Encoding.ASCII.GetString(full, at + 257, 5) = "ustar" then
                        at
            |]

        // A header with another type and a forged size, its checksum made right again, so the reader
        // has to act on the claim.
        let forgeHeader (tar: byte[]) =
            let t = Array.copy tar[.. headerPart - 1]
            let at = headers[rng.Next headers.Length]
            t[at + 156] <- byte ("0xgLK52"[rng.Next 7])

            match [| 0L; 1L; 511L; 512L; 65536L; 65537L; 30_730_000L; 1L <<< 30; 8L <<< 30 |][rng.Next 9] with
            | size when size < (1L <<< 33) ->
                Encoding.ASCII.GetBytes(Convert.ToString(size, 8).PadLeft(11, '0') + "\000").CopyTo(t, at + 124)
            | size ->
                Array.Clear(t, at + 124, 12)
                t[at + 124] <- 0x80uy
                BinaryPrimitives.WriteInt64BigEndian(Span(t, at + 128, 8), size)

            Encoding.ASCII.GetBytes("        ").CopyTo(t, at + 148)
            let sum = t[at .. at + 511] |> Array.sumBy int
            Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\000 ").CopyTo(t, at + 148)
            gzip (Array.append t tar[headerPart..])

        for case in 0..299 do
            let tar, packed =
                if case % 10 = 0 then
                    full, packedFull
                else
                    small, packedSmall

            let file =
                match case % 3 with
                | 0 -> mutate rng packed
                | 1 ->
                    let head = mutate rng tar[.. headerPart - 1]
                    gzip (Array.append head tar[headerPart..])
                | _ -> forgeHeader tar

            let archive = Path.Combine(src, Cifar10.ArchiveName)
            File.WriteAllBytes(archive, file)
            let bound = 8L * int64 file.Length + 4_000_000L
            // The archive lacks most batch files, so no case can be accepted.
            Expect.equal
                (attempt archive bound (fun () -> Cifar10.loadFrom ignore root archive |> ignore))
                None
                "attempt archive bound (fun () -> Cifar10.loadFrom ignore root archive |> ignore)"

            Expect.equal (Directory.GetFileSystemEntries src) [| archive |] "Directory.GetFileSystemEntries src"

            if Directory.Exists root then
                Expect.isEmpty (Directory.GetFileSystemEntries root) "Directory.GetFileSystemEntries root")


/// The tests of this module.
let tests =
    testList
        "Fuzz"
        [
            testCase
                "fuzz: the IDX reader rejects or accepts only valid files, within bounded memory"
                ``fuzz: the IDX reader rejects or accepts only valid files, within bounded memory``
            testCase
                "fuzz: the text loader rejects or accepts only valid files, within bounded memory"
                ``fuzz: the text loader rejects or accepts only valid files, within bounded memory``
            testCase
                "fuzz: the safetensors and checkpoint readers reject or accept only valid files, within bounded memory"
                ``fuzz: the safetensors and checkpoint readers reject or accept only valid files, within bounded memory``
            testCase
                "fuzz: CIFAR-10 extraction rejects corrupt archives, within bounded memory and leaving nothing behind"
                ``fuzz: CIFAR-10 extraction rejects corrupt archives, within bounded memory and leaving nothing behind``
        ]
