module FunctionalNets.Bench.MnistMlpEpochBench

/// One training epoch of the MNIST MLP (784-512-256-10, ReLU, dropout 0.2); the peer is
/// ../shared/bench/pytorch_mnist.py --model mlp --epochs 1 --batch 64.
let run () =
    EpochBench.runMnist "mnist_mlp_epoch" (MnistMlp.model ())
