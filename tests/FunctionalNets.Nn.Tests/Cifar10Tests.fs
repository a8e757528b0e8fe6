module FunctionalNets.Tests.Nn.Cifar10Tests

open System
open System.Collections.Concurrent
open System.Diagnostics
open System.Formats.Tar
open System.IO
open System.IO.Compression
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn

/// The CIFAR-10 archive the tests read: through FUNCTIONALNETS_DATA (Cifar10.find) when it is set, else
/// shared/datasets/cifar10-approx/cifar-10-binary.tar.gz found by walking up from the test assembly (the
/// development machines and CI keep the datasets beside the repository). A newcomer's fresh clone has
/// neither, and the README's test command must still pass there, so the real-archive tests are skipped
/// with the reason printed (the archive is ~170 MB and is not shipped in the repository).
/// The lower-case hex sha256 of a file, computed here rather than by the library under test.
let private sha256 (path: string) =
    use s = File.OpenRead path
    Convert.ToHexStringLower(Security.Cryptography.SHA256.HashData s)

let private fromEnvironment () =
    match Environment.GetEnvironmentVariable DataLocation.EnvironmentVariable with
    | null -> None
    | s when String.IsNullOrWhiteSpace s -> None
    | _ ->
        try
            Some(Cifar10.find None)
        with :? FileNotFoundException ->
            None

let private besideRepository () =
    let rec up (d: DirectoryInfo | null) =
        match d with
        | null -> None
        | d ->
            let p =
                Path.Combine(d.FullName, "shared", "datasets", "cifar10-approx", Cifar10.ArchiveName)

            if File.Exists p then Some p else up d.Parent

    up (DirectoryInfo AppContext.BaseDirectory)

let internal source =
    lazy
        (match fromEnvironment () with
         | Some p -> p
         | None ->
             match besideRepository () with
             | Some p -> p
             | None ->
                 failwithf
                     "The CIFAR-10 tests need %s: set %s to a folder with a cifar10 sub-folder holding it, or keep shared/datasets/cifar10-approx/ beside the repository (looked upwards from %s)."
                     Cifar10.ArchiveName
                     DataLocation.EnvironmentVariable
                     AppContext.BaseDirectory)

/// Runs a real-archive test, or skips it with the reason shown in the test output when no CIFAR-10 archive is
/// reachable.
let realCifar (test: unit -> unit) () =
    if (fromEnvironment ()).IsNone && (besideRepository ()).IsNone then
        skiptest (
            sprintf
                "No CIFAR-10 archive here: set %s to a folder with a cifar10 sub-folder holding %s, or keep shared/datasets/cifar10-approx/ beside the repository, to run the real-archive tests."
                DataLocation.EnvironmentVariable
                Cifar10.ArchiveName
        )

    test ()

let private warnings = ConcurrentQueue<string>()

let private cifar = lazy (Cifar10.loadWith warnings.Enqueue source.Value)

let private labels (ds: IDataset) (ix: int[]) =
    Tensor.toArray (ds.GetBatch ix).Target :?> int64[] |> Array.map int

let private counts (ds: IDataset) =
    // In batches of 1,000: one batch of all 50,000 images would be 600 MB of floats.
    [| 0..1000 .. ds.Count - 1 |]
    |> Array.collect (fun s -> labels ds [| s .. min ds.Count (s + 1000) - 1 |])
    |> Array.countBy id
    |> Array.sortBy fst
    |> Array.map snd

let ``real archive: counts, first labels and class names`` () =
    let c = cifar.Value
    Expect.equal c.Train.Count 50000 "c.Train.Count"
    Expect.equal c.Test.Count 10000 "c.Test.Count"
    Expect.equal (labels c.Train [| 0..9 |]) [| 6; 9; 9; 4; 1; 1; 2; 7; 8; 3 |] "labels c.Train [| 0..9 |]"
    Expect.equal (labels c.Test [| 0..9 |]) [| 3; 8; 8; 0; 6; 6; 1; 6; 3; 1 |] "labels c.Test [| 0..9 |]"
    Expect.equal c.Classes Cifar10.ClassNames "c.Classes"
    Expect.equal c.Classes[0] "airplane" "c.Classes[0]"
    Expect.equal c.Classes[9] "truck" "c.Classes[9]"

let ``real archive: 5,000 per class in training and 1,000 in test`` () =
    let c = cifar.Value
    Expect.equal (counts c.Train) (Array.create 10 5000) "counts c.Train"
    Expect.equal (counts c.Test) (Array.create 10 1000) "counts c.Test"

