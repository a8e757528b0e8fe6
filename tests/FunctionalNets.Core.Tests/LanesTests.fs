module FunctionalNets.Tests.LanesTests

open System
open System.Numerics.Tensors
open Expecto
open FunctionalNets.Testing
open FunctionalNets.Kernels

// The elementwise kernels run their own vector loops for add, sub, mul, div, max and min; every lane must
// equal what TensorPrimitives gives (IEEE results, NaN and signed zeros included), at every length around
// the vector widths, for span-span and span-scalar operands.

let private specials =
    [| nan; infinity; -infinity; 0.0; -0.0; 1.0; -1.0; 1e-300; 3.5 |]

let private values (seed: int) (n: int) =
    let rng = Random seed

    Array.init n (fun _ ->
        if rng.Next 5 = 0 then
            specials[rng.Next specials.Length]
        else
            rng.NextDouble() * 8.0 - 4.0)

let private lengths =
    [ 0; 1; 7; 15; 16; 17; 31; 32; 33; 63; 64; 65; 100; 1000; 70_001 ]

let private reference (op: BinaryOp) (a: ReadOnlySpan<'T>) (b: ReadOnlySpan<'T>) (y: Span<'T>) =
    match op with
    | BinaryOp.Add -> TensorPrimitives.Add(a, b, y)
    | BinaryOp.Sub -> TensorPrimitives.Subtract(a, b, y)
    | BinaryOp.Mul -> TensorPrimitives.Multiply(a, b, y)
    | BinaryOp.Div -> TensorPrimitives.Divide(a, b, y)
    | BinaryOp.Max -> TensorPrimitives.Max(a, b, y)
    | _ -> TensorPrimitives.Min(a, b, y)

let private check (name: string) (bits: 'T -> int64) (ofFloat: float -> 'T) =
    for op in
        [
            BinaryOp.Add
            BinaryOp.Sub
            BinaryOp.Mul
            BinaryOp.Div
            BinaryOp.Max
            BinaryOp.Min
        ] do
        for n in lengths do
            let a = values n n |> Array.map ofFloat
            let b = values (n + 1) n |> Array.map ofFloat
            let s = [| ofFloat 0.75 |]
            // b as a scalar (stride 0) and as a full span; a as a scalar against the span.
            for (aArr: 'T[]), (aStride: int), (bArr: 'T[]), (bStride: int) in [ a, 1, b, 1; a, 1, s, 0; s, 0, b, 1 ] do
                let y = Array.zeroCreate<'T> n

                Elementwise.Binary(
                    op,
                    ReadOnlySpan aArr,
                    ReadOnlySpan [| aStride |],
                    ReadOnlySpan bArr,
                    ReadOnlySpan [| bStride |],
                    Span y,
                    ReadOnlySpan [| n |]
                )

                let full (arr: 'T[]) stride =
                    if stride = 0 then Array.create n arr[0] else arr

                let expected = Array.zeroCreate<'T> n
                reference op (ReadOnlySpan(full aArr aStride)) (ReadOnlySpan(full bArr bStride)) (Span expected)

                for i in 0 .. n - 1 do
                    let e, g = expected[i], y[i]
                    // NaN payloads may differ; any NaN matches any NaN.
                    let same = bits e = bits g || (e <> e && g <> g)

                    if not same then
                        failtest (
                            sprintf
                                "%s %A n=%d strides (%d, %d) element %d: expected %A, got %A"
                                name
                                op
                                n
                                aStride
                                bStride
                                i
                                e
                                g
                        )

let ``float32 add, sub, mul, div, max and min match TensorPrimitives lane for lane`` () =
    check "float32" (fun (v: float32) -> int64 (BitConverter.SingleToInt32Bits v)) float32

let ``float64 add, sub, mul, div, max and min match TensorPrimitives lane for lane`` () =
    check "float64" BitConverter.DoubleToInt64Bits id

let tests =
    testList
        "Lanes"
        [
            testCase
                "float32 add, sub, mul, div, max and min match TensorPrimitives lane for lane"
                ``float32 add, sub, mul, div, max and min match TensorPrimitives lane for lane``
            testCase
                "float64 add, sub, mul, div, max and min match TensorPrimitives lane for lane"
                ``float64 add, sub, mul, div, max and min match TensorPrimitives lane for lane``
        ]
