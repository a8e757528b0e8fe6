module FunctionalNets.Tests.TensorValueTests

// Forward values against hand computation or an independent plain-F# formula (loops over float arrays).
// The data comes from fixed formulas, never from the library's own random generator.

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets

let private F64 = DType.Float64
let private arr (t: Tensor) = Tensor.toFloatArray t
let private dims (t: Tensor) = t.Shape.ToArray()

let private closeArr (tol: float) (expected: float[]) (actual: float[]) =
    Expect.isTrue
        (expected.Length = actual.Length)
        (sprintf "length: expected %d, got %d" expected.Length actual.Length)

    for i in 0 .. expected.Length - 1 do
        let e, a = expected[i], actual[i]

        let ok =
            (Double.IsNaN e && Double.IsNaN a)
            || e = a
            || abs (e - a) <= tol * (1.0 + abs e)

        Expect.isTrue
            ok
            (sprintf "element %d: expected %.17g, got %.17g\nexpected %A\nactual   %A" i e a expected actual)

let private close (expected: float[]) (t: Tensor) = closeArr 1e-12 expected (arr t)
let private close32 (expected: float[]) (t: Tensor) = closeArr 1e-6 expected (arr t)

let private shapeIs (expected: int list) (t: Tensor) =
    Expect.equal (dims t) (Array.ofList expected) "dims t"

/// A Float64 tensor of the given shape with element i = g(i) (a deterministic, irregular pattern).
let private pattern (shape: int list) =
    let n = List.fold (*) 1 shape
    let data = Array.init n (fun i -> Math.Round(sin (float i * 1.7 + 0.3) * 5.0, 3))
    data, Tensor.ofArray (data, shape)

// ---------------------------------------------------------------- arithmetic and broadcasting

let ``elementwise arithmetic with broadcasting matches loops`` () =
    let a, ta = pattern [ 2; 3 ]
    let b = [| 0.5; -2.0; 4.0 |]
    let tb = Tensor.ofArray (b, [ 3 ])
    let at (i, j) = a[i * 3 + j]

    let expect f =
        Array.init 6 (fun k -> f (at (k / 3, k % 3)) b[k % 3])

    close (expect (+)) (ta + tb)
    close (expect (-)) (ta - tb)
    close (expect (*)) (ta * tb)
    close (expect (/)) (ta / tb)
    close (expect (fun x y -> y - x)) (tb - ta)
    shapeIs [ 2; 3 ] (tb * ta)
    // Column [2; 1] times row [1; 3] is the outer product [2; 3].
    let col = Tensor.create ([ [ 1.0 ]; [ 2.0 ] ], F64)
    let row = Tensor.create ([ [ 10.0; 20.0; 30.0 ] ], F64)
    let outer = col * row
    shapeIs [ 2; 3 ] outer
    close [| 10.0; 20.0; 30.0; 20.0; 40.0; 60.0 |] outer
    // Leading dims added: [3] + [2; 1; 3] -> [2; 1; 3]; [4; 1] + [3] -> [4; 3].
    shapeIs [ 2; 1; 3 ] (tb + Tensor.zeros ([ 2; 1; 3 ], F64))
    shapeIs [ 4; 3 ] (Tensor.zeros ([ 4; 1 ], F64) + tb)

let ``scalar operands and pow`` () =
    let x = Tensor.create ([ 1.0; 2.0; 4.0 ], F64)
    close [| 3.0; 4.0; 6.0 |] (x + 2.0)
    close [| 1.0; 0.0; -2.0 |] (2.0 - x)
    close [| 0.5; 1.0; 2.0 |] (x * 0.5)
    close [| 4.0; 2.0; 1.0 |] (4.0 / x)
    close [| -1.0; -2.0; -4.0 |] (-x)
    close [| 1.0; 8.0; 64.0 |] (x ** 3.0)
    close [| 1.0; 4.0; 16.0 |] (Tensor.square x)
    close [| 2.0; 4.0; 16.0 |] (Tensor.pow (Tensor.scalar (2.0, F64), x))
    close [| 1.0; 4.0; 4.0 ** 0.5 |] (x ** Tensor.create ([ 0.0; 2.0; 0.5 ], F64))
    close [| 1.0; sqrt 2.0; 2.0 |] (Tensor.sqrt x)
    close [| 0.0; log 2.0; log 4.0 |] (Tensor.log x)
    close [| exp 1.0; exp 2.0; exp 4.0 |] (Tensor.exp x)
    close [| 1.0; 0.5; 0.25 |] (Tensor.reciprocal x)
    close [| 1.0; 1.0 / sqrt 2.0; 0.5 |] (Tensor.rsqrt x)
    close [| sin 1.0; sin 2.0; sin 4.0 |] (Tensor.sin x)
    close [| tanh 1.0; tanh 2.0; tanh 4.0 |] (Tensor.tanh x)
    close [| 1.0; 1.0; 1.0 |] (Tensor.abs (-x) / x)

let ``Float32 arithmetic rounds like float32`` () =
    let x = Tensor.create [ 0.1; 0.2 ]
    Expect.equal x.DType DType.Float32 "x.DType"
    let s = (x + x).ToArray() :?> float32[]
    Expect.equal s ([| 0.1f + 0.1f; 0.2f + 0.2f |]) "s"
    let p = (x * Tensor.create [ 3.0; 3.0 ]).ToArray() :?> float32[]
    Expect.equal p ([| 0.1f * 3.0f; 0.2f * 3.0f |]) "p"

// ---------------------------------------------------------------- reductions

let private reduceRef (data: float[]) (shape: int[]) (reduced: int[]) (f: float[] -> float) =
    // Groups the elements by their index on the kept dims (row-major over the kept dims), then applies f.
    let strides = Shape.contiguousStrides (Shape.ofArray shape)

    let kept =
        [|
            for d in 0 .. shape.Length - 1 do
                if not (Array.contains d reduced) then
                    d
        |]

    let keptSizes = kept |> Array.map (fun d -> shape[d])
    let outN = Array.fold (*) 1 keptSizes
    let groups = Array.init outN (fun _ -> Collections.Generic.List<float>())

    for flat in 0 .. data.Length - 1 do
        let mutable o = 0

        for d in kept do
            let i = (flat / strides[d]) % shape[d]
            o <- o * shape[d] + i

        groups[o].Add data[flat]

    groups |> Array.map (fun g -> f (g.ToArray()))

let private mean (xs: float[]) = Array.sum xs / float xs.Length

let private varOf (unbiased: bool) (xs: float[]) =
    let m = mean xs
    let ss = xs |> Array.sumBy (fun v -> (v - m) * (v - m))
    ss / float (if unbiased then xs.Length - 1 else xs.Length)

let ``sum and mean over every dim set match loops`` () =
    let shape = [| 3; 4; 5 |]
    let data, x = pattern (List.ofArray shape)

    for ds in [ [| 0 |]; [| 1 |]; [| 2 |]; [| 0; 2 |]; [| 0; 1 |]; [| 1; 2 |]; [| 0; 1; 2 |] ] do
        let s = Tensor.sum (x, ds)
        closeArr 1e-12 (reduceRef data shape ds Array.sum) (arr s)
        closeArr 1e-12 (reduceRef data shape ds mean) (arr (Tensor.mean (x, ds)))
        // keepDim keeps size-1 dims in place.
        let keptShape =
            shape |> Array.mapi (fun i n -> if Array.contains i ds then 1 else n)

        Expect.equal (dims (Tensor.sum (x, ds, keepDim = true))) keptShape "dims (Tensor.sum (x, ds, keepDim = true))"

        Expect.equal
            (dims s)
            (shape
             |> Array.indexed
             |> Array.filter (fun (i, _) -> not (Array.contains i ds))
             |> Array.map snd)
            "dims s"

    // Negative dims, the whole tensor and the member forms.
    closeArr 1e-12 (reduceRef data shape [| 2 |] Array.sum) (arr (Tensor.sum (x, -1)))
    Expect.equal ((Tensor.sum x).Rank) 0 "(Tensor.sum x).Rank"
    closeArr 1e-12 [| Array.sum data |] (arr (x.Sum()))
    closeArr 1e-12 [| mean data |] (arr (x.Mean()))
    closeArr 1e-12 (reduceRef data shape [| 1 |] mean) (arr (x.Mean(1)))

