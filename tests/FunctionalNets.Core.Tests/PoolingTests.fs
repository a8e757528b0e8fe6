/// Pooling and upsampling: forward values and indices against naive loops written here from PyTorch's
/// definitions, hand-computed upsampling examples, gradients in both modes (and second order) against finite
/// differences, and bad-input errors.
module FunctionalNets.Tests.PoolingTests

open System
open Expecto
open FunctionalNets.Testing
open FsCheck.FSharp
open FunctionalNets
open FunctionalNets.Tests.GradCheck

// ---------------------------------------------------------------------------------------------------
// Reference implementations: plain loops over float arrays, one (n, c) plane at a time
// ---------------------------------------------------------------------------------------------------

/// A pooling configuration (square or not) with the input shape it is applied to.
type PoolCase =
    {
        Shape: int[]
        Kernel: int * int
        Stride: int * int
        Padding: int * int
        Dilation: int * int
        Ceil: bool
        Seed: int
    }

/// PyTorch's pooling_output_shape, written out independently of the kernel's version.
let private outLen (size: int) (k: int) (s: int) (p: int) (d: int) (ceil: bool) =
    let num = float (size + 2 * p - d * (k - 1) - 1)

    let o =
        int (
            if ceil then
                Math.Ceiling(num / float s)
            else
                Math.Floor(num / float s)
        )
        + 1

    if ceil && (o - 1) * s >= size + p then o - 1 else o

let private planes (shape: int[]) =
    let r = shape.Length
    numelOf shape / (shape[r - 2] * shape[r - 1]), shape[r - 2], shape[r - 1]

let private outShapeOf (shape: int[]) (oh: int) (ow: int) =
    Array.append shape[.. shape.Length - 3] [| oh; ow |]

/// Max pool reference: values and first-maximum indices (strict > in row-major window order).
let private maxPoolRef (c: PoolCase) (x: float[]) =
    let np, h, w = planes c.Shape

    let (kh, kw), (sh, sw), (ph, pw), (dh, dw) =
        c.Kernel, c.Stride, c.Padding, c.Dilation

    let oh, ow = outLen h kh sh ph dh c.Ceil, outLen w kw sw pw dw c.Ceil
    let ys = Array.zeroCreate (np * oh * ow)
    let ix = Array.zeroCreate (np * oh * ow)

    for p in 0 .. np - 1 do
        for i in 0 .. oh - 1 do
            for j in 0 .. ow - 1 do
                let mutable best = -1
                let mutable m = Double.NegativeInfinity

                for a in 0 .. kh - 1 do
                    for b in 0 .. kw - 1 do
                        let r, q = i * sh - ph + a * dh, j * sw - pw + b * dw

                        if r >= 0 && r < h && q >= 0 && q < w then
                            let v = x[p * h * w + r * w + q]

                            if best < 0 || v > m then
                                best <- r * w + q
                                m <- v

                ys[(p * oh + i) * ow + j] <- m
                ix[(p * oh + i) * ow + j] <- int64 best

    outShapeOf c.Shape oh ow, ys, ix

/// Avg pool reference (PyTorch's avg_pool2d divisor rules).
let private avgPoolRef (c: PoolCase) (countIncludePad: bool) (x: float[]) =
    let np, h, w = planes c.Shape
    let (kh, kw), (sh, sw), (ph, pw) = c.Kernel, c.Stride, c.Padding
    let oh, ow = outLen h kh sh ph 1 c.Ceil, outLen w kw sw pw 1 c.Ceil
    let ys = Array.zeroCreate (np * oh * ow)

    for p in 0 .. np - 1 do
        for i in 0 .. oh - 1 do
            for j in 0 .. ow - 1 do
                let r0, q0 = i * sh - ph, j * sw - pw
                // The window clipped to the padded plane counts padding; the sum covers real elements only.
                let r1, q1 = min (r0 + kh) (h + ph), min (q0 + kw) (w + pw)
                let mutable s = 0.0
                let mutable real = 0

                for r in max r0 0 .. min r1 h - 1 do
                    for q in max q0 0 .. min q1 w - 1 do
                        s <- s + x[p * h * w + r * w + q]
                        real <- real + 1

                let d = if countIncludePad then (r1 - r0) * (q1 - q0) else real
                ys[(p * oh + i) * ow + j] <- s / float d

    outShapeOf c.Shape oh ow, ys

