/// Higher-order derivatives against their closed forms: grad of grad (and every other nesting of forward
/// and reverse mode) of elementwise ops, third derivatives, Hessians of quadratic forms, of logsumexp
/// and of the variance, Hessian-vector products, mixed partials over a PTree and Jacobians. Expected
/// values are computed with plain System.Math on float arrays, never with the library.
module FunctionalNets.Tests.SecondDerivativeTests

open System
open Expecto
open FunctionalNets.Testing
open FsCheck
open FsCheck.FSharp
open FunctionalNets
open FunctionalNets.Tests.GradCheck

/// Analytic results are compared tightly: no finite-difference error is involved.
let private close what ctx shape expected actual =
    assertCloseTol 1e-9 1e-7 what ctx shape expected actual

let private sumOf (t: Tensor) = Tensor.sum t

// ---------------------------------------------------------------------------------------------------
// Elementwise ops: f', f'' (and f''') against their formulas through every nesting of the two modes
// ---------------------------------------------------------------------------------------------------

/// An elementwise op with its first derivative (when it has a closed form in System.Math) and its second.
type Elementwise =
    {
        Name: string
        Domain: Domain
        F: Tensor -> Tensor
        D1: (float -> float) option
        D2: float -> float
    }

    override e.ToString() = e.Name

let private sigma (x: float) = 1.0 / (1.0 + exp -x)

let private phi (x: float) =
    exp (-0.5 * x * x) / sqrt (2.0 * Math.PI)

let private elementwiseOps: Elementwise list =
    [
        {
            Name = "sin"
            Domain = Real
            F = Tensor.sin
            D1 = Some cos
            D2 = fun x -> -(sin x)
        }
        {
            Name = "cos"
            Domain = Real
            F = Tensor.cos
            D1 = Some(fun x -> -(sin x))
            D2 = fun x -> -(cos x)
        }
        {
            Name = "exp"
            Domain = Real
            F = Tensor.exp
            D1 = Some exp
            D2 = exp
        }
        {
            Name = "log"
            Domain = Positive
            F = Tensor.log
            D1 = Some(fun x -> 1.0 / x)
            D2 = fun x -> -1.0 / (x * x)
        }
        {
            Name = "tanh"
            Domain = Real
            F = Tensor.tanh
            D1 = Some(fun x -> 1.0 - tanh x ** 2.0)
            D2 = fun x -> -2.0 * tanh x * (1.0 - tanh x ** 2.0)
        }
        {
            Name = "sigmoid"
            Domain = Real
            F = Tensor.sigmoid
            D1 = Some(fun x -> sigma x * (1.0 - sigma x))
            D2 = fun x -> sigma x * (1.0 - sigma x) * (1.0 - 2.0 * sigma x)
        }
        {
            Name = "softplus"
            Domain = Real
            F = Tensor.softplus
            D1 = Some sigma
            D2 = fun x -> sigma x * (1.0 - sigma x)
        }
        {
            Name = "x^3"
            Domain = Real
            F = (fun x -> x ** 3.0)
            D1 = Some(fun x -> 3.0 * x * x)
            D2 = fun x -> 6.0 * x
        }
        {
            Name = "pow(x, 2.5)"
            Domain = Positive
            F = (fun x -> Tensor.pow (x, 2.5))
            D1 = Some(fun x -> 2.5 * x ** 1.5)
            D2 = fun x -> 3.75 * sqrt x
        }
        {
            Name = "square"
            Domain = Real
            F = Tensor.square
            D1 = Some(fun x -> 2.0 * x)
            D2 = fun _ -> 2.0
        }
        {
            Name = "sqrt"
            Domain = Positive
            F = Tensor.sqrt
            D1 = Some(fun x -> 0.5 / sqrt x)
            D2 = fun x -> -0.25 * x ** -1.5
        }
        {
            Name = "rsqrt"
            Domain = Positive
            F = Tensor.rsqrt
            D1 = Some(fun x -> -0.5 * x ** -1.5)
            D2 = fun x -> 0.75 * x ** -2.5
        }
        {
            Name = "reciprocal"
            Domain = NonZero
            F = Tensor.reciprocal
            D1 = Some(fun x -> -1.0 / (x * x))
            D2 = fun x -> 2.0 / (x * x * x)
        }
        {
            Name = "erf"
            Domain = Real
            F = Tensor.erf
            D1 = Some(fun x -> 2.0 / sqrt Math.PI * exp (-x * x))
            D2 = fun x -> -4.0 * x / sqrt Math.PI * exp (-x * x)
        }
        {
            Name = "log1p"
            Domain = Uniform(-0.7, 3.0)
            F = Tensor.log1p
            D1 = Some(fun x -> 1.0 / (1.0 + x))
            D2 = fun x -> -1.0 / ((1.0 + x) * (1.0 + x))
        }
        {
            Name = "expm1"
            Domain = Real
            F = Tensor.expm1
            D1 = Some exp
            D2 = exp
        }
        {
            Name = "gelu"
            Domain = Real
            F = Tensor.gelu
            D1 = None
            D2 = fun x -> phi x * (2.0 - x * x)
        }
        {
            Name = "silu"
            Domain = Real
            F = Tensor.silu
            D1 = Some(fun x -> sigma x + x * sigma x * (1.0 - sigma x))
            D2 = fun x -> sigma x * (1.0 - sigma x) * (2.0 + x * (1.0 - 2.0 * sigma x))
        }
        {
            Name = "elu(alpha 1.5)"
            Domain = NonZero
            F = (fun x -> Tensor.elu (x, 1.5))
            D1 = Some(fun x -> if x > 0.0 then 1.0 else 1.5 * exp x)
            D2 = fun x -> if x > 0.0 then 0.0 else 1.5 * exp x
        }
        {
            Name = "relu"
            Domain = NonZero
            F = Tensor.relu
            D1 = Some(fun x -> if x > 0.0 then 1.0 else 0.0)
            D2 = fun _ -> 0.0
        }
        {
            Name = "abs"
            Domain = NonZero
            F = Tensor.abs
            D1 = Some(fun x -> float (sign x))
            D2 = fun _ -> 0.0
        }
        {
            Name = "x * x * x (product rule)"
            Domain = Real
            F = (fun x -> x * x * x)
            D1 = Some(fun x -> 3.0 * x * x)
            D2 = fun x -> 6.0 * x
        }
        {
            Name = "exp(sin x)"
            Domain = Real
            F = (fun x -> Tensor.exp (Tensor.sin x))
            D1 = Some(fun x -> cos x * exp (sin x))
            D2 = fun x -> (cos x * cos x - sin x) * exp (sin x)
        }
    ]