let ``var and std, unbiased and biased, match loops`` () =
    let shape = [| 3; 4; 5 |]
    let data, x = pattern (List.ofArray shape)

    for ds in [ [| 0 |]; [| 2 |]; [| 0; 2 |]; [| 0; 1; 2 |] ] do
        closeArr 1e-12 (reduceRef data shape ds (varOf true)) (arr (Tensor.var (x, ds)))
        closeArr 1e-12 (reduceRef data shape ds (varOf false)) (arr (Tensor.var (x, ds, unbiased = false)))
        closeArr 1e-12 (reduceRef data shape ds (varOf true >> sqrt)) (arr (Tensor.std (x, ds)))
        closeArr 1e-12 (reduceRef data shape ds (varOf false >> sqrt)) (arr (Tensor.std (x, ds, unbiased = false)))

    // A hand example: [1; 2; 3; 4] has mean 2.5, squares sum 5, var 5/3 unbiased and 5/4 biased.
    let v = Tensor.create ([ 1.0; 2.0; 3.0; 4.0 ], F64)
    close [| 5.0 / 3.0 |] (Tensor.var v)
    close [| 1.25 |] (Tensor.var (v, unbiased = false))
    close [| sqrt (5.0 / 3.0) |] (Tensor.std v)
    shapeIs [ 1 ] (Tensor.var (v, 0, keepDim = true))

let ``max, min, argmax, argmin with ties pick the first index`` () =
    let x =
        Tensor.create ([ [ 1.0; 3.0; 3.0 ]; [ 2.0; 2.0; 1.0 ]; [ -1.0; -5.0; -5.0 ] ], F64)

    close [| 3.0; 2.0; -1.0 |] (Tensor.max (x, 1))
    close [| 1.0; 1.0; -5.0 |] (Tensor.min (x, 1))
    close [| 2.0; 3.0; 3.0 |] (Tensor.max (x, 0))
    close [| -1.0; -5.0; -5.0 |] (Tensor.min (x, 0))
    close [| 3.0 |] (Tensor.max x)
    close [| -5.0 |] (Tensor.min x)
    let am = Tensor.argmax (x, 1)
    Expect.equal am.DType DType.Int64 "am.DType"
    Expect.equal (am.ToArray() :?> int64[]) ([| 1L; 0L; 0L |]) "am.ToArray() :?> int64[]"

    Expect.equal
        ((Tensor.argmin (x, 1)).ToArray() :?> int64[])
        ([| 0L; 2L; 1L |])
        "(Tensor.argmin (x, 1)).ToArray() :?> int64[]"

    Expect.equal
        ((Tensor.argmax (x, 0)).ToArray() :?> int64[])
        ([| 1L; 0L; 0L |])
        "(Tensor.argmax (x, 0)).ToArray() :?> int64[]"

    Expect.equal
        ((Tensor.argmin (x, 0)).ToArray() :?> int64[])
        ([| 2L; 2L; 2L |])
        "(Tensor.argmin (x, 0)).ToArray() :?> int64[]"
    // Flattened: first 3 is at position 1, first -5 at position 7.
    Expect.equal (arr (Tensor.argmax x)) ([| 1.0 |]) "arr (Tensor.argmax x)"
    Expect.equal (arr (Tensor.argmin x)) ([| 7.0 |]) "arr (Tensor.argmin x)"
    shapeIs [ 3; 1 ] (Tensor.argmax (x, 1, keepDim = true))
    shapeIs [ 1; 3 ] (Tensor.max (x, 0, keepDim = true))
    // Max over a set of dims.
    let _, y = pattern [ 2; 3; 4 ]
    let yd = arr y
    closeArr 0.0 (reduceRef yd [| 2; 3; 4 |] [| 0; 2 |] Array.max) (arr (Tensor.max (y, [ 0; 2 ])))
    closeArr 0.0 (reduceRef yd [| 2; 3; 4 |] [| 1; 2 |] Array.min) (arr (Tensor.min (y, [ -1; -2 ])))
    // The gradient of max is shared by equal maxima (torch's x.max() of [1, 3, 3]: grad [0, 0.5, 0.5]).
    close [| 0.0; 0.5; 0.5 |] (Diff.grad (fun v -> Tensor.max v) (Tensor.create ([ 1.0; 3.0; 3.0 ], F64)))

// ---------------------------------------------------------------- softmax family

let ``softmax rows sum to 1 and equal exp(x) / sum exp(x) computed by hand`` () =
    let rows = [| [| 1.0; 2.0; 3.0 |]; [| -1.0; 0.0; 0.5 |]; [| 10.0; 10.0; 10.0 |] |]
    let x = Tensor.create (rows, F64)
    let s = Tensor.softmax (x, 1)

    let expected =
        rows
        |> Array.collect (fun r -> let e = r |> Array.map exp in e |> Array.map (fun v -> v / Array.sum e))

    closeArr 1e-12 expected (arr s)
    closeArr 1e-12 [| 1.0; 1.0; 1.0 |] (arr (Tensor.sum (s, 1)))
    // Default dim is the last.
    closeArr 1e-12 expected (arr (Tensor.softmax x))
    // Along dim 0 the columns sum to 1.
    closeArr 1e-12 [| 1.0; 1.0; 1.0 |] (arr (Tensor.sum (Tensor.softmax (x, 0), 0)))
    // logSoftmax = x - log(sum exp x).
    let expectedLog =
        rows
        |> Array.collect (fun r -> let l = log (Array.sumBy exp r) in r |> Array.map (fun v -> v - l))

    closeArr 1e-12 expectedLog (arr (Tensor.logSoftmax (x, 1)))
    // Float32 too.
    closeArr 1e-6 expected (arr (Tensor.softmax (Tensor.create rows, 1)))

let ``logsumexp is finite and exact for large inputs`` () =
    let x =
        Tensor.create ([ [ 1000.0; 1000.0 ]; [ 1000.0; 0.0 ]; [ -1000.0; -1000.0 ] ], F64)

    let l = Tensor.logsumexp (x, 1)
    closeArr 1e-15 [| 1000.0 + log 2.0; 1000.0; -1000.0 + log 2.0 |] (arr l)
    Expect.isTrue (arr l |> Array.forall Double.IsFinite) "arr l |> Array.forall Double.IsFinite"
    // Float32 with 1000 is finite too, and softmax of large logits has no NaN.
    let l32 = Tensor.logsumexp (Tensor.create [ 1000.0; 1000.0 ], 0)
    closeArr 1e-6 [| 1000.0 + log 2.0 |] (arr l32)

    Expect.isTrue
        (arr (Tensor.softmax (Tensor.create [ 1000.0; 1000.0; -1000.0 ]))
         |> Array.forall Double.IsFinite)
        "arr (Tensor.softmax (Tensor.create [ 1000.0; 1000.0; -1000.0 ])) |> Array.forall Double.IsFinite"

    closeArr 1e-12 [| 0.5; 0.5; 0.0 |] (arr (Tensor.softmax (Tensor.create ([ 1000.0; 1000.0; -1000.0 ], F64))))
    shapeIs [ 3; 1 ] (Tensor.logsumexp (x, 1, keepDim = true))
    // Over both dims: log(2 e^1000 + e^1000 + 1 + 2 e^-1000) = 1000 + log 3 (to double precision).
    closeArr 1e-15 [| 1000.0 + log 3.0 |] (arr (Tensor.logsumexp (x, [ 0; 1 ])))

