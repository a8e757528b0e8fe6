/// Shared machinery of the gradient tests: FsCheck generators for shapes, broadcast-compatible shape
/// pairs and domain-restricted Float64 inputs, and a checker that compares reverse-mode gradients and
/// forward-mode tangents with central finite differences.
///
/// Every expected value here is computed either by finite differences of the op's *value* or with plain
/// System.Math on float arrays; nothing is derived from the AD code under test.
module FunctionalNets.Tests.GradCheck

open System
open FsCheck
open FsCheck.FSharp
open FunctionalNets

let f64 = DType.Float64

// ---------------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------------

/// Where the values of a generated input lie. Domains keep finite differences meaningful: away from
/// kinks, ties and the edges of an op's domain (by construction, so no case is ever rejected); except OnKinks and
/// Tied, which put values exactly on kinks and ties for the tests of the ops' conventions there (KinkTieTests.fs).
type Domain =
    /// Standard normal.
    | Real
    /// Uniform in [0.3, 2.8] (log, sqrt, rsqrt, reciprocal, pow base).
    | Positive
    /// Normal, pushed at least 0.1 away from 0 (relu, abs, leakyRelu, elu, sign, division).
    | NonZero
    /// At least 0.1 away from every multiple of 0.5 (clamp bounds, floor/ceil/round, kinks at 0).
    | OffGrid
    /// In [0.1, 0.2] modulo 0.5: paired with GridHigh, |a - b| >= 0.1 everywhere (maximum/minimum).
    | GridLow
    /// In [0.3, 0.4] modulo 0.5.
    | GridHigh
    /// All elements distinct, pairwise at least 0.2 apart (max/min reductions: no ties).
    | Distinct
    /// Uniform in [lo, hi].
    | Uniform of lo: float * hi: float
    /// Some elements exactly on one of the kinks (at least one element), the others standard normal at least 0.1
    /// away from every kink (where finite differences hold): the points where an op's documented subgradient applies.
    | OnKinks of kinks: float list
    /// -1, 0 or 1: equal elements everywhere, so extremes tie.
    | Tied

/// A generated input: its shape, its domain and the seed its values come from (printed by FsCheck in a
/// counterexample, so a failure is reproducible from the message alone).
type Input =
    {
        Shape: int[]
        Domain: Domain
        Seed: int
    }

    override i.ToString() =
        sprintf "%A/%A/seed %d" i.Shape i.Domain i.Seed

let private normal (rng: Random) =
    // Box-Muller; 1 - u keeps the log argument in (0, 1].
    let u1 = 1.0 - rng.NextDouble()
    let u2 = rng.NextDouble()
    sqrt (-2.0 * log u1) * cos (2.0 * Math.PI * u2)

/// The values of an input as a flat row-major array (plain .NET random numbers, not the library's RNG).
let valuesOf (domain: Domain) (n: int) (seed: int) : float[] =
    let rng = Random(seed)

    match domain with
    | Real -> Array.init n (fun _ -> normal rng)
    | Positive -> Array.init n (fun _ -> 0.3 + 2.5 * rng.NextDouble())
    | NonZero ->
        Array.init n (fun _ ->
            let x = normal rng
            if x >= 0.0 then x + 0.1 else x - 0.1)
    | OffGrid -> Array.init n (fun _ -> 0.5 * float (rng.Next(-6, 6)) + 0.1 + 0.3 * rng.NextDouble())
    | GridLow -> Array.init n (fun _ -> 0.5 * float (rng.Next(-4, 4)) + 0.1 + 0.1 * rng.NextDouble())
    | GridHigh -> Array.init n (fun _ -> 0.5 * float (rng.Next(-4, 4)) + 0.3 + 0.1 * rng.NextDouble())
    | Distinct ->
        let perm = Array.init n id

        for i in n - 1 .. -1 .. 1 do
            let j = rng.Next(i + 1)
            let t = perm[i]
            perm[i] <- perm[j]
            perm[j] <- t

        perm |> Array.map (fun p -> 0.3 * float (p - n / 2) + 0.1 * rng.NextDouble())
    | Uniform(lo, hi) -> Array.init n (fun _ -> lo + (hi - lo) * rng.NextDouble())
    | OnKinks kinks ->
        let kinks = Array.ofList kinks
        let kink () = kinks[rng.Next kinks.Length]

        let rec away () =
            let x = normal rng

            if kinks |> Array.forall (fun k -> abs (x - k) >= 0.1) then
                x
            else
                away ()

        let xs = Array.init n (fun _ -> if rng.Next 3 = 0 then kink () else away ())

        if n > 0 then
            xs[rng.Next n] <- kink ()

        xs
    | Tied -> Array.init n (fun _ -> float (rng.Next(-1, 2)))

