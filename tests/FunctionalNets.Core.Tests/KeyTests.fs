module FunctionalNets.Tests.KeyTests

// Keys: the Threefry-2x32-20 block function against the Random123 known answers, determinism, splitting,
// foldIn, and the statistics of the tensors drawn from keys. The statistical bounds are about five standard
// errors wide; the keys are fixed, so each test is deterministic.

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets

let private key (k0: uint32) (k1: uint32) : Key = { K0 = k0; K1 = k1 }

let private kat (k: Key) (c0: uint32) (c1: uint32) (e0: uint32) (e1: uint32) =
    let struct (x0, x1) = Key.threefry k c0 c1

    Expect.isTrue
        ((x0, x1) = (e0, e1))
        (sprintf "threefry %O ctr (%08x, %08x): expected (%08x, %08x), got (%08x, %08x)" k c0 c1 e0 e1 x0 x1)

// Random123 kat_vectors, threefry2x32 with 20 rounds (ctr then key in the file; here key first).

let ``Threefry-2x32-20 known answer: zero key, zero counter`` () =
    kat (key 0u 0u) 0u 0u 0x6b200159u 0x99ba4efeu

let ``Threefry-2x32-20 known answer: all-ones key and counter`` () =
    kat (key 0xffffffffu 0xffffffffu) 0xffffffffu 0xffffffffu 0x1cb996fcu 0xbb002be7u

let ``Threefry-2x32-20 known answer: pi digits`` () =
    kat (key 0x13198a2eu 0x03707344u) 0x243f6a88u 0x85a308d3u 0xc4923a9cu 0x483df7a0u

let ``Key.create splits the seed into high and low words`` () =
    Expect.equal (Key.create 0x0000000100000002L) (key 1u 2u) "Key.create 0x0000000100000002L"
    Expect.equal (Key.create 42L) (key 0u 42u) "Key.create 42L"
    Expect.equal (Key.create -1L) (key 0xffffffffu 0xffffffffu) "Key.create -1L"
    Expect.notEqual (Key.create 2L) (Key.create 1L) "Key.create 2L"

    Expect.equal
        ((Key.create 0x0000000100000002L).ToString())
        "Key(00000001, 00000002)"
        "(Key.create 0x0000000100000002L).ToString()"

// ---------------------------------------------------------------- determinism, split, foldIn

let ``the same key gives the same numbers`` () =
    let k = Key.create 1234L

    Expect.equal
        (Tensor.toFloatArray (Tensor.rand (k, [ 1000 ])))
        (Tensor.toFloatArray (Tensor.rand (k, [ 1000 ])))
        "Tensor.toFloatArray (Tensor.rand (k, [ 1000 ]))"

    Expect.equal
        (Tensor.toFloatArray (Tensor.randn (Key.create 1234L, [ 7; 13 ], DType.Float64)))
        (Tensor.toFloatArray (Tensor.randn (k, [ 7; 13 ], DType.Float64)))
        "Tensor.toFloatArray (Tensor.randn (Key.create 1234L, [ 7; 13 ], DType.Float64))"

    Expect.equal
        (Tensor.toFloatArray (Tensor.randint (k, 0, 100, [ 500 ])))
        (Tensor.toFloatArray (Tensor.randint (k, 0, 100, [ 500 ])))
        "Tensor.toFloatArray (Tensor.randint (k, 0, 100, [ 500 ]))"

    Expect.equal (Key.split k) (Key.split k) "Key.split k"
    Expect.equal (Key.splitN 5 k) (Key.splitN 5 k) "Key.splitN 5 k"
    Expect.equal (Key.foldIn 9 k) (Key.foldIn 9 k) "Key.foldIn 9 k"
    // Shape does not change the stream: the first elements agree whatever the shape.
    let flat = Tensor.toFloatArray (Tensor.rand (k, [ 12 ]))

    Expect.equal
        (Tensor.toFloatArray (Tensor.rand (k, [ 3; 4 ])))
        flat
        "Tensor.toFloatArray (Tensor.rand (k, [ 3; 4 ]))"