let ``softmax and logSoftmax of large Float32 logits keep float32 precision`` () =
    // softmax([1000, 1000, -1000]) = [0.5, 0.5, 0] and logSoftmax([1000, 1000]) = [-log 2, -log 2]. Computed
    // as (x - max) - log(sum exp(x - max)) these are exact to float32 rounding (PyTorch gives 0.5 exactly).
    // Computed as x - (max + log(sum ...)) the sum max + log 2 = 1000.693 is rounded to float32 first
    // (spacing 6e-5), which leaves a relative error of about 3e-5.
    closeArr 1e-6 [| 0.5; 0.5; 0.0 |] (arr (Tensor.softmax (Tensor.create [ 1000.0; 1000.0; -1000.0 ])))
    closeArr 1e-6 [| -log 2.0; -log 2.0 |] (arr (Tensor.logSoftmax (Tensor.create [ 1000.0; 1000.0 ])))

// ---------------------------------------------------------------- matmul and linear

let private matmulRef (a: float[]) (b: float[]) m k n =
    Array.init (m * n) (fun idx ->
        let i, j = idx / n, idx % n
        let mutable s = 0.0

        for p in 0 .. k - 1 do
            s <- s + a[i * k + p] * b[p * n + j]

        s)

let ``matmul matches a hand loop for matrices and vectors`` () =
    let a, ta = pattern [ 3; 4 ]
    let b = Array.init 8 (fun i -> float (i % 5) - 2.0)
    let tb = Tensor.ofArray (b, [ 4; 2 ])
    let y = Tensor.matmul (ta, tb)
    shapeIs [ 3; 2 ] y
    close (matmulRef a b 3 4 2) y
    close (matmulRef a b 3 4 2) (ta.Matmul tb)
    // Vector @ matrix, matrix @ vector, vector @ vector.
    let v = [| 1.0; -1.0; 2.0; 0.5 |]
    let tv = Tensor.ofArray (v, [ 4 ])
    let vm = Tensor.matmul (tv, tb)
    shapeIs [ 2 ] vm
    close (matmulRef v b 1 4 2) vm
    let mv = Tensor.matmul (ta, tv)
    shapeIs [ 3 ] mv
    close (matmulRef a v 3 4 1) mv
    let vv = Tensor.matmul (tv, tv)
    Expect.equal vv.Rank 0 "vv.Rank"
    close [| Array.sumBy (fun x -> x * x) v |] vv
    close [| Array.sumBy (fun x -> x * x) v |] (Tensor.dot (tv, tv))
    // A hand example: [[1, 2], [3, 4]] @ [[5, 6], [7, 8]] = [[19, 22], [43, 50]].
    let p =
        Tensor.matmul (Tensor.create [ [ 1.0; 2.0 ]; [ 3.0; 4.0 ] ], Tensor.create [ [ 5.0; 6.0 ]; [ 7.0; 8.0 ] ])

    close32 [| 19.0; 22.0; 43.0; 50.0 |] p

let ``batched matmul broadcasts batch dims like a loop over batches`` () =
    // a: [2; 1; 3; 4], b: [5; 4; 2] -> [2; 5; 3; 2]; batch (i, j) uses a[i, 0] and b[j].
    let a, ta = pattern [ 2; 1; 3; 4 ]
    let b = Array.init (5 * 4 * 2) (fun i -> float ((i * 7) % 11) - 5.0)
    let tb = Tensor.ofArray (b, [ 5; 4; 2 ])
    let y = Tensor.matmul (ta, tb)
    shapeIs [ 2; 5; 3; 2 ] y

    let expected =
        [|
            for i in 0..1 do
                for j in 0..4 do
                    yield! matmulRef a[i * 12 .. i * 12 + 11] b[j * 8 .. j * 8 + 7] 3 4 2
        |]

    close expected y
    // matmulNT / matmulTN read the transposed operand.
    let bt = Tensor.transpose (tb, 1, 2) // [5; 2; 4]
    close expected (Tensor.matmulNT (ta, bt))
    close expected (Tensor.matmulTN (Tensor.transpose (ta, 2, 3), tb))

let ``linear is x W^T + b`` () =
    let x, tx = pattern [ 5; 3 ]
    let w = [| 1.0; 0.0; -1.0; 0.5; 2.0; 0.25 |] // [2; 3]
    let bias = [| 10.0; -10.0 |]

    let y =
        Tensor.linear (tx, Tensor.ofArray (w, [ 2; 3 ]), Tensor.ofArray (bias, [ 2 ]))

    shapeIs [ 5; 2 ] y

    let expected =
        Array.init 10 (fun idx ->
            let i, o = idx / 2, idx % 2
            bias[o] + (Array.init 3 (fun k -> x[i * 3 + k] * w[o * 3 + k]) |> Array.sum))

    close expected y
    // 1-D input gives a 1-D output; no bias.
    let y1 =
        Tensor.linear (Tensor.create ([ 1.0; 2.0; 3.0 ], F64), Tensor.ofArray (w, [ 2; 3 ]))

    shapeIs [ 2 ] y1
    close [| 1.0 - 3.0; 0.5 + 4.0 + 0.75 |] y1
    // Extra leading dims are kept.
    shapeIs [ 4; 5; 2 ] (Tensor.linear (Tensor.zeros ([ 4; 5; 3 ], F64), Tensor.ofArray (w, [ 2; 3 ])))

// ---------------------------------------------------------------- layout

let ``transpose, permute, reshape, flatten, squeeze, unsqueeze, expand values`` () =
    let x =
        Tensor.arange (24.0, dtype = F64) |> fun t -> Tensor.reshape (t, [ 2; 3; 4 ])
    // permute [2; 0; 1]: y[k, i, j] = x[i, j, k] = 12 i + 4 j + k.
    let p = Tensor.permute (x, [ 2; 0; 1 ])
    shapeIs [ 4; 2; 3 ] p

    close
        [|
            for k in 0..3 do
                for i in 0..1 do
                    for j in 0..2 -> float (12 * i + 4 * j + k)
        |]
        p
    // transpose default swaps the last two: y[i, k, j] = x[i, j, k].
    let t = Tensor.transpose x
    shapeIs [ 2; 4; 3 ] t

    close
        [|
            for i in 0..1 do
                for k in 0..3 do
                    for j in 0..2 -> float (12 * i + 4 * j + k)
        |]
        t
    // .T reverses all dims.
    let m = Tensor.create ([ [ 1.0; 2.0; 3.0 ]; [ 4.0; 5.0; 6.0 ] ], F64)
    close [| 1.0; 4.0; 2.0; 5.0; 3.0; 6.0 |] m.T
    shapeIs [ 4; 3; 2 ] x.T
    // Reshape keeps row-major order; -1 infers.
    close [| 0.0 .. 23.0 |] (Tensor.reshape (x, [ 6; -1 ]))
    shapeIs [ 6; 4 ] (Tensor.reshape (x, [ 6; -1 ]))
    shapeIs [ 24 ] (Tensor.flatten x)
    shapeIs [ 6; 4 ] (Tensor.flatten (x, 0, 1))
    shapeIs [ 2; 12 ] (Tensor.flatten (x, 1))
    shapeIs [ 2; 1; 3 ] (Tensor.unsqueeze (Tensor.zeros [ 2; 3 ], 1))
    shapeIs [ 2; 3; 1 ] (Tensor.unsqueeze (Tensor.zeros [ 2; 3 ], -1))
    shapeIs [ 2; 3 ] (Tensor.squeeze (Tensor.zeros [ 1; 2; 1; 3; 1 ]))
    shapeIs [ 2; 1; 3; 1 ] (Tensor.squeeze (Tensor.zeros [ 1; 2; 1; 3; 1 ], 0))
    // squeeze of a non-1 dim is a no-op.
    shapeIs [ 2; 3 ] (Tensor.squeeze (Tensor.zeros [ 2; 3 ], 0))
    // expand repeats size-1 dims.
    let e = Tensor.expand (Tensor.create ([ [ 1.0 ]; [ 2.0 ] ], F64), [ 3; 2; 2 ])
    shapeIs [ 3; 2; 2 ] e

    close
        [|
            for _ in 0..2 do
                yield! [ 1.0; 1.0; 2.0; 2.0 ]
        |]
        e

    shapeIs [ 2; 5 ] (Tensor.expand (Tensor.zeros [ 2; 1 ], [ -1; 5 ]))

// ---------------------------------------------------------------- slicing

