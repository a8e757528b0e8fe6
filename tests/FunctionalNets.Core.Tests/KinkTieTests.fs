/// Derivatives where finite differences do not exist, on generated inputs: values exactly on the kinks of relu, abs,
/// leakyRelu, elu and clamp, and ties in max/min reductions, max/min along a dim (with argmax/argmin), maximum/minimum
/// and max pooling windows, in Float32 and Float64, with the gradient's and the tangent's dtype asserted.
///
/// The rule at a kink or tie is PyTorch's documented behaviour (torch 1.13 gives the same values):
/// relu'(0) = 0, abs'(0) = 0 (sgn(0) = 0), leakyRelu'(0) = slope and elu'(0) = alpha (their backward kernels take the
/// x <= 0 branch), clamp passes the gradient on [min, max] inclusive; amax/amin (torch.max(x) and torch.amax) share
/// the gradient evenly among equal extremes, max(dim)/min(dim) and argmax/argmin pick the first extreme and send it
/// all the gradient, maximum/minimum give half to each operand at a tie, and max_pool2d picks the first maximum of a
/// window in row-major order. The library documents the same rules on each op. The expected values are computed here
/// on float arrays from those rules, and from central differences of the op's value away from the kinks.
module FunctionalNets.Tests.KinkTieTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open FunctionalNets
open FunctionalNets.Tests.GradCheck

// ---------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------

/// The tolerances of a dtype: (absolute, relative).
let private tolOf (dtype: DType) =
    if dtype = DType.Float32 then 1e-4, 1e-4 else 1e-6, 1e-5

/// The values as a tensor of dtype (cast from Float64: the tensor's own values are what the oracles read back).
let private asDType (dtype: DType) (shape: int[]) (xs: float[]) = Tensor.cast (tensorOf shape xs, dtype)

/// A standard normal tensor of dtype (cotangents and tangents).
let private randnAs (dtype: DType) (rng: Random) (shape: int[]) = Tensor.cast (randnOf rng shape, dtype)

let private expectDType (what: string) (expected: DType) (t: Tensor) =
    Expect.equal t.DType expected (sprintf "%s: dtype" what)

/// Compares within the dtype's tolerances.
let private close (dtype: DType) what context shape (expected: float[]) (actual: float[]) =
    let atol, rtol = tolOf dtype
    assertCloseTol atol rtol what context shape expected actual

/// Row-major strides of a shape.
let private stridesOf (shape: int[]) =
    let st = Array.create shape.Length 1

    for d in shape.Length - 2 .. -1 .. 0 do
        st[d] <- st[d + 1] * shape[d + 1]

    st

/// The multi-index of a flat row-major index.
let private unravel (shape: int[]) (flat: int) =
    let st = stridesOf shape
    Array.init shape.Length (fun d -> flat / st[d] % shape[d])

/// The flat row-major index of a multi-index.
let private ravel (shape: int[]) (idx: int[]) =
    Array.fold2 (fun acc i s -> acc + i * s) 0 idx (stridesOf shape)

// ---------------------------------------------------------------------------------------------------
// Kinks of elementwise ops
// ---------------------------------------------------------------------------------------------------

/// An elementwise op with kinks, and its derivative at a kink by the documented rule.
[<NoEquality; NoComparison; StructuredFormatDisplay("{Name}")>]
type Kinked =
    {
        Name: string
        Kinks: float list
        F: Tensor -> Tensor
        AtKink: float -> float
    }

let private kinked name kinks f atKink =
    {
        Name = name
        Kinks = kinks
        F = f
        AtKink = atKink
    }

/// relu, abs, leakyRelu and elu (random slopes), clamp with random bounds (both, min only, max only).
let private kinkedOps =
    Gen.oneof
        [
            Gen.constant (kinked "relu" [ 0.0 ] Tensor.relu (fun _ -> 0.0))
            Gen.constant (kinked "abs" [ 0.0 ] Tensor.abs (fun _ -> 0.0))
            gen {
                let! slope = Gen.elements [ 0.01; 0.2; 0.5; 1.5 ]

                return
                    kinked
                        (sprintf "leakyRelu(slope %g)" slope)
                        [ 0.0 ]
                        (fun x -> Tensor.leakyRelu (x, slope))
                        (fun _ -> slope)
            }
            gen {
                let! alpha = Gen.elements [ 0.5; 1.0; 1.7 ]
                return kinked (sprintf "elu(alpha %g)" alpha) [ 0.0 ] (fun x -> Tensor.elu (x, alpha)) (fun _ -> alpha)
            }
            gen {
                let! lo = Gen.elements [ -1.0; -0.5; 0.0; 0.5 ]
                let! width = Gen.elements [ 0.5; 1.0; 2.0 ]
                let hi = lo + width
                let! lower, upper = Gen.elements [ Some lo, Some hi; Some lo, None; None, Some hi ]

                return
                    kinked
                        (sprintf "clamp(%A, %A)" lower upper)
                        (List.choose id [ lower; upper ])
                        (fun x -> Tensor.clamp (x, ?min = lower, ?max = upper))
                        (fun _ -> 1.0)
            }
        ]