/// Adaptive avg pool reference: windows [floor(i n / out), ceil((i + 1) n / out)).
let private adaptiveRef (shape: int[]) (oh: int) (ow: int) (x: float[]) =
    let np, h, w = planes shape
    let ys = Array.zeroCreate (np * oh * ow)

    let window i n o =
        int (Math.Floor(float (i * n) / float o)), int (Math.Ceiling(float ((i + 1) * n) / float o))

    for p in 0 .. np - 1 do
        for i in 0 .. oh - 1 do
            for j in 0 .. ow - 1 do
                let r0, r1 = window i h oh
                let q0, q1 = window j w ow
                let mutable s = 0.0

                for r in r0 .. r1 - 1 do
                    for q in q0 .. q1 - 1 do
                        s <- s + x[p * h * w + r * w + q]

                ys[(p * oh + i) * ow + j] <- s / float ((r1 - r0) * (q1 - q0))

    ys

/// Nearest reference: source floor(dst * in / out), clamped.
let private nearestRef (shape: int[]) (oh: int) (ow: int) (x: float[]) =
    let np, h, w = planes shape

    let src d n o =
        min (int (Math.Floor(float d * float n / float o))) (n - 1)

    Array.init (np * oh * ow) (fun k ->
        let p, i, j = k / (oh * ow), (k / ow) % oh, k % ow
        x[p * h * w + src i h oh * w + src j w ow])

/// Bilinear reference from PyTorch's area_pixel_compute_source_index and linear weights.
let private bilinearRef (shape: int[]) (oh: int) (ow: int) (align: bool) (x: float[]) =
    let np, h, w = planes shape

    let taps d n o =
        let s =
            if align then
                (if o > 1 then
                     float (n - 1) / float (o - 1) * float d
                 else
                     0.0)
            else
                max 0.0 (float n / float o * (float d + 0.5) - 0.5)

        let i0 = int s
        let i1 = if i0 < n - 1 then i0 + 1 else i0
        i0, i1, s - float i0

    Array.init (np * oh * ow) (fun k ->
        let p, i, j = k / (oh * ow), (k / ow) % oh, k % ow
        let r0, r1, a = taps i h oh
        let q0, q1, b = taps j w ow
        let at r q = x[p * h * w + r * w + q]

        (1.0 - a) * ((1.0 - b) * at r0 q0 + b * at r0 q1)
        + a * ((1.0 - b) * at r1 q0 + b * at r1 q1))

// ---------------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------------

/// True when every output window has at least one tap inside [0, size).
let private windowsCoverInput (size: int) (k: int) (s: int) (p: int) (d: int) (ceil: bool) =
    Seq.forall
        (fun o -> Seq.exists (fun t -> let q = o * s - p + t * d in q >= 0 && q < size) (seq { 0 .. k - 1 }))
        (seq { 0 .. outLen size k s p d ceil - 1 })

