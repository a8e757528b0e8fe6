module FunctionalNets.Tests.PerturbationConfusionTests

// Nested derivatives that a system without nesting tags gets wrong (Siskind & Pearlmutter, "Perturbation
// Confusion and Referential Transparency", 2005; the same examples appear in DiffSharp's and JAX's docs).
// Every expected value is worked out by hand in the comment above its assertion.

open Expecto
open FunctionalNets.Testing
open FunctionalNets

let private f64 (v: float) = Tensor.scalar (v, DType.Float64)
let private one = f64 1.0

let private value (t: Tensor) = Tensor.toScalar t

let private close (expected: float) (actual: Tensor) =
    let a = value actual
    Expect.isTrue (abs (a - expected) <= 1e-12 * (1.0 + abs expected)) (sprintf "expected %.17g, got %.17g" expected a)

/// Forward-mode derivative of a scalar function (the tangent of f at x along 1).
let private dF (f: Tensor -> Tensor) (x: Tensor) = snd (Diff.jvp f x (Tensor.onesLike x))
/// Reverse-mode derivative of a scalar function.
let private dR (f: Tensor -> Tensor) (x: Tensor) = Diff.grad f x

// d/dx [ x * (d/dy (x + y))|_{y=1} ] at x = 1. The inner derivative is 1 whatever x is, so the whole thing is
// d/dx [x * 1] = 1. A system that confuses the two perturbations sees the inner x's perturbation as y's and
// gets d/dy (x + y) = 2, hence 2.

let ``Siskind-Pearlmutter: reverse inside reverse gives 1, not 2`` () =
    let r = dR (fun x -> x * dR (fun y -> x + y) one) one
    close 1.0 r

let ``Siskind-Pearlmutter: forward inside forward (jvp of jvp) gives 1, not 2`` () =
    let r = dF (fun x -> x * dF (fun y -> x + y) one) one
    close 1.0 r

let ``Siskind-Pearlmutter: forward inside reverse gives 1, not 2`` () =
    let r = dR (fun x -> x * dF (fun y -> x + y) one) one
    close 1.0 r

let ``Siskind-Pearlmutter: reverse inside forward gives 1, not 2`` () =
    let r = dF (fun x -> x * dR (fun y -> x + y) one) one
    close 1.0 r

let ``Siskind-Pearlmutter at other points and through a vector input stays 1`` () =
    // The value does not depend on x or y: check at x = 3, y = -2.5.
    close 1.0 (dR (fun x -> x * dR (fun y -> x + y) (f64 -2.5)) (f64 3.0))
    close 1.0 (dF (fun x -> x * dF (fun y -> x + y) (f64 -2.5)) (f64 3.0))
    // Vector form: f(x) = sum(x * g(x)), g(x) = d/dy sum(x + y) = ones. Gradient = ones (not 2s).
    let xv = Tensor.create ([ 1.0; 2.0; 3.0 ], DType.Float64)

    let g =
        Diff.grad (fun x -> Tensor.sum (x * Diff.grad (fun y -> Tensor.sum (x + y)) (Tensor.onesLike x))) xv

    Expect.equal (Tensor.toFloatArray g) ([| 1.0; 1.0; 1.0 |]) "Tensor.toFloatArray g"

// The inner function closes over the outer variable multiplicatively.

let ``d/dx d/dy (x*y) = 1 in every mode combination`` () =
    // d/dy (x*y) = x, and d/dx x = 1, at x = 2, y = 5.
    let x0, y0 = f64 2.0, f64 5.0
    close 1.0 (dR (fun x -> dR (fun y -> x * y) y0) x0)
    close 1.0 (dF (fun x -> dF (fun y -> x * y) y0) x0)
    close 1.0 (dR (fun x -> dF (fun y -> x * y) y0) x0)
    close 1.0 (dF (fun x -> dR (fun y -> x * y) y0) x0)