/// Gradient and tangent of an elementwise op at an input with elements on its kinks: the documented rule there,
/// central differences of the op's Float64 value elsewhere; both of the input's dtype.
let private checkKinks (op: Kinked) (x: Input) (dtype: DType) =
    let shape = x.Shape
    let xt = asDType dtype shape (valuesOf (OnKinks op.Kinks) (numelOf shape) x.Seed)
    let xs = values xt
    let onKink = xs |> Array.map (fun v -> List.contains v op.Kinks)
    let context = sprintf "%s at %O %A, %A" op.Name dtype shape xs
    Expect.isTrue (Array.contains true onKink) (context + ": the case has an element on a kink")
    // Elementwise, so one shift of every element gives every element's central difference at once.
    let h = 1e-6

    let shifted (s: float) =
        values (op.F(tensorOf shape (Array.map (fun v -> v + s * h) xs)))

    let up, down = shifted 1.0, shifted -1.0

    let slope =
        Array.init xs.Length (fun i ->
            if onKink[i] then
                op.AtKink xs[i]
            else
                (up[i] - down[i]) / (2.0 * h))

    let rng = Random(x.Seed ^^^ 0x4B1)
    let w = randnAs dtype rng shape
    let v = randnAs dtype rng shape
    let g = Diff.grad (fun t -> Tensor.sum (op.F t * w)) xt
    expectDType (context + ", gradient") dtype g
    close dtype "gradient at kinks" context shape (Array.map2 (*) (values w) slope) (values g)
    let _, tangent = Diff.jvp op.F xt v
    expectDType (context + ", tangent") dtype tangent
    close dtype "tangent at kinks" context shape (Array.map2 (*) (values v) slope) (values tangent)

// ---------------------------------------------------------------------------------------------------
// Ties in reductions
// ---------------------------------------------------------------------------------------------------

/// For each element of shape, the flat index of its slice when dims are reduced (in the kept-dims layout, which has
/// the same order as the output with or without keepDim), and the number of slices.
let private sliceOf (shape: int[]) (dims: int[]) =
    let kept = shape |> Array.mapi (fun d n -> if Array.contains d dims then 1 else n)

    let slice =
        Array.init (numelOf shape) (fun i ->
            unravel shape i
            |> Array.mapi (fun d k -> if Array.contains d dims then 0 else k)
            |> ravel kept)

    slice, numelOf kept

/// The extreme of each slice.
let private extremes (isMax: bool) (xs: float[]) (slice: int[]) (count: int) =
    let best = Array.create count (if isMax then -infinity else infinity)

    xs
    |> Array.iteri (fun i v ->
        let s = slice[i]

        if (isMax && v > best[s]) || (not isMax && v < best[s]) then
            best[s] <- v)

    best

/// A Tied input of rank 1..3 (or 1..2 for Float32), the reduced dims (None: all), keepDim, max or min, and a dtype.
let private reductionCase =
    gen {
        let! x = Gens.inputRank Tied 1 3
        let r = x.Shape.Length
        let! all = Gen.frequency [ 1, Gen.constant true; 3, Gen.constant false ]
        let! subset = Gens.dimSubset r
        let! first = Gens.dimOf r

        let dims =
            if all then None
            elif subset.Length = 0 then Some [| first |]
            else Some subset

        let! keep = Gens.bool
        let! isMax = Gens.bool
        let! dtype = Gens.floatType
        return x, dims, keep, isMax, dtype
    }