let private elementwiseCase (op: Elementwise) =
    gen {
        let! x = Gens.input op.Domain
        return op, x
    }

/// f'' of an elementwise f through reverse-over-reverse, forward-over-forward, forward-over-reverse and
/// reverse-over-forward, each against the closed form; f' against its closed form where one exists.
let ``SecondDerivative: elementwise f'' by every nesting of forward and reverse mode equals its formula`` () =
    allOf
        [
            for op in elementwiseOps ->
                forAllN 10 (elementwiseCase op) (fun (op, inp) ->
                    let x = tensorOfInput inp
                    let xs = values x
                    let shape = inp.Shape
                    let ctx = sprintf "%s at shape %A" op.Name shape
                    let ones = Tensor.onesLike x
                    let d1Rev (x: Tensor) = Diff.grad (fun y -> sumOf (op.F y)) x
                    let d1Fwd (x: Tensor) = snd (Diff.jvp op.F x ones)

                    match op.D1 with
                    | Some d1 ->
                        let expected = Array.map d1 xs
                        close "f' (reverse)" ctx shape expected (values (d1Rev x))
                        close "f' (forward)" ctx shape expected (values (d1Fwd x))
                    | None -> ()

                    let expected = Array.map op.D2 xs

                    close
                        "f'' reverse over reverse"
                        ctx
                        shape
                        expected
                        (values (Diff.grad (fun y -> sumOf (d1Rev y)) x))

                    close "f'' forward over forward" ctx shape expected (values (snd (Diff.jvp d1Fwd x ones)))
                    close "f'' forward over reverse" ctx shape expected (values (snd (Diff.jvp d1Rev x ones)))

                    close
                        "f'' reverse over forward"
                        ctx
                        shape
                        expected
                        (values (Diff.grad (fun y -> sumOf (d1Fwd y)) x)))
        ]

let ``SecondDerivative: third derivatives of sin, exp and x^4 by nested grad`` () =
    let cases =
        [
            "sin", (fun (x: Tensor) -> Tensor.sin x), (fun x -> -(cos x))
            "exp", Tensor.exp, exp
            "x^4", (fun x -> x ** 4.0), (fun x -> 24.0 * x)
            "tanh", Tensor.tanh, (fun x -> let t = tanh x in -2.0 * (1.0 - t * t) * (1.0 - 3.0 * t * t))
        ]

    forAllN 15 (Gen.zip (Gens.input Real) (Gen.elements cases)) (fun (inp, (name, f, d3)) ->
        let x = tensorOfInput inp
        let g1 (x: Tensor) = Diff.grad (fun y -> sumOf (f y)) x
        let g2 (x: Tensor) = Diff.grad (fun y -> sumOf (g1 y)) x
        let g3 = Diff.grad (fun y -> sumOf (g2 y)) x
        let ctx = sprintf "%s''' at shape %A" name inp.Shape
        close "reverse^3" ctx inp.Shape (Array.map d3 (values x)) (values g3)
        // And forward over reverse over reverse.
        let _, t = Diff.jvp g2 x (Tensor.onesLike x)
        close "forward over reverse^2" ctx inp.Shape (Array.map d3 (values x)) (values t))