/// A valid pooling case: the input is at least as large as the dilated kernel minus the padding.
let private poolCase (maxKernel: int) (withDilation: bool) =
    gen {
        let! n = Gen.choose (1, 2)
        let! c = Gen.choose (1, 2)
        let! kh = Gen.choose (1, maxKernel)
        let! kw = Gen.choose (1, maxKernel)
        let! sh = Gen.choose (1, 3)
        let! sw = Gen.choose (1, 3)
        let! ph = Gen.choose (0, kh / 2)
        let! pw = Gen.choose (0, kw / 2)
        let! dh = if withDilation then Gen.choose (1, 2) else Gen.constant 1
        let! dw = if withDilation then Gen.choose (1, 2) else Gen.constant 1
        let! extraH = Gen.choose (0, 3)
        let! extraW = Gen.choose (0, 3)
        let! ceil = Gens.bool
        let! rank3 = Gen.frequency [ (4, Gen.constant false); (1, Gen.constant true) ]
        let! seed = Gens.seed
        let h = max 1 ((kh - 1) * dh + 1 - 2 * ph + extraH)
        let w = max 1 ((kw - 1) * dw + 1 - 2 * pw + extraW)
        // A dilated window can skip over a small input and see only padding (refused by the op, see the
        // bad-input test); fall back to dilation 1, where padding <= kernel / 2 guarantees a real element.
        let ok =
            windowsCoverInput h kh sh ph dh ceil && windowsCoverInput w kw sw pw dw ceil

        return
            {
                Shape = if rank3 then [| c; h; w |] else [| n; c; h; w |]
                Kernel = kh, kw
                Stride = sh, sw
                Padding = ph, pw
                Dilation = (if ok then (dh, dw) else (1, 1))
                Ceil = ceil
                Seed = seed
            }
    }

let private maxPool (c: PoolCase) (x: Tensor) =
    Tensor.maxPool2d (x, c.Kernel, c.Stride, c.Padding, c.Dilation, c.Ceil)

let private indicesOf (t: Tensor) = Tensor.toArray t :?> int64[]

// ---------------------------------------------------------------------------------------------------
// Forward values and indices
// ---------------------------------------------------------------------------------------------------

let ``Pooling: maxPool2d values and indices match naive loops (padding, stride, dilation, ceil mode)`` () =
    forAllN 60 (poolCase 4 true) (fun c ->
        let xs = valuesOf Real (numelOf c.Shape) c.Seed
        let shape, expected, expectedIdx = maxPoolRef c xs

        for dtype in [ DType.Float64; DType.Float32 ] do
            let x = Tensor.cast (tensorOf c.Shape xs, dtype)

            let y, idx =
                Tensor.maxPool2dWithIndices (x, c.Kernel, c.Stride, c.Padding, c.Dilation, c.Ceil)

            let ctx = sprintf "%A %O" c dtype
            assertShape "maxPool2d shape" ctx shape (y.Shape.ToArray())
            assertShape "indices shape" ctx shape (idx.Shape.ToArray())
            Expect.equal idx.DType DType.Int64 "idx.DType"
            assertCloseTol 1e-6 1e-6 "maxPool2d values" ctx shape expected (values y)
            Expect.equal (indicesOf idx) expectedIdx "indicesOf idx")

let ``Pooling: maxPool2d indices name the first maximum of each window on ties`` () =
    // Values from {0, 1, 2}: nearly every window has ties, on the 2x2 fast path and the general one.
    forAllN 40 (poolCase 3 true) (fun c ->
        let rng = Random(c.Seed)
        let xs = Array.init (numelOf c.Shape) (fun _ -> float (rng.Next 3))
        let _, expected, expectedIdx = maxPoolRef c xs

        let y, idx =
            Tensor.maxPool2dWithIndices (tensorOf c.Shape xs, c.Kernel, c.Stride, c.Padding, c.Dilation, c.Ceil)

        Expect.equal (values y) expected "values y"
        Expect.equal (indicesOf idx) expectedIdx "indicesOf idx")