let ``real archive: inputs are the file's R, G, B planes scaled to 0..1`` () =
    let c = cifar.Value
    let b = c.Test.GetBatch [| 0; 9999 |]
    Expect.equal (b.Input.Shape.ToArray()) [| 2; 3; 32; 32 |] "b.Input.Shape.ToArray()"
    Expect.equal b.Input.DType DType.Float32 "b.Input.DType"
    Expect.equal b.Target.DType DType.Int64 "b.Target.DType"
    let x = Tensor.toArray b.Input :?> float32[]
    let dir = Cifar10.batchesDirOf ignore source.Value
    let raw = File.ReadAllBytes(Path.Combine(dir, Cifar10.TestFile))
    let home = string (Path.GetDirectoryName(Path.GetFullPath source.Value))

    // A dataset folder marked read-only (as the shared one is) is never written to, even by root: the
    // extraction goes to the per-user cache.
    if
        not (OperatingSystem.IsWindows())
        && File.GetUnixFileMode home
           &&& (UnixFileMode.UserWrite ||| UnixFileMode.GroupWrite ||| UnixFileMode.OtherWrite)
            =
            UnixFileMode.None
    then
        Expect.stringStarts dir (DataLocation.cacheRoot ()) "dir"

    for k in 0..3071 do
        Expect.equal x[k] (float32 raw[1 + k] / 255.0f) "x[k]"
        Expect.equal (x[3072 + k]) (float32 raw[9999 * 3073 + 1 + k] / 255.0f) "x[3072 + k]"

    x |> Seq.iter (fun v -> Checks.inRange "a pixel" 0.0f 1.0f v)

let ``real archive: a checksum mismatch warns and names the archive but loads`` () =
    cifar.Value |> ignore
    let sha = sha256 source.Value

    if sha <> Cifar10.ArchiveSha256 then
        let w =
            Expects.single
                "warnings.ToArray() |> Array.filter (fun w -> w.Contains Cifar10.ArchiveSha256)"
                (warnings.ToArray() |> Array.filter (fun w -> w.Contains Cifar10.ArchiveSha256))

        Expect.stringContains w (Path.GetFullPath source.Value) "w"
        Expect.stringContains w sha "w"
        Expect.stringContains w "warning" "w"
    else
        Expect.isEmpty warnings "warnings"

// ---------------------------------------------------------------- broken copies

let private fileBytes = 3073L * 10000L

/// A temp folder with the official layout: every batch file of the right size (zero labels and pixels,
/// written sparsely so it costs no disk) and batches.meta.txt; `edit` may break it before `check` runs.
let private withLayout (edit: string -> unit) (check: string -> unit) =
    let tmp = Directory.CreateTempSubdirectory "fn-cifar-"

    try
        for f in Cifar10.trainFiles @ [ Cifar10.TestFile ] do
            use s = File.Create(Path.Combine(tmp.FullName, f))
            s.SetLength fileBytes

        File.WriteAllLines(Path.Combine(tmp.FullName, Cifar10.MetaFile), Cifar10.ClassNames)
        edit tmp.FullName
        check tmp.FullName
    finally
        tmp.Delete true

let private setLength (path: string) (len: int64) =
    use s = new FileStream(path, FileMode.Open)
    s.SetLength len

let ``a batch file one byte too long or short names the file and the sizes`` () =
    withLayout (fun d -> setLength (Path.Combine(d, "data_batch_3.bin")) (fileBytes + 1L)) (fun d ->
        let e =
            Expects.throws<InvalidDataException> "Cifar10.load d" (fun () -> Cifar10.load d |> ignore)

        Expect.stringContains e.Message (Path.Combine(d, "data_batch_3.bin")) "e.Message"

        Expect.stringContains
            e.Message
            "data_batch_3.bin has 30,730,001 bytes; expected 30,730,000 (10,000 records of 3,073 bytes)"
            "e.Message"

        Expect.stringContains e.Message "download" "e.Message")

    withLayout (fun d -> setLength (Path.Combine(d, Cifar10.TestFile)) (fileBytes - 1L)) (fun d ->
        let e =
            Expects.throws<InvalidDataException> "Cifar10.load d" (fun () -> Cifar10.load d |> ignore)

        Expect.stringContains e.Message (Path.Combine(d, Cifar10.TestFile)) "e.Message"
        Expect.stringContains e.Message "test_batch.bin has 30,729,999 bytes; expected 30,730,000" "e.Message"
        Expect.stringContains e.Message "truncated" "e.Message")

let ``a label byte of 10 names the file, the record and the label`` () =
    let edit (d: string) =
        use s = new FileStream(Path.Combine(d, "data_batch_2.bin"), FileMode.Open)
        s.Position <- 5L * 3073L
        s.WriteByte 10uy

    withLayout edit (fun d ->
        let e =
            Expects.throws<InvalidDataException> "Cifar10.load d" (fun () -> Cifar10.load d |> ignore)

        Expect.stringContains e.Message (Path.Combine(d, "data_batch_2.bin")) "e.Message"
        Expect.stringContains e.Message "record 5 (byte offset 15,365) has label 10" "e.Message"
        Expect.stringContains e.Message "0..9" "e.Message")

