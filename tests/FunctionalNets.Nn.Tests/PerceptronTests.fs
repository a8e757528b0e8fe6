module FunctionalNets.Tests.Nn.PerceptronTests

open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn

let private inputs =
    Tensor.ofArray ([| 0.0f; 0.0f; 0.0f; 1.0f; 1.0f; 0.0f; 1.0f; 1.0f |], [ 4; 2 ])

/// The four points of the unit square with targets from a truth table (inputs 00, 01, 10, 11).
let private gate (truth: float[]) =
    {
        Input = inputs
        Target = Tensor.ofArray (Array.map float32 truth, [ 4 ])
    }

let private andGate = gate [| 0.0; 0.0; 0.0; 1.0 |]
let private orGate = gate [| 0.0; 1.0; 1.0; 1.0 |]
let private nandGate = gate [| 1.0; 1.0; 1.0; 0.0 |]
let private xorGate = gate [| 0.0; 1.0; 1.0; 0.0 |]

let private correct (model: Perceptron) (data: Batch) =
    Array.map2 (=) (Tensor.toFloatArray (Perceptron.predict model data.Input)) (Tensor.toFloatArray data.Target)

let ``the perceptron learns AND, OR and NAND and converges`` () =
    for data in [ andGate; orGate; nandGate ] do
        let model, converged, epochs = Perceptron.create 2 |> Perceptron.train 1.0 100 data
        Expect.isTrue converged "converged"
        Checks.inRange "epochs" 1 100 epochs
        Expect.isTrue (correct model data |> Array.forall id) "correct model data |> Array.forall id"
        Expect.equal (Perceptron.accuracy model data) 1.0 "Perceptron.accuracy model data"

let ``the perceptron does not converge on XOR`` () =
    let model, converged, epochs =
        Perceptron.create 2 |> Perceptron.train 1.0 100 xorGate

    Expect.isFalse converged "converged"
    Expect.equal epochs 100 "epochs"
    // No line separates XOR, so some point is always wrong.
    Expect.isTrue (correct model xorGate |> Array.exists not) "correct model xorGate |> Array.exists not"

let ``one update follows w <- w + lr (y - yhat) x and b <- b + lr (y - yhat)`` () =
    let model =
        {
            Weight = Tensor.ofArray ([| 0.5f; -0.5f |], [ 2 ])
            Bias = Tensor.scalar (-0.25)
        }

    let x = Tensor.ofArray ([| 1.0f; 1.0f |], [ 2 ])
    // w . x + b = -0.25 <= 0, so yhat = 0; the target 1 gives an error of 1.
    let m, wrong = Perceptron.update 0.1 model x 1.0
    Expect.isTrue wrong "wrong"

    Expect.equal
        (Tensor.toFloatArray m.Weight |> Array.map (fun v -> System.Math.Round(v, 6)))
        [| 0.6; -0.4 |]
        "Tensor.toFloatArray m.Weight |> Array.map (fun v -> System.Math.Round(v, 6))"

    Expect.equal (System.Math.Round(Tensor.toScalar m.Bias, 6)) -0.15 "System.Math.Round(Tensor.toScalar m.Bias, 6)"
    // A right answer changes nothing.
    let same, wrong2 = Perceptron.update 0.1 model x 0.0
    Expect.isFalse wrong2 "wrong2"
    Expect.isTrue (obj.ReferenceEquals(model, same)) "same is the same object"

let ``trainEpoch counts mistakes and rejects bad data`` () =
    let _, mistakes = Perceptron.trainEpoch 1.0 andGate (Perceptron.create 2)
    // From zero weights, yhat is 0 for every point until the first update: 11 is the first mistake.
    Expect.isTrue (mistakes >= 1) "mistakes >= 1"

    Expects.throwsAny<System.ArgumentException>
        "Perceptron.trainEpoch 1.0 (gate [| 0.0; 2.0; 0.0; 1.0 |]) (Perceptron.create 2)"
        (fun () ->
            Perceptron.trainEpoch 1.0 (gate [| 0.0; 2.0; 0.0; 1.0 |]) (Perceptron.create 2)
            |> ignore)
    |> ignore

    Expects.throwsAny<System.ArgumentException> "Perceptron.predict (Perceptron.create 3) inputs" (fun () ->
        Perceptron.predict (Perceptron.create 3) inputs |> ignore)
    |> ignore

// ---- A 2-4-1 MLP trained by backprop solves what the perceptron cannot ----

let ``a 2-4-1 tanh MLP trained by gradient descent learns XOR`` () =
    let net =
        Layer.sequential [ Layers.linear (2, 4); Layers.tanh (); Layers.linear (4, 1) ]

    let outShape, ps0, st = Layer.init net (Key.create 42L) [ 2 ]
    Expect.equal (outShape.ToList()) [ 1 ] "outShape.ToList()"
    let targets = Tensor.reshape (xorGate.Target, [ 4; 1 ])

    let loss (ps: Params) =
        Losses.bceWithLogits (fst (Layer.apply net ps st Ctx.eval inputs)) targets

    let lr = 0.5

    let step (ps: Params) _ =
        let g = Diff.gradTree loss ps
        PTree.map2 (fun (w: Tensor) (dw: Tensor) -> w - dw * lr) ps g

    let trained = Seq.fold step ps0 (seq { 1..500 })

    let probs =
        Tensor.toFloatArray (Tensor.sigmoid (Layer.predict net trained st inputs))

    let expected = [| 0.0; 1.0; 1.0; 0.0 |]

    Array.iteri2
        (fun i p y ->
            Expect.isTrue ((p > 0.5) = (y = 1.0)) (sprintf "point %d: p = %g for target %g (all: %A)" i p y probs))
        probs
        expected

    Expect.isTrue (Tensor.toScalar (loss trained) < 0.1) "Tensor.toScalar (loss trained) < 0.1"

/// The tests of this module.
let tests =
    testList
        "Perceptron"
        [
            testCase
                "the perceptron learns AND, OR and NAND and converges"
                ``the perceptron learns AND, OR and NAND and converges``
            testCase "the perceptron does not converge on XOR" ``the perceptron does not converge on XOR``
            testCase
                "one update follows w <- w + lr (y - yhat) x and b <- b + lr (y - yhat)"
                ``one update follows w <- w + lr (y - yhat) x and b <- b + lr (y - yhat)``
            testCase
                "trainEpoch counts mistakes and rejects bad data"
                ``trainEpoch counts mistakes and rejects bad data``
            testCase
                "a 2-4-1 tanh MLP trained by gradient descent learns XOR"
                ``a 2-4-1 tanh MLP trained by gradient descent learns XOR``
        ]
