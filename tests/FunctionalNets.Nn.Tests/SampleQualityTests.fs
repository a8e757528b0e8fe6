module FunctionalNets.Tests.Nn.SampleQualityTests

open System
open System.IO
open Xunit
open FunctionalNets
open FunctionalNets.Nn

let private close (tolerance: float) (expected: float) (actual: float) =
    Assert.True(abs (expected - actual) <= tolerance, sprintf "expected %.9g, got %.9g" expected actual)

[<Fact>]
let ``class entropy in bits by hand`` () =
    close 1e-12 2.0 (SampleQuality.entropyBits [| 1; 1; 1; 1 |])
    close 1e-12 0.0 (SampleQuality.entropyBits [| 5; 0; 0 |])
    // -(1/4 log2 1/4 + 3/4 log2 3/4) = 0.5 + 0.311278
    close 1e-6 0.811278 (SampleQuality.entropyBits [| 1; 3 |])

    Assert.Throws<ArgumentException>(fun () -> SampleQuality.entropyBits [| 0; 0 |] |> ignore)
    |> ignore

[<Fact>]
let ``confident share and class counts from probabilities`` () =
    let p =
        Tensor.create
            [
                [ 0.95; 0.05; 0.0 ]
                [ 0.1; 0.85; 0.05 ]
                [ 0.0; 0.02; 0.98 ]
                [ 0.91; 0.09; 0.0 ]
            ]

    let q = SampleQuality.ofProbabilities 0.9 p
    Assert.Equal(4, q.Count)
    close 1e-12 0.75 q.ConfidentShare
    Assert.Equal<int[]>([| 2; 1; 1 |], q.ClassCounts)
    close 1e-12 1.5 q.ClassEntropyBits

// A classifier trained briefly on 12,000 training images: enough to separate real digits from junk.
let private mnist = lazy (Mnist.load (DataLocation.findMnist None))

let private classifier =
    lazy (SampleQuality.trainMnistClassifier (Dataset.take 12000 mnist.Value.Train) 1 (Key.create 0L))

let private realDigits (n: int) =
    let batch = mnist.Value.Test.GetBatch(Array.init n id)
    batch.Input * Mnist.Std + Mnist.Mean, Tensor.toFloatArray batch.Target

[<Fact>]
let ``real test digits are classified confidently and spread over the ten classes`` () =
    let images, labels = realDigits 1000
    let q = SampleQuality.scoreMnist classifier.Value 0.9 images

    let labelCounts =
        Array.init 10 (fun c -> labels |> Array.filter (fun l -> int l = c) |> Array.length)
    // The true labels of the first 1,000 test digits carry about 3.3 bits (log2 10 = 3.32 for equal classes).
    let truth = SampleQuality.entropyBits labelCounts
    Assert.InRange(truth, 3.25, 3.33)
    close 0.08 truth q.ClassEntropyBits
    Assert.True(q.ConfidentShare > 0.8, SampleQuality.describe q)

[<Fact>]
let ``a batch of one repeated image scores 0 bits`` () =
    let images, _ = realDigits 1

    let q =
        SampleQuality.scoreMnist classifier.Value 0.9 (Tensor.expand (images, [ 50; 1; 28; 28 ]))

    Assert.Equal(0.0, q.ClassEntropyBits)
    Assert.Equal(50, Array.max q.ClassCounts)

[<Fact>]
let ``the classifier is written once and read back by the next run`` () =
    TestFiles.withTemp "sample-quality" (fun dir ->
        let path = Path.Combine(dir, "classifier.safetensors")
        let train = Dataset.take 128 mnist.Value.Train
        let first = SampleQuality.mnistClassifier path train 1 (Key.create 3L)
        Assert.True(File.Exists path)
        let second = SampleQuality.mnistClassifier path train 1 (Key.create 3L)

        Assert.Equal<float[] list>(
            PTree.values first.Params |> List.map Tensor.toFloatArray,
            PTree.values second.Params |> List.map Tensor.toFloatArray
        ))

[<Fact>]
let ``images of the wrong shape are refused with the expected shape`` () =
    let e =
        Assert.Throws<ArgumentException>(fun () ->
            SampleQuality.scoreMnist classifier.Value 0.9 (Tensor.zeros [ 2; 28; 28 ])
            |> ignore)

    Assert.Contains("[N; 1; 28; 28]", e.Message)
