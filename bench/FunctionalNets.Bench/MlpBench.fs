module FunctionalNets.Bench.MlpBench

open FunctionalNets

/// Forward + backward of a 784-512-256-10 ReLU MLP with softmax cross-entropy, no optimizer step: the same
/// work as the peer's mlp_step (../shared/bench/pytorch_ops.py).
let run () =
    let key = Key.create 0L
    let ks = Key.splitN 5 key

    let param =
        PTree.node
            [
                "w0", Leaf(Tensor.randn (ks[0], [ 512; 784 ]) * 0.05)
                "b0", Leaf(Tensor.zeros [ 512 ])
                "w1", Leaf(Tensor.randn (ks[1], [ 256; 512 ]) * 0.05)
                "b1", Leaf(Tensor.zeros [ 256 ])
                "w2", Leaf(Tensor.randn (ks[2], [ 10; 256 ]) * 0.05)
                "b2", Leaf(Tensor.zeros [ 10 ])
            ]

    let get (p: PTree<Tensor>) name =
        match PTree.tryFind name p with
        | Some(Leaf t) -> t
        | _ -> failwithf "missing %s" name

    for batch in [ 64; 128 ] do
        let x = Tensor.randn (ks[3], [ batch; 784 ])
        let y = Tensor.randint (ks[4], 0, 10, [ batch; 1 ])

        let loss (p: PTree<Tensor>) =
            let h = Tensor.relu (Tensor.linear (x, get p "w0", get p "b0"))
            let h = Tensor.relu (Tensor.linear (h, get p "w1", get p "b1"))
            let logits = Tensor.linear (h, get p "w2", get p "b2")
            -Tensor.mean(Tensor.gather (Tensor.logSoftmax (logits, 1), 1, y))

        let step () =
            Scope.run (fun () -> Diff.gradTree loss param |> ignore)

        let seconds = BenchTiming.bestOf step 50 5
        printfn "{\"op\":\"mlp_step\",\"batch\":%d,\"ms\":%.3f}" batch (seconds * 1e3)
