module FunctionalNets.Tests.Nn.MnistTests

open System
open System.IO
open System.IO.Compression
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn
// The repository's data/mnist (found by walking up from the test assembly) or $FUNCTIONALNETS_DATA/mnist.
let private dir = lazy (DataLocation.findMnist None)
let private mnist = lazy (Mnist.load dir.Value)

let private labels (ds: IDataset) (ix: int[]) =
    Tensor.toArray (ds.GetBatch ix).Target :?> int64[] |> Array.map int

let private gunzip (path: string) =
    use f = File.OpenRead path
    use gz = new GZipStream(f, CompressionMode.Decompress)
    use ms = new MemoryStream()
    gz.CopyTo ms
    ms.ToArray()

let private gzip (bytes: byte[]) =
    use ms = new MemoryStream()

    do
        use gz = new GZipStream(ms, CompressionLevel.Fastest)
        gz.Write(bytes, 0, bytes.Length)

    ms.ToArray()

/// A temp folder holding the test split's files, with one file replaced by `bytes` (written raw or gzipped).
let private withBroken (file: string) (bytes: byte[]) (gzipped: bool) (check: string -> string -> unit) =
    let tmp = Directory.CreateTempSubdirectory "fn-mnist-"

    try
        for f in [ "t10k-images-idx3-ubyte"; "t10k-labels-idx1-ubyte" ] do
            if f <> file then
                File.Copy(Path.Combine(dir.Value, f + ".gz"), Path.Combine(tmp.FullName, f + ".gz"))

        let path = Path.Combine(tmp.FullName, (if gzipped then file + ".gz" else file))
        File.WriteAllBytes(path, (if gzipped then gzip bytes else bytes))
        check tmp.FullName path
    finally
        tmp.Delete true

let private testImages =
    lazy (gunzip (Path.Combine(dir.Value, "t10k-images-idx3-ubyte.gz")))

let private testLabels =
    lazy (gunzip (Path.Combine(dir.Value, "t10k-labels-idx1-ubyte.gz")))

let private expectInvalid (dir: string) (verify: bool) (fragments: string list) =
    let e =
        Expects.throws<InvalidDataException> "Mnist.loadRaw verify dir MnistSplit.Test" (fun () ->
            Mnist.loadRaw verify dir MnistSplit.Test |> ignore)

    for f in fragments do
        Expect.stringContains e.Message f "e.Message"

let ``counts and first labels`` () =
    let m = mnist.Value
    Expect.equal m.Train.Count 60000 "m.Train.Count"
    Expect.equal m.Test.Count 10000 "m.Test.Count"
    Expect.equal (labels m.Train [| 0..9 |]) [| 5; 0; 4; 1; 9; 2; 1; 3; 1; 4 |] "labels m.Train [| 0..9 |]"
    Expect.equal (labels m.Test [| 0..9 |]) [| 7; 2; 1; 0; 4; 1; 4; 9; 5; 9 |] "labels m.Test [| 0..9 |]"

let ``class counts`` () =
    let m = mnist.Value

    let counts (ds: IDataset) =
        Array.countBy id (labels ds [| 0 .. ds.Count - 1 |])
        |> Array.sortBy fst
        |> Array.map snd

    Expect.equal (counts m.Train) [| 5923; 6742; 5958; 6131; 5842; 5421; 5918; 6265; 5851; 5949 |] "counts m.Train"
    Expect.equal (counts m.Test) [| 980; 1135; 1032; 1010; 982; 892; 958; 1028; 974; 1009 |] "counts m.Test"

let ``inputs are normalised float32 N x 1 x 28 x 28 and targets int64`` () =
    let b = mnist.Value.Train.GetBatch [| 0..999 |]
    Expect.equal (b.Input.Shape.ToArray()) [| 1000; 1; 28; 28 |] "b.Input.Shape.ToArray()"
    Expect.equal b.Input.DType DType.Float32 "b.Input.DType"
    Expect.equal b.Target.DType DType.Int64 "b.Target.DType"
    let x = Tensor.toArray b.Input :?> float32[]
    let lo, hi = float32 (-0.1307 / 0.3081), float32 ((1.0 - 0.1307) / 0.3081)
    Expect.equal (System.Math.Round(float (Array.min x), 5)) (System.Math.Round(float lo, 5)) "Array.min x to 5 places"
    Expect.equal (System.Math.Round(float (Array.max x), 5)) (System.Math.Round(float hi, 5)) "Array.max x to 5 places"
    // Normalised with the training set's statistics, so the training data has mean ~0 and std ~1.
    let mean = Array.averageBy float x
    Checks.inRange "mean" -0.1 0.1 mean

let ``raw pixels match the file`` () =
    let raw = Mnist.loadRaw true dir.Value MnistSplit.Test
    Expect.equal raw.Count 10000 "raw.Count"
    Expect.equal raw.Images.Length (10000 * 784) "raw.Images.Length"
    Expect.equal raw.Images[0..783] (testImages.Value[16 .. 16 + 783]) "raw.Images[0..783]"

let ``the training set loads whole: 60,000 images of 784 pixels with their labels`` () =
    let raw = Mnist.loadRaw true dir.Value MnistSplit.Train
    Expect.equal raw.Count 60000 "raw.Count"
    Expect.equal raw.Images.Length (60000 * 784) "raw.Images.Length"
    Expect.equal raw.Labels.Length 60000 "raw.Labels.Length"

let ``raw (uncompressed) files load too`` () =
    withBroken "t10k-images-idx3-ubyte" testImages.Value false (fun d _ ->
        let raw = Mnist.loadRaw true d MnistSplit.Test
        Expect.equal raw.Count 10000 "raw.Count")