let ``F# slicing is inclusive and negative indices count from the end`` () =
    // x[i, j] = 4 i + j, shape [3; 4].
    let x = Tensor.reshape (Tensor.arange (12.0, dtype = F64), [ 3; 4 ])
    close [| 5.0; 6.0 |] x.[1, 1..2]
    shapeIs [ 2 ] x.[1, 1..2]
    close [| 2.0; 6.0 |] x.[0..1, 2]
    close [| 3.0; 7.0; 11.0 |] x.[*, 3]
    close [| 4.0; 5.0; 6.0; 7.0; 8.0; 9.0; 10.0; 11.0 |] x.[1.., *]
    shapeIs [ 2; 4 ] x.[1.., *]
    close [| 1.0; 2.0; 5.0; 6.0 |] x.[..1, 1..2]
    close [| 8.0; 9.0; 10.0; 11.0 |] x.[-1]
    close [| 6.0 |] x.[1, -2]
    Expect.equal (x.[1, -2].Rank) 0 "x.[1, -2].Rank"
    Expect.equal (x.[1, 2].ToScalar()) 6.0 "x.[1, 2].ToScalar()"
    // Ranges past the end clamp; an empty range gives size 0.
    close [| 2.0; 3.0 |] x.[0, 2..10]
    shapeIs [ 0 ] x.[0, 3..1]
    shapeIs [ 3 ] x.[0, -3 ..]

let ``Tensor.slice follows Python rules including negative steps`` () =
    let x = Tensor.reshape (Tensor.arange (12.0, dtype = F64), [ 3; 4 ])
    // x[:, ::-1]
    close [| 3.0; 2.0; 1.0; 0.0; 7.0; 6.0; 5.0; 4.0; 11.0; 10.0; 9.0; 8.0 |] (Tensor.slice (x, 1, step = -1))
    // x[:, 3:0:-2] -> columns 3, 1.
    close [| 3.0; 1.0; 7.0; 5.0; 11.0; 9.0 |] (Tensor.slice (x, 1, 3, 0, -2))
    // x[::-1] reverses rows.
    close [| 8.0; 9.0; 10.0; 11.0; 4.0; 5.0; 6.0; 7.0; 0.0; 1.0; 2.0; 3.0 |] (Tensor.slice (x, 0, step = -1))
    // x[:, -3:-1] -> columns 1, 2.
    close [| 1.0; 2.0; 5.0; 6.0; 9.0; 10.0 |] (Tensor.slice (x, 1, -3, -1))
    // x[:, ::2] and x[:, 1::2].
    close [| 0.0; 2.0; 4.0; 6.0; 8.0; 10.0 |] (Tensor.slice (x, 1, step = 2))
    close [| 1.0; 3.0; 5.0; 7.0; 9.0; 11.0 |] (Tensor.slice (x, -1, 1, step = 2))
    // x[2:0:-1] on rows -> rows 2, 1.
    close [| 8.0; 9.0; 10.0; 11.0; 4.0; 5.0; 6.0; 7.0 |] (Tensor.slice (x, 0, 2, 0, -1))
    // Out-of-range bounds clamp; an empty slice has size 0.
    shapeIs [ 3; 4 ] (Tensor.slice (x, 1, -100, 100))
    shapeIs [ 3; 0 ] (Tensor.slice (x, 1, 3, 1))
    // select drops the dim.
    close [| 2.0; 6.0; 10.0 |] (Tensor.select (x, 1, 2))
    close [| 8.0; 9.0; 10.0; 11.0 |] (Tensor.select (x, 0, -1))

// ---------------------------------------------------------------- joining and splitting

let ``cat, stack, split and chunk values`` () =
    let a = Tensor.create ([ [ 1.0; 2.0 ]; [ 3.0; 4.0 ] ], F64)
    let b = Tensor.create ([ [ 5.0; 6.0 ] ], F64)
    let c0 = Tensor.cat [ a; b ]
    shapeIs [ 3; 2 ] c0
    close [| 1.0; 2.0; 3.0; 4.0; 5.0; 6.0 |] c0
    let c1 = Tensor.cat ([ a; Tensor.create ([ [ 7.0 ]; [ 8.0 ] ], F64) ], 1)
    shapeIs [ 2; 3 ] c1
    close [| 1.0; 2.0; 7.0; 3.0; 4.0; 8.0 |] c1
    close [| 1.0; 2.0; 7.0; 3.0; 4.0; 8.0 |] (Tensor.cat ([ a; Tensor.create ([ [ 7.0 ]; [ 8.0 ] ], F64) ], -1))
    // stack along 0, 1 and -1.
    let s0 = Tensor.stack [ a; a * 10.0 ]
    shapeIs [ 2; 2; 2 ] s0
    close [| 1.0; 2.0; 3.0; 4.0; 10.0; 20.0; 30.0; 40.0 |] s0
    let s1 = Tensor.stack ([ a; a * 10.0 ], 1)
    close [| 1.0; 2.0; 10.0; 20.0; 3.0; 4.0; 30.0; 40.0 |] s1
    let s2 = Tensor.stack ([ a; a * 10.0 ], -1)
    shapeIs [ 2; 2; 2 ] s2
    close [| 1.0; 10.0; 2.0; 20.0; 3.0; 30.0; 4.0; 40.0 |] s2
    // split and chunk.
    let x = Tensor.arange (10.0, dtype = F64)
    let parts = Tensor.split (x, [ 2; 5; 3 ])
    Expect.equal parts.Length 3 "parts.Length"
    close [| 0.0; 1.0 |] parts[0]
    close [| 2.0; 3.0; 4.0; 5.0; 6.0 |] parts[1]
    close [| 7.0; 8.0; 9.0 |] parts[2]
    let ch = Tensor.chunk (x, 3)
    Expect.equal (ch |> Array.map (fun t -> t.Numel)) ([| 4; 4; 2 |]) "ch |> Array.map (fun t -> t.Numel)"
    close [| 8.0; 9.0 |] ch[2]
    let m = Tensor.reshape (x, [ 2; 5 ])
    let cols = Tensor.chunk (m, 2, 1)
    // 5 columns in 2 chunks: ceil(5/2) = 3, then 2 (torch.chunk).
    Expect.equal (cols |> Array.map (fun t -> (dims t)[1])) ([| 3; 2 |]) "cols |> Array.map (fun t -> (dims t)[1])"
    close [| 3.0; 4.0; 8.0; 9.0 |] cols[1]
    // cat of the pieces gives the input back.
    close (arr m) (Tensor.cat (cols, 1))

// ---------------------------------------------------------------- gather / scatter / index ops

let ``gather matches torch.gather semantics by hand loop`` () =
    let xd, x = pattern [ 3; 4 ]
    let ix = [| 3L; 0L; 1L; 1L; 2L; 2L |] // [3; 2]
    let g1 = Tensor.gather (x, 1, Tensor.ofArray (ix, [ 3; 2 ]))
    shapeIs [ 3; 2 ] g1
    close (Array.init 6 (fun k -> let i, j = k / 2, k % 2 in xd[i * 4 + int ix[k]])) g1
    let ix0 = [| 2L; 0L; 1L; 2L; 0L; 0L; 0L; 1L |] // [2; 4] along dim 0
    let g0 = Tensor.gather (x, 0, Tensor.ofArray (ix0, [ 2; 4 ]))
    close (Array.init 8 (fun k -> let j = k % 4 in xd[int ix0[k] * 4 + j])) g0
    // Int32 indices work too.
    close (arr g1) (Tensor.gather (x, 1, Tensor.ofArray (Array.map int ix, [ 3; 2 ])))

