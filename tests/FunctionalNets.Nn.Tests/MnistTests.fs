module FunctionalNets.Tests.Nn.MnistTests

open System
open System.IO
open System.IO.Compression
open Xunit
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
        Assert.Throws<InvalidDataException>(fun () -> Mnist.loadRaw verify dir MnistSplit.Test |> ignore)

    for f in fragments do
        Assert.Contains(f, e.Message)

[<Fact>]
let ``counts and first labels`` () =
    let m = mnist.Value
    Assert.Equal(60000, m.Train.Count)
    Assert.Equal(10000, m.Test.Count)
    Assert.Equal<int[]>([| 5; 0; 4; 1; 9; 2; 1; 3; 1; 4 |], labels m.Train [| 0..9 |])
    Assert.Equal<int[]>([| 7; 2; 1; 0; 4; 1; 4; 9; 5; 9 |], labels m.Test [| 0..9 |])

[<Fact>]
let ``class counts`` () =
    let m = mnist.Value

    let counts (ds: IDataset) =
        Array.countBy id (labels ds [| 0 .. ds.Count - 1 |])
        |> Array.sortBy fst
        |> Array.map snd

    Assert.Equal<int[]>([| 5923; 6742; 5958; 6131; 5842; 5421; 5918; 6265; 5851; 5949 |], counts m.Train)
    Assert.Equal<int[]>([| 980; 1135; 1032; 1010; 982; 892; 958; 1028; 974; 1009 |], counts m.Test)

[<Fact>]
let ``inputs are normalised float32 N x 1 x 28 x 28 and targets int64`` () =
    let b = mnist.Value.Train.GetBatch [| 0..999 |]
    Assert.Equal<int[]>([| 1000; 1; 28; 28 |], b.Input.Shape.ToArray())
    Assert.Equal(DType.Float32, b.Input.DType)
    Assert.Equal(DType.Int64, b.Target.DType)
    let x = Tensor.toArray b.Input :?> float32[]
    let lo, hi = float32 (-0.1307 / 0.3081), float32 ((1.0 - 0.1307) / 0.3081)
    Assert.Equal(lo, Array.min x, 5)
    Assert.Equal(hi, Array.max x, 5)
    // Normalised with the training set's statistics, so the training data has mean ~0 and std ~1.
    let mean = Array.averageBy float x
    Assert.InRange(mean, -0.1, 0.1)

[<Fact>]
let ``raw pixels match the file`` () =
    let raw = Mnist.loadRaw true dir.Value MnistSplit.Test
    Assert.Equal(10000, raw.Count)
    Assert.Equal(10000 * 784, raw.Images.Length)
    Assert.Equal<byte[]>(testImages.Value[16 .. 16 + 783], raw.Images[0..783])

[<Fact>]
let ``the training set loads whole: 60,000 images of 784 pixels with their labels`` () =
    let raw = Mnist.loadRaw true dir.Value MnistSplit.Train
    Assert.Equal(60000, raw.Count)
    Assert.Equal(60000 * 784, raw.Images.Length)
    Assert.Equal(60000, raw.Labels.Length)

[<Fact>]
let ``raw (uncompressed) files load too`` () =
    withBroken "t10k-images-idx3-ubyte" testImages.Value false (fun d _ ->
        let raw = Mnist.loadRaw true d MnistSplit.Test
        Assert.Equal(10000, raw.Count))

[<Fact>]
let ``truncated file`` () =
    withBroken "t10k-images-idx3-ubyte" testImages.Value[..999] true (fun d path ->
        expectInvalid d true [ path; "file is truncated: expected 7840016 bytes, got 1000" ])

[<Fact>]
let ``truncated gzip stream`` () =
    let tmp = Directory.CreateTempSubdirectory "fn-mnist-"

    try
        let gz = File.ReadAllBytes(Path.Combine(dir.Value, "t10k-labels-idx1-ubyte.gz"))
        let path = Path.Combine(tmp.FullName, "t10k-labels-idx1-ubyte.gz")
        File.WriteAllBytes(path, gz[.. gz.Length / 2])

        let e =
            Assert.ThrowsAny<InvalidDataException>(fun () -> Mnist.readIdx true path |> ignore)

        Assert.Contains(path, e.Message)
    finally
        tmp.Delete true

[<Fact>]
let ``bad magic`` () =
    let b = Array.copy testLabels.Value
    b[3] <- 3uy

    withBroken "t10k-labels-idx1-ubyte" b true (fun d path ->
        expectInvalid d true [ path; "bad IDX magic number 0x00000803, expected 0x00000801" ])

[<Fact>]
let ``wrong count`` () =
    let b = Array.copy testImages.Value
    b[7] <- b[7] - 1uy // 10000 -> 9999 images

    withBroken "t10k-images-idx3-ubyte" b false (fun d path ->
        expectInvalid d true [ path; "wrong dims"; "10000 images" ])

[<Fact>]
let ``missing file`` () =
    let tmp = Directory.CreateTempSubdirectory "fn-mnist-"

    try
        let e =
            Assert.Throws<FileNotFoundException>(fun () -> Mnist.load tmp.FullName |> ignore)

        Assert.Contains(Path.Combine(tmp.FullName, "train-images-idx3-ubyte.gz"), e.Message)
        Assert.Contains("does not exist", e.Message)
    finally
        tmp.Delete true

[<Fact>]
let ``corrupt gzip`` () =
    let junk =
        Array.append [| 0x1fuy; 0x8buy; 8uy; 0uy |] (Array.init 500 (fun i -> byte (i * 37)))

    // Named without .gz: the gzip magic, not the name, decides how a file is read.
    withBroken "t10k-labels-idx1-ubyte" junk false (fun d path -> expectInvalid d true [ path; "gzip data is corrupt" ])

[<Fact>]
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
        Assert.Equal(b[16 + 400], raw.Images[400]))

[<Fact>]
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
        Assert.Equal<int[]>([| 60000 |], dims)
        // Under the test name, the canonical dims catch it.
        File.WriteAllBytes(Path.Combine(tmp.FullName, "t10k-labels-idx1-ubyte"), lbl)
        expectInvalid tmp.FullName true [ "t10k-labels-idx1-ubyte"; "10000 labels" ]
    finally
        tmp.Delete true

[<Fact>]
let ``DataLoader over MNIST`` () =
    let l = DataLoader.create mnist.Value.Test 128 true true
    Assert.Equal(78, DataLoader.count l)

    let n =
        DataLoader.batches l (Key.create 0L) |> Seq.sumBy (fun b -> b.Input.Shape[0])

    Assert.Equal(78 * 128, n)
