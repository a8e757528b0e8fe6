/// The fused tanh GELU kernel: values against 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) written out here with
/// Math.Tanh, in Float64 and Float32, on lengths that exercise the vector body, the scalar tail, the 512-element
/// blocks and the multi-threaded split; its derivative against the hand-derived formula and against finite
/// differences in both modes; second order against finite differences of the gradient; bad input.
module FunctionalNets.Tests.GeluKernelTests

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Tests.GradCheck

let private geluRef (x: float) =
    0.5 * x * (1.0 + Math.Tanh(sqrt (2.0 / Math.PI) * (x + 0.044715 * x * x * x)))

/// d/dx of geluRef by the product rule on the tanh form (an independent route from the kernel's sigmoid form).
let private geluRefGrad (x: float) =
    let c = sqrt (2.0 / Math.PI)
    let t = Math.Tanh(c * (x + 0.044715 * x * x * x))
    0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * c * (1.0 + 3.0 * 0.044715 * x * x)

/// Values spread over [-8, 8] (saturated tails included) plus exact zeros and extremes.
let private inputs (n: int) (seed: int) =
    let rng = Random(seed)

    Array.init n (fun i ->
        match i % 97 with
        | 0 -> 0.0
        | 1 -> 30.0
        | 2 -> -30.0
        | _ -> rng.NextDouble() * 16.0 - 8.0)

let ``GeluKernel: Float64 values match the tanh formula`` (n: int) =
    let xs = inputs n n
    let y = Tensor.geluTanh (Tensor.ofArray (xs, [| n |]))
    assertCloseTol 1e-13 1e-12 "geluTanh" (sprintf "n=%d" n) [| n |] (Array.map geluRef xs) (values y)

let ``GeluKernel: Float32 values match the tanh formula`` (n: int) =
    let xs = inputs n (n + 1)
    let x = Tensor.cast (Tensor.ofArray (xs, [| n |]), DType.Float32)
    let x32 = values x
    let y = Tensor.geluTanh x
    Expect.equal y.DType DType.Float32 "y.DType"
    assertCloseTol 1e-6 1e-5 "geluTanh f32" (sprintf "n=%d" n) [| n |] (Array.map geluRef x32) (values y)

let ``GeluKernel: backward is dy * gelu'(x) written out`` (n: int, single: bool) =
    let dtype = if single then DType.Float32 else DType.Float64
    let xs = inputs n 3
    let gs = inputs n 4 |> Array.map (fun v -> v / 8.0)
    let x = Tensor.cast (Tensor.ofArray (xs, [| n |]), dtype)
    let g = Tensor.cast (Tensor.ofArray (gs, [| n |]), dtype)
    let _, dx = Diff.vjp Tensor.geluTanh x g
    let xv, gv = values x, values g
    let expected = Array.init n (fun i -> gv[i] * geluRefGrad xv[i])
    let atol, rtol = if dtype = DType.Float64 then 1e-13, 1e-12 else 1e-6, 1e-5
    assertCloseTol atol rtol "geluTanh backward" (sprintf "n=%d %O" n dtype) [| n |] expected (values dx)

let ``GeluKernel: gradients and tangents match finite differences`` () =
    for shape, seed in [ [| 3; 5 |], 1; [| 2; 3; 4 |], 2; [||], 3; [| 700 |], 4 ] do
        let x = tensorOf shape (valuesOf Real (numelOf shape) seed)
        checkGrad (sprintf "geluTanh %A" shape) Tensor.geluTanh x seed

let ``GeluKernel: second derivatives match finite differences of the gradient`` () =
    for shape, seed in [ [| 4; 3 |], 11; [| 17 |], 12 ] do
        let x = tensorOf shape (valuesOf Real (numelOf shape) seed)
        let w = tensorOf shape (valuesOf Real (numelOf shape) (seed + 100))
        // The gradient of sum(gelu(x) * w) is w * gelu'(x); its own derivatives exercise the backward op's rules.
        let gradOf (x: Tensor) =
            Diff.grad (fun x -> Tensor.sum (Tensor.geluTanh x * w)) x

        checkGrad (sprintf "grad geluTanh %A" shape) gradOf x seed
        // And the backward op's derivative with respect to the incoming gradient (it is linear there).
        let vjpOf (g: Tensor) = snd (Diff.vjp Tensor.geluTanh x g)
        checkGrad (sprintf "vjp geluTanh wrt g %A" shape) vjpOf w seed

let ``GeluKernel: an integer tensor is refused with the op's name`` () =
    let ex =
        Expects.throws<ArgumentException> "Tensor.geluTanh (Tensor.zeros ([ 3 ], DType.Int64)" (fun () ->
            Tensor.geluTanh (Tensor.zeros ([ 3 ], DType.Int64)) |> ignore)

    Expect.stringContains ex.Message "geluTanh" "ex.Message"
    Expect.stringContains (ex.Message.ToLowerInvariant()) "int64" "ex.Message.ToLowerInvariant()"
    Expect.stringContains ex.Message "cast" "ex.Message"

let tests =
    testList
        "GeluKernel"
        [
            testList
                "GeluKernel: Float64 values match the tanh formula"
                [
                    testCase "1" (fun () -> ``GeluKernel: Float64 values match the tanh formula`` (1))
                    testCase "7" (fun () -> ``GeluKernel: Float64 values match the tanh formula`` (7))
                    testCase "513" (fun () -> ``GeluKernel: Float64 values match the tanh formula`` (513))
                    testCase "300001" (fun () -> ``GeluKernel: Float64 values match the tanh formula`` (300001))
                ]
            testList
                "GeluKernel: Float32 values match the tanh formula"
                [
                    testCase "5" (fun () -> ``GeluKernel: Float32 values match the tanh formula`` (5))
                    testCase "4099" (fun () -> ``GeluKernel: Float32 values match the tanh formula`` (4099))
                    testCase "200003" (fun () -> ``GeluKernel: Float32 values match the tanh formula`` (200003))
                ]
            testList
                "GeluKernel: backward is dy * gelu'(x) written out"
                [
                    testCase "9, False" (fun () -> ``GeluKernel: backward is dy * gelu'(x) written out`` (9, false))
                    testCase "100003, False" (fun () ->
                        ``GeluKernel: backward is dy * gelu'(x) written out`` (100003, false))
                    testCase "100003, True" (fun () ->
                        ``GeluKernel: backward is dy * gelu'(x) written out`` (100003, true))
                ]
            testCase
                "GeluKernel: gradients and tangents match finite differences"
                ``GeluKernel: gradients and tangents match finite differences``
            testCase
                "GeluKernel: second derivatives match finite differences of the gradient"
                ``GeluKernel: second derivatives match finite differences of the gradient``
            testCase
                "GeluKernel: an integer tensor is refused with the op's name"
                ``GeluKernel: an integer tensor is refused with the op's name``
        ]