// The fixed cases that the property above checked after its random ones, now a test of their own.
let ``Pooling: maxPool2d indices name the first maximum of each window on ties, on the float32 2x2 stride-2 fast path``
    ()
    =
    // The 2x2 stride-2 fast path, odd sizes in both modes (ceil mode's last window hangs over the edge).
    for shape, ceil in [ [| 2; 3; 8; 8 |], false; [| 1; 2; 7; 5 |], false; [| 1; 2; 7; 5 |], true ] do
        let rng = Random(11)
        let xs = Array.init (numelOf shape) (fun _ -> float (rng.Next 3))

        let c =
            {
                Shape = shape
                Kernel = 2, 2
                Stride = 2, 2
                Padding = 0, 0
                Dilation = 1, 1
                Ceil = ceil
                Seed = 0
            }

        let _, expected, expectedIdx = maxPoolRef c xs

        let y, idx =
            Tensor.maxPool2dWithIndices (Tensor.cast (tensorOf shape xs, DType.Float32), 2, ceilMode = ceil)

        Expect.equal (values y) expected "values y"
        Expect.equal (indicesOf idx) expectedIdx "indicesOf idx"

let ``Pooling: float32 2x2 stride-2 max pool (8- and 4-wide steps, overlapping row ends) matches a NaN-aware loop`` () =
    // Output widths 1..17 cover the 8-wide steps (with and without an overlapping last step), the 4-wide ones and
    // the scalar rows; values from {0, 1, 2} make ties common, and NaN must win over numbers (first NaN kept).
    let reference (planes: int) (h: int) (w: int) (x: float[]) =
        let oh, ow = h / 2, w / 2
        let ys = Array.zeroCreate (planes * oh * ow)
        let ix = Array.zeroCreate (planes * oh * ow)

        for p in 0 .. planes - 1 do
            for i in 0 .. oh - 1 do
                for j in 0 .. ow - 1 do
                    let mutable best = -1
                    let mutable m = 0.0

                    for a, b in [ 0, 0; 0, 1; 1, 0; 1, 1 ] do
                        let at = (2 * i + a) * w + 2 * j + b
                        let v = x[p * h * w + at]

                        if best < 0 || v > m || (Double.IsNaN v && not (Double.IsNaN m)) then
                            best <- at
                            m <- v

                    ys[(p * oh + i) * ow + j] <- m
                    ix[(p * oh + i) * ow + j] <- int64 best

        ys, ix

    for w in 2..2..34 do
        for h in [ 2; 5; 6 ] do
            for withNaN in [ false; true ] do
                let shape = [| 2; 3; h; w |]
                let rng = Random(w * 100 + h)

                let xs =
                    Array.init (numelOf shape) (fun _ ->
                        if withNaN && rng.Next 9 = 0 then
                            nan
                        else
                            float (rng.Next 3))

                let expected, expectedIdx = reference 6 h w xs

                let y, idx =
                    Tensor.maxPool2dWithIndices (Tensor.cast (tensorOf shape xs, DType.Float32), 2)

                let ctx = sprintf "shape %A, NaN %b" shape withNaN

                let sameValue (e: float) (a: float) =
                    e = a || Double.IsNaN e && Double.IsNaN a

                Expect.isTrue (Array.forall2 sameValue expected (values y)) ctx
                Expect.equal (indicesOf idx) expectedIdx "indicesOf idx"

let ``Pooling: max pool backward writes every element of 2x2-tiled planes and adds at any in-plane index`` () =
    // NaN sentinels check that every element is written (zero where no window chose it). Indices are each window's
    // chosen tap, and for the last plane some point outside their own window (still inside the plane, some twice):
    // the backward adds at exactly those positions, as the expected scatter below does.
    let rng = Random 5

    for h, w in [ 2, 2; 4, 6; 6, 4; 8, 14; 10, 10 ] do
        let planes, oh, ow = 3, h / 2, w / 2
        let gy = Array.init (planes * oh * ow) (fun _ -> rng.NextDouble() - 0.5)

        let ix =
            Array.init (planes * oh * ow) (fun o ->
                let p, i, j = o / (oh * ow), (o / ow) % oh, o % ow

                if p = planes - 1 && o % 3 = 0 then
                    int64 (rng.Next(h * w))
                else
                    int64 ((2 * i + rng.Next 2) * w + 2 * j + rng.Next 2))

        let expected = Array.zeroCreate (planes * h * w)

        for o in 0 .. gy.Length - 1 do
            let p = o / (oh * ow)
            let at = p * h * w + int ix[o]
            expected[at] <- expected[at] + gy[o]

        let g =
            FunctionalNets.Kernels.PoolWindow(planes, h, w, oh, ow, 2, 2, 2, 2, 0, 0, 1, 1)

        let gx = Array.create expected.Length nan
        FunctionalNets.Kernels.Pooling.MaxPool2dBackward(gy, ix, g, gx)
        assertCloseTol 0.0 0.0 "maxPool2dBackward Float64" (sprintf "%dx%d" h w) [| planes; h; w |] expected gx
        let gx32 = Array.create expected.Length nanf
        FunctionalNets.Kernels.Pooling.MaxPool2dBackward(Array.map float32 gy, ix, g, gx32)

        assertCloseTol
            1e-6
            1e-6
            "maxPool2dBackward Float32"
            (sprintf "%dx%d" h w)
            [| planes; h; w |]
            expected
            (Array.map float gx32)

