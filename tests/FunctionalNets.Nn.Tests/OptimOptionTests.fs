/// torch's optimizer and schedule options: SGD dampening, one-cycle's cycled momentum (SGD momentum, Adam beta1),
/// anneal strategy and three phases, and cosine annealing with warm restarts. Expected values are torch 1.13's
/// in float64, produced by the torch code quoted beside each test.
module FunctionalNets.Tests.Nn.OptimOptionTests

open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn

let private v (xs: float[]) = Tensor.ofArray (xs, [ xs.Length ])

let private same (tol: float) (expected: float[]) (actual: float[]) =
    Expect.isTrue
        (expected.Length = actual.Length
         && Array.forall2 (fun (e: float) a -> abs (e - a) <= tol * (1.0 + abs e)) expected actual)
        (sprintf "expected %A, got %A" expected actual)

// torch: p = torch.nn.Parameter(torch.tensor([0.5,-0.3,1.0])); for each g of the four below: p.grad = g;
// opt.step(); sched.step() (when there is a scheduler); record p.
let private grads =
    [
        [| 1.0; -2.0; 0.5 |]
        [| 0.3; 0.1; -1.0 |]
        [| -0.7; 0.4; 2.0 |]
        [| 0.2; 0.2; 0.2 |]
    ]

/// The parameter after each update of tx fed the gradients above.
let private trajectory (tx: GradTx) =
    let leaf (xs: float[]) = PTree.Node [ "w", PTree.Leaf(v xs) ]
    let p0 = leaf [| 0.5; -0.3; 1.0 |]

    grads
    |> List.indexed
    |> List.scan
        (fun (p, state, _) (i, g) ->
            let updates, state = tx.Update (int64 i) (leaf g) state p
            let p = Optim.applyUpdates p updates
            p, state, Tensor.toFloatArray (List.head (PTree.values p)))
        (p0, tx.Init p0, [||])
    |> List.tail
    |> List.map (fun (_, _, w) -> w)

let ``sgd with dampening matches torch`` () =
    // torch.optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.5)
    let expected =
        [
            [| 0.4; -0.09999999999999998; 0.95 |]
            [| 0.295; 0.07500000000000004; 0.955 |]
            [| 0.23549999999999996; 0.21250000000000005; 0.8594999999999999 |]
            [| 0.17194999999999994; 0.32625000000000004; 0.76355 |]
        ]

    List.iter2 (same 1e-12) expected (trajectory (Optim.sgd (0.1, momentum = 0.9, dampening = 0.5)))
    // torch.optim.SGD([p], lr=0.1, momentum=0.8, dampening=0.3, weight_decay=0.1)
    let expected =
        [
            [| 0.39499999999999996; -0.097; 0.94 |]
            [| 0.28723499999999996; 0.05907899999999999; 0.9554199999999999 |]
            [| 0.24801235499999996; 0.155528647; 0.82106806 |]
            [| 0.20089815251499996; 0.217599664071; 0.69383903158 |]
        ]

    List.iter2 (same 1e-12) expected (trajectory (Optim.sgd (0.1, momentum = 0.8, weightDecay = 0.1, dampening = 0.3)))

let ``nesterov with dampening is refused as in torch`` () =
    let e =
        Expects.throws<System.ArgumentException>
            "Optim.sgd (0.1, momentum = 0.9, nesterov = true, dampening = 0.1)"
            (fun () -> Optim.sgd (0.1, momentum = 0.9, nesterov = true, dampening = 0.1) |> ignore)

    Expect.stringContains e.Message "dampening 0" "e.Message"

let private at (schedule: Schedule) (n: int) =
    Array.init n (fun i -> schedule (int64 i))

