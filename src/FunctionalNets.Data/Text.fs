namespace FunctionalNets.Nn

open System
open System.IO
open System.IO.Compression
open System.Text
open FunctionalNets

/// Maps text to token ids and back.
type ITokenizer =
    /// Number of distinct ids: every id is in [0, VocabSize).
    abstract VocabSize: int
    /// The ids of a text.
    abstract Encode: text: string -> int[]
    /// The text of ids.
    abstract Decode: ids: int[] -> string

/// A character-level tokenizer: one id per distinct UTF-16 character of the text it was built from, in
/// ordinal order (so the same text always gives the same vocabulary). Unknown characters and ids raise.
type CharTokenizer private (chars: char[]) =
    let index = chars |> Array.mapi (fun i c -> c, i) |> dict

    static let show (c: char) =
        if Char.IsControl c || Char.IsWhiteSpace c then
            sprintf "U+%04X" (int c)
        else
            sprintf "'%c' (U+%04X)" c (int c)

    /// The vocabulary of a text: its distinct characters, sorted by code.
    static member ofText(text: string) : CharTokenizer =
        if String.IsNullOrEmpty text then
            invalidArg "text" "CharTokenizer.ofText: the text is empty, so there is no vocabulary to build."

        CharTokenizer(text.ToCharArray() |> Array.distinct |> Array.sort)

    /// A tokenizer over exactly these characters, id i for chars[i]; they must be distinct.
    static member ofChars(chars: char seq) : CharTokenizer =
        let cs = Array.ofSeq chars

        if cs.Length = 0 then
            invalidArg "chars" "CharTokenizer.ofChars: needs at least one character."

        match cs |> Array.countBy id |> Array.tryFind (fun (_, n) -> n > 1) with
        | Some(c, _) -> invalidArg "chars" (sprintf "CharTokenizer.ofChars: character %s appears twice." (show c))
        | None -> CharTokenizer(cs)

    /// The characters in id order.
    member _.Chars: char[] = Array.copy chars

    interface ITokenizer with
        member _.VocabSize = chars.Length

        member _.Encode(text: string) =
            text.ToCharArray()
            |> Array.mapi (fun pos c ->
                match index.TryGetValue c with
                | true, id -> id
                | _ ->
                    invalidArg
                        "text"
                        (sprintf
                            "CharTokenizer.Encode: character %s at position %d is not in the vocabulary of %d characters; build the tokenizer from a text that contains it."
                            (show c)
                            pos
                            chars.Length))

        member _.Decode(ids: int[]) =
            let sb = StringBuilder(ids.Length)

            for pos in 0 .. ids.Length - 1 do
                let id = ids[pos]

                if id < 0 || id >= chars.Length then
                    raise (
                        ArgumentOutOfRangeException(
                            "ids",
                            sprintf
                                "CharTokenizer.Decode: id %d at position %d is outside the vocabulary [0, %d)."
                                id
                                pos
                                chars.Length
                        )
                    )

                sb.Append(chars[id]) |> ignore

            sb.ToString()

/// A byte-level tokenizer: the UTF-8 bytes of the text, 256 ids, nothing is ever unknown. Decoding bytes
/// that are not valid UTF-8 (a sequence cut mid-character) gives U+FFFD for the broken part.
type ByteTokenizer() =
    interface ITokenizer with
        member _.VocabSize = 256

        member _.Encode(text: string) =
            Encoding.UTF8.GetBytes text |> Array.map int

        member _.Decode(ids: int[]) =
            ids
            |> Array.mapi (fun pos id ->
                if id < 0 || id > 255 then
                    raise (
                        ArgumentOutOfRangeException(
                            "ids",
                            sprintf "ByteTokenizer.Decode: id %d at position %d is not a byte (0..255)." id pos
                        )
                    )

                byte id)
            |> Encoding.UTF8.GetString