let ``Pooling: maxPool2d propagates NaN like PyTorch`` () =
    let x = tensorOf [| 1; 1; 2; 2 |] [| 1.0; nan; 3.0; 2.0 |]
    let y, idx = Tensor.maxPool2dWithIndices (x, 2)
    Expect.isTrue (Double.IsNaN((values y)[0])) "Double.IsNaN((values y)[0])"
    Expect.equal (indicesOf idx) ([| 1L |]) "indicesOf idx"

let ``Pooling: avgPool2d matches naive loops with and without countIncludePad`` () =
    forAllN 60 (poolCase 4 false) (fun c ->
        let xs = valuesOf Real (numelOf c.Shape) c.Seed

        for cip in [ true; false ] do
            let shape, expected = avgPoolRef c cip xs

            let y =
                Tensor.avgPool2d (tensorOf c.Shape xs, c.Kernel, c.Stride, c.Padding, c.Ceil, cip)

            let ctx = sprintf "%A countIncludePad=%b" c cip
            assertShape "avgPool2d shape" ctx shape (y.Shape.ToArray())
            assertClose "avgPool2d values" ctx shape expected (values y))

let private sizeCase =
    gen {
        let! shape = Gen.arrayOfLength 4 (Gen.choose (1, 6))
        let! oh = Gen.choose (1, 7)
        let! ow = Gen.choose (1, 7)
        let! seed = Gens.seed
        return [| 1 + shape[0] % 2; 1 + shape[1] % 2; shape[2]; shape[3] |], oh, ow, seed
    }

let ``Pooling: adaptiveAvgPool2d, upsampleNearest and upsampleBilinear match naive loops`` () =
    forAllN 60 sizeCase (fun (shape, oh, ow, seed) ->
        let xs = valuesOf Real (numelOf shape) seed
        let x = tensorOf shape xs
        let outShape = outShapeOf shape oh ow
        let ctx = sprintf "%A -> %d x %d" shape oh ow

        let check what expected (y: Tensor) =
            assertShape what ctx outShape (y.Shape.ToArray())
            assertClose what ctx outShape expected (values y)

        check "adaptiveAvgPool2d" (adaptiveRef shape oh ow xs) (Tensor.adaptiveAvgPool2d (x, (oh, ow)))
        check "upsampleNearest" (nearestRef shape oh ow xs) (Tensor.upsampleNearest (x, (oh, ow)))
        check "upsampleBilinear" (bilinearRef shape oh ow false xs) (Tensor.upsampleBilinear (x, (oh, ow)))

        check
            "upsampleBilinear alignCorners"
            (bilinearRef shape oh ow true xs)
            (Tensor.upsampleBilinear (x, (oh, ow), alignCorners = true)))

