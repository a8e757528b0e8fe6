/// torch's semantics at the edges of ops' domains. Every expected value is what torch 1.13 gives in float64;
/// the torch expression that produced it is written beside each test (x = torch.tensor(..., dtype=torch.float64,
/// requires_grad=True), gradients from y.backward(torch.ones_like(y))).
module FunctionalNets.Tests.TorchEdgeTests

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets

let private t (xs: float[]) = Tensor.ofArray (xs, [ xs.Length ])

let private t2 (rows: float[][]) =
    Tensor.ofArray (Array.concat rows, [ rows.Length; rows[0].Length ])

let private arr (x: Tensor) = Tensor.toFloatArray x

/// The value and the gradient of sum(f x) at x.
let private valueGrad (f: Tensor -> Tensor) (x: Tensor) =
    let v, g = Diff.valueAndGrad (fun x -> Tensor.sum (f x)) x
    arr (f x), arr g

/// The gradients of f a b with respect to a and to b.
let private grad2 (f: Tensor -> Tensor -> Tensor) (a: Tensor) (b: Tensor) =
    let tree = PTree.Node [ "a", PTree.Leaf a; "b", PTree.Leaf b ]

    match
        PTree.values (
            Diff.gradTree
                (fun p ->
                    (match PTree.values p with
                     | [ a; b ] -> f a b
                     | _ -> failwith "two leaves"))
                tree
        )
    with
    | [ ga; gb ] -> ga, gb
    | _ -> failwith "two gradients"

let private same (expected: float[]) (actual: float[]) =
    Expect.isTrue
        (expected.Length = actual.Length
         && Array.forall2 (fun (e: float) a -> e = a || abs (e - a) <= 1e-12 * (1.0 + abs e)) expected actual)
        (sprintf "expected %A, got %A" expected actual)

let ``max() and amax over equal maxima share the gradient evenly`` () =
    // x.max() and x.amax() of [1, 3, 3, 2]: grad [0, 0.5, 0.5, 0]
    let _, g = valueGrad (fun x -> Tensor.max x) (t [| 1.0; 3.0; 3.0; 2.0 |])
    same [| 0.0; 0.5; 0.5; 0.0 |] g
    // x.amax(1) of [[1, 3, 3], [2, 2, 2]]: value [3, 2], grad [[0, .5, .5], [1/3, 1/3, 1/3]]
    let v, g =
        valueGrad (fun x -> Tensor.max (x, 1)) (t2 [| [| 1.0; 3.0; 3.0 |]; [| 2.0; 2.0; 2.0 |] |])

    same [| 3.0; 2.0 |] v
    same [| 0.0; 0.5; 0.5; 1.0 / 3.0; 1.0 / 3.0; 1.0 / 3.0 |] g
    // x.min() of [1, 1, 3]: grad [0.5, 0.5, 0]
    let _, g = valueGrad (fun x -> Tensor.min x) (t [| 1.0; 1.0; 3.0 |])
    same [| 0.5; 0.5; 0.0 |] g

let ``max along a dim with indices sends the gradient to the index`` () =
    // x.max(1).values of [[1, 3, 3], [2, 2, 2]]: grad [[0, 1, 0], [1, 0, 0]], indices [1, 0]
    let x = t2 [| [| 1.0; 3.0; 3.0 |]; [| 2.0; 2.0; 2.0 |] |]
    let _, g = valueGrad (fun x -> fst (Tensor.maxWithIndices (x, 1))) x
    same [| 0.0; 1.0; 0.0; 1.0; 0.0; 0.0 |] g
    same [| 1.0; 0.0 |] (arr (snd (Tensor.maxWithIndices (x, 1))))

let ``maximum and minimum of equal operands give half the gradient to each`` () =
    // torch.maximum(a, b).sum().backward() with a = [1, 2, 3], b = [1, 5, 3]: a.grad [.5, 0, .5], b.grad [.5, 1, .5];
    // torch.minimum: a.grad [.5, 1, .5], b.grad [.5, 0, .5]
    let a, b = t [| 1.0; 2.0; 3.0 |], t [| 1.0; 5.0; 3.0 |]
    let ga, gb = grad2 (fun a b -> Tensor.sum (Tensor.maximum (a, b))) a b
    same [| 0.5; 0.0; 0.5 |] (arr ga)
    same [| 0.5; 1.0; 0.5 |] (arr gb)
    let ga, gb = grad2 (fun a b -> Tensor.sum (Tensor.minimum (a, b))) a b
    same [| 0.5; 1.0; 0.5 |] (arr ga)
    same [| 0.5; 0.0; 0.5 |] (arr gb)

