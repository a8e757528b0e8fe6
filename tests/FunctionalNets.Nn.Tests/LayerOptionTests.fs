/// Layer options PyTorch users reach for (BatchNorm momentum=None, softplus beta/threshold, Embedding padding_idx and
/// max_norm), against torch 1.13's values (the torch code is quoted beside each test).
module FunctionalNets.Tests.Nn.LayerOptionTests

open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn

let private m (rows: float[][]) =
    Tensor.ofArray (Array.concat rows, [ rows.Length; rows[0].Length ])

let private close (expected: float[]) (actual: float[]) =
    Expect.equal actual.Length expected.Length "actual.Length"

    Array.iteri
        (fun i e ->
            Expect.isTrue
                (abs (e - actual[i]) <= 1e-12 * (1.0 + abs e))
                (sprintf "element %d: expected %.17g, got %.17g" i e actual[i]))
        expected

let private train = { Mode = Mode.Train; Key = None }

let ``BatchNorm with momentum None keeps the cumulative average of the batch statistics`` () =
    // bn = nn.BatchNorm1d(2, momentum=None).double().train(); bn(x) for the three batches below:
    // running_mean [0.8333333333333333, 1.3611111111111112], running_var [2.805555555555556, 5.916666666666666]
    let layer = Layers.batchNorm1d (2, cumulativeAverage = true)

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
        Array.iter2 (fun e a -> Expect.isTrue (abs (e - a) < 1e-5) (sprintf "%g vs %g" e a)) e a

    closeF32 [| 0.8333333333333333; 1.3611111111111112 |] (get "running_mean")
    closeF32 [| 2.805555555555556; 5.916666666666666 |] (get "running_var")
    Expect.equal (get "num_batches_tracked") [| 3.0 |] "get \"num_batches_tracked\""

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
    let layer = Layers.embedding (5, 3, paddingIdx = 1, maxNorm = 1.5)

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

let ``Embedding's padding row starts at zero, a negative padding_idx counting from the end`` () =
    // nn.Embedding(5, 3, padding_idx=-1).weight[4] is [0, 0, 0]
    let _, ps, _ =
        (Layers.embedding (5, 3, paddingIdx = -1)).Init (Key.create 3L) (Shape.ofArray [| 2 |])

    let weight = Tensor.toFloatArray (Layer.param "test" "weight" ps)
    Expect.equal weight[12..14] [| 0.0; 0.0; 0.0 |] "weight[12..14]"

    Expect.isTrue
        (weight[0..11] |> Array.exists (fun v -> v <> 0.0))
        "weight[0..11] |> Array.exists (fun v -> v <> 0.0)"

    Expects.throws<System.ArgumentOutOfRangeException> "Layers.embedding (5, 3, paddingIdx = 5)" (fun () ->
        Layers.embedding (5, 3, paddingIdx = 5) |> ignore)
    |> ignore

let ``Softplus layer with beta and threshold matches torch`` () =
    // F.softplus(torch.tensor([[1.0, 25.0], [-2.0, 10.5]]), beta=2.0, threshold=20.0)
    let x = m [| [| 1.0; 25.0 |]; [| -2.0; 10.5 |] |]
    let y, _ = (Layers.softplus (2.0, 20.0)).Apply PTree.empty PTree.empty train x
    close [| 1.0634640055214863; 25.0; 0.009074963958904869; 10.5 |] (Tensor.toFloatArray y)