let ``d/dx [x * d/dy (x*y)] = 2x in every mode combination`` () =
    // x * d/dy(x*y) = x * x, whose derivative is 2x = 6 at x = 3 (a confused system gives something else,
    // e.g. 3x or x + 2x*y depending on how the perturbations mix).
    let x0, y0 = f64 3.0, f64 7.0
    close 6.0 (dR (fun x -> x * dR (fun y -> x * y) y0) x0)
    close 6.0 (dF (fun x -> x * dF (fun y -> x * y) y0) x0)
    close 6.0 (dR (fun x -> x * dF (fun y -> x * y) y0) x0)
    close 6.0 (dF (fun x -> x * dR (fun y -> x * y) y0) x0)

let ``d/dx [x * d/dy (x*y*y)] = 4xy at y fixed`` () =
    // d/dy (x*y^2) = 2xy; x * 2xy = 2x^2 y; d/dx = 4xy = 4*3*7 = 84 at x = 3, y = 7.
    let x0, y0 = f64 3.0, f64 7.0
    close 84.0 (dR (fun x -> x * dR (fun y -> x * y * y) y0) x0)
    close 84.0 (dF (fun x -> x * dF (fun y -> x * y * y) y0) x0)
    close 84.0 (dF (fun x -> x * dR (fun y -> x * y * y) y0) x0)
    close 84.0 (dR (fun x -> x * dF (fun y -> x * y * y) y0) x0)

let ``constant function: d/dx (d/dy x) = 0`` () =
    // d/dy x = 0 for every x, so its derivative in x is 0.
    let x0, y0 = f64 4.0, f64 -1.0
    close 0.0 (dR (fun x -> dR (fun _ -> x) y0) x0)
    close 0.0 (dF (fun x -> dF (fun _ -> x) y0) x0)
    close 0.0 (dR (fun x -> dF (fun _ -> x) y0) x0)
    close 0.0 (dF (fun x -> dR (fun _ -> x) y0) x0)
    // And the inner derivative itself is 0 (not 1).
    close 0.0 (dR (fun x -> x + dR (fun _ -> x * x) y0) x0 - one)

let ``inner derivative of a function that ignores its argument but uses the outer one is 0`` () =
    // d/dx [ x * d/dy (x^2) ] = d/dx [x * 0] = 0.
    let x0, y0 = f64 4.0, f64 -1.0
    close 0.0 (dR (fun x -> x * dR (fun _ -> x * x) y0) x0)
    close 0.0 (dF (fun x -> x * dR (fun _ -> x * x) y0) x0)

let ``third derivative of x^4 is 24x via grad (grad (grad))`` () =
    // d/dx x^4 = 4x^3, d2 = 12x^2, d3 = 24x. At x = 1.5: 36; at x = -2: -48.
    let f (x: Tensor) = x * x * x * x
    let d3 = dR (dR (dR f))
    close 36.0 (d3 (f64 1.5))
    close (-48.0) (d3 (f64 -2.0))
    // The intermediate levels too: 4x^3 = 13.5 and 12x^2 = 27 at 1.5.
    close 13.5 (dR f (f64 1.5))
    close 27.0 (dR (dR f) (f64 1.5))

let ``third derivative of x^4 with powScalar and mixed modes`` () =
    let f (x: Tensor) = Tensor.pow (x, 4.0)
    close 36.0 (dR (dR (dR f)) (f64 1.5))
    close 36.0 (dF (dF (dF f)) (f64 1.5))
    close 36.0 (dF (dR (dF f)) (f64 1.5))
    close 36.0 (dR (dF (dR f)) (f64 1.5))
    // Fourth derivative is the constant 24.
    close 24.0 (dR (dR (dR (dR f))) (f64 -0.7))

let ``triple nesting with closures over two outer variables`` () =
    // h(x) = d/dy [ x*y * d/dz (x*y*z) ]|_{y=2, z=5}. d/dz (xyz) = xy, so the bracket is x^2 y^2,
    // d/dy = 2 x^2 y = 4 x^2 at y = 2, and d/dx of that = 8x = 24 at x = 3.
    let y0, z0 = f64 2.0, f64 5.0

    let h (x: Tensor) =
        dR (fun y -> x * y * dR (fun z -> x * y * z) z0) y0

    close 36.0 (h (f64 3.0))
    close 24.0 (dR h (f64 3.0))
    close 24.0 (dF h (f64 3.0))