/// max/min over dims: the value is the extreme, and the gradient and tangent are shared evenly among the elements
/// equal to it (torch's amax/amin).
let private checkReductionTies (x: Input, dims: int[] option, keep: bool, isMax: bool, dtype: DType) =
    let shape = x.Shape
    let r = shape.Length
    let xt = asDType dtype shape (valuesOf Tied (numelOf shape) x.Seed)
    let xs = values xt
    let norm = dims |> Option.map (Array.map (fun d -> (d + r) % r) >> Array.distinct)
    let slice, count = sliceOf shape (defaultArg norm [| 0 .. r - 1 |])
    let best = extremes isMax xs slice count

    let ties =
        Array.init count (fun s -> xs |> Array.indexed |> Array.filter (fun (i, v) -> slice[i] = s && v = best[s]))
        |> Array.map Array.length

    let name = if isMax then "max" else "min"

    let context =
        sprintf "%s over %A keepDim %b at %O %A, %A" name dims keep dtype shape xs

    let f (t: Tensor) =
        match dims, isMax with
        | None, true -> Tensor.max t
        | None, false -> Tensor.min t
        | Some ds, true -> Tensor.max (t, ds, keep)
        | Some ds, false -> Tensor.min (t, ds, keep)

    let y = f xt
    expectDType (context + ", value") dtype y
    close dtype "value" context [| count |] best (values y)
    let rng = Random(x.Seed ^^^ 0x71E)
    let w = randnAs dtype rng (y.Shape.ToArray())
    let ws = values w
    let g = Diff.grad (fun t -> Tensor.sum (f t * w)) xt
    expectDType (context + ", gradient") dtype g

    let expectedGrad =
        xs
        |> Array.mapi (fun i v ->
            let s = slice[i]
            if v = best[s] then ws[s] / float ties[s] else 0.0)

    close dtype "gradient shared among ties" context shape expectedGrad (values g)
    let v = randnAs dtype rng shape
    let vs = values v
    let _, tangent = Diff.jvp f xt v
    expectDType (context + ", tangent") dtype tangent
    let expectedTangent = Array.zeroCreate count

    xs
    |> Array.iteri (fun i xi ->
        let s = slice[i]

        if xi = best[s] then
            expectedTangent[s] <- expectedTangent[s] + vs[i] / float ties[s])

    close dtype "tangent: the mean over ties" context [| count |] expectedTangent (values tangent)

/// maxWithIndices/minWithIndices along a dim and argmax/argmin: the index of the first extreme, where all the
/// gradient goes (torch's max(dim)/min(dim), "the index of the first maximal value").
let private checkFirstExtreme (x: Input, dim: int, keep: bool, isMax: bool, dtype: DType) =
    let shape = x.Shape
    let r = shape.Length
    let d = (dim + r) % r
    let xt = asDType dtype shape (valuesOf Tied (numelOf shape) x.Seed)
    let xs = values xt
    let slice, count = sliceOf shape [| d |]
    let best = extremes isMax xs slice count
    // Flat indices grow with the position along dim inside one slice, so the first hit in flat order is the first.
    let firstFlat =
        Array.init count (fun s ->
            xs
            |> Array.indexed
            |> Array.find (fun (i, v) -> slice[i] = s && v = best[s])
            |> fst)

    let expectedIndex = firstFlat |> Array.map (fun i -> float (unravel shape i).[d])
    let name = if isMax then "maxWithIndices" else "minWithIndices"
    let context = sprintf "%s(%d, %b) at %O %A, %A" name dim keep dtype shape xs

    let withIndices (t: Tensor) =
        if isMax then
            Tensor.maxWithIndices (t, dim, keep)
        else
            Tensor.minWithIndices (t, dim, keep)

    let y, idx = withIndices xt
    Expect.equal idx.DType DType.Int64 (context + ": the indices' dtype")
    Expect.equal (values idx) expectedIndex (context + ": the first extreme's index")
    close dtype "value" context [| count |] best (values y)

    let arg =
        if isMax then
            Tensor.argmax (xt, Nullable dim, keep)
        else
            Tensor.argmin (xt, Nullable dim, keep)

    Expect.equal (values arg) expectedIndex (context + ": argmax/argmin, the first extreme")
    let rng = Random(x.Seed ^^^ 0xF125)
    let w = randnAs dtype rng (y.Shape.ToArray())
    let ws = values w
    let g = Diff.grad (fun t -> Tensor.sum (fst (withIndices t) * w)) xt
    expectDType (context + ", gradient") dtype g
    let expectedGrad = Array.zeroCreate xs.Length
    firstFlat |> Array.iteri (fun s i -> expectedGrad[i] <- ws[s])
    close dtype "gradient to the first extreme only" context shape expectedGrad (values g)
    let v = randnAs dtype rng shape
    let _, tangent = Diff.jvp (fun t -> fst (withIndices t)) xt v
    expectDType (context + ", tangent") dtype tangent

    close
        dtype
        "tangent of the first extreme"
        context
        [| count |]
        (firstFlat |> Array.map (fun i -> (values v)[i]))
        (values tangent)