let ``a well-formed folder loads, and missing files and bad class lists are named`` () =
    withLayout ignore (fun d ->
        let c = Cifar10.load d
        Expect.equal c.Train.Count 50000 "c.Train.Count"
        Expect.equal (labels c.Test [| 0; 1; 2; 9999 |]) (Array.zeroCreate 4) "labels c.Test [| 0; 1; 2; 9999 |]"
        Expect.equal (Cifar10.batchesDirOf ignore d) d "Cifar10.batchesDirOf ignore d")

    withLayout (fun d -> File.Delete(Path.Combine(d, Cifar10.TestFile))) (fun d ->
        let e =
            Expects.throws<FileNotFoundException> "Cifar10.load d" (fun () -> Cifar10.load d |> ignore)

        Expect.stringContains e.Message "test_batch.bin" "e.Message"
        Expect.stringContains e.Message d "e.Message")

    withLayout (fun d -> File.WriteAllLines(Path.Combine(d, Cifar10.MetaFile), Cifar10.ClassNames[..8])) (fun d ->
        let e =
            Expects.throws<InvalidDataException> "Cifar10.load d" (fun () -> Cifar10.load d |> ignore)

        Expect.stringContains e.Message (Path.Combine(d, Cifar10.MetaFile)) "e.Message"
        Expect.stringContains e.Message "9 class names" "e.Message")

// ---------------------------------------------------------------- archives

let private writeArchive (path: string) (members: (string * byte[]) list) =
    use f = File.Create path
    use gz = new GZipStream(f, CompressionLevel.Fastest)
    use tar = new TarWriter(gz, TarEntryFormat.Pax, false)

    for name, data in members do
        let e = PaxTarEntry(TarEntryType.RegularFile, name)
        e.DataStream <- new MemoryStream(data)
        tar.WriteEntry e

let private withTemp f =
    TestFiles.withTemp "fn-cifar-archive-" f

let ``an archive with the official layout is extracted once, under the folder named for it, and a wrong sha256 only warns``
    ()
    =
    withTemp (fun d ->
        let archive = Path.Combine(d, Cifar10.ArchiveName)
        let root = Path.Combine(d, "extracted")
        let batch = Array.zeroCreate<byte>(int fileBytes)
        // Record 1 of test_batch: label 7, first red pixel 255.
        batch[3073] <- 7uy
        batch[3074] <- 255uy

        let meta =
            Text.Encoding.ASCII.GetBytes(String.Join("\n", Cifar10.ClassNames) + "\n\n")

        writeArchive
            archive
            [
                for f in Cifar10.trainFiles @ [ Cifar10.TestFile ] -> "cifar-10-batches-bin/" + f, batch
                yield "cifar-10-batches-bin/" + Cifar10.MetaFile, meta
            ]

        let warned = ResizeArray<string>()
        let c = Cifar10.loadFrom warned.Add root archive
        Expect.equal c.Test.Count 10000 "c.Test.Count"
        Expect.equal (labels c.Test [| 0; 1; 2 |]) [| 0; 7; 0 |] "labels c.Test [| 0; 1; 2 |]"
        let x = Tensor.toArray (c.Test.GetBatch [| 1 |]).Input :?> float32[]
        Expect.equal x[0] 1.0f "x[0]"
        Expect.equal x[1] 0.0f "x[1]"

        let w = Expects.single "warned" warned
        Expect.stringContains w archive "w"
        Expect.stringContains w Cifar10.ArchiveSha256 "w"
        Expect.stringContains w (sha256 archive) "w"

        // Extracted under the named folder (never beside the archive), renamed into place complete; no
        // temporary folder is left.
        Expect.equal
            (Directory.GetFileSystemEntries d |> Array.sort)
            [| archive; root |]
            "Directory.GetFileSystemEntries d |> Array.sort"

        let extracted =
            Directory.GetDirectories root
            |> Array.map (fun p -> string (Path.GetFileName p))

        let only = Expects.single "extracted" extracted
        Expect.stringStarts only "cifar-10-extracted-" "only"
        let batches = Path.Combine(root, only, Cifar10.BatchesFolder)
        Expect.equal (Cifar10.batchesDirIn ignore root archive) batches "Cifar10.batchesDirIn ignore root archive"

        // A second load reuses the extraction (no new write) and warns again.
        let stamp = File.GetLastWriteTimeUtc(Path.Combine(batches, Cifar10.TestFile))
        warned.Clear()

        Expect.equal
            ((Cifar10.loadFrom warned.Add root d).Test.Count)
            10000
            "(Cifar10.loadFrom warned.Add root d).Test.Count"

        Expects.single "warned" warned |> ignore

        Expect.equal
            (File.GetLastWriteTimeUtc(Path.Combine(batches, Cifar10.TestFile)))
            stamp
            "File.GetLastWriteTimeUtc(Path.Combine(batches, Cifar10.TestFile))"

        Expects.single "Directory.GetDirectories root" (Directory.GetDirectories root)
        |> ignore)