let numelOf (shape: int[]) = Array.fold (*) 1 shape

/// A Float64 tensor from values and a shape.
let tensorOf (shape: int[]) (values: float[]) = Tensor.ofArray (values, shape)

/// The Float64 tensor an input describes.
let tensorOfInput (i: Input) =
    tensorOf i.Shape (valuesOf i.Domain (numelOf i.Shape) i.Seed)

type Input with
    member i.Tensor = tensorOfInput i

/// Row-major values of a tensor as float[].
let values (t: Tensor) = Tensor.toFloatArray t

/// A bool tensor (as used by where) from a seed: each element true with probability 1/2.
let boolTensor (shape: int[]) (seed: int) =
    let rng = Random(seed)
    Tensor.ofArray (Array.init (numelOf shape) (fun _ -> rng.Next 2 = 1), shape)

/// An Int64 tensor from values.
let int64Tensor (shape: int[]) (values: int[]) =
    Tensor.ofArray (Array.map int64 values, shape)

// ---------------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------------

module Gens =
    /// A dimension size, 1..4.
    let dim = Gen.choose (1, 4)

    /// A shape of exactly rank r.
    let shapeOfRank (r: int) = Gen.arrayOfLength r dim

    /// A shape of rank lo..hi.
    let shapeRank (lo: int) (hi: int) =
        gen {
            let! r = Gen.choose (lo, hi)
            return! shapeOfRank r
        }

    /// A shape of rank 0..3 with dims 1..4.
    let shape = shapeRank 0 3

    /// A seed.
    let seed = Gen.choose (0, Int32.MaxValue - 1)

    /// An input of the given shape and domain.
    let inputOf (domain: Domain) (shape: int[]) =
        gen {
            let! s = seed

            return
                {
                    Shape = shape
                    Domain = domain
                    Seed = s
                }
        }

    /// An input of a random shape of rank lo..hi.
    let inputRank (domain: Domain) (lo: int) (hi: int) =
        gen {
            let! sh = shapeRank lo hi
            return! inputOf domain sh
        }

    /// An input of a random shape (rank 0..3).
    let input (domain: Domain) = inputRank domain 0 3

    /// A shape that broadcasts to `full`: some leading dims dropped and some dims set to 1.
    let broadcastSideOf (full: int[]) =
        gen {
            let! drop = Gen.frequency [ (2, Gen.constant 0); (1, Gen.choose (0, full.Length)) ]
            let kept = full[drop..]

            let! ones =
                Gen.arrayOfLength kept.Length (Gen.frequency [ (3, Gen.constant false); (1, Gen.constant true) ])

            return Array.map2 (fun d one -> if one then 1 else d) kept ones
        }

    /// Two shapes that broadcast together: each is derived from a common full shape by dropping leading
    /// dims and setting some dims to 1 (either side, or both).
    let broadcastPair =
        gen {
            let! full = shape
            let! a = broadcastSideOf full
            let! b = broadcastSideOf full
            return a, b
        }

    /// Three mutually broadcast-compatible shapes.
    let broadcastTriple =
        gen {
            let! full = shape
            let! a = broadcastSideOf full
            let! b = broadcastSideOf full
            let! c = broadcastSideOf full
            return a, b, c
        }

    /// A random subset of 0..rank-1 (each dim written either non-negative or negative), maybe empty.
    let dimSubset (rank: int) =
        gen {
            let! ds = Gen.subListOf [ 0 .. rank - 1 ]
            let! negs = Gen.listOfLength ds.Length (Gen.elements [ false; true ])
            let! order = Gen.shuffle (List.zip ds negs)
            return order |> Array.map (fun (d, neg) -> if neg then d - rank else d)
        }

    /// A dim of a tensor of rank r >= 1, non-negative or negative.
    let dimOf (rank: int) = Gen.choose (-rank, rank - 1)

    /// A random permutation of 0..r-1.
    let permutation (r: int) = Gen.shuffle [| 0 .. r - 1 |]

    let bool = Gen.elements [ false; true ]

    /// Float32 or Float64.
    let floatType = Gen.elements [ DType.Float32; DType.Float64 ]

// ---------------------------------------------------------------------------------------------------
// Running properties
// ---------------------------------------------------------------------------------------------------

/// Default number of cases per property.
let defaultCases = 30

/// An FsCheck property with the number of cases it runs: a test list turns it into an Expecto.FsCheck property with
/// `property`, which prints the seed, the shrunk case and the line that replays it when the property fails.
type CheckedProperty = { Cases: int; Property: Property }