// ---------------------------------------------------------------------------------------------------
// Ties between operands: maximum, minimum
// ---------------------------------------------------------------------------------------------------

/// The broadcast shape of a and b (right-aligned; each pair of dims equal or one of them 1).
let private broadcastShape (a: int[]) (b: int[]) =
    let r = max a.Length b.Length

    let at (s: int[]) i =
        if i < r - s.Length then 1 else s[i - (r - s.Length)]

    Array.init r (fun i -> max (at a i) (at b i))

/// The flat index into an operand of shape s (broadcast to out) of the output's multi-index.
let private sourceIndex (s: int[]) (out: int[]) (idx: int[]) =
    let offset = out.Length - s.Length

    Array.init s.Length (fun d -> if s[d] = 1 then 0 else idx[d + offset])
    |> ravel s

/// maximum/minimum of Tied operands with broadcasting: at a tie each operand gets half the gradient and half its
/// tangent (torch.maximum/torch.minimum).
let private checkOperandTies ((sa: int[], sb: int[]), seed: int, isMax: bool, dtype: DType) =
    let at = asDType dtype sa (valuesOf Tied (numelOf sa) seed)
    let bt = asDType dtype sb (valuesOf Tied (numelOf sb) (seed + 1))
    let av, bv = values at, values bt
    let out = broadcastShape sa sb
    let n = numelOf out
    let name = if isMax then "maximum" else "minimum"
    let context = sprintf "%s of %O %A %A and %A %A" name dtype sa av sb bv

    let f (a: Tensor) (b: Tensor) =
        if isMax then
            Tensor.maximum (a, b)
        else
            Tensor.minimum (a, b)

    let onTree (p: PTree<Tensor>) =
        match PTree.values p with
        | [ a; b ] -> f a b
        | other -> failtestf "%s: two operands expected, got %d" context other.Length

    // The share of a in each output element: 1 where a wins, 1/2 at a tie, 0 where b wins.
    let ia = Array.init n (fun o -> sourceIndex sa out (unravel out o))
    let ib = Array.init n (fun o -> sourceIndex sb out (unravel out o))

    let shareA =
        Array.init n (fun o ->
            let a, b = av[ia[o]], bv[ib[o]]

            if a = b then 0.5
            elif (a > b) = isMax then 1.0
            else 0.0)

    let rng = Random(seed ^^^ 0x3A1)
    let w = randnAs dtype rng out
    let ws = values w

    let ga, gb =
        match
            Diff.gradTree (fun p -> Tensor.sum (onTree p * w)) (Node [ "a", Leaf at; "b", Leaf bt ])
            |> PTree.values
        with
        | [ ga; gb ] -> ga, gb
        | other -> failtestf "%s: two gradients expected, got %d" context other.Length

    expectDType (context + ", gradient wrt a") dtype ga
    expectDType (context + ", gradient wrt b") dtype gb
    let expectedA, expectedB = Array.zeroCreate av.Length, Array.zeroCreate bv.Length

    for o in 0 .. n - 1 do
        expectedA[ia[o]] <- expectedA[ia[o]] + ws[o] * shareA[o]
        expectedB[ib[o]] <- expectedB[ib[o]] + ws[o] * (1.0 - shareA[o])

    close dtype "gradient wrt a, half at ties" context sa expectedA (values ga)
    close dtype "gradient wrt b, half at ties" context sb expectedB (values gb)
    let va, vb = randnAs dtype rng sa, randnAs dtype rng sb

    let _, tangent =
        Diff.jvpTree onTree (Node [ "a", Leaf at; "b", Leaf bt ]) (Node [ "a", Leaf va; "b", Leaf vb ])

    expectDType (context + ", tangent") dtype tangent

    let expectedTangent =
        Array.init n (fun o -> (values va)[ia[o]] * shareA[o] + (values vb)[ib[o]] * (1.0 - shareA[o]))

    close dtype "tangent, half of each at ties" context out expectedTangent (values tangent)