let ``Pooling: bilinear 2x2 to 4x4 without alignCorners, computed by hand`` () =
    // src = max(0, (dst + 0.5) * 2/4 - 0.5) gives 0, 0.25, 0.75, 1.25 (clamped to the last row/column), so
    // x[r, c] = 1 + c + 2 r interpolates to 1 + c' + 2 r' at c', r' in {0, 0.25, 0.75, 1}.
    let x = Tensor.ofArray ([| 1.0f; 2.0f; 3.0f; 4.0f |], [ 1; 1; 2; 2 ])

    let expected =
        [|
            1.0
            1.25
            1.75
            2.0
            1.5
            1.75
            2.25
            2.5
            2.5
            2.75
            3.25
            3.5
            3.0
            3.25
            3.75
            4.0
        |]

    assertClose
        "bilinear 2x2 -> 4x4"
        "hand-computed"
        [| 1; 1; 4; 4 |]
        expected
        (values (Tensor.upsampleBilinear (x, (4, 4))))

    assertClose
        "bilinear by scale 2"
        "hand-computed"
        [| 1; 1; 4; 4 |]
        expected
        (values (Tensor.upsampleBilinear (x, 2.0)))

    // alignCorners: the corners coincide, so 3x3 samples at 0, 0.5, 1.
    let expectedAligned = [| 1.0; 1.5; 2.0; 2.0; 2.5; 3.0; 3.0; 3.5; 4.0 |]

    assertClose
        "bilinear alignCorners 2x2 -> 3x3"
        "hand-computed"
        [| 1; 1; 3; 3 |]
        expectedAligned
        (values (Tensor.upsampleBilinear (x, (3, 3), alignCorners = true)))

let ``Pooling: nearest upsampling at hand-computed points`` () =
    let x = Tensor.ofArray ([| 1.0; 2.0; 3.0; 4.0 |], [ 1; 1; 2; 2 ])
    // 2 -> 3: src = floor(dst * 2/3) = 0, 0, 1.
    Expect.equal
        (values (Tensor.upsampleNearest (x, (3, 3))))
        ([| 1.0; 1.0; 2.0; 1.0; 1.0; 2.0; 3.0; 3.0; 4.0 |])
        "values (Tensor.upsampleNearest (x, (3, 3)))"
    // Scale 2 repeats every element in a 2x2 block.
    Expect.equal
        (values (Tensor.upsampleNearest (x, 2.0)))
        ([|
            1.0
            1.0
            2.0
            2.0
            1.0
            1.0
            2.0
            2.0
            3.0
            3.0
            4.0
            4.0
            3.0
            3.0
            4.0
            4.0
        |])
        "values (Tensor.upsampleNearest (x, 2.0))"

let ``Pooling: adaptive pooling to 1x1 is the plane mean, and square overloads agree`` () =
    let x = tensorOf [| 2; 3; 5; 4 |] (valuesOf Real 120 3)
    let means = values (Tensor.mean (x, [ 2; 3 ], keepDim = true))
    assertClose "adaptive 1x1" "" [| 2; 3; 1; 1 |] means (values (Tensor.adaptiveAvgPool2d (x, 1)))

    Expect.equal
        (values (Tensor.maxPool2d (x, 2)))
        (values (Tensor.maxPool2d (x, (2, 2))))
        "values (Tensor.maxPool2d (x, 2))"

    Expect.equal
        (values (Tensor.avgPool2d (x, 3, 1, 1)))
        (values (Tensor.avgPool2d (x, (3, 3), (1, 1), (1, 1))))
        "values (Tensor.avgPool2d (x, 3, 1, 1))"

// ---------------------------------------------------------------------------------------------------
// Gradients: reverse and forward mode against finite differences (Float64)
// ---------------------------------------------------------------------------------------------------

let ``Pooling: maxPool2d gradients match finite differences`` () =
    // Distinct inputs keep every window's maximum unique, so the op is differentiable at the sample.
    forAllN 25 (poolCase 3 true) (fun c ->
        let x = tensorOf c.Shape (valuesOf Distinct (numelOf c.Shape) c.Seed)
        checkGrad (sprintf "maxPool2d %A" c) (maxPool c) x c.Seed)