// ---------------------------------------------------------------------------------------------------
// Hessians and Hessian-vector products
// ---------------------------------------------------------------------------------------------------

/// A random n-vector and an n x n matrix (row-major), n in 1..5.
let private vecAndMatrix =
    gen {
        let! n = Gen.choose (1, 5)
        let! sx = Gens.seed
        let! sa = Gens.seed
        return n, sx, sa
    }

let private matOf (n: int) (m: int) (data: float[]) = Tensor.ofArray (data, [ n; m ])

let private matVec (n: int) (a: float[]) (v: float[]) =
    Array.init n (fun i -> Seq.sum (seq { for j in 0 .. n - 1 -> a[i * n + j] * v[j] }))

let ``SecondDerivative: Hessian of x^T A x is A + A^T (and of 0.5 x^T A x is (A + A^T)/2)`` () =
    forAll vecAndMatrix (fun (n, sx, sa) ->
        let xs = valuesOf Real n sx
        let a = valuesOf Real (n * n) sa
        let x = tensorOf [| n |] xs
        let am = matOf n n a
        let quad (x: Tensor) = Tensor.dot (x, Tensor.matmul (am, x))

        let expected =
            Array.init (n * n) (fun k -> let i, j = k / n, k % n in a[i * n + j] + a[j * n + i])

        let ctx = sprintf "x^T A x, n = %d" n
        let h = Diff.hessian quad x
        assertShape "Hessian shape" ctx [| n; n |] (h.Shape.ToArray())
        close "Hessian" ctx [| n; n |] expected (values h)
        let half = Diff.hessian (fun x -> 0.5 * quad x) x
        close "Hessian of 0.5 x^T A x" ctx [| n; n |] (Array.map (fun v -> 0.5 * v) expected) (values half))

let ``SecondDerivative: Hessian-vector products equal H v, forward over reverse and reverse over reverse`` () =
    // f(x) = sum(sin x) + 0.5 (a . x)^2 + x^T B x has H = diag(-sin x) + a a^T + B + B^T.
    let g =
        gen {
            let! n, sx, sb = vecAndMatrix
            let! sa = Gens.seed
            let! sv = Gens.seed
            return n, sx, sb, sa, sv
        }

    forAll g (fun (n, sx, sb, sa, sv) ->
        let xs, bs, avec, vs =
            valuesOf Real n sx, valuesOf Real (n * n) sb, valuesOf Real n sa, valuesOf Real n sv

        let x, bm, at, v =
            tensorOf [| n |] xs, matOf n n bs, tensorOf [| n |] avec, tensorOf [| n |] vs

        let f (x: Tensor) =
            Tensor.sum (Tensor.sin x)
            + 0.5 * Tensor.square (Tensor.dot (at, x))
            + Tensor.dot (x, Tensor.matmul (bm, x))

        let hess =
            Array.init (n * n) (fun k ->
                let i, j = k / n, k % n

                (if i = j then -(sin xs[i]) else 0.0)
                + avec[i] * avec[j]
                + bs[i * n + j]
                + bs[j * n + i])

        let expected = matVec n hess vs
        let ctx = sprintf "sum(sin x) + 0.5 (a.x)^2 + x^T B x, n = %d" n
        close "Diff.hessian" ctx [| n; n |] hess (values (Diff.hessian f x))
        close "Diff.hvp (forward over reverse)" ctx [| n |] expected (values (Diff.hvp f x v))
        // Reverse over reverse: the gradient of <grad f(x), v>.
        let rr = Diff.grad (fun y -> Tensor.dot (Diff.grad f y, v)) x
        close "reverse over reverse H v" ctx [| n |] expected (values rr)
        // Reverse over forward: the gradient of the directional derivative.
        let rf = Diff.grad (fun y -> snd (Diff.jvp f y v)) x
        close "reverse over forward H v" ctx [| n |] expected (values rf))

let ``SecondDerivative: Hessian of logsumexp is diag(p) - p p^T with p = softmax(x)`` () =
    let g =
        gen {
            let! n = Gen.choose (1, 6)
            let! s = Gens.seed
            let! big = Gens.bool
            return n, s, big
        }

    forAll g (fun (n, s, big) ->
        // Large inputs too: the max shift must not break the second derivative.
        let xs = valuesOf Real n s |> Array.map (fun v -> if big then 30.0 * v else v)
        let m = Array.max xs
        let e = xs |> Array.map (fun v -> exp (v - m))
        let p = e |> Array.map (fun v -> v / Array.sum e)

        let expected =
            Array.init (n * n) (fun k -> let i, j = k / n, k % n in (if i = j then p[i] else 0.0) - p[i] * p[j])

        let x = tensorOf [| n |] xs
        let ctx = sprintf "logsumexp, n = %d, x = %A" n xs

        close
            "Hessian of logsumexp"
            ctx
            [| n; n |]
            expected
            (values (Diff.hessian (fun x -> Tensor.logsumexp (x, [ 0 ])) x))

        close
            "gradient of logsumexp (= softmax)"
            ctx
            [| n |]
            p
            (values (Diff.grad (fun x -> Tensor.logsumexp (x, [ 0 ])) x))
        // The Hessian of the cross-entropy -logSoftmax(x)[c] is the same matrix.
        let c = n / 2

        close
            "Hessian of -logSoftmax(x)[c]"
            ctx
            [| n; n |]
            expected
            (values (Diff.hessian (fun x -> -(Tensor.logSoftmax x)[c]) x)))