// ---------------------------------------------------------------------------------------------------
// Ties in max pooling windows
// ---------------------------------------------------------------------------------------------------

/// A max pooling of a Tied NCHW input: (n, c, h, w), kernel, stride, padding (at most half the kernel), dilation.
type PoolCase =
    {
        Input: int[]
        Kernel: int * int
        Stride: int * int
        Padding: int * int
        Dilation: int * int
        Seed: int
        DType: DType
    }

/// The output size of one axis (torch's formula, floor mode).
let private pooledLength size k s p d =
    (size + 2 * p - d * (k - 1) - 1) / s + 1

/// Whether every window of an axis fits the padded input and covers at least one element of the input (torch accepts
/// a window of padding only, and gives -infinity there: no maximum to send a gradient to).
let private windowsCover size k s p d =
    d * (k - 1) + 1 <= size + 2 * p
    && Seq.forall
        (fun o -> Seq.exists (fun i -> o * s - p + i * d >= 0 && o * s - p + i * d < size) (seq { 0 .. k - 1 }))
        (seq { 0 .. pooledLength size k s p d - 1 })

let private poolCase =
    gen {
        let! n, c = Gen.zip (Gen.choose (1, 2)) (Gen.choose (1, 2))
        let! h, w = Gen.zip (Gen.choose (1, 6)) (Gen.choose (1, 6))

        // One axis: kernel, stride, padding, dilation whose windows all cover input (else a 1-wide window).
        let axis (size: int) =
            gen {
                let! k, s, d = Gen.zip3 (Gen.choose (1, 3)) (Gen.choose (1, 3)) (Gen.choose (1, 2))
                let! p = Gen.choose (0, k / 2)
                return if windowsCover size k s p d then k, s, p, d else 1, s, 0, 1
            }

        let! kh, sh, ph, dh = axis h
        let! kw, sw, pw, dw = axis w
        let! seed = Gens.seed
        let! dtype = Gens.floatType

        return
            {
                Input = [| n; c; h; w |]
                Kernel = kh, kw
                Stride = sh, sw
                Padding = ph, pw
                Dilation = dh, dw
                Seed = seed
                DType = dtype
            }
    }

/// maxPool2d: each window's value is its first maximum in row-major order, whose index maxPool2dWithIndices returns
/// and to which the window's whole gradient goes (torch's max_pool2d); overlapping windows add up.
let private checkPoolTies (case: PoolCase) =
    let shape = case.Input
    let dtype = case.DType
    let xt = asDType dtype shape (valuesOf Tied (numelOf shape) case.Seed)
    let xs = values xt
    let planes, h, w = shape[0] * shape[1], shape[2], shape[3]

    let (kh, kw), (sh, sw), (ph, pw), (dh, dw) =
        case.Kernel, case.Stride, case.Padding, case.Dilation

    let oh, ow = pooledLength h kh sh ph dh, pooledLength w kw sw pw dw
    let context = sprintf "maxPool2d %A at %O, %A" case dtype xs
    // For each output element, the flat index (within the plane) of its window's first maximum.
    let first =
        Array.init (planes * oh * ow) (fun o ->
            let plane, y, x = o / (oh * ow), o / ow % oh, o % ow
            let mutable best, at = -infinity, -1

            for i in 0 .. kh - 1 do
                for j in 0 .. kw - 1 do
                    let r, c = y * sh - ph + i * dh, x * sw - pw + j * dw

                    if r >= 0 && r < h && c >= 0 && c < w && xs[plane * h * w + r * w + c] > best then
                        best <- xs[plane * h * w + r * w + c]
                        at <- r * w + c

            if at < 0 then
                failtestf "%s: output %d has a window of padding only: the generator is wrong" context o

            at)

    let plane o = o / (oh * ow)

    let y, idx =
        Tensor.maxPool2dWithIndices (xt, case.Kernel, case.Stride, case.Padding, case.Dilation)

    Expect.equal (y.Shape.ToArray()) [| shape[0]; shape[1]; oh; ow |] (context + ": the output's shape")
    Expect.equal (values idx) (first |> Array.map float) (context + ": indices of each window's first maximum")

    close
        dtype
        "value"
        context
        (y.Shape.ToArray())
        (first |> Array.mapi (fun o i -> xs[plane o * h * w + i]))
        (values y)

    let rng = Random(case.Seed ^^^ 0x9001)
    let wt = randnAs dtype rng (y.Shape.ToArray())
    let ws = values wt

    let pool (t: Tensor) =
        Tensor.maxPool2d (t, case.Kernel, case.Stride, case.Padding, case.Dilation)

    let g = Diff.grad (fun t -> Tensor.sum (pool t * wt)) xt
    expectDType (context + ", gradient") dtype g
    let expected = Array.zeroCreate xs.Length

    first
    |> Array.iteri (fun o i -> expected[plane o * h * w + i] <- expected[plane o * h * w + i] + ws[o])

    close dtype "gradient to each window's first maximum" context shape expected (values g)
    let v = randnAs dtype rng shape
    let _, tangent = Diff.jvp pool xt v
    expectDType (context + ", tangent") dtype tangent

    close
        dtype
        "tangent of each window's first maximum"
        context
        (y.Shape.ToArray())
        (first |> Array.mapi (fun o i -> (values v)[plane o * h * w + i]))
        (values tangent)

