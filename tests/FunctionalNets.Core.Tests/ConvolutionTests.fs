/// Convolutions: values against naive loop implementations written here (direct convolution, scatter
/// transposed convolution), derivatives of every order against finite differences, and error messages.
module FunctionalNets.Tests.ConvolutionTests

open System
open Expecto
open FunctionalNets.Testing
open FsCheck
open FsCheck.FSharp
open FunctionalNets
open FunctionalNets.Tests.GradCheck

// ---------------------------------------------------------------------------------------------------
// References: plain loops over float arrays, nothing from the library
// ---------------------------------------------------------------------------------------------------

/// One 2-D convolution configuration; shapes are derived from it, so every generated case is valid.
type Conv =
    {
        N: int
        Groups: int
        CG: int
        OG: int
        H: int
        W: int
        KH: int
        KW: int
        Stride: int * int
        Padding: int * int
        Dilation: int * int
        Seed: int
    }

    member c.C = c.CG * c.Groups
    member c.O = c.OG * c.Groups
    member c.InShape = [| c.N; c.C; c.H; c.W |]
    member c.WShape = [| c.O; c.CG; c.KH; c.KW |]

    member c.OutHW =
        let (sh, sw), (ph, pw), (dh, dw) = c.Stride, c.Padding, c.Dilation
        (c.H + 2 * ph - dh * (c.KH - 1) - 1) / sh + 1, (c.W + 2 * pw - dw * (c.KW - 1) - 1) / sw + 1

/// Direct convolution: y[n, o, i, j] = sum over c in o's group, ki, kj of x[n, c, i s - p + ki d, ...] w[o, c, ki, kj].
let naiveConv2d (c: Conv) (x: float[]) (w: float[]) =
    let (sh, sw), (ph, pw), (dh, dw) = c.Stride, c.Padding, c.Dilation
    let oh, ow = c.OutHW
    let y = Array.zeroCreate (c.N * c.O * oh * ow)

    for n in 0 .. c.N - 1 do
        for o in 0 .. c.O - 1 do
            let g = o / c.OG

            for i in 0 .. oh - 1 do
                for j in 0 .. ow - 1 do
                    let mutable s = 0.0

                    for cg in 0 .. c.CG - 1 do
                        let ch = g * c.CG + cg

                        for ki in 0 .. c.KH - 1 do
                            for kj in 0 .. c.KW - 1 do
                                let r, q = i * sh - ph + ki * dh, j * sw - pw + kj * dw

                                if r >= 0 && r < c.H && q >= 0 && q < c.W then
                                    s <-
                                        s
                                        + x[((n * c.C + ch) * c.H + r) * c.W + q]
                                          * w[((o * c.CG + cg) * c.KH + ki) * c.KW + kj]

                    y[((n * c.O + o) * oh + i) * ow + j] <- s

    y