let ``scatterAdd accumulates duplicates like a hand loop`` () =
    let baseD = Array.init 8 float // [2; 4]
    let x = Tensor.ofArray (baseD, [ 2; 4 ])
    let ix = [| 1L; 1L; 3L; 0L; 0L; 2L |] // [2; 3] along dim 1
    let src = [| 10.0; 20.0; 30.0; 40.0; 50.0; 60.0 |]

    let y =
        Tensor.scatterAdd (x, 1, Tensor.ofArray (ix, [ 2; 3 ]), Tensor.ofArray (src, [ 2; 3 ]))

    let expected = Array.copy baseD

    for k in 0..5 do
        let i = k / 3
        expected[i * 4 + int ix[k]] <- expected[i * 4 + int ix[k]] + src[k]

    close expected y
    // The input is not modified.
    close baseD x
    // Along dim 0.
    let ix0 = [| 1L; 0L; 1L; 1L |] // [1; 4]

    let y0 =
        Tensor.scatterAdd (x, 0, Tensor.ofArray (ix0, [ 1; 4 ]), Tensor.ofArray ([| 1.0; 2.0; 3.0; 4.0 |], [ 1; 4 ]))

    close [| 0.0; 3.0; 2.0; 3.0; 5.0; 5.0; 9.0; 11.0 |] y0

let ``indexSelect and indexAdd match hand loops`` () =
    let xd, x = pattern [ 3; 4 ]
    let ix = [| 2L; 0L; 2L |]
    let r = Tensor.indexSelect (x, 0, Tensor.ofArray (ix, [ 3 ]))
    shapeIs [ 3; 4 ] r
    close (Array.init 12 (fun k -> xd[int ix[k / 4] * 4 + k % 4])) r
    let c = Tensor.indexSelect (x, 1, Tensor.ofArray ([| 3L; 1L |], [ 2 ]))
    shapeIs [ 3; 2 ] c
    close (Array.init 6 (fun k -> xd[(k / 2) * 4 + (if k % 2 = 0 then 3 else 1)])) c
    // indexAdd with a repeated index accumulates.
    let src = Array.init 12 (fun i -> float (i + 1)) // [3; 4]

    let y =
        Tensor.indexAdd (x, 0, Tensor.ofArray (ix, [ 3 ]), Tensor.ofArray (src, [ 3; 4 ]))

    let expected = Array.copy xd

    for j in 0..2 do
        for col in 0..3 do
            expected[int ix[j] * 4 + col] <- expected[int ix[j] * 4 + col] + src[j * 4 + col]

    close expected y
    // Along dim 1.
    let y1 =
        Tensor.indexAdd (
            Tensor.zeros ([ 2; 3 ], F64),
            1,
            Tensor.ofArray ([| 2L; 2L |], [ 2 ]),
            Tensor.ones ([ 2; 2 ], F64)
        )

    close [| 0.0; 0.0; 2.0; 0.0; 0.0; 2.0 |] y1

let ``pad and oneHot values`` () =
    let x = Tensor.create ([ [ 1.0; 2.0 ]; [ 3.0; 4.0 ] ], F64)
    // Pad dim 0 by (1, 0) and dim 1 by (0, 2) with 9.
    let p = Tensor.pad (x, [ (1, 0); (0, 2) ], 9.0)
    shapeIs [ 3; 4 ] p
    close [| 9.0; 9.0; 9.0; 9.0; 1.0; 2.0; 9.0; 9.0; 3.0; 4.0; 9.0; 9.0 |] p
    // A single pair pads the last dim; default value 0.
    let q = Tensor.pad (x, [ (1, 1) ])
    shapeIs [ 2; 4 ] q
    close [| 0.0; 1.0; 2.0; 0.0; 0.0; 3.0; 4.0; 0.0 |] q
    // oneHot.
    let oh = Tensor.oneHot (Tensor.ofArray ([| 2L; 0L; 1L |], [ 3 ]), 3)
    Expect.equal oh.DType DType.Float32 "oh.DType"
    shapeIs [ 3; 3 ] oh
    close [| 0.0; 0.0; 1.0; 1.0; 0.0; 0.0; 0.0; 1.0; 0.0 |] oh
    let oh2 = Tensor.oneHot (Tensor.ofArray ([| 1; 3; 0; 0 |], [ 2; 2 ]), 4, F64)
    shapeIs [ 2; 2; 4 ] oh2
    Expect.equal oh2.DType F64 "oh2.DType"

    close
        [|
            0.0
            1.0
            0.0
            0.0
            0.0
            0.0
            0.0
            1.0
            1.0
            0.0
            0.0
            0.0
            1.0
            0.0
            0.0
            0.0
        |]
        oh2

// ---------------------------------------------------------------- selection, comparisons, logic

let ``where, clamp, maximum, minimum values`` () =
    let x = Tensor.create ([ -2.0; -0.5; 0.0; 0.5; 3.0 ], F64)
    close [| -1.0; -0.5; 0.0; 0.5; 1.0 |] (Tensor.clamp (x, -1.0, 1.0))
    close [| 0.0; 0.0; 0.0; 0.5; 3.0 |] (Tensor.clamp (x, min = 0.0))
    close [| -2.0; -0.5; 0.0; 0.2; 0.2 |] (Tensor.clamp (x, max = 0.2))
    let y = Tensor.create ([ 1.0; -1.0; 0.0; 2.0; 2.0 ], F64)
    close [| 1.0; -0.5; 0.0; 2.0; 3.0 |] (Tensor.maximum (x, y))
    close [| -2.0; -1.0; 0.0; 0.5; 2.0 |] (Tensor.minimum (x, y))
    close [| 1.0; -1.0; 0.0; 0.5; 3.0 |] (Tensor.where (Tensor.gt (x, 0.0), x, y))
    // where broadcasts cond, a and b: cond [2; 1], a [3], b scalar.
    let cond = Tensor.create [ [ true ]; [ false ] ]

    let w =
        Tensor.where (cond, Tensor.create ([ 1.0; 2.0; 3.0 ], F64), Tensor.scalar (-1.0, F64))

    shapeIs [ 2; 3 ] w
    close [| 1.0; 2.0; 3.0; -1.0; -1.0; -1.0 |] w

let ``comparisons give Bool tensors and logical ops combine them`` () =
    let a = Tensor.create ([ 1.0; 2.0; 3.0 ], F64)
    let b = Tensor.create ([ 3.0; 2.0; 1.0 ], F64)
    let bools (t: Tensor) = t.ToArray() :?> bool[]
    Expect.equal ((Tensor.eq (a, b)).DType) DType.Bool "(Tensor.eq (a, b)).DType"
    Expect.equal (bools (Tensor.eq (a, b))) ([| false; true; false |]) "bools (Tensor.eq (a, b))"
    Expect.equal (bools (Tensor.ne (a, b))) ([| true; false; true |]) "bools (Tensor.ne (a, b))"
    Expect.equal (bools (Tensor.lt (a, b))) ([| true; false; false |]) "bools (Tensor.lt (a, b))"
    Expect.equal (bools (Tensor.le (a, b))) ([| true; true; false |]) "bools (Tensor.le (a, b))"
    Expect.equal (bools (Tensor.gt (a, b))) ([| false; false; true |]) "bools (Tensor.gt (a, b))"
    Expect.equal (bools (Tensor.ge (a, b))) ([| false; true; true |]) "bools (Tensor.ge (a, b))"
    Expect.equal (bools (Tensor.ge (a, 2.0))) ([| false; true; true |]) "bools (Tensor.ge (a, 2.0))"
    // Broadcasting comparison: [3; 1] vs [3] -> [3; 3].
    let col = Tensor.reshape (a, [ 3; 1 ])
    let m = Tensor.lt (col, b)
    shapeIs [ 3; 3 ] m
    Expect.equal (bools m) ([| true; true; false; true; false; false; false; false; false |]) "bools m"
    let p = Tensor.create [ true; true; false; false ]
    let q = Tensor.create [ true; false; true; false ]
    Expect.equal (bools (Tensor.logicalAnd (p, q))) ([| true; false; false; false |]) "bools (Tensor.logicalAnd (p, q))"
    Expect.equal (bools (Tensor.logicalOr (p, q))) ([| true; true; true; false |]) "bools (Tensor.logicalOr (p, q))"
    Expect.equal (bools (Tensor.logicalXor (p, q))) ([| false; true; true; false |]) "bools (Tensor.logicalXor (p, q))"
    Expect.equal (bools (Tensor.logicalNot p)) ([| false; false; true; true |]) "bools (Tensor.logicalNot p)"
    // Int comparisons.
    Expect.equal
        (bools (Tensor.gt (Tensor.create [ 1; 5 ], Tensor.create [ 2; 4 ])))
        ([| false; true |])
        "bools (Tensor.gt (Tensor.create [ 1; 5 ], Tensor.create [ 2; 4 ]))"