// ---------------------------------------------------------------------------------------------------
// PyTorch itself, on inputs from the same generators
// ---------------------------------------------------------------------------------------------------

/// The torch expression of each case (x: the input, float64, requires_grad) and the library's op; the gradient of
/// sum(y) is compared.
let private torchCases: (string * Domain * int[] * (Tensor -> Tensor)) list =
    [
        "torch.relu(x)", OnKinks [ 0.0 ], [| 3; 4 |], Tensor.relu
        "torch.abs(x)", OnKinks [ 0.0 ], [| 3; 4 |], Tensor.abs
        "F.leaky_relu(x, 0.2)", OnKinks [ 0.0 ], [| 3; 4 |], (fun x -> Tensor.leakyRelu (x, 0.2))
        "F.elu(x, 0.7)", OnKinks [ 0.0 ], [| 3; 4 |], (fun x -> Tensor.elu (x, 0.7))
        "torch.clamp(x, -0.5, 1.0)", OnKinks [ -0.5; 1.0 ], [| 3; 4 |], (fun x -> Tensor.clamp (x, -0.5, 1.0))
        "torch.clamp(x, min=0.5)", OnKinks [ 0.5 ], [| 3; 4 |], (fun x -> Tensor.clamp (x, min = 0.5))
        "torch.max(x)", Tied, [| 3; 4 |], (fun x -> Tensor.max x)
        "torch.amax(x, 1)", Tied, [| 3; 4 |], (fun x -> Tensor.max (x, 1))
        "torch.amin(x, (0, 2))", Tied, [| 2; 3; 2 |], (fun x -> Tensor.min (x, [ 0; 2 ]))
        "torch.max(x, 1).values", Tied, [| 3; 4 |], (fun x -> fst (Tensor.maxWithIndices (x, 1)))
        "torch.min(x, 0).values", Tied, [| 3; 4 |], (fun x -> fst (Tensor.minWithIndices (x, 0)))
        "torch.maximum(x[0], x[1])", Tied, [| 2; 6 |], (fun x -> Tensor.maximum (x[0], x[1]))
        "torch.minimum(x[:, :1], x)", Tied, [| 2; 6 |], (fun x -> Tensor.minimum (x[*, 0..0], x))
        "F.max_pool2d(x, 2, 1)", Tied, [| 1; 2; 4; 5 |], (fun x -> Tensor.maxPool2d (x, 2, 1))
        "F.max_pool2d(x, 3, 2, 1)", Tied, [| 1; 1; 5; 5 |], (fun x -> Tensor.maxPool2d (x, 3, 2, 1))
        "F.max_pool2d(x, 2, 1, 0, 2)", Tied, [| 1; 1; 5; 4 |], (fun x -> Tensor.maxPool2d (x, 2, 1, 0, 2))
    ]

/// Reads one JSON line a case ({"expr", "shape", "x"}) and writes the gradient of sum(expr) at x, one JSON line each.
let private torchScript =
    String.concat
        "\n"
        [
            "import json, sys"
            "try:"
            "    import torch"
            "    import torch.nn.functional as F"
            "except ImportError:"
            "    print('NO TORCH'); sys.exit(0)"
            "for line in sys.stdin:"
            "    c = json.loads(line)"
            "    x = torch.tensor(c['x'], dtype=torch.float64).reshape(c['shape']).requires_grad_()"
            "    eval(c['expr']).sum().backward()"
            "    print(json.dumps(x.grad.reshape(-1).tolist()))"
        ]