let ``SecondDerivative: Hessian of the biased variance is (2/n)(I - 11^T/n)`` () =
    forAll (Gen.zip (Gen.choose (1, 6)) Gens.seed) (fun (n, s) ->
        let x = tensorOf [| n |] (valuesOf Real n s)
        let nf = float n

        let expected =
            Array.init (n * n) (fun k ->
                let i, j = k / n, k % n in (2.0 / nf) * ((if i = j then 1.0 else 0.0) - 1.0 / nf))

        close
            "Hessian of var(x, unbiased = false)"
            (sprintf "n = %d" n)
            [| n; n |]
            expected
            (values (Diff.hessian (fun x -> Tensor.var (x, unbiased = false)) x)))

let ``SecondDerivative: Hessian of sum((W x + b)^2) is 2 W^T W`` () =
    let g =
        gen {
            let! m = Gen.choose (1, 4)
            let! n = Gen.choose (1, 4)
            let! s = Gens.seed
            return m, n, s
        }

    forAll g (fun (m, n, s) ->
        let w = valuesOf Real (m * n) s
        let b = valuesOf Real m (s + 1)
        let x = tensorOf [| n |] (valuesOf Real n (s + 2))
        let wt, bt = matOf m n w, tensorOf [| m |] b

        let f (x: Tensor) =
            Tensor.sum (Tensor.square (Tensor.matmul (wt, x) + bt))

        let expected =
            Array.init (n * n) (fun k ->
                let i, j = k / n, k % n in 2.0 * Seq.sum (seq { for r in 0 .. m - 1 -> w[r * n + i] * w[r * n + j] }))

        close "Hessian" (sprintf "W %dx%d" m n) [| n; n |] expected (values (Diff.hessian f x)))

let ``SecondDerivative: Hessian of sum(X)^2 over an r x c matrix X has shape (r, c, r, c) and every entry 2`` () =
    // f(X) = sum(X)^2 over an r x c matrix: every second partial is 2.
    forAll (Gen.zip (Gen.zip (Gen.choose (1, 3)) (Gen.choose (1, 3))) Gens.seed) (fun ((r, c), s) ->
        let x = tensorOf [| r; c |] (valuesOf Real (r * c) s)
        let h = Diff.hessian (fun x -> Tensor.square (Tensor.sum x)) x
        let ctx = sprintf "sum(X)^2 with X %dx%d" r c
        assertShape "Hessian shape" ctx [| r; c; r; c |] (h.Shape.ToArray())
        close "Hessian" ctx [| r; c; r; c |] (Array.create (r * c * r * c) 2.0) (values h))

// ---------------------------------------------------------------------------------------------------
// Mixed partials and Jacobians
// ---------------------------------------------------------------------------------------------------

let ``SecondDerivative: mixed partials of f(a, b) = sum(sin(a) * b^2) over a PTree, with broadcasting`` () =
    // d/da f = cos(a) * b^2 (summed over the broadcast); the gradient wrt b of <d/da f, u> is 2 b * sum(u cos a).
    let g =
        gen {
            let! sa, sb = Gens.broadcastPair
            let! ia = Gens.inputOf Real sa
            let! ib = Gens.inputOf Real sb
            return ia, ib
        }

    forAll g (fun (ia, ib) ->
        let a, b = tensorOfInput ia, tensorOfInput ib
        let u = randnOf (Random(ia.Seed)) ia.Shape

        let f (t: PTree<Tensor>) =
            match t with
            | Node [ "a", Leaf a; "b", Leaf b ] -> Tensor.sum (Tensor.sin a * Tensor.square b)
            | _ -> invalidOp "unexpected tree"

        let tree (a: Tensor) (b: Tensor) = Node [ "a", Leaf a; "b", Leaf b ]

        let gradA (a: Tensor) (b: Tensor) =
            match Diff.gradTree f (tree a b) with
            | Node [ "a", Leaf ga; _ ] -> ga
            | _ -> invalidOp "unexpected tree"

        let mixed = Diff.grad (fun b -> Tensor.sum (gradA a b * u)) b

        // Plain arithmetic over the broadcast shape.
        let full =
            (Tensor.zeros (ia.Shape, f64) + Tensor.zeros (ib.Shape, f64)).Shape.ToArray()

        let idxOf (shape: int[]) (multi: int[]) =
            let lead = full.Length - shape.Length
            let mutable k = 0

            for d in 0 .. shape.Length - 1 do
                k <- k * shape[d] + (if shape[d] = 1 then 0 else multi[d + lead])

            k

        let av, bv, uv = values a, values b, values u
        let expected = Array.zeroCreate (numelOf ib.Shape)

        for flat in 0 .. numelOf full - 1 do
            let multi = Array.zeroCreate full.Length
            let mutable r = flat

            for d in full.Length - 1 .. -1 .. 0 do
                multi[d] <- r % full[d]
                r <- r / full[d]

            let ka, kb = idxOf ia.Shape multi, idxOf ib.Shape multi
            // Contribution of this broadcast element to d/db_kb of sum_a(u * cos a * b^2), where the
            // a-gradient is summed back to a's shape: u[ka] * cos(a[ka]) * 2 b[kb].
            expected[kb] <- expected[kb] + uv[ka] * cos av[ka] * 2.0 * bv[kb]

        close "d/db <d/da f, u>" (sprintf "a %A, b %A" ia.Shape ib.Shape) ib.Shape expected (values mixed))

