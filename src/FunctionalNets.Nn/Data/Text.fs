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
    /// The UTF-8 text of a .txt file, or of a gzip-compressed one when the name ends in ".gz".
    /// A missing file raises FileNotFoundException naming it; a corrupt .gz raises InvalidDataException.
    let load (path: string) : string =
        if not (File.Exists path) then
            raise (
                FileNotFoundException(
                    sprintf "Text.load: no file at '%s' (a .txt or .txt.gz file is expected)." (Path.GetFullPath path),
                    path
                )
            )

        if path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) then
            try
                use file = File.OpenRead path
                use gz = new GZipStream(file, CompressionMode.Decompress)
                use reader = new StreamReader(gz, Encoding.UTF8)
                reader.ReadToEnd()
            with :? InvalidDataException as e ->
                raise (InvalidDataException(sprintf "Text.load: '%s' is not a valid gzip file (%s)." path e.Message, e))
        else
            File.ReadAllText(path, Encoding.UTF8)

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

        if ids.Length < blockSize + 1 then
            invalidArg
                "ids"
                (sprintf
                    "Text.windows: %d tokens are too few for one window of %d inputs and its shifted targets (needs %d)."
                    ids.Length
                    blockSize
                    (blockSize + 1))

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