/// torch's gradients for the inputs, or None when /usr/bin/python3 has no torch.
let private torchGradients (inputs: (string * int[] * float[]) list) =
    let python = "/usr/bin/python3"

    if not (IO.File.Exists python) then
        None
    else
        let info =
            Diagnostics.ProcessStartInfo(
                python,
                [ "-c"; torchScript ],
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true
            )

        use p = Diagnostics.Process.Start info
        let stderr = p.StandardError.ReadToEndAsync()

        for expr, shape, x in inputs do
            p.StandardInput.WriteLine(Text.Json.JsonSerializer.Serialize {| expr = expr; shape = shape; x = x |})

        p.StandardInput.Close()
        let out = p.StandardOutput.ReadToEnd()

        // A hang guard, not a speed claim: the import of torch takes seconds.
        if not (p.WaitForExit 300_000) then
            p.Kill true
            failtest "python3 with torch did not finish within 5 minutes"

        if p.ExitCode <> 0 then
            failtestf "python3 with torch failed (exit %d): %s" p.ExitCode stderr.Result

        let lines = out.Split('\n', StringSplitOptions.RemoveEmptyEntries)

        if lines = [| "NO TORCH" |] then
            None
        else
            Some(lines |> Array.map Text.Json.JsonSerializer.Deserialize<float[]>)

let private config n =
    { FsCheckConfig.defaultConfig with
        maxTest = n
    }

/// The tests of this module.
let tests =
    testList
        "Kinks and ties"
        [
            testPropertyWithConfig
                (config 60)
                "relu, abs, leakyRelu, elu and clamp on generated inputs with elements on their kinks follow torch's rule there"
                (Prop.forAll
                    (Arb.fromGen (Gen.zip3 kinkedOps (Gens.inputRank Real 0 3) Gens.floatType))
                    (fun (op, x, dtype) -> checkKinks op x dtype))

            testPropertyWithConfig
                (config 60)
                "max and min over generated dims share the gradient and tangent evenly among tied extremes"
                (Prop.forAll (Arb.fromGen reductionCase) checkReductionTies)

            testPropertyWithConfig
                (config 40)
                "maxWithIndices, minWithIndices, argmax and argmin pick the first of tied extremes, which takes all the gradient"
                (Prop.forAll
                    (Arb.fromGen (
                        gen {
                            let! x = Gens.inputRank Tied 1 3
                            let! dim = Gens.dimOf x.Shape.Length
                            let! keep, isMax = Gen.zip Gens.bool Gens.bool
                            let! dtype = Gens.floatType
                            return x, dim, keep, isMax, dtype
                        }
                    ))
                    checkFirstExtreme)

            testPropertyWithConfig
                (config 40)
                "maximum and minimum with broadcasting give each operand half the gradient and tangent at ties"
                (Prop.forAll
                    (Arb.fromGen (
                        gen {
                            let! shapes = Gens.broadcastPair
                            let! seed = Gens.seed
                            let! isMax = Gens.bool
                            let! dtype = Gens.floatType
                            return shapes, seed, isMax, dtype
                        }
                    ))
                    checkOperandTies)

            testCase "torch 1.13 gives the library's gradients at generated kinks and ties"
            <| fun () ->
                let inputs =
                    [
                        for expr, domain, shape, f in torchCases do
                            for seed in 1..3 do
                                expr, shape, valuesOf domain (numelOf shape) (seed * 7919), f
                    ]

                match torchGradients [ for expr, shape, x, _ in inputs -> expr, shape, x ] with
                | None -> skiptest "torch is not installed for /usr/bin/python3"
                | Some expected ->
                    Expect.equal expected.Length inputs.Length "one gradient per case from torch"

                    List.iteri2
                        (fun i (expr, shape, x, f) (e: float[]) ->
                            let g = Diff.grad (fun t -> Tensor.sum (f t)) (tensorOf shape x)

                            assertCloseTol
                                1e-12
                                1e-12
                                "gradient vs torch"
                                (sprintf "%s at %A (case %d)" expr x i)
                                shape
                                e
                                (values g))
                        inputs
                        (List.ofArray expected)

            testPropertyWithConfig
                (config 40)
                "maxPool2d sends each window's gradient to its first maximum when the window holds ties"
                (Prop.forAll (Arb.fromGen poolCase) checkPoolTies)
        ]
