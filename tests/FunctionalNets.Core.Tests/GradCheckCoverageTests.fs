/// What the gradient properties of GradientPropertyTests.fs never generate: Float32 inputs (checked with float32
/// tolerances), tensors of more than 64 elements and empty tensors; and, for every gradient and tangent, its dtype,
/// which must be its input's (a Float64 gradient of a Float32 parameter silently doubles an optimizer's memory).
/// Expected values are central differences computed here, in Float64, from the op's value alone, or, for empty
/// tensors, the definition (a sum over nothing is 0).
module FunctionalNets.Tests.GradCheckCoverageTests

open Expecto
open FsCheck
open FsCheck.FSharp
open FunctionalNets
open FunctionalNets.Testing
open FunctionalNets.Tests.GradCheck

/// Single-input ops by name, with the domain their inputs come from.
let private ops: (string * (Domain * (Tensor -> Tensor))) list =
    [
        "sin", (Real, Tensor.sin)
        "exp", (Real, Tensor.exp)
        "tanh", (Real, Tensor.tanh)
        "log", (Positive, Tensor.log)
        "softmax over the last dim", (Real, (fun x -> Tensor.softmax (x, -1)))
        "x * x summed over dim 0", (Real, (fun x -> Tensor.sum (x * x, 0)))
        "x times its own sum over the last dim", (Real, (fun x -> x * Tensor.sum (x, -1, true)))
    ]

let private opNamed name =
    List.find (fun (n, _) -> n = name) ops |> snd

/// d/dx_i of sum(f(x) * w) by central differences of f's value in Float64, one element at a time.
let private centralGrad (f: Tensor -> Tensor) (shape: int[]) (x: float[]) (w: float[]) =
    let h = 1e-6

    let loss (v: float[]) =
        Array.fold2 (fun acc a b -> acc + a * b) 0.0 (values (f (tensorOf shape v))) w

    Array.init x.Length (fun i ->
        let up, down = Array.copy x, Array.copy x
        up[i] <- x[i] + h
        down[i] <- x[i] - h
        (loss up - loss down) / (2.0 * h))

/// (f(x + h v) - f(x - h v)) / 2h in Float64, over the whole output.
let private centralTangent (f: Tensor -> Tensor) (shape: int[]) (x: float[]) (v: float[]) =
    let h = 1e-6

    let at (s: float) =
        values (f (tensorOf shape (Array.map2 (fun a b -> a + s * h * b) x v)))

    Array.map2 (fun u d -> (u - d) / (2.0 * h)) (at 1.0) (at -1.0)

let private float32Of (shape: int[]) (xs: float[]) =
    Tensor.ofArray (Array.map float32 xs, shape)

let private expectDType (what: string) (expected: DType) (t: Tensor) =
    Expect.equal t.DType expected (sprintf "%s: dtype" what)

/// An op name and an input for it, of rank lo..hi.
let private opCase (lo: int) (hi: int) =
    gen {
        let! name = Gen.elements (List.map fst ops)
        let! x = Gens.inputRank (fst (opNamed name)) lo hi
        return name, x
    }

/// A shape of rank 1..3 with more than 64 elements (65 to about 300).
let private largeShape =
    gen {
        let! rank = Gen.choose (1, 3)
        let! rest = Gen.arrayOfLength (rank - 1) (Gen.choose (2, 6))
        let inner = numelOf rest
        let! extra = Gen.choose (0, 3)
        return Array.append [| 64 / inner + 1 + extra |] rest
    }

/// A shape of rank 1..3 with at least one dim of size 0.
let private emptyShape =
    gen {
        let! rank = Gen.choose (1, 3)
        let! dims = Gen.arrayOfLength rank (Gen.choose (1, 4))
        let! zero = Gen.choose (0, rank - 1)
        return Array.mapi (fun i d -> if i = zero then 0 else d) dims
    }

let private config n =
    { FsCheckConfig.defaultConfig with
        maxTest = n
    }

/// Reverse and forward derivatives of op at a Float32 input against Float64 central differences of the same values.
let private checkFloat32 (name: string) (x: Input) =
    let f = snd (opNamed name)
    let shape = x.Shape
    // The Float32 input, and the same numbers in Float64 for the reference.
    let x32 = float32Of shape (valuesOf x.Domain (numelOf shape) x.Seed)
    let x64 = values x32
    let y32 = f x32
    let yShape = y32.Shape.ToArray()
    let rng = System.Random(x.Seed)

    let w =
        Array.init (numelOf yShape) (fun _ -> float (float32 (rng.NextDouble() * 2.0 - 1.0)))

    let v =
        Array.init x64.Length (fun _ -> float (float32 (rng.NextDouble() * 2.0 - 1.0)))

    let context = sprintf "%s at Float32 %A" name shape
    expectDType (context + ", value") DType.Float32 y32

    let g = Diff.grad (fun t -> Tensor.sum (f t * float32Of yShape w)) x32
    expectDType (context + ", gradient") DType.Float32 g
    // float32 carries about 7 digits: 1e-4 absolute plus 1e-4 relative leaves room for a few roundings.
    assertCloseTol 1e-4 1e-4 "Float32 reverse-mode gradient" context shape (centralGrad f shape x64 w) (values g)

    let value, tangent = Diff.jvp f x32 (float32Of shape v)
    expectDType (context + ", jvp value") DType.Float32 value
    expectDType (context + ", tangent") DType.Float32 tangent

    assertCloseTol
        1e-4
        1e-4
        "Float32 forward-mode tangent"
        context
        yShape
        (centralTangent f shape x64 v)
        (values tangent)