let ``std and var of a constant slice have gradient 0`` () =
    // x.std(1) of [[2, 2, 2], [1, 2, 4]]: value [0, 1.5275252316519465],
    // grad [[0, 0, 0], [-0.43643578047198484, -0.10910894511799625, 0.5455447255899809]]
    let x = t2 [| [| 2.0; 2.0; 2.0 |]; [| 1.0; 2.0; 4.0 |] |]
    let v, g = valueGrad (fun x -> Tensor.std (x, 1)) x
    same [| 0.0; 1.5275252316519465 |] v

    same
        [|
            0.0
            0.0
            0.0
            -0.43643578047198484
            -0.10910894511799625
            0.5455447255899809
        |]
        g
    // x.var(1): grad [[0, 0, 0], [-4/3, -1/3, 5/3]]
    let _, g = valueGrad (fun x -> Tensor.var (x, 1)) x
    same [| 0.0; 0.0; 0.0; -4.0 / 3.0; -1.0 / 3.0; 5.0 / 3.0 |] g
    // x.std() of [5, 5]: grad [0, 0]
    let _, g = valueGrad (fun x -> Tensor.std x) (t [| 5.0; 5.0 |])
    same [| 0.0; 0.0 |] g

let ``logsumexp of an all -inf slice is -inf`` () =
    // torch.logsumexp(x, 1) of [[-inf, -inf], [0, 1]]: [-inf, 1.3132616875182228]
    let v =
        arr (Tensor.logsumexp (t2 [| [| -infinity; -infinity |]; [| 0.0; 1.0 |] |], 1))

    Expect.equal (v[0]) (-infinity) "v[0]"
    same [| 1.3132616875182228 |] [| v[1] |]
    // torch.logsumexp(x, 1) of [[-inf, 0], [0, 1]]: grad [[0, 1], [0.2689414213699951, 0.7310585786300049]], no NaN
    let _, g =
        valueGrad (fun x -> Tensor.logsumexp (x, 1)) (t2 [| [| -infinity; 0.0 |]; [| 0.0; 1.0 |] |])

    same [| 0.0; 1.0; 0.2689414213699951; 0.7310585786300049 |] g

let ``pow(0, 0) has gradient 0 with respect to the base and the exponent`` () =
    // x = [0, 2], e = [0, 0] (both requiring grad): torch.pow(x, e).sum().backward(): x.grad [0, 0], e.grad [0, log 2 * 1]
    let x, e = t [| 0.0; 2.0 |], t [| 0.0; 0.0 |]
    let gx, ge = grad2 (fun x e -> Tensor.sum (Tensor.pow (x, e))) x e
    same [| 0.0; 0.0 |] (arr gx)
    same [| 0.0; log 2.0 |] (arr ge)
    // x ** 0.0: grad [0, 0]
    let _, g = valueGrad (fun x -> Tensor.pow (x, 0.0)) x
    same [| 0.0; 0.0 |] g

let ``softplus above its threshold is the identity with gradient exactly 1`` () =
    // F.softplus(x, beta=2, threshold=5) of [2.4, 2.5, 2.6, -1, 30]:
    // value [2.404098033669134, 2.503357674244559, 2.6, 0.06346400552148625, 30],
    // grad [0.9918374288468401, 0.9933071490757152, 1, 0.11920292202211755, 1]
    let v, g =
        valueGrad (fun x -> Tensor.softplus (x, 2.0, 5.0)) (t [| 2.4; 2.5; 2.6; -1.0; 30.0 |])

    same [| 2.404098033669134; 2.503357674244559; 2.6; 0.06346400552148625; 30.0 |] v
    same [| 0.9918374288468401; 0.9933071490757152; 1.0; 0.11920292202211755; 1.0 |] g
    Expect.equal (g[2]) 1.0 "g[2]"
    // F.softplus(x) (beta 1, threshold 20) of [20.5]: value 20.5, grad exactly 1
    let v, g = valueGrad (fun x -> Tensor.softplus (x, 1.0, 20.0)) (t [| 20.5 |])
    Expect.equal (v[0]) 20.5 "v[0]"
    Expect.equal (g[0]) 1.0 "g[0]"

let tests =
    testList
        "TorchEdge"
        [
            testCase
                "max() and amax over equal maxima share the gradient evenly"
                ``max() and amax over equal maxima share the gradient evenly``
            testCase
                "max along a dim with indices sends the gradient to the index"
                ``max along a dim with indices sends the gradient to the index``
            testCase
                "maximum and minimum of equal operands give half the gradient to each"
                ``maximum and minimum of equal operands give half the gradient to each``
            testCase
                "std and var of a constant slice have gradient 0"
                ``std and var of a constant slice have gradient 0``
            testCase "logsumexp of an all -inf slice is -inf" ``logsumexp of an all -inf slice is -inf``
            testCase
                "pow(0, 0) has gradient 0 with respect to the base and the exponent"
                ``pow(0, 0) has gradient 0 with respect to the base and the exponent``
            testCase
                "softplus above its threshold is the identity with gradient exactly 1"
                ``softplus above its threshold is the identity with gradient exactly 1``
        ]
