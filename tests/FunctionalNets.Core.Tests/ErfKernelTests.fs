/// The vectorised float32 erf (the exact GELU's kernel): values against Python's math.erf, a dense sweep against the
/// Float64 series, special values, and bits that do not depend on where an element sits in the span.
module FunctionalNets.Tests.ErfKernelTests

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets.Kernels

let private erf32 (xs: float32[]) =
    let y = Array.zeroCreate<float32> xs.Length
    Elementwise.Unary(UnaryOp.Erf, ReadOnlySpan xs, Span y)
    y

/// One float32 ulp at v (the spacing above |v|).
let private ulp (v: float) =
    let f = float32 (abs v)
    float (MathF.BitIncrement f - f)

let ``float32 erf matches math.erf within one ulp`` () =
    // Printed by /usr/bin/python3 -c "import math; print(repr(math.erf(x)))".
    let cases =
        [
            1e-5, 1.1283791670579e-05
            0.1, 0.1124629160182849
            -0.1, -0.1124629160182849
            0.5, 0.5204998778130465
            0.9999, 0.8426592780487595
            1.0, 0.8427007929497149
            1.5, 0.9661051464753108
            2.0, 0.9953222650189527
            -2.5, -0.999593047982555
            3.5, 0.9999992569016276
            3.99, 0.9999999832607886
        ]

    let got = erf32 (cases |> List.map (fst >> float32) |> Array.ofList)

    cases
    |> List.iteri (fun i (x, expected) ->
        // The input itself is rounded to float32: expected moves by erf'(x) times that rounding.
        let xr = float (float32 x)
        let expected = expected + 2.0 / sqrt Math.PI * exp (-x * x) * (xr - x)
        let err = abs (float got[i] - expected)

        Expect.isTrue
            (err <= ulp expected)
            (sprintf "erf(%g) = %.9g, expected %.9g (error %.3g, ulp %.3g)" x got[i] expected err (ulp expected)))

let ``float32 erf is within one ulp of the Float64 series over -5..5`` () =
    let xs = Array.init 20001 (fun i -> float32 (-5.0 + float i * 0.0005))
    let got = erf32 xs
    let reference = Array.zeroCreate<float> xs.Length
    Elementwise.Unary(UnaryOp.Erf, ReadOnlySpan(Array.map float xs), Span reference)

    for i in 0 .. xs.Length - 1 do
        let err = abs (float got[i] - reference[i])

        if err > ulp reference[i] then
            failtest (sprintf "erf(%.9g) = %.9g, Float64 series %.17g" xs[i] got[i] reference[i])

let ``float32 erf keeps NaN, saturates at infinity and keeps the sign of zero`` () =
    let got =
        erf32
            [|
                Single.NaN
                Single.PositiveInfinity
                Single.NegativeInfinity
                -0.0f
                0.0f
                10.0f
                -4.0f
            |]

    Expect.isTrue (Single.IsNaN got[0]) "Single.IsNaN got[0]"
    Expect.equal (got[1..2]) ([| 1.0f; -1.0f |]) "got[1..2]"
    Expect.isTrue (Single.IsNegative got[3] && got[3] = 0.0f) "erf(-0) must be -0"
    Expect.isTrue (Single.IsPositive got[4] && got[4] = 0.0f) "erf(+0) must be +0"
    Expect.equal (got[5..6]) ([| 1.0f; -1.0f |]) "got[5..6]"

let ``an element's float32 erf does not depend on its position in the span`` () =
    let rng = Random 3
    let xs = Array.init 1003 (fun _ -> float32 (rng.NextDouble() * 8.0 - 4.0))
    let whole = erf32 xs

    for start in [ 0; 1; 5; 7; 998 ] do
        let part = erf32 xs[start..]
        Expect.equal part (whole[start..]) "part"

let tests =
    testList
        "ErfKernel"
        [
            testCase "float32 erf matches math.erf within one ulp" ``float32 erf matches math.erf within one ulp``
            testCase
                "float32 erf is within one ulp of the Float64 series over -5..5"
                ``float32 erf is within one ulp of the Float64 series over -5..5``
            testCase
                "float32 erf keeps NaN, saturates at infinity and keeps the sign of zero"
                ``float32 erf keeps NaN, saturates at infinity and keeps the sign of zero``
            testCase
                "an element's float32 erf does not depend on its position in the span"
                ``an element's float32 erf does not depend on its position in the span``
        ]
