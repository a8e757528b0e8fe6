/// MultiHeadAttention returning its attention weights, and separate key/value sizes, against torch 1.13:
/// m = nn.MultiheadAttention(4, 2, batch_first=True, kdim=3, vdim=5).double() with every parameter t filled as
/// torch.arange(t.numel()).reshape(t.shape).sin() * s (s below); q = (torch.arange(24).reshape(2,3,4) * 0.37).cos(),
/// k = (torch.arange(12).reshape(2,2,3) * 0.21).sin(), v = (torch.arange(20).reshape(2,2,5) * 0.13).cos().
module FunctionalNets.Tests.Nn.AttentionWeightsTests

open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn

let private filled (shape: int list) (s: float) =
    let n = List.fold (*) 1 shape
    Tensor.ofArray (Array.init n (fun i -> sin (float i) * s), shape)

let private seqOf (shape: int list) (f: float -> float) =
    let n = List.fold (*) 1 shape
    Tensor.ofArray (Array.init n (fun i -> f (float i)), shape)

let private q = seqOf [ 2; 3; 4 ] (fun i -> cos (i * 0.37))
let private k = seqOf [ 2; 2; 3 ] (fun i -> sin (i * 0.21))
let private v = seqOf [ 2; 2; 5 ] (fun i -> cos (i * 0.13))
let private cfg = MultiHeadAttention.config 4 2

let private separate =
    PTree.Node
        [
            "q_proj_weight", PTree.Leaf(filled [ 4; 4 ] 0.5)
            "k_proj_weight", PTree.Leaf(filled [ 4; 3 ] 0.4)
            "v_proj_weight", PTree.Leaf(filled [ 4; 5 ] 0.3)
            "in_proj_bias", PTree.Leaf(filled [ 12 ] 0.1)
            "out_proj",
            PTree.Node
                [
                    "weight", PTree.Leaf(filled [ 4; 4 ] 0.6)
                    "bias", PTree.Leaf(filled [ 4 ] 0.2)
                ]
        ]

let private close (expected: float[]) (actual: Tensor) =
    let a = Tensor.toFloatArray actual
    Expect.equal a.Length expected.Length "a.Length"

    Array.iteri
        (fun i e -> Expect.isTrue (abs (e - a[i]) <= 1e-12) (sprintf "element %d: expected %.17g, got %.17g" i e a[i]))
        expected

let ``kdim and vdim with averaged weights match torch`` () =
    // out, w = m(q, k, v, need_weights=True)
    let out, w =
        MultiHeadAttention.forward cfg separate Ctx.eval q k v AttentionMasks.none AttentionWeights.Averaged

    close
        [|
            -0.12531359992626845
            -0.19063833176390355
            0.7764010007351188
            -0.39008000738289184
            -0.11566733520866992
            -0.20178357111266187
            0.7813247652241484
            -0.3853715425319114
            -0.10977751613818547
            -0.213436157409222
            0.7906682235522824
            -0.38593354010133096
            -0.1615973899361845
            0.28285518340701743
            0.19369275932151417
            -0.10180647290450043
            -0.16068151097236613
            0.2755917226756358
            0.20227230990261766
            -0.1057589491875488
            -0.1667714203175213
            0.2791908936485227
            0.20365706895412292
            -0.11116839800133474
        |]
        out

    Expect.equal (w.Value.Shape.ToArray()) [| 2; 3; 2 |] "w.Value.Shape.ToArray()"

    close
        [|
            0.45828620459635716
            0.5417137954036428
            0.48679574307127715
            0.513204256928723
            0.5399288713919741
            0.4600711286080259
            0.4869802125526024
            0.5130197874473976
            0.5124958161634289
            0.4875041838365711
            0.5151111251950198
            0.48488887480498016
        |]
        w.Value