let ``SecondDerivative: Jacobian of tanh(A x) is diag(1 - tanh^2) A, in both the reverse and forward branch`` () =
    // m <= n uses reverse mode rows, m > n forward mode columns; both are exercised.
    let g =
        gen {
            let! m = Gen.choose (1, 5)
            let! n = Gen.choose (1, 5)
            let! s = Gens.seed
            return m, n, s
        }

    forAll g (fun (m, n, s) ->
        let a = valuesOf Real (m * n) s
        let xs = valuesOf Real n (s + 1)
        let at = matOf m n a

        let y =
            Array.init m (fun i -> tanh (Seq.sum (seq { for j in 0 .. n - 1 -> a[i * n + j] * xs[j] })))

        let expected =
            Array.init (m * n) (fun k -> let i, j = k / n, k % n in (1.0 - y[i] * y[i]) * a[i * n + j])

        let jac =
            Diff.jacobian (fun x -> Tensor.tanh (Tensor.matmul (at, x))) (tensorOf [| n |] xs)

        let ctx = sprintf "A %dx%d" m n
        assertShape "Jacobian shape" ctx [| m; n |] (jac.Shape.ToArray())
        close "Jacobian" ctx [| m; n |] expected (values jac))

// ---------------------------------------------------------------------------------------------------
// Second order for every family of ops: the derivatives of the gradient equal finite differences of
// the gradient (which the first-order properties check against finite differences of the value).
// ---------------------------------------------------------------------------------------------------

/// Checks reverse-over-reverse and forward-over-reverse derivatives of f's gradient (taken over all of
/// f's inputs with Diff.gradTree, concatenated) against central differences of that gradient, and
/// forward-over-forward and reverse-over-forward derivatives of f's directional derivative (Diff.jvpTree)
/// against central differences of that directional derivative.
let private checkSecondOrder (name: string) (f: Tensor list -> Tensor) (xs: Tensor list) (seed: int) =
    let y = f xs
    let w = randnOf (Random(seed + 17)) (y.Shape.ToArray())

    let gradF (ts: Tensor list) =
        let tree = Node(ts |> List.mapi (fun i t -> sprintf "x%d" i, Leaf t))

        let gs =
            Diff.gradTree (fun t -> Tensor.sum (f (PTree.values t) * w)) tree
            |> PTree.values

        Tensor.cat (gs |> List.map (fun g -> Tensor.flatten g), 0)

    checkGradsN ("gradient of " + name) gradF xs seed

    // Forward over forward (and reverse over forward): the directional derivative along fixed tangents,
    // as a function of the inputs.
    let rng = Random(seed + 29)
    let v0 = xs |> List.map (fun x -> randnOf rng (x.Shape.ToArray()))

    let jvpF (ts: Tensor list) =
        let tree (l: Tensor list) =
            Node(l |> List.mapi (fun i t -> sprintf "x%d" i, Leaf t))

        snd (Diff.jvpTree (fun t -> f (PTree.values t)) (tree ts) (tree v0))

    checkGradsN ("directional derivative of " + name) jvpF xs seed

/// A named function with generated inputs.
type SecondCase =
    {
        Name: string
        F: Tensor list -> Tensor
        Inputs: Input list
    }

    override c.ToString() =
        sprintf "%s %A" c.Name (c.Inputs |> List.map string)

let private case name f (inputs: Gen<Input list>) =
    inputs |> Gen.map (fun ins -> { Name = name; F = f; Inputs = ins })

let private one domain =
    Gens.input domain |> Gen.map List.singleton

