module FunctionalNets.Tests.Nn.InitTests

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn

let private values (t: Tensor) = Tensor.toFloatArray t
let private mean (xs: float[]) = Array.average xs

let private variance (xs: float[]) =
    let m = mean xs
    xs |> Array.averageBy (fun x -> (x - m) * (x - m))

/// |actual - expected| <= rel * |expected|.
let private closeRel (rel: float) (expected: float) (actual: float) =
    Expect.isTrue
        (abs (actual - expected) <= rel * abs expected)
        (sprintf "expected %g (+-%g%%), got %g" expected (rel * 100.0) actual)

let private key = Key.create 1234L

let ``fans follow PyTorch for linear and conv weights`` () =
    Expect.equal (Init.fans [ 128; 784 ]) ((784, 128)) "Init.fans [ 128; 784 ]"
    // [out; in; kh; kw]: the receptive field multiplies both fans.
    Expect.equal (Init.fans [ 16; 3; 5; 5 ]) ((3 * 5 * 5, 16 * 5 * 5)) "Init.fans [ 16; 3; 5; 5 ]"

    Expects.throwsAny<ArgumentException> "Init.fans [ 10 ]" (fun () -> Init.fans [ 10 ] |> ignore)
    |> ignore

let ``calculateGain matches PyTorch's table`` () =
    closeRel 1e-12 1.0 (Init.calculateGain Nonlinearity.Linear)
    closeRel 1e-12 1.0 (Init.calculateGain Nonlinearity.Sigmoid)
    closeRel 1e-12 (5.0 / 3.0) (Init.calculateGain Nonlinearity.Tanh)
    closeRel 1e-12 (sqrt 2.0) (Init.calculateGain Nonlinearity.Relu)
    closeRel 1e-12 (sqrt (2.0 / (1.0 + 0.01 * 0.01))) (Init.calculateGain Nonlinearity.LeakyRelu)
    closeRel 1e-12 (sqrt (2.0 / (1.0 + 0.2 * 0.2))) (Init.calculateGain (Nonlinearity.LeakyRelu, 0.2))
    // kaiming_uniform(a = sqrt 5), PyTorch's Linear default: gain sqrt(2 / 6) = sqrt(1/3).
    closeRel 1e-12 (sqrt (1.0 / 3.0)) (Init.calculateGain (Nonlinearity.LeakyRelu, sqrt 5.0))

let ``xavierUniform has variance gain^2 * 2 / (fanIn + fanOut) and its bounds`` () =
    let fanOut, fanIn, gain = 300, 500, 2.0
    let xs = values (Init.xavierUniform (key, [ fanOut; fanIn ], gain))
    let bound = gain * sqrt (6.0 / float (fanIn + fanOut))
    closeRel 0.03 (gain * gain * 2.0 / float (fanIn + fanOut)) (variance xs)

    Expect.isTrue
        (xs |> Array.forall (fun x -> abs x <= bound * (1.0 + 1e-6)))
        "xs |> Array.forall (fun x -> abs x <= bound * (1.0 + 1e-6))"

    Expect.isTrue
        (Array.max xs > 0.99 * bound && Array.min xs < -0.99 * bound)
        "Array.max xs > 0.99 * bound && Array.min xs < -0.99 * bound"

    Expect.isTrue
        (abs (mean xs) < 5.0 * bound / sqrt 3.0 / sqrt (float xs.Length))
        "abs (mean xs) < 5.0 * bound / sqrt 3.0 / sqrt (float xs.Length)"

let ``xavierNormal has std gain * sqrt(2 / (fanIn + fanOut))`` () =
    let xs = values (Init.xavierNormal (key, [ 400; 300 ], 0.5))
    closeRel 0.03 (0.5 * sqrt (2.0 / 700.0)) (sqrt (variance xs))

    Expect.isTrue
        (abs (mean xs) < 5.0 * 0.5 * sqrt (2.0 / 700.0) / sqrt (float xs.Length))
        "abs (mean xs) < 5.0 * 0.5 * sqrt (2.0 / 700.0) / sqrt (float xs.Length)"