let ``LSTM with proj_size, two layers, bidirectional, matches torch`` () =
    // m = nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True, proj_size=2).double(); the i-th of
    // m.named_parameters() filled with torch.arange(numel).reshape(shape).sin() * (0.3 + 0.05 i);
    // x = (torch.arange(18).reshape(2, 3, 3) * 0.31).cos(); out, (h, c) = m(x)
    let cfg =
        { Recurrent.config CellKind.Lstm 3 4 with
            NumLayers = 2
            Bidirectional = true
            ProjSize = 2
        }

    let shapes = Recurrent.init cfg (Key.create 0L)

    let ps =
        PTree.Node(
            PTree.leaves shapes
            |> List.mapi (fun i (name, t: Tensor) ->
                let n = t.Numel

                name,
                PTree.Leaf(
                    Tensor.ofArray (Array.init n (fun j -> sin (float j) * (0.3 + 0.05 * float i)), t.Shape.ToArray())
                ))
        )

    Expect.equal
        (PTree.leaves ps |> List.map fst |> List.take 5)
        [ "weight_ih_l0"; "weight_hh_l0"; "bias_ih_l0"; "bias_hh_l0"; "weight_hr_l0" ]
        "PTree.leaves ps |> List.map fst |> List.take 5"

    Expect.equal
        ((Layer.param "t" "weight_ih_l1" ps).Shape.ToArray())
        [| 16; 4 |]
        "(Layer.param \"t\" \"weight_ih_l1\" ps).Shape.ToArray()"

    let x = Tensor.ofArray (Array.init 18 (fun i -> cos (float i * 0.31)), [ 2; 3; 3 ])
    let out, final = Recurrent.apply cfg ps Ctx.eval x None
    Expect.equal (out.Shape.ToArray()) [| 2; 3; 4 |] "out.Shape.ToArray()"

    close
        [|
            -0.14172262291594942
            -0.4410935380815719
            -0.568490858397242
            -0.7933134331059313
            -0.34267715544419636
            -0.5571059610788046
            -0.5209360494490982
            -0.7105224763084788
            -0.4367003898640251
            -0.6397047239074013
            -0.20673978863333278
            -0.7343605235323758
            -0.12055920202350306
            -0.48947195680686273
            -0.5807922429723432
            -0.8006228077295685
            -0.338539998461619
            -0.5869212306295574
            -0.5216420769741839
            -0.7284461323345143
            -0.4352128462737074
            -0.6472461659194134
            -0.19145376948362214
            -0.7495130119701543
        |]
        (Tensor.toFloatArray out)

    Expect.equal (final.H.Shape.ToArray()) [| 4; 2; 2 |] "final.H.Shape.ToArray()"
    Expect.equal (final.C.Value.Shape.ToArray()) [| 4; 2; 4 |] "final.C.Value.Shape.ToArray()"

    close
        [|
            -0.10689432275066243
            -0.2241611234874051
            -0.1124033948714187
            -0.2308744202260904
            -0.17353394088697682
            -0.4968819487840579
            -0.27675871604681407
            -0.30118631981994043
            -0.4367003898640251
            -0.6397047239074013
            -0.4352128462737074
            -0.6472461659194134
            -0.568490858397242
            -0.7933134331059313
            -0.5807922429723432
            -0.8006228077295685
        |]
        (Tensor.toFloatArray final.H)

    close
        [|
            0.39353012626462464
            0.4324974667200078
            -0.555317855502184
            -0.681317100466516
            0.5779883105698307
            0.194247843519577
            -0.4297328786690641
            -0.7558512560986335
            0.7167876645936133
            0.5747542802328605
            -1.1726224608151794
            -0.6794340415849779
            0.303124250700396
            0.37332932848219075
            -0.5557381243689932
            -1.1586537789994806
            0.3992867566390499
            0.6522385403520978
            -1.0819213682327147
            -0.9314327303759582
            0.38449161390165615
            0.6888467745248731
            -1.0948370002717336
            -0.929134042793716
            0.2859693660219259
            0.7346107492468344
            -1.1618584889682262
            -0.8561762762438896
            0.2715664978100407
            0.8078271090577427
            -1.1869695716087427
            -0.8618842108758769
        |]
        (Tensor.toFloatArray final.C.Value)

let ``proj_size outside [0, hidden) or on a GRU is refused`` () =
    let bad cfg =
        let e =
            Expects.throwsAny<System.ArgumentException> "Recurrent.validate cfg" (fun () -> Recurrent.validate cfg)

        Expect.equal e.ParamName "projSize" "e.ParamName"
        e.Message

    Expect.stringContains
        (bad
            { Recurrent.config CellKind.Lstm 3 4 with
                ProjSize = 4
            })
        "projSize must be in [0, hiddenSize)"
        "bad { Recurrent.config CellKind.Lstm 3 4 with ProjSize = 4 }"

    Expect.stringContains
        (bad
            { Recurrent.config CellKind.Gru 3 4 with
                ProjSize = 2
            })
        "only for the LSTM"
        "bad { Recurrent.config CellKind.Gru 3 4 with ProjSize = 2 }"

/// The tests of this module.
let tests =
    testList
        "LayerOption"
        [
            testCase
                "BatchNorm with momentum None keeps the cumulative average of the batch statistics"
                ``BatchNorm with momentum None keeps the cumulative average of the batch statistics``
            testCase
                "Embedding with padding_idx and max_norm matches torch's output and weight gradient"
                ``Embedding with padding_idx and max_norm matches torch's output and weight gradient``
            testCase
                "Embedding's padding row starts at zero, a negative padding_idx counting from the end"
                ``Embedding's padding row starts at zero, a negative padding_idx counting from the end``
            testCase
                "Softplus layer with beta and threshold matches torch"
                ``Softplus layer with beta and threshold matches torch``
            testCase
                "LSTM with proj_size, two layers, bidirectional, matches torch"
                ``LSTM with proj_size, two layers, bidirectional, matches torch``
            testCase
                "proj_size outside [0, hidden) or on a GRU is refused"
                ``proj_size outside [0, hidden) or on a GRU is refused``
        ]