let ``Pooling: avgPool2d gradients match finite differences`` () =
    forAllN 25 (Gen.zip (poolCase 3 false) Gens.bool) (fun (c, cip) ->
        let x = tensorOf c.Shape (valuesOf Real (numelOf c.Shape) c.Seed)

        let f x =
            Tensor.avgPool2d (x, c.Kernel, c.Stride, c.Padding, c.Ceil, cip)

        checkGrad (sprintf "avgPool2d %A cip=%b" c cip) f x c.Seed)

let ``Pooling: adaptive and upsampling gradients match finite differences`` () =
    forAllN 20 sizeCase (fun (shape, oh, ow, seed) ->
        let x = tensorOf shape (valuesOf Real (numelOf shape) seed)
        let name = sprintf "%A -> %d x %d" shape oh ow
        checkGrad ("adaptiveAvgPool2d " + name) (fun x -> Tensor.adaptiveAvgPool2d (x, (oh, ow))) x seed
        checkGrad ("upsampleNearest " + name) (fun x -> Tensor.upsampleNearest (x, (oh, ow))) x seed
        checkGrad ("upsampleBilinear " + name) (fun x -> Tensor.upsampleBilinear (x, (oh, ow))) x seed

        checkGrad
            ("upsampleBilinear alignCorners " + name)
            (fun x -> Tensor.upsampleBilinear (x, (oh, ow), alignCorners = true))
            x
            seed)

let ``Pooling: second derivatives through the backward ops match finite differences`` () =
    // checkGrad on a function that is itself a gradient checks the derivative of the backward rules
    // (scatter <-> gather, pool <-> unpool) in reverse-over-reverse and forward-over-reverse.
    forAllN 10 (poolCase 3 true) (fun c ->
        let x = tensorOf c.Shape (valuesOf Distinct (numelOf c.Shape) c.Seed)
        let cube (t: Tensor) = Tensor.sum (t * t * t)
        checkGrad "grad of maxPool2d" (Diff.grad (fun z -> cube (maxPool c z))) x c.Seed

        let avg (z: Tensor) =
            Tensor.avgPool2d (z, c.Kernel, c.Stride, c.Padding, c.Ceil)

        checkGrad "grad of avgPool2d" (Diff.grad (fun z -> cube (avg z))) x c.Seed

        checkGrad "grad of upsampleBilinear" (Diff.grad (fun z -> cube (Tensor.upsampleBilinear (z, (3, 5))))) x c.Seed)

// ---------------------------------------------------------------------------------------------------
// Bad input
// ---------------------------------------------------------------------------------------------------

let private throwsArg (needles: string list) (f: unit -> Tensor) =
    let ex = Expects.throwsAny<exn> "the call" (fun () -> f () |> ignore)
    Expect.isNotNull ex "an exception was raised"
    Expect.equal (ex.GetType()) (typeof<ArgumentException>) "ex.GetType()"

    for n in needles do
        Expect.stringContains ex.Message n "ex.Message"