let ``per-head weights with a key padding mask match torch`` () =
    // m(q, k, v, need_weights=True, average_attn_weights=False, key_padding_mask=[[False, True], [False, False]])
    let masks =
        { AttentionMasks.none with
            KeyPaddingMask = Some(Tensor.ofArray ([| false; true; false; false |], [ 2; 2 ]))
        }

    let _, w =
        MultiHeadAttention.forward cfg separate Ctx.eval q k v masks AttentionWeights.PerHead

    Expect.equal (w.Value.Shape.ToArray()) [| 2; 2; 3; 2 |] "w.Value.Shape.ToArray()"

    close
        [|
            1.0
            0.0
            1.0
            0.0
            1.0
            0.0
            1.0
            0.0
            1.0
            0.0
            1.0
            0.0
            0.49944186561268467
            0.5005581343873152
            0.5371384415805707
            0.46286155841942944
            0.5035841514758548
            0.4964158485241453
            0.47451855949252003
            0.52548144050748
            0.48785319074628714
            0.5121468092537128
            0.5266380989141848
            0.47336190108581505
        |]
        w.Value

let ``causal self-attention weights match torch`` () =
    // m2 = nn.MultiheadAttention(4, 2, batch_first=True) with in_proj_weight filled with s = 0.5, in_proj_bias 0.1,
    // out_proj.weight 0.6, out_proj.bias 0.2; m2(q, q, q, attn_mask=torch.triu(torch.ones(3, 3, dtype=bool), 1))
    let ps =
        PTree.Node
            [
                "in_proj_weight", PTree.Leaf(filled [ 12; 4 ] 0.5)
                "in_proj_bias", PTree.Leaf(filled [ 12 ] 0.1)
                "out_proj",
                PTree.Node
                    [
                        "weight", PTree.Leaf(filled [ 4; 4 ] 0.6)
                        "bias", PTree.Leaf(filled [ 4 ] 0.2)
                    ]
            ]

    let out, w =
        MultiHeadAttention.forward cfg ps Ctx.eval q q q AttentionMasks.causal AttentionWeights.Averaged

    close
        [|
            1.0
            0.0
            0.0
            0.6441137617564424
            0.3558862382435576
            0.0
            0.538947563480145
            0.2751869546681722
            0.18586548185168258
            1.0
            0.0
            0.0
            0.6344962686193915
            0.36550373138060854
            0.0
            0.39770992686843676
            0.35783007318455573
            0.2444599999470075
        |]
        w.Value

    close (Tensor.toFloatArray (MultiHeadAttention.apply cfg ps Ctx.eval q q AttentionMasks.causal)) out

    close
        [|
            -0.3134839678839515
            0.2983020832403439
            0.3253858021929352
            -0.2894140075078717
        |]
        out[0, 0..0, *]

let ``initWith gives torch's separate projections when kdim or vdim differ`` () =
    let ps = MultiHeadAttention.initWith cfg 3 5 (Key.create 1L)

    let names = PTree.leaves ps |> List.map fst

    Expect.equal
        names
        [
            "q_proj_weight"
            "k_proj_weight"
            "v_proj_weight"
            "in_proj_bias"
            "out_proj.weight"
            "out_proj.bias"
        ]
        "names"

    Expect.equal
        ((Layer.param "t" "k_proj_weight" ps).Shape.ToArray())
        [| 4; 3 |]
        "(Layer.param \"t\" \"k_proj_weight\" ps).Shape.ToArray()"

/// The tests of this module.
let tests =
    testList
        "AttentionWeights"
        [
            testCase
                "kdim and vdim with averaged weights match torch"
                ``kdim and vdim with averaged weights match torch``
            testCase
                "per-head weights with a key padding mask match torch"
                ``per-head weights with a key padding mask match torch``
            testCase "causal self-attention weights match torch" ``causal self-attention weights match torch``
            testCase
                "initWith gives torch's separate projections when kdim or vdim differ"
                ``initWith gives torch's separate projections when kdim or vdim differ``
        ]