/// Transposed convolution by scattering: every input element adds its weighted kernel into the output, at
/// (i s - p + ki d, j s - p + kj d); positions outside the output are dropped. Weight is [C_in; C_out/g; kH; kW].
let naiveConvTranspose2d
    (n: int, cin: int, h: int, wd: int)
    (coutG: int, kh: int, kw: int)
    (groups: int)
    (sh, sw)
    (ph, pw)
    (oph, opw)
    (dh, dw)
    (x: float[])
    (w: float[])
    =
    let cout = coutG * groups
    let cinG = cin / groups
    let oh = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    let ow = (wd - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    let y = Array.zeroCreate (n * cout * oh * ow)

    for b in 0 .. n - 1 do
        for ci in 0 .. cin - 1 do
            let g = ci / cinG

            for i in 0 .. h - 1 do
                for j in 0 .. wd - 1 do
                    let v = x[((b * cin + ci) * h + i) * wd + j]

                    for co in 0 .. coutG - 1 do
                        for ki in 0 .. kh - 1 do
                            for kj in 0 .. kw - 1 do
                                let r, q = i * sh - ph + ki * dh, j * sw - pw + kj * dw

                                if r >= 0 && r < oh && q >= 0 && q < ow then
                                    let o = g * coutG + co
                                    let k = ((ci * coutG + co) * kh + ki) * kw + kj

                                    y[((b * cout + o) * oh + r) * ow + q] <-
                                        y[((b * cout + o) * oh + r) * ow + q] + v * w[k]

    y, [| n; cout; oh; ow |]

// ---------------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------------

/// A valid configuration: groups 1, 2 or depthwise (one input channel per group), strides and dilations
/// 1..2, padding 0..2; the image grows until the dilated kernel fits the padded input.
let convGen (maxDim: int) =
    gen {
        let! n = Gen.choose (1, 2)
        let! kind = Gen.choose (0, 2)

        let! groups, cg =
            if kind = 2 then
                Gen.choose (1, 3) |> Gen.map (fun g -> g, 1)
            else
                Gen.choose (1, 2) |> Gen.map (fun cg -> kind + 1, cg)

        let! og = Gen.choose (1, 2)
        let! kh, kw = Gen.zip (Gen.choose (1, 3)) (Gen.choose (1, 3))
        let! sh, sw = Gen.zip (Gen.choose (1, 2)) (Gen.choose (1, 2))
        let! ph, pw = Gen.zip (Gen.choose (0, 2)) (Gen.choose (0, 2))
        let! dh, dw = Gen.zip (Gen.choose (1, 2)) (Gen.choose (1, 2))
        let! h, w = Gen.zip (Gen.choose (1, maxDim)) (Gen.choose (1, maxDim))
        let! seed = Gens.seed
        // Padding never exceeds half the dilated kernel (PyTorch's rule for sensible convs) and the image fits.
        let ph, pw = min ph (dh * (kh - 1) / 2), min pw (dw * (kw - 1) / 2)

        return
            {
                N = n
                Groups = groups
                CG = cg
                OG = og
                H = max h (dh * (kh - 1) + 1 - 2 * ph)
                W = max w (dw * (kw - 1) + 1 - 2 * pw)
                KH = kh
                KW = kw
                Stride = sh, sw
                Padding = ph, pw
                Dilation = dh, dw
                Seed = seed
            }
    }

let private conv2dOf (c: Conv) (x: Tensor) (w: Tensor) =
    Tensor.conv2d (x, w, stride = c.Stride, padding = c.Padding, dilation = c.Dilation, groups = c.Groups)

let private inputs (c: Conv) =
    let xv = valuesOf Real (numelOf c.InShape) c.Seed
    let wv = valuesOf Real (numelOf c.WShape) (c.Seed + 1)
    xv, wv

// ---------------------------------------------------------------------------------------------------
// Forward values
// ---------------------------------------------------------------------------------------------------

let ``Convolution conv2d matches the direct convolution (stride, padding, dilation, groups, depthwise)`` () =
    forAllN 60 (convGen 7) (fun c ->
        let xv, wv = inputs c
        let y = conv2dOf c (tensorOf c.InShape xv) (tensorOf c.WShape wv)
        let oh, ow = c.OutHW
        let shape = [| c.N; c.O; oh; ow |]
        let ctx = sprintf "%A" c
        assertShape "conv2d shape" ctx shape (y.Shape.ToArray())
        assertCloseTol 1e-10 1e-10 "conv2d Float64" ctx shape (naiveConv2d c xv wv) (values y)
        // Float32 through the single-precision GEMM.
        let y32 =
            conv2dOf
                c
                (Tensor.cast (tensorOf c.InShape xv, DType.Float32))
                (Tensor.cast (tensorOf c.WShape wv, DType.Float32))

        assertCloseTol 1e-4 1e-4 "conv2d Float32" ctx shape (naiveConv2d c xv wv) (values y32))

let ``Convolution conv2d fixed cases: stride 2, padding 1, dilation 2, groups 2, depthwise, bias`` () =
    let cases =
        [
            {
                N = 2
                Groups = 1
                CG = 3
                OG = 4
                H = 9
                W = 8
                KH = 3
                KW = 3
                Stride = 2, 2
                Padding = 1, 1
                Dilation = 1, 1
                Seed = 1
            }
            {
                N = 1
                Groups = 1
                CG = 2
                OG = 2
                H = 8
                W = 9
                KH = 3
                KW = 2
                Stride = 1, 1
                Padding = 2, 1
                Dilation = 2, 2
                Seed = 2
            }
            {
                N = 2
                Groups = 2
                CG = 2
                OG = 3
                H = 6
                W = 6
                KH = 3
                KW = 3
                Stride = 1, 2
                Padding = 1, 0
                Dilation = 1, 1
                Seed = 3
            }
            {
                N = 2
                Groups = 4
                CG = 1
                OG = 1
                H = 7
                W = 5
                KH = 3
                KW = 3
                Stride = 1, 1
                Padding = 1, 1
                Dilation = 1, 1
                Seed = 4
            }
            {
                N = 3
                Groups = 1
                CG = 1
                OG = 2
                H = 28
                W = 28
                KH = 5
                KW = 5
                Stride = 1, 1
                Padding = 2, 2
                Dilation = 1, 1
                Seed = 5
            }
        ]

    for c in cases do
        let xv, wv = inputs c
        let bv = valuesOf Real c.O 9

        let y =
            Tensor.conv2d (
                tensorOf c.InShape xv,
                tensorOf c.WShape wv,
                stride = c.Stride,
                padding = c.Padding,
                dilation = c.Dilation,
                bias = tensorOf [| c.O |] bv,
                groups = c.Groups
            )

        let oh, ow = c.OutHW

        let expected =
            naiveConv2d c xv wv |> Array.mapi (fun i v -> v + bv[(i / (oh * ow)) % c.O])

        assertCloseTol 1e-10 1e-10 "conv2d with bias" (sprintf "%A" c) [| c.N; c.O; oh; ow |] expected (values y)

    // The square-int overload agrees with the pair overload.
    let c = cases[0]
    let xv, wv = inputs c

    let a =
        Tensor.conv2d (tensorOf c.InShape xv, tensorOf c.WShape wv, stride = 2, padding = 1)

    assertCloseTol 1e-12 1e-12 "int overload" "" [||] (naiveConv2d c xv wv) (values a)

let ``Convolution conv1d matches a direct 1-D convolution`` () =
    forAllN 30 (convGen 9) (fun c0 ->
        let c =
            { c0 with
                H = 1
                KH = 1
                Stride = 1, snd c0.Stride
                Padding = 0, snd c0.Padding
                Dilation = 1, snd c0.Dilation
            }

        let xv, wv = inputs c
        let bv = valuesOf Real c.O (c.Seed + 2)

        let y =
            Tensor.conv1d (
                tensorOf [| c.N; c.C; c.W |] xv,
                tensorOf [| c.O; c.CG; c.KW |] wv,
                bias = tensorOf [| c.O |] bv,
                stride = snd c.Stride,
                padding = snd c.Padding,
                dilation = snd c.Dilation,
                groups = c.Groups
            )

        let _, ow = c.OutHW
        let expected = naiveConv2d c xv wv |> Array.mapi (fun i v -> v + bv[(i / ow) % c.O])
        assertShape "conv1d shape" (sprintf "%A" c) [| c.N; c.O; ow |] (y.Shape.ToArray())
        assertCloseTol 1e-10 1e-10 "conv1d" (sprintf "%A" c) [| c.N; c.O; ow |] expected (values y))

/// A transposed convolution case derived from a Conv: the Conv's output channels become the input.
let private transposeCase (c: Conv) (op: int * int) =
    // Output padding must stay below the stride.
    let oph, opw = min (fst op) (fst c.Stride - 1), min (snd op) (snd c.Stride - 1)
    let xs = [| c.N; c.O; c.H; c.W |]
    let ws = [| c.O; c.CG; c.KH; c.KW |]
    xs, ws, (oph, opw)

let ``Convolution convTranspose2d matches the scatter implementation and PyTorch's size formula`` () =
    forAllN 40 (Gen.zip (convGen 5) (Gen.zip (Gen.choose (0, 1)) (Gen.choose (0, 1)))) (fun (c, op) ->
        let xs, ws, op = transposeCase c op
        let xv = valuesOf Real (numelOf xs) c.Seed
        let wv = valuesOf Real (numelOf ws) (c.Seed + 1)

        let expected, shape =
            naiveConvTranspose2d
                (xs[0], xs[1], xs[2], xs[3])
                (c.CG, c.KH, c.KW)
                c.Groups
                c.Stride
                c.Padding
                op
                c.Dilation
                xv
                wv

        let ctx = sprintf "%A, output padding %A" c op

        if shape[2] >= 1 && shape[3] >= 1 then
            let y =
                Tensor.convTranspose2d (
                    tensorOf xs xv,
                    tensorOf ws wv,
                    stride = c.Stride,
                    padding = c.Padding,
                    outputPadding = op,
                    dilation = c.Dilation,
                    groups = c.Groups
                )

            // PyTorch: H_out = (H_in - 1) stride - 2 padding + dilation (kernel - 1) + output_padding + 1.
            let (sh, sw), (ph, pw), (dh, dw) = c.Stride, c.Padding, c.Dilation

            let formula =
                [|
                    c.N
                    c.CG * c.Groups
                    (c.H - 1) * sh - 2 * ph + dh * (c.KH - 1) + fst op + 1
                    (c.W - 1) * sw - 2 * pw + dw * (c.KW - 1) + snd op + 1
                |]

            assertShape "convTranspose2d shape" ctx formula (y.Shape.ToArray())
            assertCloseTol 1e-10 1e-10 "convTranspose2d" ctx shape expected (values y))

let ``Convolution convTranspose2d with bias and int overload`` () =
    let xv = valuesOf Real (2 * 4 * 3 * 3) 11
    let wv = valuesOf Real (4 * 3 * 3 * 3) 12
    let bv = valuesOf Real 6 13

    let y =
        Tensor.convTranspose2d (
            tensorOf [| 2; 4; 3; 3 |] xv,
            tensorOf [| 4; 3; 3; 3 |] wv,
            bias = tensorOf [| 6 |] bv,
            stride = 2,
            padding = 1,
            outputPadding = 1,
            groups = 2
        )

    let expected, shape =
        naiveConvTranspose2d (2, 4, 3, 3) (3, 3, 3) 2 (2, 2) (1, 1) (1, 1) (1, 1) xv wv

    Expect.equal shape ([| 2; 6; 6; 6 |]) "shape"
    let expected = expected |> Array.mapi (fun i v -> v + bv[(i / 36) % 6])
    assertCloseTol 1e-10 1e-10 "convTranspose2d with bias" "" shape expected (values y)

// ---------------------------------------------------------------------------------------------------
// Derivatives against finite differences (Float64)
// ---------------------------------------------------------------------------------------------------

let ``Convolution conv2d gradients wrt input, weight and bias match finite differences`` () =
    forAllN 15 (convGen 5) (fun c ->
        let xv, wv = inputs c
        let b = tensorOf [| c.O |] (valuesOf Real c.O (c.Seed + 2))

        checkGradsN
            (sprintf "conv2d %A" c)
            (function
            | [ x; w; b ] ->
                Tensor.conv2d (
                    x,
                    w,
                    stride = c.Stride,
                    padding = c.Padding,
                    dilation = c.Dilation,
                    bias = b,
                    groups = c.Groups
                )
            | _ -> invalidOp "unreachable")
            [ tensorOf c.InShape xv; tensorOf c.WShape wv; b ]
            c.Seed)

let ``Convolution conv1d gradients match finite differences`` () =
    forAllN 10 (convGen 6) (fun c ->
        let xv, wv = inputs c
        let xs, ws = [| c.N; c.C; c.W |], [| c.O; c.CG; c.KW |]

        checkGrad2
            (sprintf "conv1d %A" c)
            (fun x w ->
                Tensor.conv1d (
                    x,
                    w,
                    stride = snd c.Stride,
                    padding = snd c.Padding,
                    dilation = snd c.Dilation,
                    groups = c.Groups
                ))
            (tensorOf xs (Array.truncate (numelOf xs) (Array.append xv xv)))
            (tensorOf ws (Array.truncate (numelOf ws) (Array.append wv wv)))
            c.Seed)

let ``Convolution convTranspose2d gradients match finite differences`` () =
    forAllN 10 (Gen.zip (convGen 4) (Gen.zip (Gen.choose (0, 1)) (Gen.choose (0, 1)))) (fun (c, op) ->
        let xs, ws, op = transposeCase c op
        let (sh, sw), (ph, pw) = c.Stride, c.Padding
        let oh = (c.H - 1) * sh - 2 * ph + fst c.Dilation * (c.KH - 1) + fst op + 1
        let ow = (c.W - 1) * sw - 2 * pw + snd c.Dilation * (c.KW - 1) + snd op + 1

        if oh >= 1 && ow >= 1 then
            let b =
                tensorOf [| c.CG * c.Groups |] (valuesOf Real (c.CG * c.Groups) (c.Seed + 3))

            checkGradsN
                (sprintf "convTranspose2d %A op %A" c op)
                (function
                | [ x; w; b ] ->
                    Tensor.convTranspose2d (
                        x,
                        w,
                        stride = c.Stride,
                        padding = c.Padding,
                        outputPadding = op,
                        dilation = c.Dilation,
                        bias = b,
                        groups = c.Groups
                    )
                | _ -> invalidOp "unreachable")
                [
                    tensorOf xs (valuesOf Real (numelOf xs) c.Seed)
                    tensorOf ws (valuesOf Real (numelOf ws) (c.Seed + 1))
                    b
                ]
                c.Seed)

let ``Convolution second derivatives: the gradients of conv2d are themselves differentiable`` () =
    // The gradient of a loss that is not quadratic in the convolution, so the second derivative involves
    // every op (conv2d, its input gradient and its weight gradient) and not a constant.
    let loss (c: Conv) (x: Tensor) (w: Tensor) =
        Tensor.sum (Tensor.sin (conv2dOf c x w))

    forAllN 8 (convGen 4) (fun c ->
        let xv, wv = inputs c
        let x, w = tensorOf c.InShape xv, tensorOf c.WShape wv
        // grad wrt x as a function of (x, w), and grad wrt w as a function of (x, w): reverse-over-reverse and
        // forward-over-reverse, both against finite differences of the first gradient.
        checkGrad2 (sprintf "grad_x conv2d %A" c) (fun x w -> Diff.grad (fun x -> loss c x w) x) x w c.Seed
        checkGrad2 (sprintf "grad_w conv2d %A" c) (fun x w -> Diff.grad (fun w -> loss c x w) w) x w c.Seed)

// ---------------------------------------------------------------------------------------------------
// The raw kernels on batches larger than the thread count
// ---------------------------------------------------------------------------------------------------

/// Both gradients of sum(conv2d(x, w) * dy) by the chain rule over the direct convolution's loop nest:
/// every product x[...] w[...] that adds into y[n, o, i, j] sends dy[n, o, i, j] times the other factor back.
let naiveConvGrads (c: Conv) (x: float[]) (w: float[]) (dy: float[]) =
    let (sh, sw), (ph, pw), (dh, dw) = c.Stride, c.Padding, c.Dilation
    let oh, ow = c.OutHW
    let dx = Array.zeroCreate x.Length
    let dwt = Array.zeroCreate w.Length

    for n in 0 .. c.N - 1 do
        for o in 0 .. c.O - 1 do
            let g = o / c.OG

            for i in 0 .. oh - 1 do
                for j in 0 .. ow - 1 do
                    let d = dy[((n * c.O + o) * oh + i) * ow + j]

                    for cg in 0 .. c.CG - 1 do
                        let ch = g * c.CG + cg

                        for ki in 0 .. c.KH - 1 do
                            for kj in 0 .. c.KW - 1 do
                                let r, q = i * sh - ph + ki * dh, j * sw - pw + kj * dw

                                if r >= 0 && r < c.H && q >= 0 && q < c.W then
                                    let xi = ((n * c.C + ch) * c.H + r) * c.W + q
                                    let wi = ((o * c.CG + cg) * c.KH + ki) * c.KW + kj
                                    dx[xi] <- dx[xi] + d * w[wi]
                                    dwt[wi] <- dwt[wi] + d * x[xi]

    dx, dwt

let ``Convolution kernels match the direct formulas on batches of 3 to 9, image by image and blocked (Float64 and Float32)``
    ()
    =
    // The per-image path hands images to worker threads one at a time and sums per-worker weight-gradient partials;
    // batches larger than the thread count exercise workers with several images, and odd counts an uneven split.
    // Output planes of 144 pixels or more take the per-image path, smaller ones the blocked one: half the cases
    // get images big enough (stride 1, 17 pixels or more a side) for the first.
    let cases =
        gen {
            let! c = convGen 6
            let! n = Gen.choose (3, 9)
            let! big = Gen.elements [ false; true ]

            return
                if big then
                    { c with
                        N = n
                        H = c.H + 16
                        W = c.W + 16
                        Stride = 1, 1
                    }
                else
                    { c with N = n }
        }

    forAllN 30 cases (fun c ->
        let xv, wv = inputs c
        let oh, ow = c.OutHW
        let yShape = [| c.N; c.O; oh; ow |]
        let dyv = valuesOf Real (numelOf yShape) (c.Seed + 2)

        let g =
            FunctionalNets.Kernels.ConvGeometry.Create(
                "test",
                c.InShape,
                c.WShape,
                fst c.Stride,
                snd c.Stride,
                fst c.Padding,
                snd c.Padding,
                fst c.Dilation,
                snd c.Dilation,
                c.Groups
            )

        let ctx = sprintf "%A" c
        let edx, edw = naiveConvGrads c xv wv dyv
        let ey = naiveConv2d c xv wv
        // NaN sentinels: every output element must be written.
        let y = Array.create (numelOf yShape) nan
        let dx = Array.create xv.Length nan
        let dw = Array.create wv.Length nan
        FunctionalNets.Kernels.ConvKernels.Forward(&g, ReadOnlySpan xv, ReadOnlySpan wv, Span y)
        FunctionalNets.Kernels.ConvKernels.InputGrad(&g, ReadOnlySpan dyv, ReadOnlySpan wv, Span dx)
        FunctionalNets.Kernels.ConvKernels.WeightGrad(&g, ReadOnlySpan dyv, ReadOnlySpan xv, Span dw)
        assertCloseTol 1e-10 1e-10 "forward Float64" ctx yShape ey y
        assertCloseTol 1e-10 1e-10 "input grad Float64" ctx c.InShape edx dx
        assertCloseTol 1e-10 1e-10 "weight grad Float64" ctx c.WShape edw dw
        let f32 = Array.map float32
        let back = Array.map float
        let y32 = Array.create y.Length nanf
        let dx32 = Array.create dx.Length nanf
        let dw32 = Array.create dw.Length nanf
        FunctionalNets.Kernels.ConvKernels.Forward(&g, ReadOnlySpan(f32 xv), ReadOnlySpan(f32 wv), Span y32)
        FunctionalNets.Kernels.ConvKernels.InputGrad(&g, ReadOnlySpan(f32 dyv), ReadOnlySpan(f32 wv), Span dx32)
        FunctionalNets.Kernels.ConvKernels.WeightGrad(&g, ReadOnlySpan(f32 dyv), ReadOnlySpan(f32 xv), Span dw32)
        assertCloseTol 1e-4 1e-4 "forward Float32" ctx yShape ey (back y32)
        assertCloseTol 1e-4 1e-4 "input grad Float32" ctx c.InShape edx (back dx32)
        assertCloseTol 1e-4 1e-4 "weight grad Float32" ctx c.WShape edw (back dw32))

// ---------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------

let private raisesWith (fragments: string list) (f: unit -> Tensor) =
    let ex = Expects.throwsAny<exn> "the call" (fun () -> f () |> ignore)
    Expect.isNotNull ex "an exception was raised"

    Expect.isTrue
        (ex :? ArgumentException)
        (sprintf "expected ArgumentException, got %s: %s" (ex.GetType().Name) ex.Message)

    for s in fragments do
        Expect.isTrue (ex.Message.Contains(s: string)) (sprintf "message should contain %A but was: %s" s ex.Message)

let ``Convolution errors name the op and the shapes`` () =
    let z (s: int list) = Tensor.zeros (s, DType.Float64)

    raisesWith [ "conv2d"; "kernel [3; 3] is larger than the padded input [2; 2]" ] (fun () ->
        Tensor.conv2d (z [ 1; 1; 2; 2 ], z [ 1; 1; 3; 3 ]))

    raisesWith [ "conv2d"; "dilated [5; 5]" ] (fun () ->
        Tensor.conv2d (z [ 1; 1; 4; 4 ], z [ 1; 1; 3; 3 ], dilation = 2))

    raisesWith [ "conv2d"; "channel mismatch"; "[4; 2; 3; 3]"; "[1; 3; 5; 5]" ] (fun () ->
        Tensor.conv2d (z [ 1; 3; 5; 5 ], z [ 4; 2; 3; 3 ]))

    raisesWith [ "conv2d"; "groups 2 does not divide the 3 input channels" ] (fun () ->
        Tensor.conv2d (z [ 1; 3; 5; 5 ], z [ 4; 1; 3; 3 ], groups = 2))

    raisesWith [ "conv2d"; "groups 2 does not divide the 3 output channels" ] (fun () ->
        Tensor.conv2d (z [ 1; 4; 5; 5 ], z [ 3; 2; 3; 3 ], groups = 2))

    raisesWith [ "conv2d"; "[N; C; H; W]"; "[3; 5; 5]" ] (fun () -> Tensor.conv2d (z [ 3; 5; 5 ], z [ 4; 3; 3; 3 ]))
    raisesWith [ "conv2d"; "stride" ] (fun () -> Tensor.conv2d (z [ 1; 1; 5; 5 ], z [ 1; 1; 3; 3 ], stride = 0))

    raisesWith [ "conv2d"; "bias"; "[4]"; "[3]" ] (fun () ->
        Tensor.conv2d (z [ 1; 1; 5; 5 ], z [ 4; 1; 3; 3 ], bias = z [ 3 ]))

    raisesWith [ "conv2d"; "dtypes differ" ] (fun () ->
        Tensor.conv2d (z [ 1; 1; 5; 5 ], Tensor.zeros ([ 1; 1; 3; 3 ], DType.Float32)))

    raisesWith [ "conv1d"; "[N; C; L]"; "[2; 3]" ] (fun () -> Tensor.conv1d (z [ 2; 3 ], z [ 1; 3; 2 ]))

    raisesWith [ "conv1d"; "kernel [1; 5] is larger than the padded input [1; 3]" ] (fun () ->
        Tensor.conv1d (z [ 1; 1; 3 ], z [ 1; 1; 5 ]))

    raisesWith [ "convTranspose2d"; "channel mismatch"; "[1; 3; 4; 4]"; "[2; 1; 3; 3]" ] (fun () ->
        Tensor.convTranspose2d (z [ 1; 3; 4; 4 ], z [ 2; 1; 3; 3 ]))

    raisesWith [ "convTranspose2d"; "output padding [2; 2]"; "stride [2; 2]" ] (fun () ->
        Tensor.convTranspose2d (z [ 1; 2; 4; 4 ], z [ 2; 1; 3; 3 ], stride = 2, outputPadding = 2))

    raisesWith [ "convTranspose2d"; "empty output" ] (fun () ->
        Tensor.convTranspose2d (z [ 1; 2; 1; 1 ], z [ 2; 1; 1; 1 ], padding = 1))

let tests =
    testList
        "Convolution"
        [
            property
                "Convolution conv2d matches the direct convolution (stride, padding, dilation, groups, depthwise)"
                ``Convolution conv2d matches the direct convolution (stride, padding, dilation, groups, depthwise)``
            testCase
                "Convolution conv2d fixed cases: stride 2, padding 1, dilation 2, groups 2, depthwise, bias"
                ``Convolution conv2d fixed cases: stride 2, padding 1, dilation 2, groups 2, depthwise, bias``
            property
                "Convolution conv1d matches a direct 1-D convolution"
                ``Convolution conv1d matches a direct 1-D convolution``
            property
                "Convolution convTranspose2d matches the scatter implementation and PyTorch's size formula"
                ``Convolution convTranspose2d matches the scatter implementation and PyTorch's size formula``
            testCase
                "Convolution convTranspose2d with bias and int overload"
                ``Convolution convTranspose2d with bias and int overload``
            property
                "Convolution conv2d gradients wrt input, weight and bias match finite differences"
                ``Convolution conv2d gradients wrt input, weight and bias match finite differences``
            property
                "Convolution conv1d gradients match finite differences"
                ``Convolution conv1d gradients match finite differences``
            property
                "Convolution convTranspose2d gradients match finite differences"
                ``Convolution convTranspose2d gradients match finite differences``
            property
                "Convolution second derivatives: the gradients of conv2d are themselves differentiable"
                ``Convolution second derivatives: the gradients of conv2d are themselves differentiable``
            property
                "Convolution kernels match the direct formulas on batches of 3 to 9, image by image and blocked (Float64 and Float32)"
                ``Convolution kernels match the direct formulas on batches of 3 to 9, image by image and blocked (Float64 and Float32)``
            testCase "Convolution errors name the op and the shapes" ``Convolution errors name the op and the shapes``
        ]