let ``a corrupt archive or one lacking files is named with the fix`` () =
    withTemp (fun d ->
        let archive = Path.Combine(d, Cifar10.ArchiveName)
        File.WriteAllBytes(archive, [| 0x1fuy; 0x8buy; 8uy; 0uy; 1uy; 2uy; 3uy; 4uy; 5uy; 6uy; 7uy |])

        let e =
            Expects.throws<InvalidDataException> "Cifar10.load archive" (fun () -> Cifar10.load archive |> ignore)

        Expect.stringContains e.Message archive "e.Message"
        Expect.stringContains e.Message Cifar10.Url "e.Message"
        Expect.isEmpty (Directory.GetDirectories d) "Directory.GetDirectories d")

    withTemp (fun d ->
        let archive = Path.Combine(d, Cifar10.ArchiveName)

        writeArchive
            archive
            [
                "cifar-10-batches-bin/" + Cifar10.MetaFile, Text.Encoding.ASCII.GetBytes "airplane\n"
            ]

        let e =
            Expects.throws<InvalidDataException> "Cifar10.load archive" (fun () -> Cifar10.load archive |> ignore)

        Expect.stringContains e.Message archive "e.Message"
        Expect.stringContains e.Message "data_batch_1.bin" "e.Message"
        Expect.isEmpty (Directory.GetDirectories d) "Directory.GetDirectories d")

let ``find accepts an explicit archive or folder and lists where it looked otherwise`` () =
    withTemp (fun d ->
        let e =
            Expects.throws<FileNotFoundException> "Cifar10.find (Some d)" (fun () -> Cifar10.find (Some d) |> ignore)

        Expect.stringContains e.Message d "e.Message"
        Expect.stringContains e.Message (Path.Combine(d, "cifar10")) "e.Message"
        Expect.stringContains e.Message Cifar10.Url "e.Message"

        let e =
            Expects.throws<FileNotFoundException> "Cifar10.load d" (fun () -> Cifar10.load d |> ignore)

        Expect.stringContains e.Message d "e.Message"

        let sub = Directory.CreateDirectory(Path.Combine(d, "cifar10"))
        File.WriteAllBytes(Path.Combine(sub.FullName, Cifar10.ArchiveName), [||])
        Expect.equal (Cifar10.find (Some d)) sub.FullName "Cifar10.find (Some d)"
        let archive = Path.Combine(sub.FullName, Cifar10.ArchiveName)
        Expect.equal (Cifar10.find (Some archive)) archive "Cifar10.find (Some archive)")

/// The tests of this module.
let tests =
    testList
        "Cifar10"
        [
            testCase
                "real archive: counts, first labels and class names"
                (realCifar ``real archive: counts, first labels and class names``)
            testCase
                "real archive: 5,000 per class in training and 1,000 in test"
                (realCifar ``real archive: 5,000 per class in training and 1,000 in test``)
            testCase
                "real archive: inputs are the file's R, G, B planes scaled to 0..1"
                (realCifar ``real archive: inputs are the file's R, G, B planes scaled to 0..1``)
            testCase
                "real archive: a checksum mismatch warns and names the archive but loads"
                (realCifar ``real archive: a checksum mismatch warns and names the archive but loads``)
            testCase
                "a batch file one byte too long or short names the file and the sizes"
                ``a batch file one byte too long or short names the file and the sizes``
            testCase
                "a label byte of 10 names the file, the record and the label"
                ``a label byte of 10 names the file, the record and the label``
            testCase
                "a well-formed folder loads, and missing files and bad class lists are named"
                ``a well-formed folder loads, and missing files and bad class lists are named``
            testCase
                "an archive with the official layout is extracted once, under the folder named for it, and a wrong sha256 only warns"
                ``an archive with the official layout is extracted once, under the folder named for it, and a wrong sha256 only warns``
            testCase
                "a corrupt archive or one lacking files is named with the fix"
                ``a corrupt archive or one lacking files is named with the fix``
            testCase
                "find accepts an explicit archive or folder and lists where it looked otherwise"
                ``find accepts an explicit archive or folder and lists where it looked otherwise``
        ]
