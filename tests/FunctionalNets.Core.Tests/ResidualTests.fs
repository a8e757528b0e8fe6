/// Ops that declare residuals (TensorCore.applyResidual) and Diff's auxiliary outputs.
module FunctionalNets.Tests.ResidualTests

open Expecto
open FunctionalNets.Testing
open FunctionalNets

let private f64 (xs: float list) = Tensor.create (xs, DType.Float64)

let ``valueAndGradAux returns the value, the aux tree without derivatives and the gradient`` () =
    let x = f64 [ 1.0; 2.0; 3.0 ]

    let (value, aux), g =
        Diff.valueAndGradAux (fun x -> Tensor.sum (x * x), PTree.node [ "double", Leaf(x * 2.0) ]) x

    Expect.equal (Tensor.toScalar value) 14.0 "Tensor.toScalar value"
    Expect.equal (Tensor.toArray g :?> float[]) ([| 2.0; 4.0; 6.0 |]) "Tensor.toArray g :?> float[]"

    match aux with
    | Node [ "double", Leaf d ] ->
        Expect.isFalse d.IsDifferentiable "d.IsDifferentiable"
        Expect.equal (Tensor.toArray d :?> float[]) ([| 2.0; 4.0; 6.0 |]) "Tensor.toArray d :?> float[]"
    | _ -> failwith "unexpected aux shape"

let ``An op with residuals hands them to its rules once per adjoint, for all operands at once`` () =
    let mutable backwardCalls = 0

    // y = a * b with the product a * b saved as a residual; the adjoint rule returns both adjoints in one call.
    let mulRes (a: Tensor) (b: Tensor) =
        TensorCore.applyResidual
            {
                Name = "mulWithResidual"
                Forward = fun r -> r[0].Binary(BinaryKind.Mul, r[1]), [| r[0].Clone() |]
                Jvp =
                    fun c ts ->
                        let parts =
                            [
                                match ts[0] with
                                | Some t -> t * c.Primals[1]
                                | None -> ()
                                match ts[1] with
                                | Some t -> c.Primals[0] * t
                                | None -> ()
                            ]

                        List.reduce (+) parts
                Vjp =
                    fun c g ->
                        backwardCalls <- backwardCalls + 1
                        // The residual is a constant copy of a.
                        Expect.isFalse (c.Residuals[0].IsDifferentiable) "c.Residuals[0].IsDifferentiable"
                        [| g * c.Primals[1]; g * c.Primals[0] |]
            }
            [| a; b |]
        |> fst

    let a, b = f64 [ 1.0; 2.0 ], f64 [ 3.0; 5.0 ]

    let g =
        Diff.gradTree
            (fun t ->
                match t with
                | Node [ _, Leaf a; _, Leaf b ] -> Tensor.sum (mulRes a b)
                | _ -> failwith "tree")
            (PTree.node [ "a", Leaf a; "b", Leaf b ])

    Expect.equal backwardCalls 1 "backwardCalls"

    match g with
    | Node [ _, Leaf ga; _, Leaf gb ] ->
        Expect.equal (Tensor.toArray ga :?> float[]) ([| 3.0; 5.0 |]) "Tensor.toArray ga :?> float[]"
        Expect.equal (Tensor.toArray gb :?> float[]) ([| 1.0; 2.0 |]) "Tensor.toArray gb :?> float[]"
    | _ -> failwith "tree"

    // Second order through the residual op: d/da sum(d/da (a*b)^2 ...) via grad of grad.
    let h =
        Diff.grad (fun a -> Tensor.sum (Diff.grad (fun a -> Tensor.sum (mulRes a a)) a)) a

    Expect.equal (Tensor.toArray h :?> float[]) ([| 2.0; 2.0 |]) "Tensor.toArray h :?> float[]"

let ``maxPool2dWithIndices under grad returns the indices of its residual and a gradient scattered to them`` () =
    let x =
        Tensor.reshape (Tensor.create ([ 1.0; 5.0; 2.0; 0.0; 3.0; 4.0; 7.0; 6.0; 1.0 ], DType.Float64), [ 1; 1; 3; 3 ])

    let g =
        Diff.grad
            (fun x ->
                let y, idx = Tensor.maxPool2dWithIndices (x, 2, 1)
                Expect.isFalse idx.IsDifferentiable "idx.IsDifferentiable"
                Expect.equal (Tensor.toArray idx :?> int64[]) ([| 1L; 1L; 6L; 7L |]) "Tensor.toArray idx :?> int64[]"
                Tensor.sum y)
            x

    Expect.equal
        (Tensor.toArray g :?> float[])
        ([| 0.0; 2.0; 0.0; 0.0; 0.0; 0.0; 1.0; 1.0; 0.0 |])
        "Tensor.toArray g :?> float[]"

let tests =
    testList
        "Residual"
        [
            testCase
                "valueAndGradAux returns the value, the aux tree without derivatives and the gradient"
                ``valueAndGradAux returns the value, the aux tree without derivatives and the gradient``
            testCase
                "An op with residuals hands them to its rules once per adjoint, for all operands at once"
                ``An op with residuals hands them to its rules once per adjoint, for all operands at once``
            testCase
                "maxPool2dWithIndices under grad returns the indices of its residual and a gradient scattered to them"
                ``maxPool2dWithIndices under grad returns the indices of its residual and a gradient scattered to them``
        ]