/// The ops checked at empty inputs: all of them (softmax of an empty tensor is empty, as
/// torch.softmax(torch.empty(2, 0), -1) has shape (2, 0)).
let private opsOnEmpty = ops |> List.map fst

/// The gradient and tangent of op at an empty input: empty, of the input's shape and dtype.
let private checkEmpty (name: string) (shape: int[]) (dtype: DType) =
    let f = snd (opNamed name)
    let x = Tensor.cast (tensorOf shape [||], dtype)
    let context = sprintf "%s at %O %A" name dtype shape
    let g = Diff.grad (fun t -> Tensor.sum (f t)) x
    Expect.equal (g.Shape.ToArray()) shape (context + ": gradient shape")
    expectDType (context + ", gradient") dtype g
    let y = f x
    let value, tangent = Diff.jvp f x x
    Expect.equal (tangent.Shape.ToArray()) (y.Shape.ToArray()) (context + ": tangent shape")
    expectDType (context + ", tangent") dtype tangent
    // A sum over an empty dim is 0 (not NaN, not garbage), and so is its tangent.
    Expect.allEqual (values value) 0.0 (context + ": value of an empty sum")
    Expect.allEqual (values tangent) 0.0 (context + ": tangent of an empty sum")

/// The tests of this module.
let tests =
    testList
        "GradCheck coverage"
        [
            testPropertyWithConfig
                (config 30)
                "Float32 gradients and tangents match Float64 central differences within float32 tolerances"
                (Prop.forAll (Arb.fromGen (opCase 1 3)) (fun (name, x) -> checkFloat32 name x))

            testPropertyWithConfig
                (config 12)
                "tensors of more than 64 elements: gradients and tangents match central differences, dtype kept"
                (Prop.forAll
                    (Arb.fromGen (
                        gen {
                            let! name = Gen.elements (List.map fst ops)
                            let! shape = largeShape
                            let! x = Gens.inputOf (fst (opNamed name)) shape
                            return name, x
                        }
                    ))
                    (fun (name, x) ->
                        let f = snd (opNamed name)
                        let t = tensorOfInput x
                        Expect.isGreaterThan (numelOf x.Shape) 64 "the generated tensor is large"
                        checkGrad name f t x.Seed
                        expectDType name DType.Float64 (Diff.grad (fun t -> Tensor.sum (f t)) t)))

            testPropertyWithConfig
                (config 12)
                "a broadcast product and a matmul over more than 64 elements match central differences"
                (Prop.forAll (Arb.fromGen (Gen.zip largeShape Gens.seed)) (fun (shape, seed) ->
                    let a = tensorOf shape (valuesOf Real (numelOf shape) seed)
                    let last = shape[shape.Length - 1]
                    let b = tensorOf [| last |] (valuesOf Real last (seed + 1))
                    checkGrad2 "a * b broadcast over leading dims" (fun a b -> a * b) a b seed

                    if shape.Length >= 2 then
                        let m = tensorOf [| last; 3 |] (valuesOf Real (3 * last) (seed + 2))
                        checkGrad2 "matmul" (fun a m -> Tensor.matmul (a, m)) a m seed))

            testPropertyWithConfig
                (config 20)
                "empty tensors: gradients and tangents are empty, of the input's shape and dtype"
                (Prop.forAll
                    (Arb.fromGen (
                        Gen.zip3 (Gen.elements opsOnEmpty) emptyShape (Gen.elements [ DType.Float32; DType.Float64 ])
                    ))
                    (fun (name, shape, dtype) -> checkEmpty name shape dtype))

            testCase "a matmul over an empty inner dim is zeros, and so are its tangent and the gradients' values"
            <| fun () ->
                for dtype in [ DType.Float32; DType.Float64 ] do
                    let a = Tensor.cast (tensorOf [| 2; 0 |] [||], dtype)
                    let b = Tensor.cast (tensorOf [| 0; 3 |] [||], dtype)
                    let y = Tensor.matmul (a, b)
                    Expect.equal (y.Shape.ToArray()) [| 2; 3 |] "the product's shape"
                    Expect.allEqual (values y) 0.0 "a sum of no products is 0"
                    let ga = Diff.grad (fun a -> Tensor.sum (Tensor.matmul (a, b))) a
                    let gb = Diff.grad (fun b -> Tensor.sum (Tensor.matmul (a, b))) b
                    Expect.equal (ga.Shape.ToArray()) [| 2; 0 |] "the gradient wrt a"
                    Expect.equal (gb.Shape.ToArray()) [| 0; 3 |] "the gradient wrt b"
                    expectDType "gradient wrt a" dtype ga
                    expectDType "gradient wrt b" dtype gb
                    let _, t = Diff.jvp (fun a -> Tensor.matmul (a, b)) a a
                    Expect.allEqual (values t) 0.0 "the tangent of a sum of no products"
                    expectDType "tangent" dtype t
        ]
