/// Layer options PyTorch users reach for (BatchNorm momentum=None, softplus beta/threshold, Embedding padding_idx and
/// max_norm), against torch 1.13's values (the torch code is quoted beside each test).
module FunctionalNets.Tests.Nn.LayerOptionTests

open Xunit
open FunctionalNets
open FunctionalNets.Nn

let private m (rows: float[][]) =
    Tensor.ofArray (Array.concat rows, [ rows.Length; rows[0].Length ])

let private close (expected: float[]) (actual: float[]) =
    Assert.Equal(expected.Length, actual.Length)

    Array.iteri
        (fun i e ->
            Assert.True(
                abs (e - actual[i]) <= 1e-12 * (1.0 + abs e),
                sprintf "element %d: expected %.17g, got %.17g" i e actual[i]
            ))
        expected

let private train = { Mode = Mode.Train; Key = None }

[<Fact>]
let ``BatchNorm with momentum None keeps the cumulative average of the batch statistics`` () =
    // bn = nn.BatchNorm1d(2, momentum=None).double().train(); bn(x) for the three batches below:
    // running_mean [0.8333333333333333, 1.3611111111111112], running_var [2.805555555555556, 5.916666666666666]
    let layer = Layers.batchNorm1dCumulative 1e-5 true true 2
    let _, ps, state0 = layer.Init (Key.create 0L) (Shape.ofArray [| 2 |])

    let batches =
        [
            m [| [| 1.0; 2.0 |]; [| 3.0; -1.0 |]; [| 0.5; 0.0 |] |]
            m [| [| -2.0; 4.0 |]; [| 0.0; 1.0 |] |]
            m [| [| 5.0; 5.0 |]; [| 1.0; -3.0 |]; [| 2.0; 2.0 |]; [| 0.0; 1.0 |] |]
        ]

    let state =
        batches
        |> List.fold (fun st x -> snd (layer.Apply ps st train (Tensor.cast (x, DType.Float32)))) state0

    let get name =
        Tensor.toFloatArray (Layer.param "test" name state)

    let closeF32 (e: float[]) (a: float[]) =
        Array.iter2 (fun e a -> Assert.True(abs (e - a) < 1e-5, sprintf "%g vs %g" e a)) e a

    closeF32 [| 0.8333333333333333; 1.3611111111111112 |] (get "running_mean")
    closeF32 [| 2.805555555555556; 5.916666666666666 |] (get "running_var")
    Assert.Equal<float[]>([| 3.0 |], get "num_batches_tracked")

[<Fact>]
let ``Embedding with padding_idx and max_norm matches torch's output and weight gradient`` () =
    // e = nn.Embedding(5, 3, padding_idx=1, max_norm=1.5).double() with weight W below; ids [[1,0,3],[4,1,2]];
    // out = e(ids); c = torch.arange(18.).reshape(2,3,3) * 0.1 - 0.5; (out * c).sum().backward()
    let w =
        m
            [|
                [| 0.5; -1.0; 2.0 |]
                [| 0.3; 0.4; 0.0 |]
                [| 0.1; 0.2; -0.1 |]
                [| 3.0; 0.0; -4.0 |]
                [| -0.6; 0.8; 0.9 |]
            |]

    let ids = Tensor.ofArray ([| 1L; 0L; 3L; 4L; 1L; 2L |], [ 2; 3 ])
    let c = Tensor.ofArray (Array.init 18 (fun i -> float i * 0.1 - 0.5), [ 2; 3; 3 ])
    let layer = Layers.embeddingWith (5, 3, paddingIdx = 1, maxNorm = 1.5)

    let forward (w: Tensor) =
        fst (layer.Apply (PTree.Node [ "weight", PTree.Leaf w ]) PTree.empty train ids)

    close
        [|
            0.3
            0.4
            0.0
            0.32732682106827493
            -0.6546536421365499
            1.3093072842730997
            0.8999999820000003
            0.0
            -1.1999999760000004
            -0.6
            0.8
            0.9
            0.3
            0.4
            0.0
            0.1
            0.2
            -0.1
        |]
        (Tensor.toFloatArray (forward w))

    close
        [|
            -0.19999999999999996
            -0.09999999999999998
            0.0
            0.0
            0.0
            0.0
            1.0
            1.1
            1.2000000000000002
            0.10000000000000009
            0.20000000000000007
            0.30000000000000004
            0.4
            0.5
            0.6000000000000001
        |]
        (Tensor.toFloatArray (Diff.grad (fun w -> Tensor.sum (forward w * c)) w))

[<Fact>]
let ``Embedding's padding row starts at zero, a negative padding_idx counting from the end`` () =
    // nn.Embedding(5, 3, padding_idx=-1).weight[4] is [0, 0, 0]
    let _, ps, _ =
        (Layers.embeddingWith (5, 3, paddingIdx = -1)).Init (Key.create 3L) (Shape.ofArray [| 2 |])

    let weight = Tensor.toFloatArray (Layer.param "test" "weight" ps)
    Assert.Equal<float[]>([| 0.0; 0.0; 0.0 |], weight[12..14])
    Assert.True(weight[0..11] |> Array.exists (fun v -> v <> 0.0))

    Assert.Throws<System.ArgumentOutOfRangeException>(fun () -> Layers.embeddingWith (5, 3, paddingIdx = 5) |> ignore)
    |> ignore

[<Fact>]
let ``Softplus layer with beta and threshold matches torch`` () =
    // F.softplus(torch.tensor([[1.0, 25.0], [-2.0, 10.5]]), beta=2.0, threshold=20.0)
    let x = m [| [| 1.0; 25.0 |]; [| -2.0; 10.5 |] |]
    let y, _ = (Layers.softplusWith 2.0 20.0).Apply PTree.empty PTree.empty train x
    close [| 1.0634640055214863; 25.0; 0.009074963958904869; 10.5 |] (Tensor.toFloatArray y)