/// body on n generated cases (failing when body throws), checked once a list's `property` runs it.
let forAllN (n: int) (g: Gen<'a>) (body: 'a -> unit) =
    {
        Cases = n
        Property = Prop.forAll (Arb.fromGen g) body
    }

/// forAllN with the default number of cases.
let forAll (g: Gen<'a>) (body: 'a -> unit) = forAllN defaultCases g body

/// All the properties, on each case of the largest of their numbers of cases: what one test of several checks.
let allOf (ps: CheckedProperty list) =
    {
        Cases = ps |> List.map (fun p -> p.Cases) |> List.max
        Property = ps |> List.map (fun p -> p.Property) |> List.reduce (.&.)
    }

/// The Expecto test named `name` that checks the property `make` builds (building it only makes generators).
let property (name: string) (make: unit -> CheckedProperty) =
    let p = make ()

    Expecto.ExpectoFsCheck.testPropertyWithConfig
        { Expecto.FsCheckConfig.defaultConfig with
            maxTest = p.Cases
        }
        name
        p.Property

// ---------------------------------------------------------------------------------------------------
// Comparing
// ---------------------------------------------------------------------------------------------------

/// Finite-difference step.
let eps = 1e-6
/// Absolute tolerance.
let atol = 1e-6
/// Relative tolerance.
let rtol = 1e-5

/// A flat index written as a multi-index of shape.
let multiIndex (shape: int[]) (flat: int) =
    if shape.Length = 0 then
        "[]"
    else
        let idx = Array.zeroCreate shape.Length
        let mutable r = flat

        for d in shape.Length - 1 .. -1 .. 0 do
            idx[d] <- r % shape[d]
            r <- r / shape[d]

        "[" + String.Join(", ", idx) + "]"

/// Raises unless actual matches expected elementwise within atol + rtol * |expected|; the message names
/// what was compared, the context (op, shapes), the worst element and how many elements are off.
let assertCloseTol
    (atol: float)
    (rtol: float)
    (what: string)
    (context: string)
    (shape: int[])
    (expected: float[])
    (actual: float[])
    =
    if expected.Length <> actual.Length then
        failwithf "%s: %s\n  expected %d elements, got %d" what context expected.Length actual.Length

    match expected |> Array.tryFindIndex (fun e -> Double.IsNaN e || Double.IsInfinity e) with
    | Some i ->
        failwithf
            "%s: %s\n  the reference value at %s is %g: the test's input domain is wrong"
            what
            context
            (multiIndex shape i)
            expected[i]
    | None -> ()

    let mutable worst = -1
    let mutable worstExcess = 0.0
    let mutable bad = 0

    for i in 0 .. expected.Length - 1 do
        let e, a = expected[i], actual[i]
        let tol = atol + rtol * abs e
        let err = abs (a - e)
        // NaN in actual fails too (err is NaN: not <= tol).
        if not (err <= tol) then
            bad <- bad + 1

            let excess =
                if Double.IsNaN err then
                    Double.PositiveInfinity
                else
                    err / tol

            if worst < 0 || excess > worstExcess then
                worst <- i
                worstExcess <- excess

    if bad > 0 then
        let e, a = expected[worst], actual[worst]

        failwithf
            "%s: %s\n  %d of %d elements differ; worst at %s (flat %d): expected %.12g, got %.12g (|diff| %.3g > tol %.3g)\n  expected %A\n  actual   %A"
            what
            context
            bad
            expected.Length
            (multiIndex shape worst)
            worst
            e
            a
            (abs (a - e))
            (atol + rtol * abs e)
            expected
            actual

/// assertCloseTol with the default tolerances.
let assertClose what context shape expected actual =
    assertCloseTol atol rtol what context shape expected actual

/// Raises unless the two shapes are equal.
let assertShape (what: string) (context: string) (expected: int[]) (actual: int[]) =
    if expected <> actual then
        failwithf "%s: %s\n  expected shape %A, got %A" what context expected actual

// ---------------------------------------------------------------------------------------------------
// The gradient checker
// ---------------------------------------------------------------------------------------------------

let private shapeStr (t: Tensor) = sprintf "%A" (t.Shape.ToArray())

/// Standard normal Float64 tensor from a .NET Random (the projection weights and tangent directions).
let randnOf (rng: Random) (shape: int[]) =
    tensorOf shape (Array.init (numelOf shape) (fun _ -> normal rng))