let ``split gives distinct keys and different streams`` () =
    let k = Key.create 7L
    let a, b = Key.split k
    Expect.notEqual b a "b"
    Expect.notEqual k a "k"
    Expect.notEqual k b "k"
    let ks = Key.splitN 1000 k
    Expect.equal ((ks |> Array.distinct).Length) 1000 "(ks |> Array.distinct).Length"
    Expect.isFalse (Seq.contains k ks) "k is not in ks"
    Expect.isEmpty (Key.splitN 0 k) "Key.splitN 0 k"
    // Streams of the two halves differ in (essentially) every element and are uncorrelated.
    let n = 20000
    let xa = Tensor.toFloatArray (Tensor.rand (a, [ n ], DType.Float64))
    let xb = Tensor.toFloatArray (Tensor.rand (b, [ n ], DType.Float64))
    let xk = Tensor.toFloatArray (Tensor.rand (k, [ n ], DType.Float64))
    Expect.isTrue (Array.forall2 (<>) xa xb) "Array.forall2 (<>) xa xb"
    Expect.isTrue (Array.forall2 (<>) xa xk) "Array.forall2 (<>) xa xk"

    let corr (x: float[]) (y: float[]) =
        let mx, my = Array.average x, Array.average y
        let sxy = Array.fold2 (fun acc u v -> acc + (u - mx) * (v - my)) 0.0 x y
        let sxx = x |> Array.sumBy (fun u -> (u - mx) ** 2.0)
        let syy = y |> Array.sumBy (fun v -> (v - my) ** 2.0)
        sxy / sqrt (sxx * syy)

    let bound = 5.0 / sqrt (float n)
    Expect.isTrue (abs (corr xa xb) < bound) (sprintf "corr(a, b) = %g" (corr xa xb))
    Expect.isTrue (abs (corr xa xk) < bound) (sprintf "corr(a, parent) = %g" (corr xa xk))
    // Splitting again gives yet other keys.
    let a1, a2 = Key.split a
    Expect.equal (([ a; b; a1; a2 ] |> List.distinct).Length) 4 "([ a; b; a1; a2 ] |> List.distinct).Length"

let ``foldIn gives a distinct key per data value`` () =
    let k = Key.create 99L
    let folded = Array.init 2000 (fun i -> Key.foldIn i k)
    Expect.equal ((folded |> Array.distinct).Length) 2000 "(folded |> Array.distinct).Length"
    Expect.isFalse (Seq.contains k folded) "k is not in folded"
    // Negative data and other parents give other keys too.
    Expect.notEqual (Key.foldIn 1 k) (Key.foldIn (-1) k) "Key.foldIn 1 k"
    Expect.notEqual (Key.foldIn 3 (Key.create 100L)) (Key.foldIn 3 k) "Key.foldIn 3 (Key.create 100L)"
    // foldIn and split never hand out the same key.
    let splits = Key.splitN 2000 k

    Expect.isEmpty
        (Set.intersect
            (Set.ofArray (folded |> Array.map (fun q -> q.K0, q.K1)))
            (Set.ofArray (splits |> Array.map (fun q -> q.K0, q.K1))))
        "Set.intersect (Set.ofArray (folded |> Array.map (fun q -> q.K0, q.K1))) (Set.ofArray (splits |> Array.map (fun q -> q.K0, q.K1)))"
    // Different streams.
    let x0 = Tensor.toFloatArray (Tensor.rand (Key.foldIn 0 k, [ 100 ]))
    let x1 = Tensor.toFloatArray (Tensor.rand (Key.foldIn 1 k, [ 100 ]))
    Expect.notEqual x1 x0 "x1"

// ---------------------------------------------------------------- statistics

let private moments (xs: float[]) =
    let n = float xs.Length
    let m = Array.sum xs / n
    let v = (xs |> Array.sumBy (fun x -> (x - m) * (x - m))) / (n - 1.0)
    m, v

let private checkUniform (xs: float[]) =
    let n = float xs.Length
    Expect.isTrue (xs |> Array.forall (fun x -> x >= 0.0 && x < 1.0)) "every sample must lie in [0, 1)"
    let m, v = moments xs
    // mean 1/2 with standard error sqrt(1/12/n); variance 1/12 with standard error sqrt((1/80 - 1/144)/n).
    Expect.isTrue (abs (m - 0.5) < 5.0 * sqrt (1.0 / 12.0 / n)) (sprintf "mean %g" m)
    Expect.isTrue (abs (v - 1.0 / 12.0) < 5.0 * sqrt ((1.0 / 80.0 - 1.0 / 144.0) / n)) (sprintf "var %g" v)
    // Ten equal bins: each holds n/10 +- 5 sd.
    let counts = Array.zeroCreate 10

    for x in xs do
        counts[int (x * 10.0)] <- counts[int (x * 10.0)] + 1

    let sd = sqrt (n * 0.1 * 0.9)

    for c in counts do
        Expect.isTrue (abs (float c - n / 10.0) < 5.0 * sd) (sprintf "bin counts %A" counts)

    // Neighbouring samples are uncorrelated.
    let lag =
        Array.init (xs.Length - 1) (fun i -> (xs[i] - m) * (xs[i + 1] - m))
        |> Array.average

    Expect.isTrue (abs (lag / v) < 5.0 / sqrt n) (sprintf "lag-1 correlation %g" (lag / v))

