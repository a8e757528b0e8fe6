module FunctionalNets.Bench.MnistMlpEpochBench

open System.Diagnostics
open FunctionalNets
open FunctionalNets.Nn

/// One training epoch of the MNIST MLP (784-512-256-10, ReLU, dropout 0.2, Adam 1e-3, batch 64), timed
/// like the peer (../shared/bench/pytorch_mnist.py --model mlp --epochs 1 --batch 64): the clock covers the
/// training loop only, then the test set is evaluated.
let run () =
    let mnist = Mnist.load (DataLocation.findMnist None)

    let model =
        Layer.sequential
            [
                Layers.flatten
                Layers.linear 784 512
                Layers.relu
                Layers.dropout 0.2
                Layers.linear 512 256
                Layers.relu
                Layers.dropout 0.2
                Layers.linear 256 10
            ]

    let tx = Optim.adam 1e-3
    let state = Train.init model [ 1; 28; 28 ] tx (Key.create 0L)

    let options =
        { FitOptions.defaults with
            Epochs = 1
            BatchSize = 64
        }

    let watch = Stopwatch.StartNew()
    let trained, _ = Train.fit model Losses.crossEntropy tx options mnist.Train state
    let seconds = watch.Elapsed.TotalSeconds

    let logs =
        Train.evaluate model Losses.crossEntropy [ Metrics.accuracy ] trained mnist.Test 1000

    printfn "{\"bench\":\"mnist_mlp_epoch\",\"train_seconds\":%.3f,\"test_accuracy\":%.4f}" seconds logs["accuracy"]