/// Checks every derivative of f at xs against central finite differences of f's value:
/// - reverse mode: with L(xs) = sum(f(xs) * w) for a random weight w of f's output shape, the gradient
///   of L with respect to each input (Diff.valueAndGrad for one input, Diff.valueAndGradTree for
///   several) equals
///   Diff.numGrad eps L, computed per input, element by element; and Diff.vjp f x w gives the same;
/// - forward mode: for random tangents v (one per input), the tangent of Diff.jvp (Diff.jvpTree for
///   several inputs) equals (f(x + eps v) - f(x - eps v)) / 2 eps, element by element over the whole
///   output (stronger than the projected comparison); and its primal equals f(xs).
/// `seed` fixes w and v.
let checkGradsN (name: string) (f: Tensor list -> Tensor) (xs: Tensor list) (seed: int) =
    let rng = Random(seed ^^^ 0x5EED)
    let y = f xs
    let yShape = y.Shape.ToArray()
    let yv = values y

    let ctx =
        sprintf "%s with inputs %s -> output %A" name (xs |> List.map shapeStr |> String.concat ", ") yShape

    if yv |> Array.exists (fun v -> Double.IsNaN v || Double.IsInfinity v) then
        failwithf "%s: the value is not finite (%A): the test's input domain is wrong" ctx yv

    let w = randnOf rng yShape
    let loss (xs: Tensor list) = Tensor.sum (f xs * w)
    let single = xs.Length = 1

    let tree (ts: Tensor list) =
        Node(ts |> List.mapi (fun i t -> sprintf "x%d" i, Leaf t))

    // Reverse mode.
    let lossValue = values (loss xs)

    let grads =
        if single then
            let value, g = Diff.valueAndGrad (fun x -> loss [ x ]) xs.Head
            assertClose "Diff.valueAndGrad value" ctx [||] lossValue (values value)
            [ g ]
        else
            let value, gs = Diff.valueAndGradTree (fun t -> loss (PTree.values t)) (tree xs)
            assertClose "Diff.valueAndGradTree value" ctx [||] lossValue (values value)
            PTree.values gs

    xs
    |> List.iteri (fun i x ->
        let g = grads[i]
        let what = sprintf "reverse-mode gradient wrt input %d" i
        assertShape what ctx (x.Shape.ToArray()) (g.Shape.ToArray())

        let numeric =
            Diff.numGrad eps (fun xi -> loss (xs |> List.mapi (fun j xj -> if j = i then xi else xj))) x

        assertClose what ctx (x.Shape.ToArray()) (values numeric) (values g))

    // vjp with the same cotangent must agree with the gradient of the projection (already checked
    // against finite differences above).
    if single then
        let value, g = Diff.vjp (fun x -> f [ x ]) xs.Head w
        assertClose "Diff.vjp value" ctx yShape yv (values value)

        assertClose
            "Diff.vjp vs finite-difference-checked gradient"
            ctx
            (xs.Head.Shape.ToArray())
            (values grads.Head)
            (values g)
    else
        let value, gs = Diff.vjpTree (fun t -> f (PTree.values t)) (tree xs) w
        assertClose "Diff.vjpTree value" ctx yShape yv (values value)

        List.zip grads (PTree.values gs)
        |> List.iteri (fun i (g, gv) ->
            assertClose
                (sprintf "Diff.vjpTree vs finite-difference-checked gradient, input %d" i)
                ctx
                (g.Shape.ToArray())
                (values g)
                (values gv))

    // Forward mode.
    let vs = xs |> List.map (fun x -> randnOf rng (x.Shape.ToArray()))

    let value, tangent =
        if single then
            Diff.jvp (fun x -> f [ x ]) xs.Head vs.Head
        else
            Diff.jvpTree (fun t -> f (PTree.values t)) (tree xs) (tree vs)

    assertShape "forward-mode tangent shape" ctx yShape (tangent.Shape.ToArray())
    assertClose "Diff.jvp value" ctx yShape yv (values value)

    let shifted (sign: float) =
        List.map2
            (fun (x: Tensor) (v: Tensor) ->
                tensorOf (x.Shape.ToArray()) (Array.map2 (fun a b -> a + sign * eps * b) (values x) (values v)))
            xs
            vs
        |> f
        |> values

    let up, down = shifted 1.0, shifted -1.0
    let fd = Array.map2 (fun u d -> (u - d) / (2.0 * eps)) up down
    assertClose "forward-mode tangent vs directional finite difference" ctx yShape fd (values tangent)

/// checkGradsN for a function of one tensor.
let checkGrad (name: string) (f: Tensor -> Tensor) (x: Tensor) (seed: int) =
    checkGradsN
        name
        (function
        | [ x ] -> f x
        | _ -> invalidOp "unreachable")
        [ x ]
        seed