let ``rand Float32: 100k samples in [0, 1) with mean 1/2 and variance 1/12`` () =
    let t = Tensor.rand (Key.create 2024L, [ 100; 1000 ])
    Expect.equal t.DType DType.Float32 "t.DType"
    Expect.equal (t.Shape.ToArray()) ([| 100; 1000 |]) "t.Shape.ToArray()"
    checkUniform (Tensor.toFloatArray t)

let ``rand Float64: 100k samples in [0, 1) with mean 1/2 and variance 1/12`` () =
    let t = Tensor.rand (Key.create 31337L, [ 100000 ], DType.Float64)
    Expect.equal t.DType DType.Float64 "t.DType"
    let xs = Tensor.toFloatArray t
    checkUniform xs
    // Doubles carry more than float32's 24 bits: most samples are not multiples of 2^-24.
    let fine =
        xs
        |> Array.filter (fun x -> x * 16777216.0 <> Math.Floor(x * 16777216.0))
        |> Array.length

    Expect.isTrue (fine > 99000) (sprintf "only %d samples use more than 24 bits" fine)

let private checkNormal (xs: float[]) =
    let n = float xs.Length
    Expect.isTrue (xs |> Array.forall Double.IsFinite) "xs |> Array.forall Double.IsFinite"
    let m, v = moments xs
    let s = sqrt v
    Expect.isTrue (abs m < 5.0 / sqrt n) (sprintf "mean %g" m)
    // The sample sd has standard error about 1/sqrt(2n).
    Expect.isTrue (abs (s - 1.0) < 5.0 / sqrt (2.0 * n)) (sprintf "std %g" s)
    // P(|Z| < 1) = 0.6827, P(|Z| < 2) = 0.9545.
    let within k =
        float (xs |> Array.filter (fun x -> abs x < k) |> Array.length) / n

    let p1, p2 = 0.6826894921370859, 0.9544997361036416
    Expect.isTrue (abs (within 1.0 - p1) < 5.0 * sqrt (p1 * (1.0 - p1) / n)) (sprintf "within 1 sigma %g" (within 1.0))
    Expect.isTrue (abs (within 2.0 - p2) < 5.0 * sqrt (p2 * (1.0 - p2) / n)) (sprintf "within 2 sigma %g" (within 2.0))
    // Symmetry and the fourth moment (3 for a normal; its sample sd is about sqrt(96/n)).
    let pos = float (xs |> Array.filter (fun x -> x > 0.0) |> Array.length) / n
    Expect.isTrue (abs (pos - 0.5) < 5.0 * sqrt (0.25 / n)) (sprintf "fraction positive %g" pos)
    let m4 = (xs |> Array.sumBy (fun x -> (x - m) ** 4.0)) / n / (v * v)
    Expect.isTrue (abs (m4 - 3.0) < 5.0 * sqrt (96.0 / n)) (sprintf "kurtosis %g" m4)
    // The two values of a Box-Muller pair are uncorrelated.
    let pairs =
        Array.init (xs.Length / 2) (fun p -> xs[2 * p] * xs[2 * p + 1]) |> Array.average

    Expect.isTrue (abs pairs < 5.0 / sqrt (n / 2.0)) (sprintf "pair correlation %g" pairs)

let ``randn Float32: mean 0, std 1, 68.27% within one sigma`` () =
    let t = Tensor.randn (Key.create 5L, [ 100001 ])
    Expect.equal t.DType DType.Float32 "t.DType"
    checkNormal (Tensor.toFloatArray t)

let ``randn Float64: mean 0, std 1, 68.27% within one sigma`` () =
    let t = Tensor.randn (Key.create 6L, [ 250; 400 ], DType.Float64)
    Expect.equal t.DType DType.Float64 "t.DType"
    checkNormal (Tensor.toFloatArray t)

