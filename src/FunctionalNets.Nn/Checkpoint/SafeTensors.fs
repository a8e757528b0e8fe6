namespace FunctionalNets.Nn

open FunctionalNets
open System
open System.Buffers.Binary
open System.Collections.Generic
open System.IO
open System.Runtime.InteropServices
open System.Text
open System.Text.Encodings.Web
open System.Text.Json

/// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian header
/// length N, N bytes of JSON header (padded with spaces to a multiple of 8), then the tensors' raw
/// little-endian bytes. Header entries are {"dtype", "shape", "data_offsets": [begin, end]} with offsets
/// relative to the first data byte; "__metadata__" maps strings to strings. Files interoperate with
/// Python's safetensors (save_file / load_file).
[<RequireQualifiedAccess>]
module SafeTensors =
    /// Header larger than this is rejected as corrupt (the reference implementation's limit).
    let private maxHeader = 100_000_000L

    let private dtypeCode (d: DType) =
        match d with
        | DType.Float32 -> "F32"
        | DType.Float64 -> "F64"
        | DType.Int32 -> "I32"
        | DType.Int64 -> "I64"
        | DType.Bool -> "BOOL"

    let private dtypeOfCode (code: string) =
        match code with
        | "F32" -> Some DType.Float32
        | "F64" -> Some DType.Float64
        | "I32" -> Some DType.Int32
        | "I64" -> Some DType.Int64
        | "BOOL" -> Some DType.Bool
        | _ -> None

    /// The tensor's elements as little-endian bytes.
    let private bytesOf (t: Tensor) : byte[] =
        let a = Tensor.toArray t

        let bytes =
            match a with
            | :? (float32[]) as v -> MemoryMarshal.AsBytes(ReadOnlySpan v).ToArray()
            | :? (float[]) as v -> MemoryMarshal.AsBytes(ReadOnlySpan v).ToArray()
            | :? (int[]) as v -> MemoryMarshal.AsBytes(ReadOnlySpan v).ToArray()
            | :? (int64[]) as v -> MemoryMarshal.AsBytes(ReadOnlySpan v).ToArray()
            // Normalise bools to 0/1 whatever the runtime's representation of true.
            | :? (bool[]) as v -> v |> Array.map (fun b -> if b then 1uy else 0uy)
            | a -> invalidOp (sprintf "SafeTensors: unexpected storage %s." (a.GetType().Name))

        // The format is little-endian; swap each element on a big-endian machine.
        if not BitConverter.IsLittleEndian && t.DType.SizeInBytes > 1 then
            let w = t.DType.SizeInBytes

            for i in 0..w .. bytes.Length - w do
                Array.Reverse(bytes, i, w)

        bytes

    /// The header JSON (without padding) for tensors laid out back to back in list order.
    let private headerJson (tensors: (string * Tensor) list) (metadata: Map<string, string>) : byte[] =
        use ms = new MemoryStream()
        // Relaxed escaping keeps non-ASCII names readable; the output is still valid JSON for any reader.
        let opts =
            JsonWriterOptions(Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = false)

        do
            use w = new Utf8JsonWriter(ms, opts)
            w.WriteStartObject()

            // The reference implementation writes __metadata__ first and omits it when empty.
            if not metadata.IsEmpty then
                w.WriteStartObject "__metadata__"

                for KeyValue(k, v) in metadata do
                    w.WriteString(k, v)

                w.WriteEndObject()

            let mutable offset = 0L

            for name, t in tensors do
                let size = int64 t.Numel * int64 t.DType.SizeInBytes
                w.WriteStartObject name
                w.WriteString("dtype", dtypeCode t.DType)
                w.WriteStartArray "shape"

                for d in t.Shape.ToArray() do
                    w.WriteNumberValue d

                w.WriteEndArray()
                w.WriteStartArray "data_offsets"
                w.WriteNumberValue offset
                w.WriteNumberValue(offset + size)
                w.WriteEndArray()
                w.WriteEndObject()
                offset <- offset + size

            w.WriteEndObject()

        ms.ToArray()

    /// The temp file a write of path goes through: hidden, unique and in the same folder (so the rename is
    /// atomic), named ".<file name>.<32 hex digits>.tmp" so that later saves and loads recognise it.
    let private tempNameFor (full: string) =
        let dir = string (Path.GetDirectoryName full)
        Path.Combine(dir, sprintf ".%s.%s.tmp" (string (Path.GetFileName full)) (Guid.NewGuid().ToString "N"))

    let private isTempOf (fileName: string) (candidate: string) =
        let prefix = "." + fileName + "."

        candidate.Length = prefix.Length + 32 + 4
        && candidate.StartsWith(prefix, StringComparison.Ordinal)
        && candidate.EndsWith(".tmp", StringComparison.Ordinal)
        && candidate.Substring(prefix.Length, 32)
           |> Seq.forall (fun c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))

    /// Removes the temp files that writes of path left behind when their process was killed. A temp file
    /// a live writer holds is locked (FileShare.None) and is left alone; failures are ignored (a folder
    /// this process may not write to keeps its files).
    let removeStaleTemps (path: string) : unit =
        try
            let full = Path.GetFullPath path
            let dir = string (Path.GetDirectoryName full)
            let fileName = string (Path.GetFileName full)

            if Directory.Exists dir then
                for f in Directory.EnumerateFiles(dir, "." + fileName + ".*.tmp") do
                    if isTempOf fileName (string (Path.GetFileName f)) then
                        try
                            // Only a temp file nobody holds open: a killed writer's locks died with it.
                            use _held =
                                new FileStream(f, FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1)

                            File.Delete f
                        with
                        | :? IOException
                        | :? UnauthorizedAccessException -> ()
        with
        | :? IOException
        | :? UnauthorizedAccessException
        | :? ArgumentException -> ()

    /// Called by write with "opened" once the temp file is created and its header written, and with
    /// "written" once it is flushed to disk, before the rename; the argument is the temp file's path. A
    /// test hook: the crash-safety test's writer process pauses there so that it can be killed at a known
    /// point.
    let mutable internal writePhase: string -> string -> unit = fun _ _ -> ()

    /// Writes a safetensors file atomically: the bytes go to a temp file in the same folder, which is
    /// flushed to disk and then renamed over path, so a crash leaves either the old file or the new one,
    /// never a torn one. On failure the temp file is deleted and an existing file at path is untouched; temp
    /// files of earlier writes of path that were killed are removed (see removeStaleTemps).
    /// Tensors are stored in list order; names must be unique and non-empty, "__metadata__" is reserved.
    let write (path: string) (tensors: (string * Tensor) list) (metadata: Map<string, string>) : unit =
        let seen = HashSet<string>()

        for name, _ in tensors do
            if String.IsNullOrEmpty name || name = "__metadata__" then
                invalidArg
                    "tensors"
                    (sprintf
                        "SafeTensors.write %s: invalid tensor name '%s' (names must be non-empty and not '__metadata__')."
                        path
                        name)

            if not (seen.Add name) then
                invalidArg
                    "tensors"
                    (sprintf "SafeTensors.write %s: the tensor name '%s' appears twice; names must be unique." path name)

        let json = headerJson tensors metadata
        let padded = (json.Length + 7) / 8 * 8
        let header = Array.create padded (byte ' ')
        Buffer.BlockCopy(json, 0, header, 0, json.Length)

        let full = Path.GetFullPath path

        // Checked here so that the error names the folder the caller gave, not the temp file inside it.
        match Path.GetDirectoryName full with
        | null -> ()
        | dir when not (Directory.Exists dir) ->
            raise (
                DirectoryNotFoundException(
                    sprintf
                        "Cannot write %s: the folder %s does not exist. Create it first (Directory.CreateDirectory) or save elsewhere."
                        path
                        dir
                )
            )
        | _ -> ()

        // Earlier writes of this path that were killed left their temp files: remove them first.
        removeStaleTemps full
        let tmp = tempNameFor full

        try
            do
                use fs =
                    new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 <<< 20)

                let len = Array.zeroCreate<byte> 8
                BinaryPrimitives.WriteUInt64LittleEndian(Span len, uint64 padded)
                fs.Write(len, 0, 8)
                fs.Write(header, 0, header.Length)
                writePhase "opened" tmp

                for _, t in tensors do
                    // Fetched tensor by tensor, so only one tensor's bytes are in memory at a time.
                    let b = bytesOf t
                    fs.Write(b, 0, b.Length)

                // Flush(true) reaches the disk (fsync), so the rename never exposes unwritten data.
                fs.Flush true
                writePhase "written" tmp

            File.Move(tmp, full, true)
        with _ ->
            (try
                if File.Exists tmp then
                    File.Delete tmp
             with _ ->
                 ())

            reraise ()

    let private bad (path: string) (problem: string) =
        raise (
            InvalidDataException(
                sprintf
                    "safetensors file %s: %s. The file is corrupt, truncated or not a safetensors file; write it again or restore it from a backup."
                    path
                    problem
            )
        )

    type private Entry =
        {
            Name: string
            DType: DType
            Shape: int[]
            Begin: int64
            End: int64
        }

    /// The string of a JSON string (a name, dtype or metadata entry); a lone surrogate escape (\ud800),
    /// which no UTF-8 string can hold, is an error naming the file and where it is.
    let private text (path: string) (where: string) (get: unit -> string | null) : string =
        try
            string (get ())
        with :? InvalidOperationException ->
            bad path (sprintf "%s is not valid Unicode (it holds a lone surrogate escape such as \\ud800)" where)

    /// The properties of a JSON object with their names decoded, rejecting a name given twice.
    let private properties (path: string) (where: string) (o: JsonElement) : (string * JsonElement) list =
        let seen = HashSet<string>()

        [
            for p in o.EnumerateObject() do
                let name = text path (sprintf "a name in %s" where) (fun () -> p.Name)

                if not (seen.Add name) then
                    bad path (sprintf "%s names '%s' twice" where name)

                name, p.Value
        ]

    let private parseHeader (path: string) (json: byte[]) (dataLength: int64) : Entry list * Map<string, string> =
        if not (Text.Unicode.Utf8.IsValid(ReadOnlySpan json)) then
            let mutable at = 0
            let mutable found = -1

            while found < 0 && at < json.Length do
                let status, _, used = Rune.DecodeFromUtf8(ReadOnlySpan(json, at, json.Length - at))

                if status = Buffers.OperationStatus.Done then
                    at <- at + used
                else
                    found <- at

            bad path (sprintf "the header is not valid UTF-8 (byte 0x%02x at header offset %d)" json[found] found)

        let doc =
            try
                // serde_json, which the reference implementation parses with, nests up to 128 deep.
                JsonDocument.Parse(ReadOnlyMemory json, JsonDocumentOptions(MaxDepth = 128))
            with :? JsonException as e ->
                bad path (sprintf "the header is not valid JSON (%s)" e.Message)

        use doc = doc
        let root = doc.RootElement

        if root.ValueKind <> JsonValueKind.Object then
            bad path (sprintf "the header must be a JSON object, got %O" root.ValueKind)

        let entries = List<Entry>()
        let mutable metadata = Map.empty

        // Properties come in document order, which keeps the order tensors were written in.
        for name, v in properties path "the header" root do
            if name = "__metadata__" then
                if v.ValueKind <> JsonValueKind.Object then
                    bad path "__metadata__ must be an object of strings"

                for key, value in properties path "__metadata__" v do
                    if value.ValueKind <> JsonValueKind.String then
                        bad
                            path
                            (sprintf
                                "metadata value of '%s' is %O, but metadata values must be strings"
                                key
                                value.ValueKind)

                    metadata <- metadata.Add(key, text path (sprintf "the metadata value of '%s'" key) value.GetString)
            else
                if v.ValueKind <> JsonValueKind.Object then
                    bad path (sprintf "the entry of tensor '%s' must be an object" name)

                // Unknown fields are allowed (the reference implementation ignores them); repeated ones are not.
                let fields = properties path (sprintf "the entry of tensor '%s'" name) v |> dict

                let field (f: string) =
                    match fields.TryGetValue f with
                    | true, x -> x
                    | _ -> bad path (sprintf "tensor '%s' has no \"%s\"" name f)

                let dtElem = field "dtype"

                let code =
                    if dtElem.ValueKind = JsonValueKind.String then
                        text path (sprintf "the dtype of tensor '%s'" name) dtElem.GetString
                    else
                        bad path (sprintf "tensor '%s': dtype must be a string, got %O" name dtElem.ValueKind)

                let dtype =
                    match dtypeOfCode code with
                    | Some d -> d
                    | None ->
                        bad
                            path
                            (sprintf
                                "tensor '%s' has dtype '%s', which FunctionalNets does not support (supported: F32, F64, I32, I64, BOOL); convert it in Python first"
                                name
                                code)

                let ints (f: string) =
                    let a = field f

                    if a.ValueKind <> JsonValueKind.Array then
                        bad
                            path
                            (sprintf
                                "tensor '%s': %s must be an array of non-negative integers, got %O"
                                name
                                f
                                a.ValueKind)

                    [|
                        for x in a.EnumerateArray() do
                            // The kind first: TryGetInt64 throws on anything but a number.
                            if x.ValueKind <> JsonValueKind.Number then
                                bad
                                    path
                                    (sprintf
                                        "tensor '%s': %s must be an array of non-negative integers, but it holds %O %s"
                                        name
                                        f
                                        x.ValueKind
                                        (x.GetRawText()))

                            match x.TryGetInt64() with
                            | true, n when n >= 0L -> n
                            | _ ->
                                bad
                                    path
                                    (sprintf
                                        "tensor '%s': %s must be an array of non-negative integers, but it holds %s"
                                        name
                                        f
                                        (x.GetRawText()))
                    |]

                let shape = ints "shape"
                let offsets = ints "data_offsets"

                if offsets.Length <> 2 then
                    bad path (sprintf "tensor '%s': data_offsets must hold two numbers, got %d" name offsets.Length)

                if shape |> Array.exists (fun d -> d > int64 Int32.MaxValue) then
                    bad
                        path
                        (sprintf
                            "tensor '%s': shape %A has a dimension above %d, the largest FunctionalNets holds"
                            name
                            shape
                            Int32.MaxValue)

                // A zero anywhere makes an empty tensor, however large the other dims.
                let numel =
                    if shape |> Array.contains 0L then
                        0L
                    else
                        try
                            shape |> Array.fold (fun acc d -> Checked.(*) acc d) 1L
                        with :? OverflowException ->
                            bad path (sprintf "tensor '%s': shape %A overflows" name shape)

                let b, e = offsets[0], offsets[1]

                if e < b then
                    bad path (sprintf "tensor '%s': data_offsets [%d, %d] end before they begin" name b e)

                if e > dataLength then
                    bad
                        path
                        (sprintf
                            "tensor '%s': data_offsets [%d, %d] run past the end of the data (%d bytes); the file is truncated"
                            name
                            b
                            e
                            dataLength)

                let expected =
                    try
                        Checked.(*) numel (int64 dtype.SizeInBytes)
                    with :? OverflowException ->
                        bad path (sprintf "tensor '%s': shape %A overflows" name shape)

                if e - b <> expected then
                    bad
                        path
                        (sprintf
                            "tensor '%s': data_offsets [%d, %d] span %d bytes but shape %A of %s needs %d"
                            name
                            b
                            e
                            (e - b)
                            shape
                            code
                            expected)

                if numel > int64 Int32.MaxValue then
                    bad path (sprintf "tensor '%s': %d elements is more than one array can hold" name numel)

                entries.Add
                    {
                        Name = name
                        DType = dtype
                        Shape = shape |> Array.map int
                        Begin = b
                        End = e
                    }

        // As the reference implementation requires: sorted by offsets, the tensors tile the data exactly,
        // from byte 0 to the end of the file, with no overlap, no hole and no trailing bytes.
        let sorted = entries |> Seq.sortBy (fun x -> x.Begin, x.End) |> Array.ofSeq
        let mutable at = 0L

        for i in 0 .. sorted.Length - 1 do
            let x = sorted[i]

            if x.Begin < at then
                let p = sorted[i - 1]

                bad
                    path
                    (sprintf "tensors '%s' [%d, %d] and '%s' [%d, %d] overlap" p.Name p.Begin p.End x.Name x.Begin x.End)

            if x.Begin > at then
                bad
                    path
                    (sprintf
                        "tensor '%s' begins at data offset %d, but the previous tensor ends at %d: the %d bytes between belong to no tensor"
                        x.Name
                        x.Begin
                        at
                        (x.Begin - at))

            at <- x.End

        if at <> dataLength then
            bad
                path
                (sprintf
                    "the tensors end at data offset %d but the data holds %d bytes: %d trailing bytes belong to no tensor"
                    at
                    dataLength
                    (dataLength - at))

        List.ofSeq entries, metadata

    let private copyTo<'T when 'T: unmanaged and 'T: struct and 'T :> ValueType and 'T: (new: unit -> 'T)>
        (bytes: byte[])
        =
        let a = Array.zeroCreate<'T>(bytes.Length / sizeof<'T>)
        ReadOnlySpan(bytes).CopyTo(MemoryMarshal.AsBytes(Span a))
        a

    let private tensorOf (entry: Entry) (bytes: byte[]) : Tensor =
        if not BitConverter.IsLittleEndian && entry.DType.SizeInBytes > 1 then
            let w = entry.DType.SizeInBytes

            for i in 0..w .. bytes.Length - w do
                Array.Reverse(bytes, i, w)


        let data: Array =
            match entry.DType with
            | DType.Float32 -> copyTo<float32> bytes
            | DType.Float64 -> copyTo<float> bytes
            | DType.Int32 -> copyTo<int> bytes
            | DType.Int64 -> copyTo<int64> bytes
            | DType.Bool -> bytes |> Array.map (fun b -> b <> 0uy) :> Array

        Tensor.ofArray (data, entry.Shape)

    // Opens path and parses its header: the open stream, the entries, the metadata and where the data starts.
    let private openHeader (path: string) =
        if not (File.Exists path) then
            raise (FileNotFoundException(sprintf "safetensors file %s does not exist; check the path." path, path))

        removeStaleTemps path

        let fs =
            new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 <<< 16)

        try
            let fileLength = fs.Length

            if fileLength < 8L then
                bad path (sprintf "file is too short (%d bytes); it needs at least the 8-byte header length" fileLength)

            let lenBytes = Array.zeroCreate<byte> 8
            fs.ReadExactly(lenBytes, 0, 8)
            let headerLen = BinaryPrimitives.ReadUInt64LittleEndian(ReadOnlySpan lenBytes)

            if headerLen > uint64 (fileLength - 8L) then
                bad path (sprintf "header length %d runs past the end of the file (%d bytes)" headerLen fileLength)

            if int64 headerLen > maxHeader then
                bad path (sprintf "header length %d is implausibly large (limit %d)" headerLen maxHeader)

            let json = Array.zeroCreate<byte>(int headerLen)
            fs.ReadExactly(json, 0, json.Length)
            let dataStart = 8L + int64 headerLen
            let entries, metadata = parseHeader path json (fileLength - dataStart)
            fs, entries, metadata, dataStart
        with _ ->
            fs.Dispose()
            reraise ()

    /// The metadata of a safetensors file (its "__metadata__" entries), checked as read does but without
    /// reading the tensors' data.
    let readMetadata (path: string) : Map<string, string> =
        let fs, _, metadata, _ = openHeader path
        fs.Dispose()
        metadata

    /// Reads a safetensors file: the tensors in the order of the header and the __metadata__ map.
    /// Raises InvalidDataException naming the file and the problem for a short file, a header length past
    /// the end, a header that is not UTF-8 JSON (or holds lone surrogates), a name or field given twice, an
    /// unsupported dtype, a shape or offsets that are not arrays of non-negative integers, offsets out of
    /// range or not matching the shape, and tensors that do not tile the data exactly (overlaps, holes,
    /// trailing bytes), as the format requires; FileNotFoundException when the file does not exist.
    /// Unknown fields in a tensor's entry are ignored, as the reference implementation ignores them.
    let read (path: string) : (string * Tensor) list * Map<string, string> =
        let fs, entries, metadata, dataStart = openHeader path
        use fs = fs

        let tensors =
            entries
            |> List.map (fun e ->
                let buf = Array.zeroCreate<byte>(int (e.End - e.Begin))
                fs.Position <- dataStart + e.Begin
                fs.ReadExactly(buf, 0, buf.Length)
                e.Name, tensorOf e buf)

        tensors, metadata
