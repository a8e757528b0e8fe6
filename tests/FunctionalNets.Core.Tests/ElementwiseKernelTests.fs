module FunctionalNets.Tests.ElementwiseKernelTests

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets.Kernels

// ---------- helpers (independent reference code: plain loops over multi-indices) ----------

let inline ro (a: 'T[]) = ReadOnlySpan<'T>(a)
let inline sp (a: 'T[]) = Span<'T>(a)

let count (shape: int[]) = Array.fold (*) 1 shape

/// Row-major strides of a shape.
let contiguous (shape: int[]) =
    let s = Array.zeroCreate shape.Length
    let mutable acc = 1

    for d in shape.Length - 1 .. -1 .. 0 do
        s.[d] <- acc
        acc <- acc * shape.[d]

    s

/// Strides of an operand of shape `own` broadcast to `out` (0 where own is 1 and out is not).
let broadcastStrides (own: int[]) (out: int[]) =
    let c = contiguous own
    Array.init out.Length (fun d -> if own.[d] = 1 && out.[d] <> 1 then 0 else c.[d])

/// Multi-index of linear position p in shape.
let unravel (shape: int[]) (p: int) =
    let idx = Array.zeroCreate shape.Length
    let mutable r = p

    for d in shape.Length - 1 .. -1 .. 0 do
        idx.[d] <- r % shape.[d]
        r <- r / shape.[d]

    idx

let offsetOf (idx: int[]) (strides: int[]) =
    Array.fold2 (fun acc i s -> acc + i * s) 0 idx strides

let close (tol: float) (expected: float) (actual: float) =
    (Double.IsNaN expected && Double.IsNaN actual)
    || expected = actual
    || abs (expected - actual) <= tol * max 1.0 (abs expected)

let assertClose tol (what: string) (expected: float[]) (actual: float[]) =
    Expect.equal actual.Length expected.Length "actual.Length"

    for i in 0 .. expected.Length - 1 do
        if not (close tol expected.[i] actual.[i]) then
            failwithf "%s: element %d expected %.17g got %.17g" what i expected.[i] actual.[i]

/// Random output shape (rank 0..4, dims 1..5) and an operand shape broadcast into it.
let randomShape (rng: Random) =
    Array.init (rng.Next(0, 5)) (fun _ -> rng.Next(1, 6))

let operandShape (rng: Random) (out: int[]) =
    out |> Array.map (fun d -> if rng.NextDouble() < 0.3 then 1 else d)

let binaryRef isInt op (a: float) (b: float) =
    match op with
    | BinaryOp.Add -> a + b
    | BinaryOp.Sub -> a - b
    | BinaryOp.Mul -> a * b
    | BinaryOp.Div -> if isInt then Math.Truncate(a / b) else a / b
    | BinaryOp.Pow -> Math.Pow(a, b)
    | BinaryOp.Max -> Math.Max(a, b)
    | BinaryOp.Min -> Math.Min(a, b)
    | _ -> failwith "op"

/// Runs Binary on random broadcast shapes for element type 'T (converted from/to float for the reference).
let checkBinaryRandom<'T
    when 'T: unmanaged and 'T: struct and 'T :> ValueType and 'T: (new: unit -> 'T) and 'T :> Numerics.INumber<'T>>
    (toT: float -> 'T)
    (ofT: 'T -> float)
    isInt
    tol
    (seed: int)
    =
    let rng = Random(seed)

    let ops =
        [|
            BinaryOp.Add
            BinaryOp.Sub
            BinaryOp.Mul
            BinaryOp.Div
            BinaryOp.Pow
            BinaryOp.Max
            BinaryOp.Min
        |]

    for trial in 0..199 do
        let out = randomShape rng
        let sa = operandShape rng out

        let sb =
            if trial % 7 = 0 then
                Array.create out.Length 1
            else
                operandShape rng out

        let op = ops.[trial % ops.Length]

        let gen () =
            match op with
            | BinaryOp.Pow when isInt -> float (rng.Next(0, 4))
            | BinaryOp.Pow -> rng.NextDouble() * 2.0 + 0.1
            | BinaryOp.Div -> float (rng.Next(1, 9)) * (if rng.Next(2) = 0 then -1.0 else 1.0)
            | _ when isInt -> float (rng.Next(-20, 21))
            | _ -> Math.Round(rng.NextDouble() * 8.0 - 4.0, 3)

        let a = Array.init (count sa) (fun _ -> gen () |> toT)
        let b = Array.init (count sb) (fun _ -> gen () |> toT)
        let ast, bst = broadcastStrides sa out, broadcastStrides sb out
        let y = Array.zeroCreate<'T>(count out)
        Elementwise.Binary(op, ro a, ro ast, ro b, ro bst, sp y, ro out)

        let expected =
            Array.init (count out) (fun p ->
                let idx = unravel out p
                binaryRef isInt op (ofT a.[offsetOf idx ast]) (ofT b.[offsetOf idx bst]))

        assertClose tol (sprintf "Binary %A out=%A a=%A b=%A" op out sa sb) expected (Array.map ofT y)
        // Compare on the same operands.
        let cop = enum<CompareOp>(trial % 6)
        let yc = Array.zeroCreate<bool>(count out)
        Elementwise.Compare(cop, ro a, ro ast, ro b, ro bst, sp yc, ro out)

        for p in 0 .. yc.Length - 1 do
            let idx = unravel out p
            let x, z = ofT a.[offsetOf idx ast], ofT b.[offsetOf idx bst]

            let e =
                match cop with
                | CompareOp.Eq -> x = z
                | CompareOp.Ne -> x <> z
                | CompareOp.Lt -> x < z
                | CompareOp.Le -> x <= z
                | CompareOp.Gt -> x > z
                | _ -> x >= z

            if e <> yc.[p] then
                failwithf "Compare %A at %d (out=%A)" cop p out

let ``Binary and Compare broadcast over random shapes (float32, float64, int32, int64)`` () =
    checkBinaryRandom<float> id id false 1e-14 1
    checkBinaryRandom<float32> float32 float false 1e-6 2
    checkBinaryRandom<int> int float true 0.0 3
    checkBinaryRandom<int64> int64 float true 0.0 4

let ``Binary large sizes take the threaded paths and stay exact`` () =
    let rng = Random(5)
    // Bias add [300, 400] + [400]: many rows.
    let rows, cols = 300, 400
    let a = Array.init (rows * cols) (fun _ -> float32 (rng.NextDouble()))
    let b = Array.init cols (fun _ -> float32 (rng.NextDouble()))
    let y = Array.zeroCreate (rows * cols)
    Elementwise.Binary(BinaryOp.Add, ro a, ro [| cols; 1 |], ro b, ro [| 0; 1 |], sp y, ro [| rows; cols |])

    for i in 0 .. y.Length - 1 do
        Expect.equal (y.[i]) (a.[i] + b.[i % cols]) "y.[i]"
    // One long contiguous run (split by columns) and a scalar operand.
    let n = 200_000
    let x = Array.init n (fun i -> float i)
    let z = Array.zeroCreate n
    Elementwise.Binary(BinaryOp.Mul, ro x, ro [| 1 |], ro [| 0.5 |], ro [| 0 |], sp z, ro [| n |])

    for i in 0 .. n - 1 do
        Expect.equal (z.[i]) (float i * 0.5) "z.[i]"
    // Outer product broadcast [64,1] - [1,512].
    let u = Array.init 64 float
    let v = Array.init 512 float
    let w = Array.zeroCreate (64 * 512)
    Elementwise.Binary(BinaryOp.Sub, ro u, ro [| 1; 0 |], ro v, ro [| 0; 1 |], sp w, ro [| 64; 512 |])

    for i in 0 .. w.Length - 1 do
        Expect.equal (w.[i]) (float (i / 512) - float (i % 512)) "w.[i]"

let ``Binary Max and Min propagate NaN`` () =
    let a = [| 1.0; nan; 3.0; nan |]
    let b = [| nan; 2.0; 1.0; 5.0 |]
    let y = Array.zeroCreate 4
    Elementwise.Binary(BinaryOp.Max, ro a, ro [| 1 |], ro b, ro [| 1 |], sp y, ro [| 4 |])

    Expect.isTrue
        (Double.IsNaN y.[0] && Double.IsNaN y.[1] && y.[2] = 3.0 && Double.IsNaN y.[3])
        "Double.IsNaN y.[0] && Double.IsNaN y.[1] && y.[2] = 3.0 && Double.IsNaN y.[3]"

    Elementwise.Binary(BinaryOp.Min, ro a, ro [| 1 |], ro [| 0.0 |], ro [| 0 |], sp y, ro [| 4 |])

    Expect.isTrue
        (y.[0] = 0.0 && Double.IsNaN y.[1] && y.[2] = 0.0 && Double.IsNaN y.[3])
        "y.[0] = 0.0 && Double.IsNaN y.[1] && y.[2] = 0.0 && Double.IsNaN y.[3]"

let ``Integer Div by zero and negative Pow exponent throw naming the op`` () =
    let y = Array.zeroCreate<int> 3

    let ex =
        Expects.throws<DivideByZeroException> "Elementwise.Binary( Bi" (fun () ->
            Elementwise.Binary(
                BinaryOp.Div,
                ro [| 1; 2; 3 |],
                ro [| 1 |],
                ro [| 1; 0; 1 |],
                ro [| 1 |],
                sp y,
                ro [| 3 |]
            ))

    Expect.stringContains ex.Message "Div" "ex.Message"

    let ex2 =
        Expects.throws<ArgumentException> "Elementwise.Binary(BinaryOp.Pow, ro [|" (fun () ->
            Elementwise.Binary(BinaryOp.Pow, ro [| 2; 2; 2 |], ro [| 1 |], ro [| -1 |], ro [| 0 |], sp y, ro [| 3 |]))

    Expect.stringContains ex2.Message "Pow" "ex2.Message"
    Elementwise.Binary(BinaryOp.Pow, ro [| 2; -3; 5 |], ro [| 1 |], ro [| 3; 3; 0 |], ro [| 1 |], sp y, ro [| 3 |])
    Expect.equal y ([| 8; -27; 1 |]) "y"
    Elementwise.Binary(BinaryOp.Div, ro [| 7; -7; 7 |], ro [| 1 |], ro [| 2 |], ro [| 0 |], sp y, ro [| 3 |])
    Expect.equal y ([| 3; -3; 3 |]) "y"

let ``Binary rejects mismatched ranks and lengths`` () =
    let y = Array.zeroCreate<float> 6

    let ex =
        Expects.throws<ArgumentException> "Elementwise.Binary( Bi" (fun () ->
            Elementwise.Binary(
                BinaryOp.Add,
                ro (Array.zeroCreate 5),
                ro [| 3; 1 |],
                ro [| 1.0 |],
                ro [| 0; 0 |],
                sp y,
                ro [| 2; 3 |]
            ))

    Expect.stringContains ex.Message "Add" "ex.Message"

    Expects.throws<ArgumentException> "Elementwise.Binary( BinaryOp.A" (fun () ->
        Elementwise.Binary(
            BinaryOp.Add,
            ro (Array.zeroCreate 6),
            ro [| 3 |],
            ro [| 1.0 |],
            ro [| 0; 0 |],
            sp y,
            ro [| 2; 3 |]
        ))
    |> ignore

let ``Where broadcasts condition and both branches`` () =
    let rng = Random(11)

    for _ in 0..99 do
        let out = randomShape rng
        let sc, sa, sb = operandShape rng out, operandShape rng out, operandShape rng out
        let c = Array.init (count sc) (fun _ -> rng.Next(2) = 0)
        let a = Array.init (count sa) (fun _ -> rng.NextDouble())
        let b = Array.init (count sb) (fun _ -> -rng.NextDouble())

        let cs, ast, bst =
            broadcastStrides sc out, broadcastStrides sa out, broadcastStrides sb out

        let y = Array.zeroCreate (count out)
        Elementwise.Where(ro c, ro cs, ro a, ro ast, ro b, ro bst, sp y, ro out)

        for p in 0 .. y.Length - 1 do
            let idx = unravel out p

            let e =
                if c.[offsetOf idx cs] then
                    a.[offsetOf idx ast]
                else
                    b.[offsetOf idx bst]

            Expect.equal (y.[p]) e "y.[p]"

let ``Logical ops, Convert, FromBool, ToBool`` () =
    let a = [| true; false; true; false |]
    let b = [| true; true |]
    let y = Array.zeroCreate 4
    let shape, ast, bst = [| 2; 2 |], [| 2; 1 |], [| 0; 1 |]
    Elementwise.LogicalAnd(ro a, ro ast, ro b, ro bst, sp y, ro shape)
    Expect.equal y ([| true; false; true; false |]) "y"
    Elementwise.LogicalOr(ro a, ro [| 1 |], ro [| false |], ro [| 0 |], sp y, ro [| 4 |])
    Expect.equal y a "y"
    Elementwise.LogicalXor(ro a, ro [| 1 |], ro [| true; true; false; false |], ro [| 1 |], sp y, ro [| 4 |])
    Expect.equal y ([| false; true; true; false |]) "y"
    Elementwise.LogicalNot(ro a, sp y)
    Expect.equal y ([| false; true; false; true |]) "y"
    let ints = Array.zeroCreate<int> 6
    Elementwise.Convert(ro [| 1.9; -1.9; 0.5; -0.5; 1e3; nan |], sp ints)
    Expect.equal ints ([| 1; -1; 0; 0; 1000; 0 |]) "ints"
    let longs = Array.zeroCreate<int64> 3
    Elementwise.Convert(ro [| 2.99f; -7.5f; 3.0f |], sp longs)
    Expect.equal longs ([| 2L; -7L; 3L |]) "longs"
    let doubles = Array.zeroCreate<float> 3
    Elementwise.Convert(ro [| 3; -4; 5 |], sp doubles)
    Expect.equal doubles ([| 3.0; -4.0; 5.0 |]) "doubles"
    let f = Array.zeroCreate<float32> 4
    Elementwise.FromBool(ro a, sp f)
    Expect.equal f ([| 1.0f; 0.0f; 1.0f; 0.0f |]) "f"
    Elementwise.ToBool(ro [| 0.0; -0.0; 2.0; nan |], sp y)
    Expect.equal y ([| false; false; true; true |]) "y"

let ``AddInPlace and Fill`` () =
    let n = 100_003 // crosses the threading threshold with a ragged tail
    let acc = Array.init n float
    let x = Array.init n (fun i -> 2.0 * float i)
    Elementwise.AddInPlace(sp acc, ro x)

    for i in 0 .. n - 1 do
        Expect.equal (acc.[i]) (3.0 * float i) "acc.[i]"

    let z = Array.zeroCreate<int> 5
    Elementwise.Fill(sp z, 7)
    Expect.equal z (Array.create 5 7) "z"

// ---------- unary ----------

let unaryRef op (x: float) =
    match op with
    | UnaryOp.Neg -> -x
    | UnaryOp.Abs -> abs x
    | UnaryOp.Sign -> if Double.IsNaN x then nan else float (Math.Sign x)
    | UnaryOp.Exp -> Math.Exp x
    | UnaryOp.Log -> Math.Log x
    | UnaryOp.Sqrt -> Math.Sqrt x
    | UnaryOp.Rsqrt -> 1.0 / Math.Sqrt x
    | UnaryOp.Sin -> Math.Sin x
    | UnaryOp.Cos -> Math.Cos x
    | UnaryOp.Tanh -> Math.Tanh x
    | UnaryOp.Sigmoid -> 1.0 / (1.0 + Math.Exp(-x))
    | UnaryOp.Relu -> if Double.IsNaN x then nan else max x 0.0
    | UnaryOp.Step -> if x > 0.0 then 1.0 else 0.0
    | UnaryOp.Reciprocal -> 1.0 / x
    | UnaryOp.Square -> x * x
    | UnaryOp.Softplus -> Math.Log(1.0 + Math.Exp x)
    | UnaryOp.Floor -> Math.Floor x
    | UnaryOp.Ceil -> Math.Ceiling x
    | UnaryOp.Round -> Math.Round(x, MidpointRounding.ToEven)
    | UnaryOp.Log1p -> Math.Log(1.0 + x)
    | UnaryOp.Expm1 -> Math.Exp x - 1.0
    | _ -> failwith "no reference"

let unaryInputs =
    [|
        -3.7
        -2.5
        -1.5
        -1.0
        -0.5
        -0.25
        0.0
        0.1
        0.5
        1.0
        1.5
        2.5
        3.2
        7.0
        0.3
        -0.7
        2.0
        4.5
        0.75
        1.25
    |]

let ``Unary ops match System.Math (float64 and float32, including in place)`` () =
    for op in Enum.GetValues<UnaryOp>() do
        if op <> UnaryOp.Erf then
            let xs =
                match op with
                | UnaryOp.Log
                | UnaryOp.Sqrt
                | UnaryOp.Rsqrt -> unaryInputs |> Array.map (fun v -> abs v + 0.01)
                | _ -> unaryInputs
            // Repeat so the vector paths (not only the scalar tails) are exercised.
            let xs = Array.init 70 (fun i -> xs.[i % xs.Length])
            let expected = xs |> Array.map (unaryRef op)
            let y = Array.zeroCreate xs.Length
            Elementwise.Unary(op, ro xs, sp y)
            assertClose 1e-14 (sprintf "%A float64" op) expected y
            let xf = xs |> Array.map float32
            let yf = Array.copy xf
            Elementwise.Unary(op, ro yf, sp yf) // in place
            assertClose 2e-6 (sprintf "%A float32" op) (xf |> Array.map (float >> unaryRef op)) (yf |> Array.map float)

let ``Unary special cases: NaN sign, softplus extremes, log1p and expm1 for tiny x`` () =
    let y = Array.zeroCreate 4
    Elementwise.Unary(UnaryOp.Sign, ro [| nan; -0.0; -2.0; 5.0 |], sp y)

    Expect.isTrue
        (Double.IsNaN y.[0] && y.[1] = 0.0 && y.[2] = -1.0 && y.[3] = 1.0)
        "Double.IsNaN y.[0] && y.[1] = 0.0 && y.[2] = -1.0 && y.[3] = 1.0"

    Elementwise.Unary(UnaryOp.Softplus, ro [| 1000.0; -1000.0; -40.0; 0.0 |], sp y)
    Expect.equal (y.[0]) 1000.0 "y.[0]"
    Expect.equal (y.[1]) 0.0 "y.[1]"
    Expect.isTrue (close 1e-15 (Math.Exp -40.0) y.[2]) "close 1e-15 (Math.Exp -40.0) y.[2]"
    Expect.isTrue (close 1e-15 (Math.Log 2.0) y.[3]) "close 1e-15 (Math.Log 2.0) y.[3]"
    let t = [| 1e-10; -1e-12; 1e-300; 0.0 |]
    Elementwise.Unary(UnaryOp.Log1p, ro t, sp y)
    assertClose 1e-15 "log1p tiny" (t |> Array.map (fun v -> v - v * v / 2.0)) y
    Elementwise.Unary(UnaryOp.Expm1, ro t, sp y)
    assertClose 1e-15 "expm1 tiny" (t |> Array.map (fun v -> v + v * v / 2.0)) y
    Elementwise.Unary(UnaryOp.Round, ro [| 0.5; 1.5; 2.5; -0.5 |], sp y)
    Expect.equal y ([| 0.0; 2.0; 2.0; -0.0 |]) "y"

let ``Erf matches known values and is odd`` () =
    let known =
        [|
            0.5, 0.5204998778130465
            1.0, 0.8427007929497149
            -2.0, -0.9953222650189527
            3.0, 0.9999779095030014
            2.5, 0.9995930479825550
            0.1, 0.1124629160182849
            1e-10, 1.1283791670955126e-10
            6.5, 1.0
            0.0, 0.0
        |]

    let xs = known |> Array.map fst
    let y = Array.zeroCreate xs.Length
    Elementwise.Unary(UnaryOp.Erf, ro xs, sp y)
    assertClose 2e-15 "erf known" (known |> Array.map snd) y
    // Odd symmetry and continuity across the series / continued-fraction switch at 2.5.
    let grid = Array.init 801 (fun i -> -8.0 + 0.02 * float i)
    let pos, neg = Array.zeroCreate grid.Length, Array.zeroCreate grid.Length
    Elementwise.Unary(UnaryOp.Erf, ro grid, sp pos)
    Elementwise.Unary(UnaryOp.Erf, ro (grid |> Array.map (~-)), sp neg)

    for i in 0 .. grid.Length - 1 do
        Expect.equal (neg.[i]) (-pos.[i]) "neg.[i]"

    let edge = Array.zeroCreate 2
    Elementwise.Unary(UnaryOp.Erf, ro [| 2.5 - 1e-12; 2.5 + 1e-12 |], sp edge)
    let slope = 2.0 / sqrt Math.PI * exp (-6.25)

    Expect.isTrue
        (abs (edge.[1] - edge.[0] - 2e-12 * slope) < 1e-15)
        "abs (edge.[1] - edge.[0] - 2e-12 * slope) < 1e-15"
    // Derivative check against 2/sqrt(pi) exp(-x^2) with central differences.
    for x in [| 0.3; 1.1; 2.4; 2.6; 3.5 |] do
        let h = 1e-5
        let v = Array.zeroCreate 2
        Elementwise.Unary(UnaryOp.Erf, ro [| x + h; x - h |], sp v)
        let fd = (v.[0] - v.[1]) / (2.0 * h)
        Expect.isTrue (close 1e-8 (2.0 / sqrt Math.PI * exp (-x * x)) fd) (sprintf "erf' at %g" x)

    let yf = Array.zeroCreate 2
    Elementwise.Unary(UnaryOp.Erf, ro [| 0.5f; -1.0f |], sp yf)
    Expect.equal (yf.[0]) 0.5204999f "yf.[0]"
    Expect.equal (yf.[1]) -0.8427008f "yf.[1]"

// ---------- reductions ----------

let ``Reduce Sum Max Min match loops over random views`` () =
    let rng = Random(21)

    for trial in 0..59 do
        let outer, n, inner =
            rng.Next(1, 5), rng.Next(1, 7), (if trial % 3 = 0 then 1 else rng.Next(1, 6))
        // Small integers so float sums are exact and ties are common.
        let x = Array.init (outer * n * inner) (fun _ -> float (rng.Next(-3, 4)))
        let at o j i = x.[(o * n + j) * inner + i]

        let ys, ymax, ymin =
            Array.zeroCreate (outer * inner), Array.zeroCreate (outer * inner), Array.zeroCreate (outer * inner)

        let imax, imin = Array.zeroCreate (outer * inner), Array.zeroCreate (outer * inner)
        Reduce.Sum(ro x, outer, n, inner, sp ys)
        Reduce.Max(ro x, outer, n, inner, sp ymax, sp imax)
        Reduce.Min(ro x, outer, n, inner, sp ymin, sp imin)

        for o in 0 .. outer - 1 do
            for i in 0 .. inner - 1 do
                let col = Array.init n (fun j -> at o j i)
                let k = o * inner + i
                Expect.equal (ys.[k]) (Array.sum col) "ys.[k]"
                let mx, mn = Array.max col, Array.min col
                Expect.equal (ymax.[k]) mx "ymax.[k]"
                Expect.equal (ymin.[k]) mn "ymin.[k]"
                Expect.equal (imax.[k]) (int64 (Array.findIndex ((=) mx) col)) "imax.[k]"
                Expect.equal (imin.[k]) (int64 (Array.findIndex ((=) mn) col)) "imin.[k]"
        // float32 and without indices.
        let xf = x |> Array.map float32
        let yf = Array.zeroCreate (outer * inner)
        Reduce.Max(ro xf, outer, n, inner, sp yf, Span<int64>.Empty)
        Expect.equal yf (ymax |> Array.map float32) "yf"
        Reduce.Sum(ro xf, outer, n, inner, sp yf)
        Expect.equal yf (ys |> Array.map float32) "yf"

let ``Reduce Max and Min propagate NaN with its first index`` () =
    // Last axis (inner = 1) and a leading axis (inner = 2).
    let x = [| 1.0; nan; 5.0; nan; 2.0; 2.0; 0.0; 2.0 |]
    let y, idx = Array.zeroCreate 2, Array.zeroCreate 2
    Reduce.Max(ro x, 2, 4, 1, sp y, sp idx)
    Expect.isTrue (Double.IsNaN y.[0]) "Double.IsNaN y.[0]"
    Expect.equal (idx.[0]) 1L "idx.[0]"
    Expect.equal (y.[1]) 2.0 "y.[1]"
    Expect.equal (idx.[1]) 0L "idx.[1]"
    Reduce.Min(ro x, 2, 4, 1, sp y, sp idx)
    Expect.isTrue (Double.IsNaN y.[0]) "Double.IsNaN y.[0]"
    Expect.equal (idx.[0]) 1L "idx.[0]"
    Expect.equal (y.[1]) 0.0 "y.[1]"
    Expect.equal (idx.[1]) 2L "idx.[1]"
    // view [1, 4, 2]: column 0 = 1, 5, 2, 0 ; column 1 = nan, nan, 2, 2
    Reduce.Max(ro x, 1, 4, 2, sp y, sp idx)
    Expect.equal (y.[0]) 5.0 "y.[0]"
    Expect.equal (idx.[0]) 1L "idx.[0]"
    Expect.isTrue (Double.IsNaN y.[1]) "Double.IsNaN y.[1]"
    Expect.equal (idx.[1]) 0L "idx.[1]"
    Reduce.Min(ro x, 1, 4, 2, sp y, Span<int64>.Empty)
    Expect.equal (y.[0]) 0.0 "y.[0]"
    Expect.isTrue (Double.IsNaN y.[1]) "Double.IsNaN y.[1]"

let ``Reduce empty axis: Sum gives zero, Max and Min throw`` () =
    let y = [| 9.0; 9.0 |]
    Reduce.Sum(ReadOnlySpan<float>.Empty, 2, 0, 1, sp y)
    Expect.equal y ([| 0.0; 0.0 |]) "y"

    let ex =
        Expects.throws<ArgumentException> "Reduce.Max(ReadOnlySpan<float>.Empty," (fun () ->
            Reduce.Max(ReadOnlySpan<float>.Empty, 2, 0, 1, sp y, Span<int64>.Empty))

    Expect.stringContains ex.Message "Max" "ex.Message"

    let ex2 =
        Expects.throws<ArgumentException> "Reduce.Min(ReadOnlySpan<float>.Empty," (fun () ->
            Reduce.Min(ReadOnlySpan<float>.Empty, 1, 0, 2, sp y, Span<int64>.Empty))

    Expect.stringContains ex2.Message "Min" "ex2.Message"

let ``Reduce large: sum over dim 0 and SumAll take the threaded paths`` () =
    let outer, n, inner = 1, 300, 1000
    let x = Array.init (outer * n * inner) (fun i -> float (i % 7))
    let y = Array.zeroCreate inner
    Reduce.Sum(ro x, outer, n, inner, sp y)

    for i in 0 .. inner - 1 do
        let mutable s = 0.0

        for j in 0 .. n - 1 do
            s <- s + x.[j * inner + i]

        Expect.equal (y.[i]) s "y.[i]"

    let rows = Array.zeroCreate 300
    Reduce.Sum(ro x, 300, 1000, 1, sp rows)

    for r in 0..299 do
        Expect.equal (rows.[r]) (Array.sum x.[r * 1000 .. r * 1000 + 999]) "rows.[r]"

    Expect.equal (Reduce.SumAll(ro x)) (Array.sum x) "Reduce.SumAll(ro x)"
    Expect.equal (Reduce.SumAll(ReadOnlySpan<float32>.Empty)) 0.0f "Reduce.SumAll(ReadOnlySpan<float32>.Empty)"

// ---------- layout ----------

let ``StridedCopy permutes, slices with negative steps and expands`` () =
    // x: shape [2,3,4]; permute to [4,2,3] (dims 2,0,1).
    let x = Array.init 24 float
    let y = Array.zeroCreate 24
    Layout.StridedCopy(ro x, 0L, ro [| 1; 12; 4 |], sp y, ro [| 4; 2; 3 |])

    for k in 0..3 do
        for i in 0..1 do
            for j in 0..2 do
                Expect.equal (y.[(k * 2 + i) * 3 + j]) (x.[i * 12 + j * 4 + k]) "y.[(k * 2 + i) * 3 + j]"
    // x[1, ::-2, 3:0:-1] of shape [2,3,4] -> shape [2, 3]: offset 1*12 + 2*4 + 3, strides [-8, -1].
    let z = Array.zeroCreate 6
    Layout.StridedCopy(ro x, 23L, ro [| -8; -1 |], sp z, ro [| 2; 3 |])
    Expect.equal z ([| 23.0; 22.0; 21.0; 15.0; 14.0; 13.0 |]) "z"
    // Expand a [3] vector to [2,3] with stride 0, and a large transpose through the threaded path.
    let e = Array.zeroCreate 6
    Layout.StridedCopy(ro [| 1.0; 2.0; 3.0 |], 0L, ro [| 0; 1 |], sp e, ro [| 2; 3 |])
    Expect.equal e ([| 1.0; 2.0; 3.0; 1.0; 2.0; 3.0 |]) "e"
    let big = Array.init (300 * 500) float32
    let bt = Array.zeroCreate (300 * 500)
    Layout.StridedCopy(ro big, 0L, ro [| 1; 500 |], sp bt, ro [| 500; 300 |])

    for r in 0..499 do
        for c in 0..299 do
            if bt.[r * 300 + c] <> big.[c * 500 + r] then
                failwithf "transpose at %d,%d" r c
    // Batched transpose [3,5,6] -> [3,6,5] from a negative-step view along the batch dim.
    let xb = Array.init 90 float
    let yb = Array.zeroCreate 90
    Layout.StridedCopy(ro xb, 60L, ro [| -30; 1; 6 |], sp yb, ro [| 3; 6; 5 |])

    for b in 0..2 do
        for i in 0..5 do
            for j in 0..4 do
                Expect.equal (yb.[(b * 6 + i) * 5 + j]) (xb.[(2 - b) * 30 + j * 6 + i]) "yb.[(b * 6 + i) * 5 + j]"

    let ex =
        Expects.throws<ArgumentException> "Layout.StridedCopy(ro x, 20L, ro [| 1; 4 |], sp z," (fun () ->
            Layout.StridedCopy(ro x, 20L, ro [| 1; 4 |], sp z, ro [| 2; 3 |]))

    Expect.stringContains ex.Message "StridedCopy" "ex.Message"

let ``StridedAssign writes into a strided view (cat along dim 1)`` () =
    // y: [2,5]; write a [2,2] block at columns 3..4 and a [2,3] block at 0..2.
    let y = Array.zeroCreate 10
    Layout.StridedAssign(ro [| 1.0; 2.0; 3.0; 4.0 |], sp y, 3L, ro [| 5; 1 |], ro [| 2; 2 |])
    Layout.StridedAssign(ro [| 5.0; 6.0; 7.0; 8.0; 9.0; 10.0 |], sp y, 0L, ro [| 5; 1 |], ro [| 2; 3 |])
    Expect.equal y ([| 5.0; 6.0; 7.0; 1.0; 2.0; 8.0; 9.0; 10.0; 3.0; 4.0 |]) "y"

let ``StridedAccumulate with stride 0 sums repeated positions`` () =
    // Backward of expand [3] -> [4,3]: y[j] += sum_i x[i,j].
    let x = Array.init 12 float
    let y = [| 100.0; 200.0; 300.0 |]
    Layout.StridedAccumulate(ro x, sp y, 0L, ro [| 0; 1 |], ro [| 4; 3 |])
    Expect.equal y ([| 118.0; 222.0; 326.0 |]) "y"
    // Backward of expand [4,1] -> [4,3] (stride 0 innermost), float32.
    let yf = Array.zeroCreate<float32> 4
    Layout.StridedAccumulate(ro (Array.map float32 x), sp yf, 0L, ro [| 1; 0 |], ro [| 4; 3 |])
    Expect.equal yf ([| 3.0f; 12.0f; 21.0f; 30.0f |]) "yf"
    // Backward of a step-2 slice y[1::2] of a length-7 vector.
    let z = Array.create 7 1.0
    Layout.StridedAccumulate(ro [| 10.0; 20.0; 30.0 |], sp z, 1L, ro [| 2 |], ro [| 3 |])
    Expect.equal z ([| 1.0; 11.0; 1.0; 21.0; 1.0; 31.0; 1.0 |]) "z"

// ---------- indexing ----------

let ``Gather and ScatterAdd match loops for every dim`` () =
    let rng = Random(31)

    for trial in 0..59 do
        let rank = 1 + trial % 3
        let xShape = Array.init rank (fun _ -> rng.Next(1, 5))
        let dim = rng.Next(rank)

        let iShape =
            xShape
            |> Array.mapi (fun d s -> if d = dim then rng.Next(1, 6) else rng.Next(1, s + 1))

        let x = Array.init (count xShape) (fun _ -> rng.NextDouble())
        let index = Array.init (count iShape) (fun _ -> int64 (rng.Next(xShape.[dim])))
        let y = Array.zeroCreate (count iShape)
        Indexing.Gather(ro x, ro xShape, dim, ro index, ro iShape, sp y)
        let xs = contiguous xShape

        for p in 0 .. y.Length - 1 do
            let idx = unravel iShape p
            idx.[dim] <- int index.[p]
            Expect.equal (y.[p]) (x.[offsetOf idx xs]) "y.[p]"
        // ScatterAdd with a src larger than index.
        let srcShape = iShape |> Array.map (fun s -> s + rng.Next(0, 2))
        let src = Array.init (count srcShape) (fun _ -> float (rng.Next(-5, 6)))
        let target = Array.init (count xShape) (fun _ -> float (rng.Next(-5, 6)))
        let expected = Array.copy target
        let ss = contiguous srcShape

        for p in 0 .. index.Length - 1 do
            let idx = unravel iShape p
            let v = src.[offsetOf idx ss]
            idx.[dim] <- int index.[p]
            expected.[offsetOf idx xs] <- expected.[offsetOf idx xs] + v

        Indexing.ScatterAdd(sp target, ro xShape, dim, ro index, ro iShape, ro src, ro srcShape)
        Expect.equal target expected "target"

let ``IndexSelect and IndexAdd match loops`` () =
    let rng = Random(41)

    for trial in 0..39 do
        let rank = 1 + trial % 3
        let shape = Array.init rank (fun _ -> rng.Next(1, 5))
        let dim = rng.Next(rank)
        let index = Array.init (rng.Next(0, 6)) (fun _ -> int64 (rng.Next(shape.[dim])))
        let yShape = Array.copy shape
        yShape.[dim] <- index.Length
        let x = Array.init (count shape) (fun _ -> float32 (rng.Next(-9, 10)))
        let y = Array.zeroCreate (count yShape)
        Indexing.IndexSelect(ro x, ro shape, dim, ro index, sp y)
        let xs = contiguous shape

        for p in 0 .. y.Length - 1 do
            let idx = unravel yShape p
            idx.[dim] <- int index.[idx.[dim]]
            Expect.equal (y.[p]) (x.[offsetOf idx xs]) "y.[p]"

        let acc = Array.copy x
        let expected = Array.copy x

        for p in 0 .. y.Length - 1 do
            let idx = unravel yShape p
            idx.[dim] <- int index.[idx.[dim]]
            expected.[offsetOf idx xs] <- expected.[offsetOf idx xs] + y.[p]

        Indexing.IndexAdd(sp acc, ro shape, dim, ro index, ro y)
        Expect.equal acc expected "acc"

let ``Out-of-range indices throw ArgumentOutOfRangeException naming the op and value`` () =
    let x = Array.init 6 float
    let y = Array.zeroCreate 2

    let check (name: string) (bad: string) (f: unit -> unit) =
        let ex = Expects.throws<ArgumentOutOfRangeException> "f" f
        Expect.stringContains ex.Message name "ex.Message"
        Expect.stringContains ex.Message bad "ex.Message"

    check "Gather" "7" (fun () -> Indexing.Gather(ro x, ro [| 2; 3 |], 1, ro [| 0L; 7L |], ro [| 2; 1 |], sp y))
    check "Gather" "-1" (fun () -> Indexing.Gather(ro x, ro [| 2; 3 |], 1, ro [| -1L; 0L |], ro [| 2; 1 |], sp y))

    check "ScatterAdd" "3" (fun () ->
        Indexing.ScatterAdd(sp x, ro [| 2; 3 |], 0, ro [| 3L; 0L |], ro [| 1; 2 |], ro [| 1.0; 1.0 |], ro [| 1; 2 |]))

    check "IndexSelect" "-2" (fun () ->
        Indexing.IndexSelect(ro x, ro [| 2; 3 |], 0, ro [| -2L |], sp (Array.zeroCreate 3)))

    check "IndexAdd" "5" (fun () -> Indexing.IndexAdd(sp x, ro [| 2; 3 |], 1, ro [| 5L |], ro [| 1.0; 1.0 |]))

    let ex =
        Expects.throws<ArgumentException> "Indexing.Gather(ro x, ro [| 2; 3 |], 1" (fun () ->
            Indexing.Gather(ro x, ro [| 2; 3 |], 1, ro [| 0L |], ro [| 1 |], sp y))

    Expect.stringContains ex.Message "Gather" "ex.Message"

let tests =
    testList
        "ElementwiseKernel"
        [
            testCase
                "Binary and Compare broadcast over random shapes (float32, float64, int32, int64)"
                ``Binary and Compare broadcast over random shapes (float32, float64, int32, int64)``
            testCase
                "Binary large sizes take the threaded paths and stay exact"
                ``Binary large sizes take the threaded paths and stay exact``
            testCase "Binary Max and Min propagate NaN" ``Binary Max and Min propagate NaN``
            testCase
                "Integer Div by zero and negative Pow exponent throw naming the op"
                ``Integer Div by zero and negative Pow exponent throw naming the op``
            testCase "Binary rejects mismatched ranks and lengths" ``Binary rejects mismatched ranks and lengths``
            testCase "Where broadcasts condition and both branches" ``Where broadcasts condition and both branches``
            testCase "Logical ops, Convert, FromBool, ToBool" ``Logical ops, Convert, FromBool, ToBool``
            testCase "AddInPlace and Fill" ``AddInPlace and Fill``
            testCase
                "Unary ops match System.Math (float64 and float32, including in place)"
                ``Unary ops match System.Math (float64 and float32, including in place)``
            testCase
                "Unary special cases: NaN sign, softplus extremes, log1p and expm1 for tiny x"
                ``Unary special cases: NaN sign, softplus extremes, log1p and expm1 for tiny x``
            testCase "Erf matches known values and is odd" ``Erf matches known values and is odd``
            testCase
                "Reduce Sum Max Min match loops over random views"
                ``Reduce Sum Max Min match loops over random views``
            testCase
                "Reduce Max and Min propagate NaN with its first index"
                ``Reduce Max and Min propagate NaN with its first index``
            testCase
                "Reduce empty axis: Sum gives zero, Max and Min throw"
                ``Reduce empty axis: Sum gives zero, Max and Min throw``
            testCase
                "Reduce large: sum over dim 0 and SumAll take the threaded paths"
                ``Reduce large: sum over dim 0 and SumAll take the threaded paths``
            testCase
                "StridedCopy permutes, slices with negative steps and expands"
                ``StridedCopy permutes, slices with negative steps and expands``
            testCase
                "StridedAssign writes into a strided view (cat along dim 1)"
                ``StridedAssign writes into a strided view (cat along dim 1)``
            testCase
                "StridedAccumulate with stride 0 sums repeated positions"
                ``StridedAccumulate with stride 0 sums repeated positions``
            testCase
                "Gather and ScatterAdd match loops for every dim"
                ``Gather and ScatterAdd match loops for every dim``
            testCase "IndexSelect and IndexAdd match loops" ``IndexSelect and IndexAdd match loops``
            testCase
                "Out-of-range indices throw ArgumentOutOfRangeException naming the op and value"
                ``Out-of-range indices throw ArgumentOutOfRangeException naming the op and value``
        ]