// torch: o = SGD([p], lr=0.1, momentum=0.9) (or Adam([p], lr=0.1)), s = OneCycleLR(o, ...); for each step record
// o.param_groups[0]['lr'] and ['momentum'] (Adam: ['betas'][0]), then o.step(); s.step().
let ``one-cycle momentum, anneal strategy and three phases match torch`` () =
    // OneCycleLR(o, max_lr=1.0, total_steps=10)
    same
        1e-12
        [|
            0.95
            0.8999999999999999
            0.85
            0.854951556604879
            0.8688255099070633
            0.8888739533021842
            0.9111260466978157
            0.9311744900929366
            0.945048443395121
            0.95
        |]
        (at (Schedules.oneCycleMomentum Anneal.Cos false 0.85 0.95 10L 0.3) 10)
    // OneCycleLR(o, max_lr=1.0, total_steps=10, anneal_strategy='linear')
    same
        1e-12
        [|
            0.04
            0.52
            1.0
            0.8571434285714286
            0.7142868571428571
            0.5714302857142857
            0.42857371428571434
            0.2857171428571429
            0.14286057142857145
            4.000000000004e-06
        |]
        (at (Schedules.oneCycleWith Anneal.Linear false 1.0 10L 0.3 25.0 1e4) 10)

    same
        1e-12
        [|
            0.95
            0.8999999999999999
            0.85
            0.8642857142857142
            0.8785714285714286
            0.8928571428571428
            0.9071428571428571
            0.9214285714285714
            0.9357142857142857
            0.95
        |]
        (at (Schedules.oneCycleMomentum Anneal.Linear false 0.85 0.95 10L 0.3) 10)
    // OneCycleLR(o, max_lr=1.0, total_steps=12, three_phase=True, pct_start=0.25)
    same
        1e-12
        [|
            0.040000000000000036
            0.52
            1.0
            0.52
            0.04
            0.038019575420312576
            0.032470549057570956
            0.024451973637258376
            0.015552026362741628
            0.0075334509424290486
            0.0019844245796874246
            4e-06
        |]
        (at (Schedules.oneCycleWith Anneal.Cos true 1.0 12L 0.25 25.0 1e4) 12)

    same
        1e-12
        [|
            0.95
            0.8999999999999999
            0.85
            0.8999999999999999
            0.95
            0.95
            0.95
            0.95
            0.95
            0.95
            0.95
            0.95
        |]
        (at (Schedules.oneCycleMomentum Anneal.Cos true 0.85 0.95 12L 0.25) 12)
    // Adam: OneCycleLR(o, max_lr=1.0, total_steps=12, three_phase=True, pct_start=0.25, anneal_strategy='linear',
    // base_momentum=0.8, max_momentum=0.9): betas[0]
    same
        1e-12
        [|
            0.9
            0.8500000000000001
            0.8
            0.8500000000000001
            0.9
            0.9
            0.9
            0.9
            0.9
            0.9
            0.9
            0.9
        |]
        (at (Schedules.oneCycleMomentum Anneal.Linear true 0.8 0.9 12L 0.25) 12)

let ``cosine annealing with warm restarts matches torch`` () =
    // CosineAnnealingWarmRestarts(SGD([p], lr=0.1), T_0=3, T_mult=2, eta_min=0.01)
    same
        1e-12
        [|
            0.1
            0.0775
            0.032500000000000015
            0.1
            0.09397114317029975
            0.0775
            0.05500000000000001
            0.032500000000000015
            0.01602885682970026
            0.1
            0.09846666218300808
            0.09397114317029975
        |]
        (at (Schedules.cosineWarmRestarts 0.1 3L 2 0.01) 12)
    // CosineAnnealingWarmRestarts(SGD([p], lr=0.1), T_0=4)
    same
        1e-12
        [|
            0.1
            0.08535533905932738
            0.05
            0.014644660940672627
            0.1
            0.08535533905932738
            0.05
            0.014644660940672627
            0.1
        |]
        (at (Schedules.cosineWarmRestarts 0.1 4L 1 0.0) 9)

let ``sgd and adam follow torch when one-cycle cycles their momentum`` () =
    // SGD([p], lr=0.1, momentum=0.9) with OneCycleLR(o, max_lr=0.5, total_steps=4)
    let tx =
        Optim.sgd (
            Schedules.oneCycle 0.5 4L 0.3 25.0 1e4,
            momentum = 0.9,
            momentumSchedule = Schedules.oneCycleMomentum Anneal.Cos false 0.85 0.95 4L 0.3
        )

    let expected =
        [
            [| 0.48; -0.25999999999999995; 0.99 |]
            [| 0.005605486053662892; 0.4046780490102572; 1.219556494047945 |]
            [| -0.04779392569225078; 0.561693884795424; 1.0102751293264263 |]
            [| -0.04779504256163907; 0.5616955926809319; 1.0102719197935306 |]
        ]

    List.iter2 (same 1e-12) expected (trajectory tx)
    // Adam([p], lr=0.1) with OneCycleLR(o, max_lr=0.5, total_steps=4)
    let tx =
        Optim.adam (
            Schedules.oneCycle 0.5 4L 0.3 25.0 1e4,
            b1Schedule = Schedules.oneCycleMomentum Anneal.Cos false 0.85 0.95 4L 0.3
        )

    let expected =
        [
            [| 0.4800000002; -0.2800000001; 0.9800000004 |]
            [| 0.29427893137717587; -0.19372723716970147; 1.2091910790636233 |]
            [| 0.27495691480513224; -0.1734341292387917; 1.181725406387682 |]
            [| 0.2749563991962856; -0.17343386806755093; 1.181724816327481 |]
        ]

    List.iter2 (same 1e-12) expected (trajectory tx)

/// The tests of this module.
let tests =
    testList
        "OptimOption"
        [
            testCase "sgd with dampening matches torch" ``sgd with dampening matches torch``
            testCase "nesterov with dampening is refused as in torch" ``nesterov with dampening is refused as in torch``
            testCase
                "one-cycle momentum, anneal strategy and three phases match torch"
                ``one-cycle momentum, anneal strategy and three phases match torch``
            testCase
                "cosine annealing with warm restarts matches torch"
                ``cosine annealing with warm restarts matches torch``
            testCase
                "sgd and adam follow torch when one-cycle cycles their momentum"
                ``sgd and adam follow torch when one-cycle cycles their momentum``
        ]