let ``kaimingNormal has std gain / sqrt(fan) for fan_in and fan_out`` () =
    let shape = [ 256; 512 ]

    let reluFanIn =
        values (Init.kaimingNormal (key, shape, nonlinearity = Nonlinearity.Relu))

    closeRel 0.03 (sqrt 2.0 / sqrt 512.0) (sqrt (variance reluFanIn))

    let leakyFanOut =
        values (Init.kaimingNormal (key, shape, a = 0.2, mode = FanMode.FanOut))

    closeRel 0.03 (sqrt (2.0 / 1.04) / sqrt 256.0) (sqrt (variance leakyFanOut))

    // A conv weight: fan_in = in * k * k.
    let conv =
        values (Init.kaimingNormal (key, [ 64; 32; 3; 3 ], nonlinearity = Nonlinearity.Relu))

    closeRel 0.05 (sqrt 2.0 / sqrt (32.0 * 9.0)) (sqrt (variance conv))

let ``kaimingUniform stays within sqrt 3 * gain / sqrt(fan) and has that distribution's variance`` () =
    let xs =
        values (Init.kaimingUniform (key, [ 300; 400 ], nonlinearity = Nonlinearity.Tanh))

    let bound = sqrt 3.0 * (5.0 / 3.0) / sqrt 400.0

    Expect.isTrue
        (xs |> Array.forall (fun x -> abs x <= bound * (1.0 + 1e-6)))
        "xs |> Array.forall (fun x -> abs x <= bound * (1.0 + 1e-6))"

    Expect.isTrue
        (Array.max xs > 0.99 * bound && Array.min xs < -0.99 * bound)
        "Array.max xs > 0.99 * bound && Array.min xs < -0.99 * bound"

    closeRel 0.03 (bound * bound / 3.0) (variance xs)

    // PyTorch's defaults (a = 0, leaky_relu, fan_in) are ReLU's gain.
    let d = values (Init.kaimingUniform (key, [ 300; 400 ]))
    let dBound = sqrt 3.0 * sqrt 2.0 / sqrt 400.0

    Expect.isTrue
        (d |> Array.forall (fun x -> abs x <= dBound * (1.0 + 1e-6)))
        "d |> Array.forall (fun x -> abs x <= dBound * (1.0 + 1e-6))"

    Expect.isTrue (Array.max d > 0.99 * dBound) "Array.max d > 0.99 * dBound"

let ``uniform and normal have the requested range and moments`` () =
    let u = values (Init.uniform (key, [ 100000 ], -2.0, 3.0))

    Expect.isTrue
        (u |> Array.forall (fun x -> x >= -2.0 && x < 3.0))
        "u |> Array.forall (fun x -> x >= -2.0 && x < 3.0)"

    closeRel 0.03 0.5 (mean u)
    closeRel 0.03 (25.0 / 12.0) (variance u)

    let n = values (Init.normal (key, [ 100000 ], 1.5, 0.25))
    closeRel 0.01 1.5 (mean n)
    closeRel 0.03 0.25 (sqrt (variance n))

let ``zeros and constant fill every element`` () =
    Expect.isTrue
        (values (Init.zeros [ 3; 4 ]) |> Array.forall ((=) 0.0))
        "values (Init.zeros [ 3; 4 ]) |> Array.forall ((=) 0.0)"

    Expect.equal
        (values (Init.constant ([ 2; 3 ], 0.125)))
        (Array.create 6 0.125)
        "values (Init.constant ([ 2; 3 ], 0.125))"

    Expect.equal
        ((Init.constant ([ 2; 3 ], 1.0)).Shape.ToArray())
        [| 2; 3 |]
        "(Init.constant ([ 2; 3 ], 1.0)).Shape.ToArray()"

let ``the same key gives the same weights and another key other weights`` () =
    let a = values (Init.xavierUniform (key, [ 20; 30 ]))
    let b = values (Init.xavierUniform (key, [ 20; 30 ]))
    let c = values (Init.xavierUniform (Key.create 1235L, [ 20; 30 ]))
    Expect.equal b a "b"
    Expect.notEqual c a "c"

    Expect.equal
        (values (Init.kaimingNormal (key, [ 5; 7 ])))
        (values (Init.kaimingNormal (key, [ 5; 7 ])))
        "values (Init.kaimingNormal (key, [ 5; 7 ]))"

let ``dtype defaults to Float32 and can be chosen`` () =
    Expect.equal ((Init.xavierNormal (key, [ 3; 3 ])).DType) DType.Float32 "(Init.xavierNormal (key, [ 3; 3 ])).DType"

    Expect.equal
        ((Init.kaimingUniform (key, [ 3; 3 ], dtype = DType.Float64)).DType)
        DType.Float64
        "(Init.kaimingUniform (key, [ 3; 3 ], dtype = DType.Float64)).DType"

    Expect.equal
        ((Init.uniform (key, [ 3 ], dtype = DType.Float64)).DType)
        DType.Float64
        "(Init.uniform (key, [ 3 ], dtype = DType.Float64)).DType"

    Expect.equal ((Init.zeros ([ 3 ], DType.Float64)).DType) DType.Float64 "(Init.zeros ([ 3 ], DType.Float64)).DType"