// ---------------------------------------------------------------- creation

let ``arange, linspace, eye, full, zeros, ones`` () =
    let a = Tensor.arange 5.0
    Expect.equal a.DType DType.Float32 "a.DType"
    close [| 0.0; 1.0; 2.0; 3.0; 4.0 |] a
    close [| 0.0; 3.0; 6.0; 9.0 |] (Tensor.arange (10.0, 0.0, 3.0))
    close [| 2.0; 2.5; 3.0; 3.5 |] (Tensor.arange (4.0, 2.0, 0.5, F64))
    close [| 5.0; 3.0; 1.0 |] (Tensor.arange (0.0, start = 5.0, step = -2.0))
    shapeIs [ 0 ] (Tensor.arange (0.0, start = 5.0))

    Expect.equal
        ((Tensor.arange (3.0, dtype = DType.Int64)).DType)
        DType.Int64
        "(Tensor.arange (3.0, dtype = DType.Int64)).DType"

    Expect.equal
        ((Tensor.arange (3.0, dtype = DType.Int64)).ToArray() :?> int64[])
        ([| 0L; 1L; 2L |])
        "(Tensor.arange (3.0, dtype = DType.Int64)).ToArray() :?> int64[]"

    close [| 0.0; 0.25; 0.5; 0.75; 1.0 |] (Tensor.linspace (0.0, 1.0, 5, F64))
    close [| -1.0; 1.0 |] (Tensor.linspace (-1.0, 1.0, 2))
    close [| 3.0 |] (Tensor.linspace (3.0, 7.0, 1))
    shapeIs [ 0 ] (Tensor.linspace (3.0, 7.0, 0))
    close [| 1.0; 0.0; 0.0; 0.0; 1.0; 0.0; 0.0; 0.0; 1.0 |] (Tensor.eye 3)
    let e23 = Tensor.eye (2, 3, F64)
    shapeIs [ 2; 3 ] e23
    Expect.equal e23.DType F64 "e23.DType"
    close [| 1.0; 0.0; 0.0; 0.0; 1.0; 0.0 |] e23
    close [| 1.0; 0.0; 0.0; 1.0; 0.0; 0.0 |] (Tensor.eye (3, 2))
    let f = Tensor.full ([ 2; 2 ], 7.5, F64)
    close [| 7.5; 7.5; 7.5; 7.5 |] f
    close [| 0.0; 0.0 |] (Tensor.zeros [ 2 ])
    close [| 1.0; 1.0; 1.0 |] (Tensor.ones ([ 3 ], DType.Int32))
    Expect.equal ((Tensor.ones ([ 3 ], DType.Int32)).DType) DType.Int32 "(Tensor.ones ([ 3 ], DType.Int32)).DType"
    close [| -2.0; -2.0 |] (Tensor.fullLike (Tensor.zeros [ 2 ], -2.0))

let ``create infers dtype and shape from nested data`` () =
    let t = Tensor.create [ [ 1.0; 2.0; 3.0 ]; [ 4.0; 5.0; 6.0 ] ]
    Expect.equal t.DType DType.Float32 "t.DType"
    shapeIs [ 2; 3 ] t
    Expect.equal ((Tensor.create [ 1; 2 ]).DType) DType.Int32 "(Tensor.create [ 1; 2 ]).DType"
    Expect.equal ((Tensor.create [ 1L; 2L ]).DType) DType.Int64 "(Tensor.create [ 1L; 2L ]).DType"
    Expect.equal ((Tensor.create [ true ]).DType) DType.Bool "(Tensor.create [ true ]).DType"
    // Arrays, including 2-D arrays.
    shapeIs [ 2; 2 ] (Tensor.create (array2D [ [ 1.0; 2.0 ]; [ 3.0; 4.0 ] ]))
    close [| 1.0; 2.0; 3.0; 4.0 |] (Tensor.create (array2D [ [ 1.0; 2.0 ]; [ 3.0; 4.0 ] ], F64))
    // ofArray keeps the array's dtype.
    Expect.equal ((Tensor.ofArray ([| 1.0 |], [ 1 ])).DType) F64 "(Tensor.ofArray ([| 1.0 |], [ 1 ])).DType"

let ``create with dtype Float64 keeps double precision`` () =
    // Tensor.create([0.1], DType.Float64) must hold the double 0.1 (as torch.tensor([0.1], dtype=float64)
    // does), not 0.1f widened to 0.10000000149011612.
    Expect.equal
        (arr (Tensor.create ([ 0.1; 1.0 / 3.0 ], F64)))
        ([| 0.1; 1.0 / 3.0 |])
        "arr (Tensor.create ([ 0.1; 1.0 / 3.0 ], F64))"

    Expect.equal (arr (Tensor.create ([ 1e300 ], F64))) ([| 1e300 |]) "arr (Tensor.create ([ 1e300 ], F64))"

// ---------------------------------------------------------------- activations

let ``gelu at known points (exact erf form)`` () =
    let g = Tensor.gelu (Tensor.create ([ 1.0; -1.0; 0.0; 2.0; -3.0 ], F64))
    // x * Phi(x): Phi(2) = 0.9772498680518208, Phi(-3) = 0.0013498980316301035.
    closeArr
        1e-14
        [|
            0.8413447460685429
            -0.15865525393145707
            0.0
            2.0 * 0.9772498680518208
            -3.0 * 0.0013498980316301035
        |]
        (arr g)

    closeArr 1e-6 [| 0.8413447460685429; -0.15865525393145707 |] (arr (Tensor.gelu (Tensor.create [ 1.0; -1.0 ])))
    // tanh approximation, formula by hand.
    let approx x =
        0.5 * x * (1.0 + tanh (sqrt (2.0 / Math.PI) * (x + 0.044715 * x * x * x)))

    closeArr 1e-14 [| approx 1.0; approx -1.5 |] (arr (Tensor.geluTanh (Tensor.create ([ 1.0; -1.5 ], F64))))
    // erf itself: erf(0.5) = 0.5204998778130465, erf(3) = 0.9999779095030014.
    closeArr
        1e-15
        [| 0.5204998778130465; 0.9999779095030014; -0.5204998778130465 |]
        (arr (Tensor.erf (Tensor.create ([ 0.5; 3.0; -0.5 ], F64))))

let ``elu, leakyRelu, softplus, silu, relu, sigmoid at points`` () =
    let x = Tensor.create ([ -2.0; -1.0; 0.0; 1.0; 3.0 ], F64)
    close [| 0.0; 0.0; 0.0; 1.0; 3.0 |] (Tensor.relu x)
    close [| exp -2.0 - 1.0; exp -1.0 - 1.0; 0.0; 1.0; 3.0 |] (Tensor.elu x)
    close [| 2.0 * (exp -2.0 - 1.0); 2.0 * (exp -1.0 - 1.0); 0.0; 1.0; 3.0 |] (Tensor.elu (x, 2.0))
    close [| -0.02; -0.01; 0.0; 1.0; 3.0 |] (Tensor.leakyRelu x)
    close [| -0.4; -0.2; 0.0; 1.0; 3.0 |] (Tensor.leakyRelu (x, 0.2))
    let sigm v = 1.0 / (1.0 + exp (-v))
    close [| sigm -2.0; sigm -1.0; 0.5; sigm 1.0; sigm 3.0 |] (Tensor.sigmoid x)

    close
        [|
            -2.0 * sigm -2.0
            -1.0 * sigm -1.0
            0.0
            0.7310585786300049
            3.0 * sigm 3.0
        |]
        (Tensor.silu x)

    close
        [|
            log (1.0 + exp -2.0)
            log (1.0 + exp -1.0)
            log 2.0
            log (1.0 + exp 1.0)
            log (1.0 + exp 3.0)
        |]
        (Tensor.softplus x)
    // softplus does not overflow: softplus(1000) = 1000, softplus(-1000) = e^-1000 (= 0 in double).
    close [| 1000.0; 0.0 |] (Tensor.softplus (Tensor.create ([ 1000.0; -1000.0 ], F64)))
    closeArr 1e-6 [| 100.0 |] (arr (Tensor.softplus (Tensor.create [ 100.0 ])))