/// checkGradsN for a function of two tensors.
let checkGrad2 (name: string) (f: Tensor -> Tensor -> Tensor) (a: Tensor) (b: Tensor) (seed: int) =
    checkGradsN
        name
        (function
        | [ a; b ] -> f a b
        | _ -> invalidOp "unreachable")
        [ a; b ]
        seed

// ---------------------------------------------------------------------------------------------------
// The checker's own tests: it must reject wrong derivative rules, in either mode, by small margins.
// ---------------------------------------------------------------------------------------------------

/// sin, with its reverse and/or forward rule scaled by (1 + err): a subtly wrong op.
let private wrongSin (jvpErr: float) (vjpErr: float) (x: Tensor) =
    TensorCore.apply
        {
            Name = "wrongSin"
            Raw = fun r -> r[0].Unary UnaryKind.Sin
            Jvp = fun xs _ _ t -> Tensor.cos xs[0] * (1.0 + jvpErr) * t
            Vjp = fun xs _ _ g -> Tensor.cos xs[0] * (1.0 + vjpErr) * g
        }
        [| x |]

/// a * b whose adjoint for b is wrong only where b was broadcast (it takes one element, not the sum).
let private mulForgettingBroadcast (a: Tensor) (b: Tensor) =
    TensorCore.apply
        {
            Name = "badMul"
            Raw = fun r -> r[0].Binary(BinaryKind.Mul, r[1])
            Jvp = fun xs y i t -> TensorCore.expand y.Shape (t * xs[1 - i])
            Vjp =
                fun xs _ i g ->
                    let full = g * xs[1 - i]

                    if i = 0 then
                        TensorCore.sumToShape xs[0].Shape full
                    else
                        // Wrong: the first slice instead of the sum over the broadcast dim.
                        Tensor.slice (full, 0, 0, 1)
        }
        [| a; b |]

let private throwsWith (fragment: string) (f: unit -> unit) =
    let ok =
        try
            f ()
            false
        with e ->
            if not (e.Message.Contains fragment) then
                failwithf "expected a failure mentioning '%s', got: %s" fragment e.Message

            true

    if not ok then
        failwith "the checker accepted a wrong derivative"

let ``GradCheck: accepts a correct op and rejects wrong reverse or forward rules`` () =
    let x = tensorOf [| 2; 3 |] (valuesOf Real 6 7)
    checkGrad "sin" (wrongSin 0.0 0.0) x 1
    throwsWith "reverse-mode gradient" (fun () -> checkGrad "sin, reverse rule off by 1e-3" (wrongSin 0.0 1e-3) x 1)
    throwsWith "forward-mode tangent" (fun () -> checkGrad "sin, forward rule off by 1e-3" (wrongSin 1e-3 0.0) x 1)

let ``GradCheck: rejects an adjoint that does not sum over a broadcast dim`` () =
    let a = tensorOf [| 3; 2 |] (valuesOf Real 6 3)
    let b = tensorOf [| 1; 2 |] (valuesOf Real 2 4)
    throwsWith "reverse-mode gradient wrt input 1" (fun () -> checkGrad2 "mul" mulForgettingBroadcast a b 1)

let ``GradCheck: forAll reports the failing case`` () =
    let failing =
        property "always fails" (fun () -> forAllN 5 (Gens.input Real) (fun _ -> failwith "boom"))

    let quiet =
        { Expecto.Impl.ExpectoConfig.defaultConfig with
            printer = Expecto.Impl.TestPrinters.silent
        }

    match Expecto.Impl.evalTests quiet failing |> Async.RunSynchronously with
    | [ (_, summary) ] ->
        match summary.result with
        | Expecto.Impl.TestResult.Failed message ->
            // FsCheck's report as Expecto.FsCheck prints it: the body's exception, the case and the seed.
            for fragment in [ "boom"; "Parameters"; "seed" ] do
                if not (message.Contains fragment) then
                    failwithf "the report of a failing property lacks '%s': %s" fragment message
        | other -> failwithf "a property whose body throws should fail, got %A" other
    | other -> failwithf "expected one test, got %d" other.Length

let tests =
    Expecto.Tests.testList
        "GradCheck"
        [
            Expecto.Tests.testCase
                "GradCheck: accepts a correct op and rejects wrong reverse or forward rules"
                ``GradCheck: accepts a correct op and rejects wrong reverse or forward rules``
            Expecto.Tests.testCase
                "GradCheck: rejects an adjoint that does not sum over a broadcast dim"
                ``GradCheck: rejects an adjoint that does not sum over a broadcast dim``
            Expecto.Tests.testCase
                "GradCheck: forAll reports the failing case"
                ``GradCheck: forAll reports the failing case``
        ]