let ``a negative dimension or a null shape is refused naming the initializer and the argument`` () =
    for make in
        [
            fun () -> Init.uniform (key, [ 2; -1 ])
            fun () -> Init.kaimingUniform (key, [ -3; 2 ])
            fun () -> Init.zeros [ -1 ]
            fun () -> Init.normal (key, (null: int seq))
        ] do
        let e = Expects.throwsAny<ArgumentException> "make ()" (fun () -> make () |> ignore)
        Expect.equal e.ParamName "shape" "e.ParamName"
        Expect.stringContains e.Message "Init." "e.Message"

let ``omitted options are PyTorch's: kaiming_uniform is leaky_relu with a = 0 over fan_in, the bound sqrt 6 / sqrt fan_in``
    ()
    =
    // torch.nn.init.kaiming_uniform_(w) on [50; 200]: bound = gain * sqrt(3 / fan_in), gain = sqrt 2.
    let w = values (Init.kaimingUniform (key, [ 50; 200 ], dtype = DType.Float64))
    let bound = sqrt 6.0 / sqrt 200.0
    Expect.isTrue (w |> Array.forall (fun v -> abs v <= bound)) "w |> Array.forall (fun v -> abs v <= bound)"
    Expect.isTrue (w |> Array.exists (fun v -> abs v > 0.95 * bound)) "the draw should reach close to the bound"
    // calculate_gain('leaky_relu') without a param takes torch's negative_slope 0.01.
    Expect.equal
        (System.Math.Round(Init.calculateGain Nonlinearity.LeakyRelu, 12))
        (System.Math.Round(sqrt (2.0 / (1.0 + 0.01 * 0.01)), 12))
        "Init.calculateGain Nonlinearity.LeakyRelu to 12 places"

    Expect.equal
        (System.Math.Round(Init.calculateGain (Nonlinearity.LeakyRelu, 0.2), 12))
        (System.Math.Round(sqrt (2.0 / (1.0 + 0.2 * 0.2)), 12))
        "Init.calculateGain (Nonlinearity.LeakyRelu, 0.2) to 12 places"

/// The tests of this module.
let tests =
    testList
        "Init"
        [
            testCase
                "fans follow PyTorch for linear and conv weights"
                ``fans follow PyTorch for linear and conv weights``
            testCase "calculateGain matches PyTorch's table" ``calculateGain matches PyTorch's table``
            testCase
                "xavierUniform has variance gain^2 * 2 / (fanIn + fanOut) and its bounds"
                ``xavierUniform has variance gain^2 * 2 / (fanIn + fanOut) and its bounds``
            testCase
                "xavierNormal has std gain * sqrt(2 / (fanIn + fanOut))"
                ``xavierNormal has std gain * sqrt(2 / (fanIn + fanOut))``
            testCase
                "kaimingNormal has std gain / sqrt(fan) for fan_in and fan_out"
                ``kaimingNormal has std gain / sqrt(fan) for fan_in and fan_out``
            testCase
                "kaimingUniform stays within sqrt 3 * gain / sqrt(fan) and has that distribution's variance"
                ``kaimingUniform stays within sqrt 3 * gain / sqrt(fan) and has that distribution's variance``
            testCase
                "uniform and normal have the requested range and moments"
                ``uniform and normal have the requested range and moments``
            testCase "zeros and constant fill every element" ``zeros and constant fill every element``
            testCase
                "the same key gives the same weights and another key other weights"
                ``the same key gives the same weights and another key other weights``
            testCase "dtype defaults to Float32 and can be chosen" ``dtype defaults to Float32 and can be chosen``
            testCase
                "a negative dimension or a null shape is refused naming the initializer and the argument"
                ``a negative dimension or a null shape is refused naming the initializer and the argument``
            testCase
                "omitted options are PyTorch's: kaiming_uniform is leaky_relu with a = 0 over fan_in, the bound sqrt 6 / sqrt fan_in"
                ``omitted options are PyTorch's: kaiming_uniform is leaky_relu with a = 0 over fan_in, the bound sqrt 6 / sqrt fan_in``
        ]