// ---------------------------------------------------------------- dtypes and casts

let ``casts: float to int truncates toward zero, bool and back`` () =
    let x = Tensor.create ([ 1.7; -1.7; 2.5; -0.5; 0.0 ], F64)
    let i32 = Tensor.cast (x, DType.Int32)
    Expect.equal i32.DType DType.Int32 "i32.DType"
    Expect.equal (i32.ToArray() :?> int[]) ([| 1; -1; 2; 0; 0 |]) "i32.ToArray() :?> int[]"

    Expect.equal
        ((x.Cast DType.Int64).ToArray() :?> int64[])
        ([| 1L; -1L; 2L; 0L; 0L |])
        "(x.Cast DType.Int64).ToArray() :?> int64[]"

    Expect.equal
        ((Tensor.cast (x, DType.Bool)).ToArray() :?> bool[])
        ([| true; true; true; true; false |])
        "(Tensor.cast (x, DType.Bool)).ToArray() :?> bool[]"

    let b = Tensor.create [ true; false ]
    close [| 1.0; 0.0 |] (Tensor.cast (b, F64))

    Expect.equal
        ((Tensor.cast (b, DType.Int32)).ToArray() :?> int[])
        ([| 1; 0 |])
        "(Tensor.cast (b, DType.Int32)).ToArray() :?> int[]"
    // Int to float is exact; Float64 to Float32 rounds to nearest.
    close [| 3.0; -4.0 |] (Tensor.cast (Tensor.create [ 3; -4 ], F64))
    let f32 = Tensor.cast (Tensor.ofArray ([| 0.1; 16777217.0 |], [ 2 ]), DType.Float32)
    Expect.equal (f32.ToArray() :?> float32[]) ([| 0.1f; 16777216.0f |]) "f32.ToArray() :?> float32[]"
    // Casting to the same dtype is the identity.
    Expect.isTrue (obj.ReferenceEquals(x, Tensor.cast (x, F64))) "same object: Tensor.cast (x, F64)"

let ``Int32, Int64 and Bool tensor basics`` () =
    let i = Tensor.create [ [ 1; 2 ]; [ 3; 4 ] ]
    Expect.equal ((i + i).ToArray() :?> int[]) ([| 2; 4; 6; 8 |]) "(i + i).ToArray() :?> int[]"
    Expect.equal ((i * i).ToArray() :?> int[]) ([| 1; 4; 9; 16 |]) "(i * i).ToArray() :?> int[]"
    Expect.equal ((-i).ToArray() :?> int[]) ([| -1; -2; -3; -4 |]) "(-i).ToArray() :?> int[]"
    Expect.equal ((Tensor.sum (i, 0)).ToArray() :?> int[]) ([| 4; 6 |]) "(Tensor.sum (i, 0)).ToArray() :?> int[]"
    Expect.equal ((Tensor.sum i).DType) DType.Int32 "(Tensor.sum i).DType"
    Expect.equal (Tensor.toScalar (Tensor.sum i)) 10.0 "Tensor.toScalar (Tensor.sum i)"
    Expect.equal ((Tensor.max (i, 1)).ToArray() :?> int[]) ([| 2; 4 |]) "(Tensor.max (i, 1)).ToArray() :?> int[]"
    let l = Tensor.create [ 3000000000L; -1L ]
    Expect.equal l.DType DType.Int64 "l.DType"
    Expect.equal ((l + l).ToArray() :?> int64[]) ([| 6000000000L; -2L |]) "(l + l).ToArray() :?> int64[]"

    Expect.equal
        ((Tensor.sum l |> fun t -> Tensor.reshape (t, [ 1 ])).ToArray() :?> int64[])
        ([| 2999999999L |])
        "(Tensor.sum l |> fun t -> Tensor.reshape (t, [ 1 ])).ToArray() :?> int64[]"

    let t = Tensor.create [ [ 1; 2 ]; [ 3; 4 ] ] |> fun t -> Tensor.transpose t
    Expect.equal (t.ToArray() :?> int[]) ([| 1; 3; 2; 4 |]) "t.ToArray() :?> int[]"
    let bl = Tensor.create [ [ true; false ]; [ false; true ] ]

    Expect.equal
        ((Tensor.transpose bl).ToArray() :?> bool[])
        ([| true; false; false; true |])
        "(Tensor.transpose bl).ToArray() :?> bool[]"

    Expect.equal
        (bl.[0, 1..1]
         |> fun s -> Tensor.cat [ s; bl.[1, 1..1] ] |> fun c -> c.ToArray() :?> bool[])
        ([| false; true |])
        "bl.[0, 1..1] |> fun s -> Tensor.cat [ s; bl.[1, 1..1] ] |> fun c -> c.ToArray() :?> bool[]"

let ``abs of an Int32 tensor`` () =
    // Tensor.abs explicitly admits integer tensors (TensorCore.unary exempts Abs from its floating-point
    // check, as torch.abs does), but the CPU kernel then throws InvalidOperationException
    // "Abs is not defined for int32 tensors". Expected |[-1, 2, -3]| = [1, 2, 3].
    let i = Tensor.create [ -1; 2; -3 ]
    Expect.equal ((Tensor.abs i).ToArray() :?> int[]) ([| 1; 2; 3 |]) "(Tensor.abs i).ToArray() :?> int[]"

let ``an Int32 tensor times a fractional float scalar promotes to floating point`` () =
    // PyTorch promotes: [1; -2; 3; 4] * 1.5 = [1.5; -3; 4.5; 6] as a float tensor; an integral scalar keeps Int32.
    let i = Tensor.create [ 1; -2; 3; 4 ]
    closeArr 1e-6 [| 1.5; -3.0; 4.5; 6.0 |] (arr (i * 1.5))
    closeArr 1e-6 [| 1.5; -1.5; 3.5; 4.5 |] (arr (i + 0.5))
    Expect.isTrue ((i * 1.5).DType.IsFloatingPoint) "(i * 1.5).DType.IsFloatingPoint"
    Expect.equal ((i * 2.0).DType) DType.Int32 "(i * 2.0).DType"
    closeArr 1e-6 [| 3.5; -3.5 |] (arr (Tensor.create [ 7; -7 ] / Tensor.create [ 2; 2 ]))

let ``scalar (rank 0) tensors`` () =
    let s = Tensor.scalar (2.5, F64)
    Expect.equal s.Rank 0 "s.Rank"
    Expect.equal s.Numel 1 "s.Numel"
    Expect.equal (dims s) ([||]) "dims s"
    Expect.equal (s.ToScalar()) 2.5 "s.ToScalar()"
    Expect.equal ((Tensor.scalar 1.0).DType) DType.Float32 "(Tensor.scalar 1.0).DType"
    // Scalar broadcasting with a tensor, and results of full reductions are rank 0.
    close [| 3.5; 4.5 |] (s + Tensor.create ([ 1.0; 2.0 ], F64))
    Expect.equal ((s * s).Rank) 0 "(s * s).Rank"
    Expect.equal ((s * s).ToScalar()) 6.25 "(s * s).ToScalar()"
    Expect.equal ((Tensor.mean (Tensor.ones [ 3; 3 ])).Rank) 0 "(Tensor.mean (Tensor.ones [ 3; 3 ])).Rank"
    // A scalar reshapes to [1] and back; unsqueeze gives [1].
    shapeIs [ 1 ] (Tensor.reshape (s, [ 1 ]))
    shapeIs [] (Tensor.reshape (Tensor.reshape (s, [ 1 ]), []))
    shapeIs [ 1 ] (Tensor.unsqueeze (s, 0))
    shapeIs [ 1 ] (Tensor.flatten s)

    Expect.equal
        (Math.Round((Tensor.exp s).ToScalar(), 12))
        (Math.Round(Math.Exp 2.5, 12))
        "(Tensor.exp s).ToScalar() to 12 places"