let ``Pooling: bad sizes raise ArgumentException naming the op and shapes`` () =
    let x = Tensor.zeros [ 1; 2; 3; 3 ]
    throwsArg [ "maxPool2d"; "[1; 2; 3; 3]"; "[4; 4]" ] (fun () -> Tensor.maxPool2d (x, 4))
    throwsArg [ "maxPool2d"; "dilation" ] (fun () -> Tensor.maxPool2d (x, 2, dilation = 3))
    // Width 1, kernel 2 dilated by 2 with padding 1: the only window's taps are at -1 and 1.
    throwsArg [ "maxPool2d"; "only padding"; "[1; 1; 3; 1]" ] (fun () ->
        Tensor.maxPool2d (Tensor.zeros [ 1; 1; 3; 1 ], (1, 2), (1, 1), (0, 1), (1, 2)))

    throwsArg [ "avgPool2d"; "padding" ] (fun () -> Tensor.avgPool2d (x, 2, padding = 2))
    throwsArg [ "avgPool2d"; "stride" ] (fun () -> Tensor.avgPool2d (x, 2, stride = 0))
    throwsArg [ "maxPool2d"; "[2; 3]" ] (fun () -> Tensor.maxPool2d (Tensor.zeros [ 2; 3 ], 1))
    throwsArg [ "adaptiveAvgPool2d"; "[0; 2]" ] (fun () -> Tensor.adaptiveAvgPool2d (x, (0, 2)))
    throwsArg [ "upsampleNearest"; "scale" ] (fun () -> Tensor.upsampleNearest (x, -1.0))
    throwsArg [ "upsampleBilinear"; "[1; 2; 3; 3]" ] (fun () -> Tensor.upsampleBilinear (x, (0, 3)))

    throwsArg [ "maxPool2d"; "floating-point" ] (fun () ->
        Tensor.maxPool2d (Tensor.zeros ([ 1; 1; 2; 2 ], DType.Int64), 2))

let tests =
    testList
        "Pooling"
        [
            property
                "Pooling: maxPool2d values and indices match naive loops (padding, stride, dilation, ceil mode)"
                ``Pooling: maxPool2d values and indices match naive loops (padding, stride, dilation, ceil mode)``
            property
                "Pooling: maxPool2d indices name the first maximum of each window on ties"
                ``Pooling: maxPool2d indices name the first maximum of each window on ties``
            testCase
                "Pooling: maxPool2d indices name the first maximum of each window on ties, on the float32 2x2 stride-2 fast path"
                ``Pooling: maxPool2d indices name the first maximum of each window on ties, on the float32 2x2 stride-2 fast path``
            testCase
                "Pooling: float32 2x2 stride-2 max pool (8- and 4-wide steps, overlapping row ends) matches a NaN-aware loop"
                ``Pooling: float32 2x2 stride-2 max pool (8- and 4-wide steps, overlapping row ends) matches a NaN-aware loop``
            testCase
                "Pooling: max pool backward writes every element of 2x2-tiled planes and adds at any in-plane index"
                ``Pooling: max pool backward writes every element of 2x2-tiled planes and adds at any in-plane index``
            testCase "Pooling: maxPool2d propagates NaN like PyTorch" ``Pooling: maxPool2d propagates NaN like PyTorch``
            property
                "Pooling: avgPool2d matches naive loops with and without countIncludePad"
                ``Pooling: avgPool2d matches naive loops with and without countIncludePad``
            property
                "Pooling: adaptiveAvgPool2d, upsampleNearest and upsampleBilinear match naive loops"
                ``Pooling: adaptiveAvgPool2d, upsampleNearest and upsampleBilinear match naive loops``
            testCase
                "Pooling: bilinear 2x2 to 4x4 without alignCorners, computed by hand"
                ``Pooling: bilinear 2x2 to 4x4 without alignCorners, computed by hand``
            testCase
                "Pooling: nearest upsampling at hand-computed points"
                ``Pooling: nearest upsampling at hand-computed points``
            testCase
                "Pooling: adaptive pooling to 1x1 is the plane mean, and square overloads agree"
                ``Pooling: adaptive pooling to 1x1 is the plane mean, and square overloads agree``
            property
                "Pooling: maxPool2d gradients match finite differences"
                ``Pooling: maxPool2d gradients match finite differences``
            property
                "Pooling: avgPool2d gradients match finite differences"
                ``Pooling: avgPool2d gradients match finite differences``
            property
                "Pooling: adaptive and upsampling gradients match finite differences"
                ``Pooling: adaptive and upsampling gradients match finite differences``
            property
                "Pooling: second derivatives through the backward ops match finite differences"
                ``Pooling: second derivatives through the backward ops match finite differences``
            testCase
                "Pooling: bad sizes raise ArgumentException naming the op and shapes"
                ``Pooling: bad sizes raise ArgumentException naming the op and shapes``
        ]
