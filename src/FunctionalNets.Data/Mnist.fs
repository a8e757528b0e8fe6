namespace FunctionalNets.Nn

open FunctionalNets
open System
open System.IO
open System.IO.Compression
open System.Security.Cryptography

/// Which MNIST split.
[<RequireQualifiedAccess>]
type MnistSplit =
    | Train
    | Test

/// One MNIST split as the IDX files store it: Count images of 28x28 uint8 pixels, row-major, and their
/// labels 0..9.
type MnistRaw =
    {
        Images: byte[]
        Labels: byte[]
        Count: int
    }

/// The MNIST reader (LeCun, Cortes, Burges; CC BY-SA 3.0): IDX files, gzipped or not, checked for
/// layout, size and sha256 before use.
[<RequireQualifiedAccess>]
module Mnist =
    /// Mean of the training pixels scaled to [0, 1] (the usual torchvision normalisation).
    [<Literal>]
    let Mean = 0.1307

    /// Standard deviation of the training pixels scaled to [0, 1].
    [<Literal>]
    let Std = 0.3081

    /// Rows and columns of an image.
    [<Literal>]
    let Side = 28

    /// What each canonical file must hold: IDX magic, dims and the sha256 of its uncompressed bytes.
    type private Spec =
        {
            Magic: int
            Dims: int[]
            Sha256: string
        }

    let private specs =
        dict
            [
                "train-images-idx3-ubyte",
                {
                    Magic = 0x803
                    Dims = [| 60000; 28; 28 |]
                    Sha256 = "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"
                }
                "train-labels-idx1-ubyte",
                {
                    Magic = 0x801
                    Dims = [| 60000 |]
                    Sha256 = "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"
                }
                "t10k-images-idx3-ubyte",
                {
                    Magic = 0x803
                    Dims = [| 10000; 28; 28 |]
                    Sha256 = "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"
                }
                "t10k-labels-idx1-ubyte",
                {
                    Magic = 0x801
                    Dims = [| 10000 |]
                    Sha256 = "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
                }
            ]

    let private baseName (path: string) =
        let f = string (Path.GetFileName path)

        if f.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) then
            f[.. f.Length - 4]
        else
            f

    let private bad (path: string) (problem: string) (fix: string) =
        raise (InvalidDataException(sprintf "MNIST file %s: %s. %s" path problem fix))

    let private redownload =
        sprintf
            "Delete it and download it again from %s (Mnist.download checks each file's sha256)."
            DataLocation.mnistUrl

    /// The most bytes of content (header and data, uncompressed) an IDX file may hold: 1 GiB. Larger
    /// dims in a header are rejected before anything is allocated.
    [<Literal>]
    let MaxIdxBytes = 1073741824L

    let private missing (path: string) =
        raise (
            FileNotFoundException(
                sprintf
                    "MNIST file %s does not exist. Put the four MNIST files in that folder, or see DataLocation.findMnist for where they are looked for (%s)."
                    path
                    DataLocation.mnistUrl,
                path
            )
        )

    let private readBE (b: byte[]) (i: int) =
        (int b[i] <<< 24)
        ||| (int b[i + 1] <<< 16)
        ||| (int b[i + 2] <<< 8)
        ||| int b[i + 3]

    /// Reads up to count bytes into buf at offset; returns how many were read (fewer only at the end).
    let private readUpTo (s: Stream) (buf: byte[]) (offset: int) (count: int) =
        s.ReadAtLeast(Span(buf, offset, count), count, false)

    // readIdx checking the file against the canonical file `name` (downloads land in temp files first).
    // Reads forward only: the header first, then exactly the data its dims promise (checked against
    // MaxIdxBytes and against what a file of this size can hold) into one buffer of that size, then one
    // byte more to prove the end. A gzip file is inflated in bounded chunks and its CRC-32 and length
    // are checked against the trailer.
    let private readIdxAs (verify: bool) (name: string) (path: string) : int[] * byte[] =
        if not (File.Exists path) then
            missing path

        let file =
            new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 <<< 16)

        let fileLength = file.Length

        let gzipped =
            let head = Array.zeroCreate<byte> 2
            let n = readUpTo file head 0 2
            file.Position <- 0L
            n = 2 && Gzip.hasMagic (ReadOnlySpan head)

        let contentLimit =
            if gzipped then
                Math.Min(MaxIdxBytes, Gzip.maxInflated fileLength)
            else
                fileLength

        let fail (problem: string) =
            InvalidDataException(sprintf "MNIST file %s: %s. %s" path problem redownload) :> exn

        use input: Stream =
            if gzipped then
                try
                    new VerifiedGzipStream(file, contentLimit, fail) :> Stream
                with _ ->
                    file.Dispose()
                    reraise ()
            else
                file :> Stream

        let spec =
            match specs.TryGetValue name with
            | true, s -> Some s
            | _ -> None

        let head = Array.zeroCreate<byte> 4
        let got = readUpTo input head 0 4

        if got < 4 then
            bad path (sprintf "file is truncated: %d bytes, too short for an IDX header" got) redownload

        let magic = readBE head 0

        match spec with
        | Some s when magic <> s.Magic ->
            bad
                path
                (sprintf
                    "bad IDX magic number 0x%08x, expected 0x%08x (%s)"
                    magic
                    s.Magic
                    (if s.Magic = 0x801 then "labels" else "images"))
                ("The file is not an MNIST IDX file or is swapped with another one. "
                 + redownload)
        | _ when head[0] <> 0uy || head[1] <> 0uy || head[2] <> 0x08uy || head[3] = 0uy ->
            bad
                path
                (sprintf "bad IDX magic number 0x%08x, expected 0x000008NN (unsigned bytes, NN dims)" magic)
                redownload
        | _ -> ()

        let ndim = int head[3]
        let headerLen = 4 + 4 * ndim
        let header = Array.zeroCreate<byte> headerLen
        Buffer.BlockCopy(head, 0, header, 0, 4)
        let got = 4 + readUpTo input header 4 (headerLen - 4)

        if got < headerLen then
            bad path (sprintf "file is truncated: expected a %d-byte header, got %d bytes" headerLen got) redownload

        let dims = Array.init ndim (fun d -> readBE header (4 + 4 * d))

        match dims |> Array.tryFindIndex (fun d -> d < 0) with
        | Some d ->
            bad
                path
                (sprintf "dim %d in the header is %d; IDX dims are sizes and cannot be negative" d dims[d])
                redownload
        | None -> ()

        match spec with
        | Some s when dims <> s.Dims ->
            let what = if s.Dims.Length = 1 then "labels" else "images"

            bad
                path
                (sprintf
                    "wrong dims %A in the header: this file must hold %d %s%s"
                    dims
                    s.Dims[0]
                    what
                    (if s.Dims.Length = 3 then " of 28x28" else ""))
                redownload
        | _ -> ()

        // The product of up to 255 dims below 2^31 can pass 2^63: stop as soon as it passes the maximum.
        let dataLen =
            dims
            |> Array.fold (fun acc d -> if acc > MaxIdxBytes then acc else acc * int64 d) 1L

        let expected = int64 headerLen + dataLen

        if dataLen > MaxIdxBytes || expected > MaxIdxBytes then
            bad
                path
                (sprintf
                    "the header's dims %A promise more than %d bytes of data, the most an IDX file may hold (Mnist.MaxIdxBytes)"
                    dims
                    MaxIdxBytes)
                redownload

        if not gzipped && fileLength < expected then
            bad path (sprintf "file is truncated: expected %d bytes, got %d" expected fileLength) redownload

        if not gzipped && fileLength > expected then
            bad
                path
                (sprintf
                    "file is too long: expected %d bytes, got %d (%d trailing bytes)"
                    expected
                    fileLength
                    (fileLength - expected))
                redownload

        match input with
        | :? VerifiedGzipStream as g ->
            if g.DeclaredSize < uint32 expected then
                bad
                    path
                    (sprintf
                        "file is truncated: expected %d bytes, got %d (the size the gzip trailer records)"
                        expected
                        g.DeclaredSize)
                    redownload

            if g.DeclaredSize <> uint32 expected then
                bad
                    path
                    (sprintf
                        "file is too long: expected %d bytes, but the gzip trailer records %d"
                        expected
                        g.DeclaredSize)
                    redownload

            if expected > contentLimit then
                bad
                    path
                    (sprintf
                        "the header's dims %A promise %d bytes, more than a gzip file of %d bytes can hold"
                        dims
                        expected
                        fileLength)
                    redownload
        | _ -> ()

        let data = GC.AllocateUninitializedArray<byte>(int dataLen)
        let got = readUpTo input data 0 data.Length

        if got < data.Length then
            bad
                path
                (sprintf "file is truncated: expected %d bytes, got %d" expected (int64 headerLen + int64 got))
                redownload

        // One byte more must not exist (for gzip this read also checks the trailer's CRC-32 and length).
        let one = Array.zeroCreate<byte> 1

        if readUpTo input one 0 1 > 0 then
            bad
                path
                (sprintf "file is too long: it holds more than the %d bytes its header promises" expected)
                redownload

        match spec with
        | Some s when verify ->
            use h = IncrementalHash.CreateHash HashAlgorithmName.SHA256
            h.AppendData header
            h.AppendData data
            let actual = Convert.ToHexStringLower(h.GetHashAndReset())

            if actual <> s.Sha256 then
                bad
                    path
                    (sprintf
                        "sha256 of the uncompressed data is %s, expected %s (the file is well-formed but its contents differ from the original)"
                        actual
                        s.Sha256)
                    ("If the file was damaged: "
                     + redownload
                     + " If you re-encoded it on purpose, load it with verify = false (Mnist.loadWith false dir).")
        | _ -> ()

        dims, data

    /// Reads an IDX file of unsigned bytes (gzipped or not) and returns its dims and data. For the four
    /// canonical MNIST file names it checks the magic number, the dims and, when verify is true, the sha256
    /// of the uncompressed bytes; any file is checked for a sane header (no negative dims, at most
    /// MaxIdxBytes of content) and exact length, and a gzip file for its CRC-32 and length. Memory is
    /// allocated for the content the header promises only once the file is known to be able to hold it.
    /// Failures raise InvalidDataException naming the file, the problem and the fix.
    let readIdx (verify: bool) (path: string) : int[] * byte[] = readIdxAs verify (baseName path) path

    let private fileNames (split: MnistSplit) =
        match split with
        | MnistSplit.Train -> "train-images-idx3-ubyte", "train-labels-idx1-ubyte"
        | MnistSplit.Test -> "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"

    let private pathIn (dir: string) (name: string) =
        // A missing file is reported under its .gz name, the form the data is distributed in.
        DataLocation.tryMnistFile dir name
        |> Option.defaultValue (Path.Combine(dir, name + ".gz"))

    /// One split's raw uint8 images and labels from dir (gzipped or raw IDX files), checked as readIdx
    /// does; also checks that the image and label counts agree and that labels are 0..9.
    let loadRaw (verify: bool) (dir: string) (split: MnistSplit) : MnistRaw =
        let imgName, lblName = fileNames split
        let imgPath, lblPath = pathIn dir imgName, pathIn dir lblName
        let imgDims, images = readIdx verify imgPath
        let lblDims, labels = readIdx verify lblPath

        if imgDims.Length <> 3 || imgDims[1] <> Side || imgDims[2] <> Side then
            bad imgPath (sprintf "images have dims %A, expected [N; 28; 28]" imgDims) redownload

        if lblDims.Length <> 1 then
            bad lblPath (sprintf "labels have dims %A, expected [N]" lblDims) redownload

        if imgDims[0] <> lblDims[0] then
            bad
                imgPath
                (sprintf "it holds %d images but %s holds %d labels" imgDims[0] lblPath lblDims[0])
                "The two files come from different splits or copies; use the matching pair."

        match labels |> Array.tryFindIndex (fun l -> l > 9uy) with
        | Some i -> bad lblPath (sprintf "label %d at index %d is not a digit 0..9" labels[i] i) redownload
        | None -> ()

        {
            Images = images
            Labels = labels
            Count = lblDims[0]
        }

    /// A dataset over raw MNIST: inputs Float32 [n; 1; 28; 28], pixels scaled to [0, 1] then normalised
    /// with Mean and Std; targets Int64 [n]. Pixels stay as bytes (47 MB for the training set rather than
    /// 188 MB of floats) and each batch is converted with a 256-entry lookup table.
    let toDataset (raw: MnistRaw) : IDataset =
        let lut = Array.init 256 (fun v -> float32 ((float v / 255.0 - Mean) / Std))
        let px = Side * Side

        { new IDataset with
            member _.Count = raw.Count

            member _.GetBatch(indices) =
                let n = indices.Length
                let x = GC.AllocateUninitializedArray<float32>(n * px)
                let y = Array.zeroCreate<int64> n

                for b in 0 .. n - 1 do
                    let i = indices[b]

                    if i < 0 || i >= raw.Count then
                        raise (
                            ArgumentOutOfRangeException(
                                "indices",
                                sprintf "MNIST: index %d is out of range for %d examples." i raw.Count
                            )
                        )

                    let src = ReadOnlySpan(raw.Images, i * px, px)
                    let dst = Span(x, b * px, px)

                    for k in 0 .. px - 1 do
                        dst[k] <- lut[int src[k]]

                    y[b] <- int64 raw.Labels[i]

                {
                    Input = Tensor.ofArray (x, [ n; 1; Side; Side ])
                    Target = Tensor.ofArray (y, [ n ])
                }
        }

    /// Both splits from dir; verify = false skips the sha256 check (for re-encoded but well-formed copies).
    let loadWith (verify: bool) (dir: string) : {| Train: IDataset; Test: IDataset |} =
        {|
            Train = toDataset (loadRaw verify dir MnistSplit.Train)
            Test = toDataset (loadRaw verify dir MnistSplit.Test)
        |}

    /// Both splits from dir (find dir with DataLocation.findMnist), checksums verified: 60,000 training and
    /// 10,000 test examples, inputs Float32 [n; 1; 28; 28] normalised with Mean and Std, targets Int64 [n].
    let load (dir: string) : {| Train: IDataset; Test: IDataset |} = loadWith true dir

    /// The four files as the canonical mirror (DataLocation.mnistUrl) serves them: gzipped, each with its
    /// published size and sha256 (of the .gz file; readIdx checks the sha256 of the uncompressed bytes).
    let remoteFiles: RemoteFile list =
        [
            "train-images-idx3-ubyte", 9912422L, "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"
            "train-labels-idx1-ubyte", 28881L, "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"
            "t10k-images-idx3-ubyte", 1648877L, "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"
            "t10k-labels-idx1-ubyte", 4542L, "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"
        ]
        |> List.map (fun (name, size, sha) ->
            {
                FileName = name + ".gz"
                Url = DataLocation.mnistUrl + name + ".gz"
                Size = size
                Sha256 = sha
            })

    /// Downloads the four files into dir (created if needed) through Fetch.download, which checks each
    /// file's size and sha256 before it is renamed into place; files already present and valid (gzipped or
    /// not, re-compressed copies included: readIdx checks their content) are kept untouched. Returns dir.
    /// Without a network it fails with an IOException that says how to get the files by hand.
    let download (dir: string) : string =
        let dir = Path.GetFullPath dir

        for remote in remoteFiles do
            let name = remote.FileName[.. remote.FileName.Length - 4]

            let valid =
                match DataLocation.tryMnistFile dir name with
                | Some path ->
                    try
                        readIdx true path |> ignore
                        true
                    with
                    | :? InvalidDataException
                    | :? IOException -> false
                | None -> false

            if not valid then
                Fetch.download "MNIST" remote dir |> ignore

        dir