let ``randint stays in [low, high) and is roughly uniform`` () =
    let n = 100000
    let t = Tensor.randint (Key.create 77L, -3, 7, [ n ])
    Expect.equal t.DType DType.Int64 "t.DType"
    let xs = t.ToArray() :?> int64[]

    Expect.isTrue
        (xs |> Array.forall (fun v -> v >= -3L && v < 7L))
        (sprintf "out of range: %A" (xs |> Array.filter (fun v -> v < -3L || v >= 7L) |> Array.truncate 5))

    let counts = xs |> Array.countBy id |> Map.ofArray
    Expect.equal counts.Count 10 "counts.Count"
    let sd = sqrt (float n * 0.1 * 0.9)

    for KeyValue(v, c) in counts do
        Expect.isTrue (abs (float c - float n / 10.0) < 5.0 * sd) (sprintf "value %d drawn %d times" v c)

    // Int32 on request; a range of one value gives that value.
    let t32 = Tensor.randint (Key.create 78L, 0, 2, [ 1000 ], DType.Int32)
    Expect.equal t32.DType DType.Int32 "t32.DType"
    let ones = (t32.ToArray() :?> int[]) |> Array.sum
    Expect.isTrue (abs (float ones - 500.0) < 5.0 * sqrt 250.0) (sprintf "%d ones in 1000" ones)
    let single = Tensor.randint (Key.create 1L, 5, 6, [ 50 ])

    Expect.isTrue
        ((single.ToArray() :?> int64[]) |> Array.forall ((=) 5L))
        "(single.ToArray() :?> int64[]) |> Array.forall ((=) 5L)"

let ``rand and randn refuse integer dtypes`` () =
    let ex =
        Expects.throwsAny<exn> "the call" (fun () -> Tensor.rand (Key.create 1L, [ 2 ], DType.Int32) |> ignore)

    Expect.isNotNull ex "an exception was raised"

    Expect.isFalse
        (ex :? NullReferenceException || ex :? IndexOutOfRangeException)
        "ex :? NullReferenceException || ex :? IndexOutOfRangeException"

    let ex2 =
        Expects.throwsAny<exn> "the call" (fun () -> Tensor.randn (Key.create 1L, [ 2 ], DType.Int64) |> ignore)

    Expect.isNotNull ex2 "an exception was raised"

    Expect.isFalse
        (ex2 :? NullReferenceException || ex2 :? IndexOutOfRangeException)
        "ex2 :? NullReferenceException || ex2 :? IndexOutOfRangeException"

let tests =
    testList
        "Key"
        [
            testCase
                "Threefry-2x32-20 known answer: zero key, zero counter"
                ``Threefry-2x32-20 known answer: zero key, zero counter``
            testCase
                "Threefry-2x32-20 known answer: all-ones key and counter"
                ``Threefry-2x32-20 known answer: all-ones key and counter``
            testCase "Threefry-2x32-20 known answer: pi digits" ``Threefry-2x32-20 known answer: pi digits``
            testCase
                "Key.create splits the seed into high and low words"
                ``Key.create splits the seed into high and low words``
            testCase "the same key gives the same numbers" ``the same key gives the same numbers``
            testCase
                "split gives distinct keys and different streams"
                ``split gives distinct keys and different streams``
            testCase "foldIn gives a distinct key per data value" ``foldIn gives a distinct key per data value``
            testCase
                "rand Float32: 100k samples in [0, 1) with mean 1/2 and variance 1/12"
                ``rand Float32: 100k samples in [0, 1) with mean 1/2 and variance 1/12``
            testCase
                "rand Float64: 100k samples in [0, 1) with mean 1/2 and variance 1/12"
                ``rand Float64: 100k samples in [0, 1) with mean 1/2 and variance 1/12``
            testCase
                "randn Float32: mean 0, std 1, 68.27% within one sigma"
                ``randn Float32: mean 0, std 1, 68.27% within one sigma``
            testCase
                "randn Float64: mean 0, std 1, 68.27% within one sigma"
                ``randn Float64: mean 0, std 1, 68.27% within one sigma``
            testCase
                "randint stays in [low, high) and is roughly uniform"
                ``randint stays in [low, high) and is roughly uniform``
            testCase "rand and randn refuse integer dtypes" ``rand and randn refuse integer dtypes``
        ]