let ``hvp and hessian of a two-variable function are not confused by nesting`` () =
    // f(a, b) = a^2 b + b^3. grad = (2ab, a^2 + 3b^2). Hessian = [[2b, 2a]; [2a, 6b]]. At (1, 2): [[4, 2]; [2, 12]].
    let f (v: Tensor) =
        let a, b = Tensor.select (v, 0, 0), Tensor.select (v, 0, 1)
        a * a * b + b * b * b

    let x = Tensor.create ([ 1.0; 2.0 ], DType.Float64)

    Expect.equal
        (Tensor.toFloatArray (Diff.hessian f x))
        ([| 4.0; 2.0; 2.0; 12.0 |])
        "Tensor.toFloatArray (Diff.hessian f x)"
    // H [1; -1] = [2; -10].
    let hv = Diff.hvp f x (Tensor.create ([ 1.0; -1.0 ], DType.Float64))
    Expect.equal (Tensor.toFloatArray hv) ([| 2.0; -10.0 |]) "Tensor.toFloatArray hv"

let ``gradient of an outer variable captured by two sibling inner derivatives`` () =
    // g(x) = d/dy (x*y) + d/dz (x*x*z) = x + x^2; g'(x) = 1 + 2x = 7 at x = 3.
    let g (x: Tensor) =
        dR (fun y -> x * y) one + dF (fun z -> x * x * z) one

    close 12.0 (g (f64 3.0))
    close 7.0 (dR g (f64 3.0))
    close 7.0 (dF g (f64 3.0))

let tests =
    testList
        "PerturbationConfusion"
        [
            testCase
                "Siskind-Pearlmutter: reverse inside reverse gives 1, not 2"
                ``Siskind-Pearlmutter: reverse inside reverse gives 1, not 2``
            testCase
                "Siskind-Pearlmutter: forward inside forward (jvp of jvp) gives 1, not 2"
                ``Siskind-Pearlmutter: forward inside forward (jvp of jvp) gives 1, not 2``
            testCase
                "Siskind-Pearlmutter: forward inside reverse gives 1, not 2"
                ``Siskind-Pearlmutter: forward inside reverse gives 1, not 2``
            testCase
                "Siskind-Pearlmutter: reverse inside forward gives 1, not 2"
                ``Siskind-Pearlmutter: reverse inside forward gives 1, not 2``
            testCase
                "Siskind-Pearlmutter at other points and through a vector input stays 1"
                ``Siskind-Pearlmutter at other points and through a vector input stays 1``
            testCase "d/dx d/dy (x*y) = 1 in every mode combination" ``d/dx d/dy (x*y) = 1 in every mode combination``
            testCase
                "d/dx [x * d/dy (x*y)] = 2x in every mode combination"
                ``d/dx [x * d/dy (x*y)] = 2x in every mode combination``
            testCase "d/dx [x * d/dy (x*y*y)] = 4xy at y fixed" ``d/dx [x * d/dy (x*y*y)] = 4xy at y fixed``
            testCase "constant function: d/dx (d/dy x) = 0" ``constant function: d/dx (d/dy x) = 0``
            testCase
                "inner derivative of a function that ignores its argument but uses the outer one is 0"
                ``inner derivative of a function that ignores its argument but uses the outer one is 0``
            testCase
                "third derivative of x^4 is 24x via grad (grad (grad))"
                ``third derivative of x^4 is 24x via grad (grad (grad))``
            testCase
                "third derivative of x^4 with powScalar and mixed modes"
                ``third derivative of x^4 with powScalar and mixed modes``
            testCase
                "triple nesting with closures over two outer variables"
                ``triple nesting with closures over two outer variables``
            testCase
                "hvp and hessian of a two-variable function are not confused by nesting"
                ``hvp and hessian of a two-variable function are not confused by nesting``
            testCase
                "gradient of an outer variable captured by two sibling inner derivatives"
                ``gradient of an outer variable captured by two sibling inner derivatives``
        ]