/// Text files and language-model datasets over token ids.
[<RequireQualifiedAccess>]
module Text =
    /// The most bytes of UTF-8 a text file may hold (after decompression): 512 MiB. A .txt.gz file is
    /// also limited by what its compressed size can hold, so a gzip bomb fails early.
    [<Literal>]
    let MaxBytes = 536870912L

    let private invalid (path: string) (problem: string) =
        raise (InvalidDataException(sprintf "Text.load: '%s' %s." path problem))

    /// The decompressed bytes of a .gz text file, grown in bounded steps as the data arrives (never from
    /// the trailer's claim), with its CRC-32 and length checked.
    let private inflate (path: string) : byte[] =
        let file =
            new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 <<< 16)

        let limit = Math.Min(MaxBytes, Gzip.maxInflated file.Length)

        let fail (problem: string) =
            InvalidDataException(
                sprintf
                    "Text.load: '%s' is not a valid gzip file: %s. Compress the text again (gzip file.txt) or restore it."
                    path
                    problem
            )
            :> exn

        use gz =
            try
                new VerifiedGzipStream(file, limit, fail)
            with _ ->
                file.Dispose()
                reraise ()

        if int64 gz.DeclaredSize > limit then
            raise (
                fail (
                    sprintf
                        "its trailer records %d bytes of text, more than the %d it may hold (Text.MaxBytes, or about 1032 times its compressed size)"
                        gz.DeclaredSize
                        limit
                )
            )

        // Below 4 GiB the trailer's size is exact: fail on the first byte past it, and grow the buffer in
        // steps as bytes arrive (the claim sets no allocation).
        let limit = int64 gz.DeclaredSize
        gz.Limit <- limit
        let mutable buf = Array.zeroCreate<byte>(int (Math.Min(limit + 1L, 1L <<< 16)))
        let mutable n = 0
        let mutable fin = false

        while not fin do
            if n = buf.Length then
                let grown =
                    Array.zeroCreate<byte>(int (Math.Min(int64 buf.Length * 2L, limit + 1L)))

                Buffer.BlockCopy(buf, 0, grown, 0, n)
                buf <- grown

            let r = gz.Read(buf, n, buf.Length - n)

            if r = 0 then fin <- true else n <- n + r

        if n = buf.Length then buf else buf[.. n - 1]

    /// The UTF-8 text of a .txt file, or of a gzip-compressed one when the name ends in ".gz"; a leading
    /// byte-order mark is dropped. Raises FileNotFoundException naming a missing file, and
    /// InvalidDataException naming the file and what is wrong for: a .gz file that is corrupt, truncated
    /// (its CRC-32 and length are checked) or larger than MaxBytes; a plain file that holds gzip data; and,
    /// unless lenient is true, bytes that are not UTF-8 (the message gives the first one's offset). With
    /// lenient = true invalid bytes become U+FFFD.
    let loadWith (lenient: bool) (path: string) : string =
        if not (File.Exists path) then
            raise (
                FileNotFoundException(
                    sprintf "Text.load: no file at '%s' (a .txt or .txt.gz file is expected)." (Path.GetFullPath path),
                    path
                )
            )

        let bytes =
            if path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) then
                inflate path
            else
                let len = FileInfo(path).Length

                if len > MaxBytes then
                    invalid
                        path
                        (sprintf "holds %d bytes, more than the %d a text may hold (Text.MaxBytes)" len MaxBytes)

                let b = File.ReadAllBytes path

                if Gzip.hasMagic (ReadOnlySpan b) then
                    invalid
                        path
                        "starts with the gzip magic bytes 1f 8b, so it is compressed; name it with a .gz ending (e.g. corpus.txt.gz) to load it"

                b

        let body =
            if bytes.Length >= 3 && bytes[0] = 0xEFuy && bytes[1] = 0xBBuy && bytes[2] = 0xBFuy then
                ReadOnlySpan(bytes, 3, bytes.Length - 3)
            else
                ReadOnlySpan bytes

        if not lenient && not (Unicode.Utf8.IsValid body) then
            let start = bytes.Length - body.Length
            let mutable at = 0
            let mutable found = -1

            while found < 0 && at < body.Length do
                let status, _, used = Rune.DecodeFromUtf8(body.Slice at)

                if status = Buffers.OperationStatus.Done then
                    at <- at + used
                else
                    found <- at

            let offset = start + Math.Max(found, 0)

            invalid
                path
                (sprintf
                    "is not valid UTF-8: the byte 0x%02x at byte offset %d does not begin or continue a character. Convert the file to UTF-8, or load it with Text.loadWith true to replace invalid bytes with U+FFFD"
                    bytes[offset]
                    offset)

        Encoding.UTF8.GetString body

    /// The UTF-8 text of a .txt file, or of a gzip-compressed one when the name ends in ".gz": loadWith
    /// false (invalid UTF-8 raises InvalidDataException naming the byte offset).
    let load (path: string) : string = loadWith false path

    /// The repository's King James Bible (data/text/kjv.txt.gz, public domain): looked for in the explicit
    /// folder if given, else $FUNCTIONALNETS_DATA/text, else data/text in the current directory or the
    /// application's folder and their ancestors. Raises FileNotFoundException listing where it looked.
    let findCorpus (explicitFolder: string option) : string =
        let fileName = "kjv.txt.gz"

        let rec ancestors (dir: DirectoryInfo) =
            [
                if not (isNull dir) then
                    Path.Combine(dir.FullName, "data", "text")
                    yield! ancestors dir.Parent
            ]

        let candidates =
            match explicitFolder with
            | Some folder -> [ folder ]
            | None ->
                [
                    match Environment.GetEnvironmentVariable DataLocation.EnvironmentVariable with
                    | null
                    | "" -> ()
                    | root -> Path.Combine(root, "text")
                    yield! ancestors (DirectoryInfo(Directory.GetCurrentDirectory()))
                    yield! ancestors (DirectoryInfo(AppContext.BaseDirectory))
                ]

        match
            candidates
            |> List.map (fun d -> Path.Combine(d, fileName))
            |> List.tryFind File.Exists
        with
        | Some path -> path
        | None ->
            raise (
                FileNotFoundException(
                    sprintf
                        "Text.findCorpus: %s was not found in any of: %s. Pass the folder holding it (the repository's data/text)."
                        fileName
                        (String.Join(", ", candidates |> List.distinct))
                )
            )

    /// A language-model dataset of sliding windows over ids: example i has input ids[s .. s + T - 1] and
    /// target ids[s + 1 .. s + T] (the next token at every position), s = i * stride. Inputs and targets are
    /// Int64 [T] per example ([n; T] per batch). There are (length - T - 1) / stride + 1 examples.
    let windows (blockSize: int) (stride: int) (ids: int[]) : IDataset =
        if blockSize < 1 then
            invalidArg "blockSize" (sprintf "Text.windows: blockSize must be >= 1, got %d." blockSize)

        if stride < 1 then
            invalidArg "stride" (sprintf "Text.windows: stride must be >= 1, got %d." stride)

        // In int64: blockSize + 1 wraps for Int32.MaxValue.
        if int64 ids.Length < int64 blockSize + 1L then
            invalidArg
                "ids"
                (sprintf
                    "Text.windows: %d tokens are too few for one window of %d inputs and its shifted targets (needs %d)."
                    ids.Length
                    blockSize
                    (int64 blockSize + 1L))

        let ids = Array.copy ids
        let count = (ids.Length - blockSize - 1) / stride + 1

        { new IDataset with
            member _.Count = count

            member _.GetBatch(indices) =
                let inputs = Array.zeroCreate<int64>(indices.Length * blockSize)
                let targets = Array.zeroCreate<int64>(indices.Length * blockSize)

                indices
                |> Array.iteri (fun row i ->
                    if i < 0 || i >= count then
                        raise (
                            ArgumentOutOfRangeException(
                                "indices",
                                sprintf "Text.windows: index %d is out of range for %d windows." i count
                            )
                        )

                    let s = i * stride

                    for t in 0 .. blockSize - 1 do
                        inputs[row * blockSize + t] <- int64 ids[s + t]
                        targets[row * blockSize + t] <- int64 ids[s + t + 1])

                {
                    Input = Tensor.ofArray (inputs, [ indices.Length; blockSize ])
                    Target = Tensor.ofArray (targets, [ indices.Length; blockSize ])
                }
        }

    /// Cuts ids into a training part (the first 1 - validationFraction) and a validation part (the rest).
    /// The cut is contiguous, not shuffled, so no validation window overlaps a training window.
    let splitIds (validationFraction: float) (ids: int[]) : int[] * int[] =
        if not (validationFraction >= 0.0 && validationFraction < 1.0) then
            invalidArg
                "validationFraction"
                (sprintf "Text.splitIds: validationFraction must be in [0, 1), got %g." validationFraction)

        let cut = ids.Length - int (Math.Round(validationFraction * float ids.Length))
        ids[.. cut - 1], ids[cut..]

    /// Training and validation window datasets (Text.windows) over the two parts of Text.splitIds.
    let trainValidation (blockSize: int) (stride: int) (validationFraction: float) (ids: int[]) : IDataset * IDataset =
        let train, valid = splitIds validationFraction ids
        windows blockSize stride train, windows blockSize stride valid
