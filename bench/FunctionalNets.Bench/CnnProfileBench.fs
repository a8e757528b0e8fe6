module FunctionalNets.Bench.CnnProfileBench

open FunctionalNets

/// Forward + backward time of each stage of the MNIST CNN at batch 64, to see where a step's time goes.
let run () =
    let keys = Key.splitN 8 (Key.create 0L)
    let n = 64

    let time (label: string) (f: Tensor -> Tensor) (x: Tensor) =
        let both () =
            Scope.run (fun () -> Diff.grad (fun x -> Tensor.sum (f x)) x |> ignore)

        let fwd () = Scope.run (fun () -> f x |> ignore)
        let fb = BenchTiming.bestOf both 5 5
        let fo = BenchTiming.bestOf fwd 5 5
        printfn "{\"stage\":\"%s\",\"forward_ms\":%.3f,\"forward_backward_ms\":%.3f}" label (fo * 1e3) (fb * 1e3)

    let w1 = Tensor.randn (keys[0], [ 32; 1; 3; 3 ])
    let w2 = Tensor.randn (keys[1], [ 64; 32; 3; 3 ]) * 0.05
    let fc = Tensor.randn (keys[2], [ 128; 3136 ]) * 0.02
    let x0 = Tensor.randn (keys[3], [ n; 1; 28; 28 ])
    let x1 = Tensor.randn (keys[4], [ n; 32; 28; 28 ])
    let x2 = Tensor.randn (keys[5], [ n; 32; 14; 14 ])
    let x3 = Tensor.randn (keys[6], [ n; 64; 14; 14 ])
    let x4 = Tensor.randn (keys[7], [ n; 3136 ])
    let b1 = Tensor.randn (keys[0], [ 1; 32; 1; 1 ])
    let b2 = Tensor.randn (keys[1], [ 1; 64; 1; 1 ])
    time "conv1 (x grad)" (fun x -> Tensor.conv2d (x, w1, padding = 1)) x0
    time "conv1 (w grad)" (fun w -> Tensor.conv2d (x0, w, padding = 1)) w1
    time "conv1 bias (x grad)" (fun x -> x + b1) x1
    time "conv1 bias (b grad)" (fun b -> x1 + b) b1
    time "relu" Tensor.relu x1
    time "maxpool 28" (fun x -> Tensor.maxPool2d (x, 2)) x1
    time "conv2 (x grad)" (fun x -> Tensor.conv2d (x, w2, padding = 1)) x2
    time "conv2 (w grad)" (fun w -> Tensor.conv2d (x2, w, padding = 1)) w2
    time "conv2 bias (b grad)" (fun b -> x3 + b) b2
    time "maxpool 14" (fun x -> Tensor.maxPool2d (x, 2)) x3
    time "flatten+fc1 (x grad)" (fun x -> Tensor.linear (x, fc)) x4
    time "fc1 (w grad)" (fun w -> Tensor.linear (x4, w)) fc
