module FunctionalNets.Bench.MnistMlp

open FunctionalNets.Nn

/// The MNIST MLP the epoch benchmarks train (784-512-256-10, ReLU, dropout 0.2 after each hidden layer), the
/// network of ../shared/bench/pytorch_mnist.py --model mlp; wrap is applied to each dropout layer (a profile
/// wraps them to time them apart).
let modelWith (wrap: Layer -> Layer) =
    Layer.sequential
        [
            Layers.flatten ()
            Layers.linear (784, 512)
            Layers.relu ()
            wrap (Layers.dropout 0.2)
            Layers.linear (512, 256)
            Layers.relu ()
            wrap (Layers.dropout 0.2)
            Layers.linear (256, 10)
        ]

/// The MLP as it trains in mnist_mlp_epoch.
let model () = modelWith id