let private oneRank domain lo hi =
    Gens.inputRank domain lo hi |> Gen.map List.singleton

let private pair da db =
    gen {
        let! sa, sb = Gens.broadcastPair
        let! a = Gens.inputOf da sa
        let! b = Gens.inputOf db sb
        return [ a; b ]
    }

let private runSecondOrder (cases: Gen<SecondCase> list) =
    allOf
        [
            for c in cases ->
                forAllN 5 c (fun c ->
                    checkSecondOrder c.Name c.F (c.Inputs |> List.map tensorOfInput) c.Inputs.Head.Seed)
        ]

let private f1 (f: Tensor -> Tensor) = fun (ts: Tensor list) -> f ts.Head
let private f2 (f: Tensor -> Tensor -> Tensor) = fun (ts: Tensor list) -> f ts[0] ts[1]

let ``SecondDerivative: gradients of elementwise ops and activations have correct derivatives`` () =
    runSecondOrder
        [
            case "tanh" (f1 Tensor.tanh) (one Real)
            case "sigmoid" (f1 Tensor.sigmoid) (one Real)
            case "softplus" (f1 Tensor.softplus) (one Real)
            case "gelu" (f1 Tensor.gelu) (one Real)
            case "geluTanh" (f1 Tensor.geluTanh) (one Real)
            case "silu" (f1 Tensor.silu) (one Real)
            case "elu" (f1 (fun x -> Tensor.elu (x, 0.7))) (one NonZero)
            case "leakyRelu" (f1 (fun x -> Tensor.leakyRelu (x, 0.1) * x)) (one NonZero)
            case "relu * x" (f1 (fun x -> Tensor.relu x * x)) (one NonZero)
            case "abs * x" (f1 (fun x -> Tensor.abs x * x)) (one NonZero)
            case "erf" (f1 Tensor.erf) (one Real)
            case "sqrt" (f1 Tensor.sqrt) (one Positive)
            case "rsqrt" (f1 Tensor.rsqrt) (one Positive)
            case "log" (f1 Tensor.log) (one Positive)
            case "log1p" (f1 Tensor.log1p) (one (Uniform(-0.7, 3.0)))
            case "expm1" (f1 Tensor.expm1) (one Real)
            case "reciprocal" (f1 Tensor.reciprocal) (one NonZero)
            case "pow(x, 3.5)" (f1 (fun x -> Tensor.pow (x, 3.5))) (one Positive)
            case "sin * cos" (f1 (fun x -> Tensor.sin x * Tensor.cos x)) (one Real)
            case "clamp * x" (f1 (fun x -> Tensor.clamp (x, -0.5, 1.0) * x)) (one OffGrid)
        ]

let ``SecondDerivative: gradients of broadcasting binary ops have correct derivatives`` () =
    runSecondOrder
        [
            case "a * b" (f2 (fun a b -> a * b)) (pair Real Real)
            case "a / b" (f2 (fun a b -> a / b)) (pair Real NonZero)
            case "a - b^2" (f2 (fun a b -> a - b * b)) (pair Real Real)
            case "pow(a, b)" (f2 (fun a b -> Tensor.pow (a, b))) (pair Positive Real)
            case "maximum(a, b) * a" (f2 (fun a b -> Tensor.maximum (a, b) * a)) (pair GridLow GridHigh)
            case "minimum(a, b) * b" (f2 (fun a b -> Tensor.minimum (a, b) * b)) (pair GridHigh GridLow)
            case
                "where(c, a^2, a * b)"
                (f2 (fun a b ->
                    // A fixed condition (independent of the values, so finite differences never flip it).
                    let c = boolTensor (a.Shape.ToArray()) 12345
                    Tensor.where (c, a * a, a * b)))
                (pair Real Real)
        ]

let ``SecondDerivative: gradients of reductions and softmax have correct derivatives`` () =
    let withDims domain lo hi (f: int[] -> bool -> Tensor -> Tensor) name =
        gen {
            let! x = Gens.inputRank domain lo hi
            let! ds = Gens.dimSubset x.Shape.Length |> Gen.where (fun ds -> ds.Length > 0)
            let! keep = Gens.bool

            return
                {
                    Name = sprintf "%s(%A, keepDim %b)" name ds keep
                    F = f1 (f ds keep)
                    Inputs = [ x ]
                }
        }

    runSecondOrder
        [
            withDims Real 1 3 (fun ds k x -> Tensor.square (Tensor.sum (x, ds, k))) "sum^2"
            withDims Real 1 3 (fun ds k x -> Tensor.sin (Tensor.mean (x, ds, k))) "sin(mean)"
            withDims Distinct 1 3 (fun ds k x -> Tensor.square (Tensor.max (x, ds, k))) "max^2"
            withDims Distinct 1 3 (fun ds k x -> Tensor.square (Tensor.min (x, ds, k))) "min^2"
            withDims Distinct 1 3 (fun ds k x -> Tensor.var (x, ds, k, false)) "var"
            withDims (Uniform(-3.0, 3.0)) 1 3 (fun ds k x -> Tensor.logsumexp (x, ds, k)) "logsumexp"
            withDims Real 1 3 (fun ds _ x -> Tensor.softmax (x, ds[0])) "softmax"
            withDims Real 1 3 (fun ds _ x -> Tensor.logSoftmax (x, ds[0])) "logSoftmax"
            gen {
                let! x = Gens.inputRank Distinct 1 3 |> Gen.where (fun x -> numelOf x.Shape >= 2)

                return
                    {
                        Name = "std"
                        F = f1 (fun x -> Tensor.std x)
                        Inputs = [ x ]
                    }
            }
        ]