let ``truncated file`` () =
    withBroken "t10k-images-idx3-ubyte" testImages.Value[..999] true (fun d path ->
        expectInvalid d true [ path; "file is truncated: expected 7840016 bytes, got 1000" ])

let ``truncated gzip stream`` () =
    let tmp = Directory.CreateTempSubdirectory "fn-mnist-"

    try
        let gz = File.ReadAllBytes(Path.Combine(dir.Value, "t10k-labels-idx1-ubyte.gz"))
        let path = Path.Combine(tmp.FullName, "t10k-labels-idx1-ubyte.gz")
        File.WriteAllBytes(path, gz[.. gz.Length / 2])

        let e =
            Expects.throwsAny<InvalidDataException> "Mnist.readIdx true path" (fun () ->
                Mnist.readIdx true path |> ignore)

        Expect.stringContains e.Message path "e.Message"
    finally
        tmp.Delete true

let ``bad magic`` () =
    let b = Array.copy testLabels.Value
    b[3] <- 3uy

    withBroken "t10k-labels-idx1-ubyte" b true (fun d path ->
        expectInvalid d true [ path; "bad IDX magic number 0x00000803, expected 0x00000801" ])

let ``wrong count`` () =
    let b = Array.copy testImages.Value
    b[7] <- b[7] - 1uy // 10000 -> 9999 images

    withBroken "t10k-images-idx3-ubyte" b false (fun d path ->
        expectInvalid d true [ path; "wrong dims"; "10000 images" ])

let ``missing file`` () =
    let tmp = Directory.CreateTempSubdirectory "fn-mnist-"

    try
        let e =
            Expects.throws<FileNotFoundException> "Mnist.load tmp.FullName" (fun () ->
                Mnist.load tmp.FullName |> ignore)

        Expect.stringContains e.Message (Path.Combine(tmp.FullName, "train-images-idx3-ubyte.gz")) "e.Message"
        Expect.stringContains e.Message "does not exist" "e.Message"
    finally
        tmp.Delete true

let ``corrupt gzip`` () =
    let junk =
        Array.append [| 0x1fuy; 0x8buy; 8uy; 0uy |] (Array.init 500 (fun i -> byte (i * 37)))

    // Named without .gz: the gzip magic, not the name, decides how a file is read.
    withBroken "t10k-labels-idx1-ubyte" junk false (fun d path -> expectInvalid d true [ path; "gzip data is corrupt" ])

let ``checksum mismatch raises unless verify is off`` () =
    let b = Array.copy testImages.Value
    b[16 + 400] <- b[16 + 400] ^^^ 0xFFuy

    withBroken "t10k-images-idx3-ubyte" b true (fun d path ->
        expectInvalid
            d
            true
            [
                path
                "sha256"
                "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"
                "verify = false"
            ]

        let raw = Mnist.loadRaw false d MnistSplit.Test
        Expect.equal raw.Images[400] (b[16 + 400]) "raw.Images[400]")

let ``image and label counts must agree`` () =
    // A well-formed label file of the wrong split (60000 labels) next to the test images.
    let tmp = Directory.CreateTempSubdirectory "fn-mnist-"

    try
        File.Copy(
            Path.Combine(dir.Value, "t10k-images-idx3-ubyte.gz"),
            Path.Combine(tmp.FullName, "t10k-images-idx3-ubyte.gz")
        )

        let lbl = gunzip (Path.Combine(dir.Value, "train-labels-idx1-ubyte.gz"))
        // Unknown name, so no split-specific checks: read it with readIdx and compare counts by hand.
        let other = Path.Combine(tmp.FullName, "labels-idx1-ubyte")
        File.WriteAllBytes(other, lbl)
        let dims, _ = Mnist.readIdx true other
        Expect.equal dims [| 60000 |] "dims"
        // Under the test name, the canonical dims catch it.
        File.WriteAllBytes(Path.Combine(tmp.FullName, "t10k-labels-idx1-ubyte"), lbl)
        expectInvalid tmp.FullName true [ "t10k-labels-idx1-ubyte"; "10000 labels" ]
    finally
        tmp.Delete true

let ``DataLoader over MNIST`` () =
    let l = DataLoader.create mnist.Value.Test 128 true true
    Expect.equal (DataLoader.count l) 78 "DataLoader.count l"

    let n =
        DataLoader.batches l (Key.create 0L) |> Seq.sumBy (fun b -> b.Input.Shape[0])

    Expect.equal n (78 * 128) "n"

/// The tests of this module.
let tests =
    testList
        "Mnist"
        [
            testCase "counts and first labels" ``counts and first labels``
            testCase "class counts" ``class counts``
            testCase
                "inputs are normalised float32 N x 1 x 28 x 28 and targets int64"
                ``inputs are normalised float32 N x 1 x 28 x 28 and targets int64``
            testCase "raw pixels match the file" ``raw pixels match the file``
            testCase
                "the training set loads whole: 60,000 images of 784 pixels with their labels"
                ``the training set loads whole: 60,000 images of 784 pixels with their labels``
            testCase "raw (uncompressed) files load too" ``raw (uncompressed) files load too``
            testCase "truncated file" ``truncated file``
            testCase "truncated gzip stream" ``truncated gzip stream``
            testCase "bad magic" ``bad magic``
            testCase "wrong count" ``wrong count``
            testCase "missing file" ``missing file``
            testCase "corrupt gzip" ``corrupt gzip``
            testCase "checksum mismatch raises unless verify is off" ``checksum mismatch raises unless verify is off``
            testCase "image and label counts must agree" ``image and label counts must agree``
            testCase "DataLoader over MNIST" ``DataLoader over MNIST``
        ]
