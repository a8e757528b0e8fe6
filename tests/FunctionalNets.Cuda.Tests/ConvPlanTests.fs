/// The pure conv2d -> cuDNN descriptor plan, run through a CPU implementation of cuDNN's legacy convolution calls
/// (cross-correlation, NCHW, alpha/beta), against the CPU backend's conv2d and its two backward kernels.
module FunctionalNets.Cuda.Tests.ConvPlanTests

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Cuda
open FunctionalNets.Cuda.Tests.Sim

let private closeAll (what: string) (expected: float[]) (actual: float[]) =
    Expect.equal (actual.Length) (expected.Length) "actual.Length"

    for i in 0 .. expected.Length - 1 do
        Expect.isTrue
            (abs (expected[i] - actual[i]) < 1e-12)
            (sprintf "%s: element %d: CPU backend %g, cuDNN contract %g" what i expected[i] actual[i])

/// One random case: [n; c; h; w] input, o output channels, k x k kernel, stride, padding, dilation, groups.
let private check (n, c, h, w) o (kh, kw) stride padding dilation groups =
    let input = [| n; c; h; w |]
    let weight = [| o; c / groups; kh; kw |]
    let plan = ConvPlan.create input weight stride padding dilation groups
    let numel (a: int[]) = Array.fold (*) 1 a
    let x = floats -1.0 1.0 (numel input)
    let wt = floats -1.0 1.0 (numel weight)
    let outShape = [| plan.Y.N; plan.Y.C; plan.Y.H; plan.Y.W |]
    let dy = floats -1.0 1.0 (numel outShape)

    let what =
        sprintf "x %A w %A s %A p %A d %A g %d" input weight stride padding dilation groups

    let xr = cpu.FromArray(x, Shape.ofArray input)
    let wr = cpu.FromArray(wt, Shape.ofArray weight)
    let dyr = cpu.FromArray(dy, Shape.ofArray outShape)
    let expectedY = xr.Conv2d(wr, stride, padding, dilation, groups)
    Expect.equal (outShape) (expectedY.Shape.ToArray()) "outShape"
    // beta = 0 overwrites: NaN in the output buffer must not leak through, as in cuDNN.
    let y = Array.create (numel outShape) nan
    ConvPlan.referenceForward plan 1.0 x wt 0.0 y
    closeAll (what + " forward") (expectedY.ToArray() :?> float[]) y
    let dx = Array.create (numel input) nan
    ConvPlan.referenceBackwardData plan 1.0 wt dy 0.0 dx

    closeAll
        (what + " backward data")
        (dyr.Conv2dInputGrad(wr, Shape.ofArray input, stride, padding, dilation, groups).ToArray() :?> float[])
        dx

    let dw = Array.create (numel weight) nan
    ConvPlan.referenceBackwardFilter plan 1.0 x dy 0.0 dw

    closeAll
        (what + " backward filter")
        (dyr.Conv2dWeightGrad(xr, Shape.ofArray weight, stride, padding, dilation, groups).ToArray() :?> float[])
        dw

/// The tests of this module.
let tests =
    testList
        "ConvPlan"
        [
            testCase "cuDNN plans reproduce the CPU conv2d and its gradients on random shapes"
            <| fun () ->
                let rng = Random 7

                for _ in 1..24 do
                    let groups = [| 1; 2; 3 |][rng.Next 3]
                    let c = groups * (1 + rng.Next 2)
                    let o = groups * (1 + rng.Next 3)
                    let kh, kw = 1 + rng.Next 3, 1 + rng.Next 3
                    let dilation = 1 + rng.Next 2, 1 + rng.Next 2
                    let padding = rng.Next 3, rng.Next 2
                    let stride = 1 + rng.Next 3, 1 + rng.Next 2
                    // Large enough that the dilated kernel fits the padded image.
                    let h = (kh - 1) * fst dilation + 1 + rng.Next 5
                    let w = (kw - 1) * snd dilation + 1 + rng.Next 5
                    check (1 + rng.Next 2, c, h, w) o (kh, kw) stride padding dilation groups

            testCase "the descriptors hold the per-group filter channels and cuDNN's output dims"
            <| fun () ->
                // Input [2; 4; 7; 6], weight [6; 2; 3; 3], stride (2, 1), padding (1, 0), dilation (1, 2), groups 2:
                // OH = 1 + (7 + 2 - 3) / 2 = 4, OW = 1 + (6 + 0 - 5) / 1 = 2.
                let p = ConvPlan.create [| 2; 4; 7; 6 |] [| 6; 2; 3; 3 |] (2, 1) (1, 0) (1, 2) 2

                Expect.equal (p.Filter) (({ K = 6; C = 2; R = 3; S = 3 }: CudnnFilterDesc)) "p.Filter"

                let desc n c h w : CudnnTensorDesc = { N = n; C = c; H = h; W = w }
                Expect.equal (p.Y) (desc 2 6 4 2) "p.Y"
                Expect.equal (p.X) (desc 2 4 7 6) "p.X"

                Expect.equal
                    (p.Conv)
                    ({
                        PadH = 1
                        PadW = 0
                        StrideH = 2
                        StrideW = 1
                        DilationH = 1
                        DilationW = 2
                        Groups = 2
                    })
                    "p.Conv"

            testCase "alpha and beta blend with the output as cuDNN documents"
            <| fun () ->
                let p = ConvPlan.create [| 1; 1; 2; 2 |] [| 1; 1; 1; 1 |] (1, 1) (0, 0) (1, 1) 1
                let y = [| 10.0; 20.0; 30.0; 40.0 |]
                // y = 2 * (3 x) + 0.5 y
                ConvPlan.referenceForward p 2.0 [| 1.0; 2.0; 3.0; 4.0 |] [| 3.0 |] 0.5 y
                Expect.equal (y) ([| 11.0; 22.0; 33.0; 44.0 |]) "y"

            testCase "a plan with a bad weight names the operation and the shapes"
            <| fun () ->
                let e =
                    Expects.throws<ArgumentException> "fun () -> ConvPlan.create [| 1; 4; 5" (fun () ->
                        ConvPlan.create [| 1; 4; 5; 5 |] [| 2; 3; 3; 3 |] (1, 1) (0, 0) (1, 1) 1
                        |> ignore)

                Expect.stringContains (e.Message) ("conv2d") "the error message"
                Expect.stringContains (e.Message) ("[2; 3; 3; 3]") "the error message"

        ]