let ``SecondDerivative: gradients of matrix products have correct derivatives`` () =
    let mm
        name
        (f: Tensor -> Tensor -> Tensor)
        (tailA: int -> int -> int -> int[])
        (tailB: int -> int -> int -> int[])
        =
        gen {
            let! full = Gens.shapeRank 0 2
            let! ba = Gens.broadcastSideOf full
            let! bb = Gens.broadcastSideOf full
            let! m = Gens.dim
            let! k = Gens.dim
            let! n = Gens.dim
            let! a = Gens.inputOf Real (Array.append ba (tailA m k n))
            let! b = Gens.inputOf Real (Array.append bb (tailB m k n))

            return
                {
                    Name = name
                    F = f2 f
                    Inputs = [ a; b ]
                }
        }

    runSecondOrder
        [
            mm "tanh(matmul)" (fun a b -> Tensor.tanh (Tensor.matmul (a, b))) (fun m k _ -> [| m; k |]) (fun _ k n ->
                [| k; n |])
            mm "matmulNT^2" (fun a b -> Tensor.square (Tensor.matmulNT (a, b))) (fun m k _ -> [| m; k |]) (fun _ k n ->
                [| n; k |])
            mm "matmulTN^2" (fun a b -> Tensor.square (Tensor.matmulTN (a, b))) (fun m k _ -> [| k; m |]) (fun _ k n ->
                [| k; n |])
            gen {
                let! lead = Gens.shapeRank 0 2
                let! i = Gens.dim
                let! o = Gens.dim
                let! x = Gens.inputOf Real (Array.append lead [| i |])
                let! w = Gens.inputOf Real [| o; i |]
                let! b = Gens.inputOf Real [| o |]

                return
                    {
                        Name = "sigmoid(linear)"
                        F = (fun ts -> Tensor.sigmoid (Tensor.linear (ts[0], ts[1], ts[2])))
                        Inputs = [ x; w; b ]
                    }
            }
        ]

let ``SecondDerivative: gradients through layout and indexing ops have correct derivatives`` () =
    // Layout ops are linear, so they are composed with a nonlinearity to give a nonzero second derivative.
    let sq (t: Tensor) = t * t * t

    let withX domain lo hi (args: int[] -> Gen<'a>) (mk: 'a -> string * (Tensor -> Tensor)) =
        gen {
            let! x = Gens.inputRank domain lo hi
            let! a = args x.Shape
            let name, f = mk a

            return
                {
                    Name = name
                    F = f1 f
                    Inputs = [ x ]
                }
        }

    runSecondOrder
        [
            withX Real 1 4 (fun sh -> Gens.permutation sh.Length) (fun p ->
                sprintf "permute %A" p, (fun x -> sq (Tensor.permute (x, p))))
            withX Real 1 3 (fun sh -> Gen.zip (Gens.dimOf sh.Length) (Gens.dimOf sh.Length)) (fun (a, b) ->
                sprintf "transpose(%d, %d)" a b, (fun x -> sq (Tensor.transpose (x, a, b))))
            withX
                Real
                1
                3
                (fun sh ->
                    gen {
                        let! dim = Gens.dimOf sh.Length
                        let! step = Gen.elements [ 1; 2; -1; -2 ]
                        return dim, step
                    })
                (fun (dim, step) ->
                    sprintf "slice(dim %d, step %d)" dim step, (fun x -> sq (Tensor.slice (x, dim, step = step))))
            withX
                Real
                1
                3
                (fun sh ->
                    gen {
                        let! dim = Gens.dimOf sh.Length
                        let n = sh[(dim + sh.Length) % sh.Length]
                        let! vals = Gen.arrayOfLength 4 (Gen.choose (0, n - 1))
                        return dim, vals
                    })
                (fun (dim, vals) ->
                    sprintf "indexSelect(%d, %A)" dim vals,
                    (fun x -> sq (Tensor.indexSelect (x, dim, int64Tensor [| 4 |] vals))))
            withX
                Real
                1
                3
                (fun sh ->
                    gen {
                        let! dim = Gens.dimOf sh.Length
                        let d = (dim + sh.Length) % sh.Length
                        let ish = sh |> Array.mapi (fun i n -> if i = d then 3 else n)
                        let! vals = Gen.arrayOfLength (numelOf ish) (Gen.choose (0, sh[d] - 1))
                        return dim, ish, vals
                    })
                (fun (dim, ish, vals) ->
                    sprintf "gather(%d, %A)" dim vals,
                    (fun x ->
                        let g = Tensor.gather (x, dim, int64Tensor ish vals)
                        // scatterAdd of a function of the gathered values back onto x: both adjoint rules twice.
                        Tensor.scatterAdd (sq x, dim, int64Tensor ish vals, sq g)))
            withX
                Real
                1
                3
                (fun sh -> Gen.listOfLength (min 2 sh.Length) (Gen.zip (Gen.choose (0, 2)) (Gen.choose (0, 2))))
                (fun pads -> sprintf "pad %A" pads, (fun x -> sq (Tensor.pad (x, pads, 0.5))))
            withX Real 1 3 (fun sh -> Gens.dimOf sh.Length) (fun dim ->
                sprintf "cat/split(dim %d)" dim,
                (fun x ->
                    let n = x.Shape[dim]
                    let parts = Tensor.split (x, [ n / 2; n - n / 2 ], dim)
                    Tensor.cat ([ sq parts[1]; Tensor.sin parts[0] ], dim)))
            gen {
                let! full = Gens.shape
                let! small = Gens.broadcastSideOf full
                let! x = Gens.inputOf Real small

                return
                    {
                        Name = sprintf "expand to %A" full
                        F = f1 (fun x -> sq (Tensor.expand (x, full)))
                        Inputs = [ x ]
                    }
            }
        ]

