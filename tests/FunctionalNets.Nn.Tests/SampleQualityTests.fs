module FunctionalNets.Tests.Nn.SampleQualityTests

open System
open System.IO
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn

let private close (tolerance: float) (expected: float) (actual: float) =
    Expect.isTrue (abs (expected - actual) <= tolerance) (sprintf "expected %.9g, got %.9g" expected actual)

let ``class entropy in bits by hand`` () =
    close 1e-12 2.0 (SampleQuality.entropyBits [| 1; 1; 1; 1 |])
    close 1e-12 0.0 (SampleQuality.entropyBits [| 5; 0; 0 |])
    // -(1/4 log2 1/4 + 3/4 log2 3/4) = 0.5 + 0.311278
    close 1e-6 0.811278 (SampleQuality.entropyBits [| 1; 3 |])

    Expects.throws<ArgumentException> "SampleQuality.entropyBits [| 0; 0 |]" (fun () ->
        SampleQuality.entropyBits [| 0; 0 |] |> ignore)
    |> ignore

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
    Expect.equal q.Count 4 "q.Count"
    close 1e-12 0.75 q.ConfidentShare
    Expect.equal q.ClassCounts [| 2; 1; 1 |] "q.ClassCounts"
    close 1e-12 1.5 q.ClassEntropyBits

// A classifier trained briefly on 12,000 training images: enough to separate real digits from junk.
let private mnist = lazy (Mnist.load (DataLocation.findMnist None))

let private classifier =
    lazy (SampleQuality.trainMnistClassifier (Dataset.take 12000 mnist.Value.Train) 1 (Key.create 0L))

let private realDigits (n: int) =
    let batch = mnist.Value.Test.GetBatch(Array.init n id)
    batch.Input * Mnist.Std + Mnist.Mean, Tensor.toFloatArray batch.Target

let ``real test digits are classified confidently and spread over the ten classes`` () =
    let images, labels = realDigits 1000
    let q = SampleQuality.scoreMnist classifier.Value 0.9 images

    let labelCounts =
        Array.init 10 (fun c -> labels |> Array.filter (fun l -> int l = c) |> Array.length)
    // The true labels of the first 1,000 test digits carry about 3.3 bits (log2 10 = 3.32 for equal classes).
    let truth = SampleQuality.entropyBits labelCounts
    Checks.inRange "truth" 3.25 3.33 truth
    close 0.08 truth q.ClassEntropyBits
    Expect.isTrue (q.ConfidentShare > 0.8) (SampleQuality.describe q)

let ``a batch of one repeated image scores 0 bits`` () =
    let images, _ = realDigits 1

    let q =
        SampleQuality.scoreMnist classifier.Value 0.9 (Tensor.expand (images, [ 50; 1; 28; 28 ]))

    Expect.equal q.ClassEntropyBits 0.0 "q.ClassEntropyBits"
    Expect.equal (Array.max q.ClassCounts) 50 "Array.max q.ClassCounts"

let ``the classifier is written once and read back by the next run`` () =
    TestFiles.withTemp "sample-quality" (fun dir ->
        let path = Path.Combine(dir, "classifier.safetensors")
        let train = Dataset.take 128 mnist.Value.Train
        let first = SampleQuality.mnistClassifier path train 1 (Key.create 3L)
        Expect.isTrue (File.Exists path) "File.Exists path"
        let second = SampleQuality.mnistClassifier path train 1 (Key.create 3L)

        Expect.equal
            (PTree.values second.Params |> List.map Tensor.toFloatArray)
            (PTree.values first.Params |> List.map Tensor.toFloatArray)
            "PTree.values second.Params |> List.map Tensor.toFloatArray")

let ``images of the wrong shape are refused with the expected shape`` () =
    let e =
        Expects.throws<ArgumentException>
            "SampleQuality.scoreMnist classifier.Value 0.9 (Tensor.zeros [ 2; 28; 28 ])"
            (fun () ->
                SampleQuality.scoreMnist classifier.Value 0.9 (Tensor.zeros [ 2; 28; 28 ])
                |> ignore)

    Expect.stringContains e.Message "[N; 1; 28; 28]" "e.Message"

/// The tests of this module.
let tests =
    testList
        "SampleQuality"
        [
            testCase "class entropy in bits by hand" ``class entropy in bits by hand``
            testCase
                "confident share and class counts from probabilities"
                ``confident share and class counts from probabilities``
            testCase
                "real test digits are classified confidently and spread over the ten classes"
                ``real test digits are classified confidently and spread over the ten classes``
            testCase "a batch of one repeated image scores 0 bits" ``a batch of one repeated image scores 0 bits``
            testCase
                "the classifier is written once and read back by the next run"
                ``the classifier is written once and read back by the next run``
            testCase
                "images of the wrong shape are refused with the expected shape"
                ``images of the wrong shape are refused with the expected shape``
        ]