// ---------------------------------------------------------------- text

let ``ToString prints PyTorch-like text`` () =
    let m = Tensor.create [ [ 1.0; 2.0 ]; [ 3.0; 4.0 ] ]
    Expect.equal (m.ToString()) "tensor([[1.0000, 2.0000],\n        [3.0000, 4.0000]])" "m.ToString()"

    Expect.equal
        ((Tensor.create [ 1.5; -2.25 ]).ToString())
        "tensor([1.5000, -2.2500])"
        "(Tensor.create [ 1.5; -2.25 ]).ToString()"

    Expect.equal ((Tensor.scalar 3.5).ToString()) "tensor(3.5000)" "(Tensor.scalar 3.5).ToString()"
    // Non-default dtypes are named.
    Expect.equal
        ((Tensor.create ([ 1.5 ], F64)).ToString())
        "tensor([1.5000], dtype=float64)"
        "(Tensor.create ([ 1.5 ], F64)).ToString()"

    Expect.equal
        ((Tensor.create [ 1; 2; 3 ]).ToString())
        "tensor([1, 2, 3], dtype=int32)"
        "(Tensor.create [ 1; 2; 3 ]).ToString()"

    Expect.equal ((Tensor.create [ 4L ]).ToString()) "tensor([4], dtype=int64)" "(Tensor.create [ 4L ]).ToString()"

    Expect.equal
        ((Tensor.create [ true; false ]).ToString())
        "tensor([true, false], dtype=bool)"
        "(Tensor.create [ true; false ]).ToString()"
    // Large tensors are elided in the middle; empty tensors give their size.
    let big = (Tensor.arange 2000.0).ToString()
    Expect.stringStarts big "tensor([0.0000, 1.0000, 2.0000, ..." "big"
    Expect.stringEnds big "1999.0000])" "big"
    Expect.stringContains ((Tensor.zeros [ 0; 2 ]).ToString()) "[]" "(Tensor.zeros [ 0; 2 ]).ToString()"
    Expect.stringContains ((Tensor.zeros [ 0; 2 ]).ToString()) "[0; 2]" "(Tensor.zeros [ 0; 2 ]).ToString()"
    // 3-D: rows of the inner blocks are indented one more.
    let s3 = (Tensor.reshape (Tensor.arange 8.0, [ 2; 2; 2 ])).ToString()
    Expect.stringStarts s3 "tensor([[[0.0000, 1.0000],\n         [2.0000, 3.0000]]," "s3"
    Expect.stringEnds s3 "[6.0000, 7.0000]]])" "s3"
    // Derivative levels do not show.
    let mutable inner = ""

    Diff.grad
        (fun x ->
            inner <- x.ToString()
            Tensor.sum x)
        (Tensor.create [ 1.0 ])
    |> ignore

    Expect.equal inner "tensor([1.0000])" "inner"

let ``numGrad is the central difference: exact for a quadratic, 3x^2 + eps^2 for sum x^3`` () =
    let x = Tensor.ofArray ([| -1.5; 0.0; 0.25; 2.0 |], [ 4 ])
    let eps = 1e-3
    // (f(x + e) - f(x - e)) / 2e: for x^2 exactly 2x; for x^3 exactly 3x^2 + e^2 (hand expansion).
    let square = Tensor.toFloatArray (Diff.numGrad eps (fun t -> Tensor.sum (t * t)) x)

    let cube =
        Tensor.toFloatArray (Diff.numGrad eps (fun t -> Tensor.sum (t * t * t)) x)

    [| -1.5; 0.0; 0.25; 2.0 |]
    |> Array.iteri (fun i v ->
        Expect.equal (Math.Round(square[i], 9)) (Math.Round(2.0 * v, 9)) "square[i] to 9 places"
        Expect.equal (Math.Round(cube[i], 9)) (Math.Round(3.0 * v * v + eps * eps, 9)) "cube[i] to 9 places")

let tests =
    testList
        "TensorValue"
        [
            testCase
                "elementwise arithmetic with broadcasting matches loops"
                ``elementwise arithmetic with broadcasting matches loops``
            testCase "scalar operands and pow" ``scalar operands and pow``
            testCase "Float32 arithmetic rounds like float32" ``Float32 arithmetic rounds like float32``
            testCase "sum and mean over every dim set match loops" ``sum and mean over every dim set match loops``
            testCase "var and std, unbiased and biased, match loops" ``var and std, unbiased and biased, match loops``
            testCase
                "max, min, argmax, argmin with ties pick the first index"
                ``max, min, argmax, argmin with ties pick the first index``
            testCase
                "softmax rows sum to 1 and equal exp(x) / sum exp(x) computed by hand"
                ``softmax rows sum to 1 and equal exp(x) / sum exp(x) computed by hand``
            testCase "logsumexp is finite and exact for large inputs" ``logsumexp is finite and exact for large inputs``
            testCase
                "softmax and logSoftmax of large Float32 logits keep float32 precision"
                ``softmax and logSoftmax of large Float32 logits keep float32 precision``
            testCase
                "matmul matches a hand loop for matrices and vectors"
                ``matmul matches a hand loop for matrices and vectors``
            testCase
                "batched matmul broadcasts batch dims like a loop over batches"
                ``batched matmul broadcasts batch dims like a loop over batches``
            testCase "linear is x W^T + b" ``linear is x W^T + b``
            testCase
                "transpose, permute, reshape, flatten, squeeze, unsqueeze, expand values"
                ``transpose, permute, reshape, flatten, squeeze, unsqueeze, expand values``
            testCase
                "F# slicing is inclusive and negative indices count from the end"
                ``F# slicing is inclusive and negative indices count from the end``
            testCase
                "Tensor.slice follows Python rules including negative steps"
                ``Tensor.slice follows Python rules including negative steps``
            testCase "cat, stack, split and chunk values" ``cat, stack, split and chunk values``
            testCase
                "gather matches torch.gather semantics by hand loop"
                ``gather matches torch.gather semantics by hand loop``
            testCase
                "scatterAdd accumulates duplicates like a hand loop"
                ``scatterAdd accumulates duplicates like a hand loop``
            testCase "indexSelect and indexAdd match hand loops" ``indexSelect and indexAdd match hand loops``
            testCase "pad and oneHot values" ``pad and oneHot values``
            testCase "where, clamp, maximum, minimum values" ``where, clamp, maximum, minimum values``
            testCase
                "comparisons give Bool tensors and logical ops combine them"
                ``comparisons give Bool tensors and logical ops combine them``
            testCase "arange, linspace, eye, full, zeros, ones" ``arange, linspace, eye, full, zeros, ones``
            testCase "create infers dtype and shape from nested data" ``create infers dtype and shape from nested data``
            testCase
                "create with dtype Float64 keeps double precision"
                ``create with dtype Float64 keeps double precision``
            testCase "gelu at known points (exact erf form)" ``gelu at known points (exact erf form)``
            testCase
                "elu, leakyRelu, softplus, silu, relu, sigmoid at points"
                ``elu, leakyRelu, softplus, silu, relu, sigmoid at points``
            testCase
                "casts: float to int truncates toward zero, bool and back"
                ``casts: float to int truncates toward zero, bool and back``
            testCase "Int32, Int64 and Bool tensor basics" ``Int32, Int64 and Bool tensor basics``
            testCase "abs of an Int32 tensor" ``abs of an Int32 tensor``
            testCase
                "an Int32 tensor times a fractional float scalar promotes to floating point"
                ``an Int32 tensor times a fractional float scalar promotes to floating point``
            testCase "scalar (rank 0) tensors" ``scalar (rank 0) tensors``
            testCase "ToString prints PyTorch-like text" ``ToString prints PyTorch-like text``
            testCase
                "numGrad is the central difference: exact for a quadratic, 3x^2 + eps^2 for sum x^3"
                ``numGrad is the central difference: exact for a quadratic, 3x^2 + eps^2 for sum x^3``
        ]