let tests =
    testList
        "SecondDerivative"
        [
            property
                "SecondDerivative: elementwise f'' by every nesting of forward and reverse mode equals its formula"
                ``SecondDerivative: elementwise f'' by every nesting of forward and reverse mode equals its formula``
            property
                "SecondDerivative: third derivatives of sin, exp and x^4 by nested grad"
                ``SecondDerivative: third derivatives of sin, exp and x^4 by nested grad``
            property
                "SecondDerivative: Hessian of x^T A x is A + A^T (and of 0.5 x^T A x is (A + A^T)/2)"
                ``SecondDerivative: Hessian of x^T A x is A + A^T (and of 0.5 x^T A x is (A + A^T)/2)``
            property
                "SecondDerivative: Hessian-vector products equal H v, forward over reverse and reverse over reverse"
                ``SecondDerivative: Hessian-vector products equal H v, forward over reverse and reverse over reverse``
            property
                "SecondDerivative: Hessian of logsumexp is diag(p) - p p^T with p = softmax(x)"
                ``SecondDerivative: Hessian of logsumexp is diag(p) - p p^T with p = softmax(x)``
            property
                "SecondDerivative: Hessian of the biased variance is (2/n)(I - 11^T/n)"
                ``SecondDerivative: Hessian of the biased variance is (2/n)(I - 11^T/n)``
            property
                "SecondDerivative: Hessian of sum((W x + b)^2) is 2 W^T W"
                ``SecondDerivative: Hessian of sum((W x + b)^2) is 2 W^T W``
            property
                "SecondDerivative: Hessian of sum(X)^2 over an r x c matrix X has shape (r, c, r, c) and every entry 2"
                ``SecondDerivative: Hessian of sum(X)^2 over an r x c matrix X has shape (r, c, r, c) and every entry 2``
            property
                "SecondDerivative: mixed partials of f(a, b) = sum(sin(a) * b^2) over a PTree, with broadcasting"
                ``SecondDerivative: mixed partials of f(a, b) = sum(sin(a) * b^2) over a PTree, with broadcasting``
            property
                "SecondDerivative: Jacobian of tanh(A x) is diag(1 - tanh^2) A, in both the reverse and forward branch"
                ``SecondDerivative: Jacobian of tanh(A x) is diag(1 - tanh^2) A, in both the reverse and forward branch``
            property
                "SecondDerivative: gradients of elementwise ops and activations have correct derivatives"
                ``SecondDerivative: gradients of elementwise ops and activations have correct derivatives``
            property
                "SecondDerivative: gradients of broadcasting binary ops have correct derivatives"
                ``SecondDerivative: gradients of broadcasting binary ops have correct derivatives``
            property
                "SecondDerivative: gradients of reductions and softmax have correct derivatives"
                ``SecondDerivative: gradients of reductions and softmax have correct derivatives``
            property
                "SecondDerivative: gradients of matrix products have correct derivatives"
                ``SecondDerivative: gradients of matrix products have correct derivatives``
            property
                "SecondDerivative: gradients through layout and indexing ops have correct derivatives"
                ``SecondDerivative: gradients through layout and indexing ops have correct derivatives``
        ]
