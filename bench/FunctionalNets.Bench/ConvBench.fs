module FunctionalNets.Bench.ConvBench

open FunctionalNets

/// The 3x3 convolutions of ResNet-18 on CIFAR-10 (batch 32): (input channels, output channels, input
/// size, stride). The peer is bench/peers/pytorch_conv2d.py with the same list.
let shapes =
    [
        3, 64, 32, 1
        64, 64, 32, 1
        64, 128, 32, 2
        128, 128, 16, 1
        128, 256, 16, 2
        256, 256, 8, 1
        256, 512, 8, 2
        512, 512, 4, 1
    ]

let batch = 32

/// Best-of timing of conv2d forward alone and forward + backward (gradients of sum(y * r) with
/// respect to the input and the weight), padding 1, no bias, Float32; prints one JSON line per shape.
let run () =
    for (cin, cout, size, stride) in shapes do
        let keys = Key.splitN 3 (Key.create 0L)
        let x = Tensor.randn (keys[0], [ batch; cin; size; size ])
        let w = Tensor.randn (keys[1], [ cout; cin; 3; 3 ]) * (1.0 / sqrt (float (cin * 9)))
        let outSize = (size + 2 - 3) / stride + 1
        let r = Tensor.randn (keys[2], [ batch; cout; outSize; outSize ])

        let forward () =
            Scope.run (fun () -> Tensor.conv2d (x, w, stride = stride, padding = 1) |> ignore)

        let loss (ps: PTree<Tensor>) =
            match ps with
            | Node [ _, Leaf x; _, Leaf w ] -> Tensor.sum (Tensor.conv2d (x, w, stride = stride, padding = 1) * r)
            | _ -> failwith "unreachable"

        let both () =
            Scope.run (fun () -> Diff.gradTree loss (Node [ "x", Leaf x; "w", Leaf w ]) |> ignore)

        let fwd = BenchTiming.bestOf forward 3 5
        let fb = BenchTiming.bestOf both 2 5
        let flop = 2.0 * float batch * float (cout * outSize * outSize) * float (cin * 9)

        printfn
            "{\"bench\":\"conv2d\",\"shape\":\"%dx%dx%dx%d->%d s%d\",\"forward_ms\":%.3f,\"forward_backward_ms\":%.3f,\"forward_gflops\":%.1f,\"forward_backward_gflops\":%.1f}"
            batch
            cin
            size
            size
            cout
            stride
            (fwd * 1e3)
            (fb * 1e3)
            (flop / fwd / 1e9)
            (3.0 * flop / fb / 1e9)
