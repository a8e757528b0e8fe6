module FunctionalNets.Bench.MnistCnnEpochBench

open FunctionalNets.Nn

/// One training epoch of the peer's MNIST CNN (conv32-pool-conv64-pool-fc128-dropout0.5-fc10); the peer is
/// ../shared/bench/pytorch_mnist.py --model cnn --epochs 1 --batch 64.
let run () =
    EpochBench.runMnist "mnist_cnn_epoch" (Models.mnistCnn ())
