/// Every implemented contract member on the simulated CUDA device against the CPU backend, small random inputs.
module FunctionalNets.Cuda.Tests.PrimitiveTests

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Cuda
open FunctionalNets.Cuda.Tests.Sim

let private unaryKinds =
    [
        UnaryKind.Neg
        UnaryKind.Abs
        UnaryKind.Sign
        UnaryKind.Exp
        UnaryKind.Log
        UnaryKind.Sqrt
        UnaryKind.Rsqrt
        UnaryKind.Sin
        UnaryKind.Cos
        UnaryKind.Tanh
        UnaryKind.Sigmoid
        UnaryKind.Relu
        UnaryKind.Step
        UnaryKind.Reciprocal
        UnaryKind.Square
        UnaryKind.Softplus
        UnaryKind.Erf
        UnaryKind.Floor
        UnaryKind.Ceil
        UnaryKind.Round
        UnaryKind.Log1p
        UnaryKind.Expm1
    ]

let private binaryKinds =
    [
        BinaryKind.Add
        BinaryKind.Sub
        BinaryKind.Mul
        BinaryKind.Div
        BinaryKind.Pow
        BinaryKind.Max
        BinaryKind.Min
    ]

/// The tests of this module.
let tests =
    testList
        "Primitive"
        [
            testCase "unary kinds agree in float32 and float64"
            <| fun () ->
                // Values in (-3, 3) plus exact halves for Round; Log/Sqrt of negatives give NaN on both sides.
                let xs = Array.append (floats -3.0 3.0 21) [| 0.5; 1.5; -2.5 |]

                for k in unaryKinds do
                    agree1 (sprintf "%A f32" k) 1e-5 [ input (f32 xs) [ 4; 6 ] ] (fun r -> r[0].Unary k)
                    agree1 (sprintf "%A f64" k) 1e-12 [ input (f64 xs) [ 4; 6 ] ] (fun r -> r[0].Unary k)

            testCase "binary kinds agree with broadcasting"
            <| fun () ->
                let a = floats 0.5 2.0 6
                let b = floats -2.0 2.0 4

                for k in binaryKinds do
                    agree1 (sprintf "%A f32" k) 1e-5 [ input (f32 a) [ 2; 1; 3 ]; input (f32 b) [ 4; 1 ] ] (fun r ->
                        r[0].Binary(k, r[1]))

                    agree1 (sprintf "%A f64" k) 1e-12 [ input (f64 b) [ 4 ]; input (f64 a) [ 6; 1 ] ] (fun r ->
                        r[0].Binary(k, r[1]))

                for k in
                    [
                        BinaryKind.Add
                        BinaryKind.Sub
                        BinaryKind.Mul
                        BinaryKind.Max
                        BinaryKind.Min
                    ] do
                    agree1
                        (sprintf "%A i32" k)
                        0.0
                        [ input [| 1; -2; 3; 7 |] [ 2; 2 ]; input [| 5; -1 |] [ 2 ] ]
                        (fun r -> r[0].Binary(k, r[1]))

                    agree1
                        (sprintf "%A i64" k)
                        0.0
                        [ input [| 1L; -2L; 3L |] [ 3; 1 ]; input [| 4L; 9L |] [ 1; 2 ] ]
                        (fun r -> r[0].Binary(k, r[1]))

            testCase "comparisons, logic and where agree with broadcasting"
            <| fun () ->
                let a = [| 1.0; 2.0; 3.0; 2.0; 5.0; -1.0 |]
                let b = [| 2.0; 2.0; 0.0 |]

                for k in
                    [
                        CompareKind.Eq
                        CompareKind.Ne
                        CompareKind.Lt
                        CompareKind.Le
                        CompareKind.Gt
                        CompareKind.Ge
                    ] do
                    agree1 (sprintf "%A" k) 0.0 [ input (f32 a) [ 2; 3 ]; input (f32 b) [ 3 ] ] (fun r ->
                        r[0].Compare(k, r[1]))

                    agree1
                        (sprintf "%A i64" k)
                        0.0
                        [ input [| 1L; 5L |] [ 2; 1 ]; input [| 1L; 2L; 5L |] [ 3 ] ]
                        (fun r -> r[0].Compare(k, r[1]))

                let p = [| true; false; true; false |]
                let q = [| true; true |]

                for k in [ LogicalKind.And; LogicalKind.Or; LogicalKind.Xor ] do
                    agree1 (sprintf "%A" k) 0.0 [ input p [ 2; 2 ]; input q [ 2; 1 ] ] (fun r -> r[0].Logical(k, r[1]))

                agree1 "not" 0.0 [ input p [ 4 ] ] (fun r -> r[0].LogicalNot())

                agree1
                    "where"
                    0.0
                    [
                        input [| true; false; true |] [ 3 ]
                        input (f32 a) [ 2; 3 ]
                        input (f32 [| 9.0; 8.0 |]) [ 2; 1 ]
                    ]
                    (fun r -> r[1].Where(r[0], r[2]))

            testCase "casts between every pair of dtypes agree"
            <| fun () ->
                let xs = [| -2.7; -1.0; 0.0; 0.4; 1.0; 3.9 |]

                let sources =
                    [
                        input (f32 xs) [ 6 ]
                        input (f64 xs) [ 6 ]
                        input [| -3; -1; 0; 1; 2; 40 |] [ 6 ]
                        input [| -3L; -1L; 0L; 1L; 2L; 40L |] [ 6 ]
                        input [| true; false; false; true; true; false |] [ 6 ]
                    ]

                for s in sources do
                    for target in [ DType.Float32; DType.Float64; DType.Int32; DType.Int64; DType.Bool ] do
                        agree1 (sprintf "%s -> %O" (s.Data.GetType().Name) target) 0.0 [ s ] (fun r -> r[0].Cast target)

            testCase "sums over any dims and max/min with indices agree"
            <| fun () ->
                let xs = floats -1.0 1.0 60

                for dims in [ [| 0 |]; [| 1 |]; [| 2 |]; [| 0; 2 |]; [| 1; 2 |]; [| 0; 1; 2 |]; [||] ] do
                    for keep in [ true; false ] do
                        agree1 (sprintf "sum %A keep=%b" dims keep) 1e-5 [ input (f32 xs) [ 3; 4; 5 ] ] (fun r ->
                            r[0].Sum(dims, keep))

                agree1 "sum i64" 0.0 [ input [| 1L; 2L; 3L; 4L |] [ 2; 2 ] ] (fun r -> r[0].Sum([| 1 |], false))

                for dim in 0..2 do
                    for keep in [ true; false ] do
                        agree (sprintf "max dim %d" dim) 0.0 [ input (f64 xs) [ 3; 4; 5 ] ] (fun r ->
                            let v, i = r[0].MaxAlong(dim, keep)
                            [ v; i ])

                        agree (sprintf "min dim %d" dim) 0.0 [ input (f32 xs) [ 3; 4; 5 ] ] (fun r ->
                            let v, i = r[0].MinAlong(dim, keep)
                            [ v; i ])

                // Ties: the first index wins.
                agree "max ties" 0.0 [ input (f32 [| 1.0; 3.0; 3.0; 2.0 |]) [ 4 ] ] (fun r ->
                    let v, i = r[0].MaxAlong(0, false)
                    [ v; i ])

            testCase "batched matmul with transposes and broadcast batch dims agrees"
            <| fun () ->
                let cases =
                    [
                        [ 3; 4 ], false, [ 4; 5 ], false
                        [ 4; 3 ], true, [ 4; 5 ], false
                        [ 3; 4 ], false, [ 5; 4 ], true
                        [ 4; 3 ], true, [ 5; 4 ], true
                        [ 2; 3; 4 ], false, [ 4; 2 ], false
                        [ 3; 4 ], false, [ 2; 4; 2 ], false
                        [ 2; 1; 3; 4 ], false, [ 1; 3; 4; 2 ], false
                        [ 2; 3; 2; 4 ], false, [ 3; 2; 4 ], true
                    ]

                for (sa, ta, sb, tb) in cases do
                    let na, nb = List.fold (*) 1 sa, List.fold (*) 1 sb

                    let what =
                        sprintf "%A%s x %A%s" sa (if ta then "^T" else "") sb (if tb then "^T" else "")

                    agree1
                        (what + " f32")
                        1e-5
                        [ input (f32 (floats -1.0 1.0 na)) sa; input (f32 (floats -1.0 1.0 nb)) sb ]
                        (fun r -> r[0].MatMul(ta, r[1], tb))

                    agree1
                        (what + " f64")
                        1e-12
                        [ input (f64 (floats -1.0 1.0 na)) sa; input (f64 (floats -1.0 1.0 nb)) sb ]
                        (fun r -> r[0].MatMul(ta, r[1], tb))

            testCase "layout ops agree: reshape, permute, expand, slice, slice scatter, cat, pad"
            <| fun () ->
                let xs = f32 (floats -1.0 1.0 24)
                let x = input xs [ 2; 3; 4 ]
                agree1 "reshape" 0.0 [ x ] (fun r -> r[0].Reshape(Shape.ofList [ 6; 4 ]))
                agree1 "permute" 0.0 [ x ] (fun r -> r[0].Permute [| 2; 0; 1 |])

                agree1 "expand" 0.0 [ input (f32 [| 1.0; 2.0; 3.0 |]) [ 3; 1 ] ] (fun r ->
                    r[0].Expand(Shape.ofList [ 2; 3; 4 ]))

                agree1 "expand i64" 0.0 [ input [| 1L; 2L |] [ 2 ] ] (fun r -> r[0].Expand(Shape.ofList [ 3; 2 ]))

                agree1 "expand bool" 0.0 [ input [| true; false |] [ 1; 2 ] ] (fun r ->
                    r[0].Expand(Shape.ofList [ 3; 2 ]))

                agree1 "slice" 0.0 [ x ] (fun r -> r[0].Slice([| 1; 0; 1 |], [| 1; 2; 2 |], [| 1; 2; 2 |]))

                agree1 "slice scatter" 0.0 [ input (f32 (floats -1.0 1.0 4)) [ 1; 2; 2 ] ] (fun r ->
                    r[0].SliceScatter(Shape.ofList [ 2; 3; 4 ], [| 1; 0; 1 |], [| 1; 2; 2 |]))

                agree1 "pad" 0.0 [ x ] (fun r -> r[0].Pad([| 0; 1; 2 |], [| 1; 0; 1 |], -7.0))

                agree1 "cat dim 1" 0.0 [ x; input (f32 (floats -1.0 1.0 8)) [ 2; 1; 4 ] ] (fun r ->
                    r[0].Backend.Cat([| r[0]; r[1] |], 1))

                agree1 "cat dim 0 int" 0.0 [ input [| 1; 2 |] [ 1; 2 ]; input [| 3; 4; 5; 6 |] [ 2; 2 ] ] (fun r ->
                    r[0].Backend.Cat([| r[0]; r[1] |], 0))

            testCase "gather, scatter-add, index-select and index-add agree (duplicate indices included)"
            <| fun () ->
                let x = input (f32 (floats -1.0 1.0 12)) [ 3; 4 ]
                let idx = input [| 0L; 2L; 2L; 1L; 0L; 0L |] [ 3; 2 ]
                agree1 "gather dim 1" 0.0 [ x; idx ] (fun r -> r[0].Gather(1, r[1]))
                agree1 "gather dim 0" 0.0 [ x; input [| 0L; 2L; 1L; 1L |] [ 1; 4 ] ] (fun r -> r[0].Gather(0, r[1]))

                agree1 "scatterAdd dim 1" 1e-6 [ x; idx; input (f32 (floats -1.0 1.0 6)) [ 3; 2 ] ] (fun r ->
                    r[0].ScatterAdd(1, r[1], r[2]))

                let rows = input [| 2L; 0L; 2L |] [ 3 ]
                agree1 "indexSelect dim 0" 0.0 [ x; rows ] (fun r -> r[0].IndexSelect(0, r[1]))
                agree1 "indexSelect dim 1" 0.0 [ x; rows ] (fun r -> r[0].IndexSelect(1, r[1]))

                agree1 "indexAdd dim 0" 1e-6 [ x; rows; input (f32 (floats -1.0 1.0 12)) [ 3; 4 ] ] (fun r ->
                    r[0].IndexAdd(0, r[1], r[2]))

                agree1
                    "indexAdd f64 dim 1"
                    1e-12
                    [
                        input (f64 (floats -1.0 1.0 12)) [ 3; 4 ]
                        rows
                        input (f64 (floats -1.0 1.0 9)) [ 3; 3 ]
                    ]
                    (fun r -> r[0].IndexAdd(1, r[1], r[2]))

            testCase "an out-of-range index is a clear error, not a kernel fault"
            <| fun () ->
                let g = gpu ()
                let x = g.FromArray(f32 (floats -1.0 1.0 4), Shape.ofList [ 4 ])
                let ix = g.FromArray([| 1L; 9L |], Shape.ofList [ 2 ])
                let y = x.IndexSelect(0, ix)

                let e =
                    Expects.throws<ArgumentException> "fun () -> y.ToArray() |> ignore" (fun () ->
                        y.ToArray() |> ignore)

                Expect.stringContains
                    (e.Message)
                    ("indexSelect: index 9 is out of range for a dim of size 4")
                    "the error message"
                // The error is reported once; the device goes on working.
                Expect.equal
                    (g.FromArray([| 1.0f; 2.0f |], Shape.ofList [ 2 ]).ToArray() :?> float32[])
                    ([| 1.0f; 2.0f |])
                    "g.FromArray([| 1.0f; 2.0f |], Shape.ofList [ 2 ]).ToArray() :?> float32[]"

                let ix2 = g.FromArray([| 0L; -1L |], Shape.ofList [ 1; 2 ])
                x.Reshape(Shape.ofList [ 1; 4 ]).Gather(1, ix2) |> ignore

                let e2 =
                    Expects.throws<ArgumentException> "fun () -> Cuda.synchronize 0" (fun () -> Cuda.synchronize 0)

                Expect.stringContains (e2.Message) ("gather: index -1") "the error message"

            testCase "cumsum, adam step, gelu and creation ops agree"
            <| fun () ->
                let x = input (f32 (floats -1.0 1.0 24)) [ 2; 3; 4 ]

                for dim in 0..2 do
                    for rev in [ false; true ] do
                        agree1 (sprintf "cumsum %d %b" dim rev) 1e-5 [ x ] (fun r -> r[0].CumSum(dim, rev))

                agree1 "cumsum i64" 0.0 [ input [| 1L; 2L; 3L |] [ 3 ] ] (fun r -> r[0].CumSum(0, false))

                agree
                    "adam"
                    1e-5
                    [
                        x
                        input (f32 (floats -0.1 0.1 24)) [ 2; 3; 4 ]
                        input (f32 (floats 0.0 0.1 24)) [ 2; 3; 4 ]
                    ]
                    (fun r ->
                        let m, v, u = r[0].AdamStep(r[1], r[2], 0.9, 0.999, 1e-8, 0.1, 0.001)
                        [ m; v; u ])

                agree1 "gelu" 1e-6 [ x ] (fun r -> r[0].GeluTanh())
                agree1 "gelu f64" 1e-12 [ input (f64 (floats -4.0 4.0 10)) [ 10 ] ] (fun r -> r[0].GeluTanh())
                agree1 "gelu backward" 1e-5 [ x; x ] (fun r -> r[0].GeluTanhBackward(r[1]))

                agree "creation" 0.0 [ x ] (fun r ->
                    let b = r[0].Backend

                    [
                        b.Zeros(Shape.ofList [ 2; 3 ], DType.Float32)
                        b.Full(Shape.ofList [ 3 ], DType.Int64, 7.0)
                        b.Full(Shape.ofList [ 2 ], DType.Bool, 1.0)
                        b.Arange(1.5, 0.5, 7, DType.Float64)
                        b.Arange(0.0, 2.0, 5, DType.Int32)
                    ])

                agree "clone and addInPlace" 0.0 [ x; x ] (fun r ->
                    let c = r[0].Clone()
                    c.AddInPlace r[1]
                    [ c; r[0] ])

            testCase "conv2d and its gradients (im2col/col2im + GEMM) agree over strides, padding, dilation and groups"
            <| fun () ->
                let cases =
                    [ // input, weight, stride, padding, dilation, groups
                        [ 2; 3; 5; 5 ], [ 4; 3; 3; 3 ], (1, 1), (1, 1), (1, 1), 1
                        [ 1; 4; 6; 5 ], [ 6; 2; 2; 3 ], (2, 1), (0, 1), (1, 1), 2
                        [ 2; 2; 7; 7 ], [ 3; 2; 3; 2 ], (2, 2), (2, 1), (2, 1), 1
                    ]

                for (xs, ws, st, pd, dl, gr) in cases do
                    let nx, nw = List.fold (*) 1 xs, List.fold (*) 1 ws
                    let x = input (f32 (floats -1.0 1.0 nx)) xs
                    let w = input (f32 (floats -1.0 1.0 nw)) ws
                    let what = sprintf "conv %A %A s%A p%A d%A g%d" xs ws st pd dl gr
                    agree1 what 1e-5 [ x; w ] (fun r -> r[0].Conv2d(r[1], st, pd, dl, gr))

                    let ys =
                        cpu
                            .FromArray(x.Data, Shape.ofList xs)
                            .Conv2d(cpu.FromArray(w.Data, Shape.ofList ws), st, pd, dl, gr)
                            .Shape

                    let dy = input (f32 (floats -1.0 1.0 ys.Numel)) (ys.ToList())

                    agree1 (what + " input grad") 1e-5 [ dy; w ] (fun r ->
                        r[0].Conv2dInputGrad(r[1], Shape.ofList xs, st, pd, dl, gr))

                    agree1 (what + " weight grad") 1e-5 [ dy; x ] (fun r ->
                        r[0].Conv2dWeightGrad(r[1], Shape.ofList ws, st, pd, dl, gr))

                let x64 = input (f64 (floats -1.0 1.0 50)) [ 1; 2; 5; 5 ]
                let w64 = input (f64 (floats -1.0 1.0 18)) [ 1; 2; 3; 3 ]
                agree1 "conv f64" 1e-12 [ x64; w64 ] (fun r -> r[0].Conv2d(r[1], (1, 1), (0, 0), (1, 1), 1))

            testCase "max and average pooling and their adjoints agree (padding, dilation, ceil mode)"
            <| fun () ->
                let x = input (f32 (floats -1.0 1.0 (2 * 3 * 7 * 6))) [ 2; 3; 7; 6 ]

                for (k, s, p, d, ceil) in
                    [
                        [| 2; 2 |], [| 2; 2 |], [| 0; 0 |], [| 1; 1 |], false
                        [| 3; 3 |], [| 2; 2 |], [| 1; 1 |], [| 1; 1 |], true
                        [| 2; 3 |], [| 1; 2 |], [| 1; 0 |], [| 2; 1 |], false
                    ] do
                    agree (sprintf "maxpool k%A s%A p%A d%A ceil=%b" k s p d ceil) 1e-6 [ x ] (fun r ->
                        let v, i = r[0].MaxPool2d(k, s, p, d, ceil)
                        [ v; i; v.MaxPool2dBackward(i, r[0].Shape) ])

                for (k, s, p, ceil, inc) in
                    [
                        [| 2; 2 |], [| 2; 2 |], [| 0; 0 |], false, true
                        [| 3; 3 |], [| 2; 2 |], [| 1; 1 |], true, true
                        [| 3; 2 |], [| 2; 1 |], [| 1; 1 |], true, false
                    ] do
                    agree (sprintf "avgpool k%A s%A p%A ceil=%b inc=%b" k s p ceil inc) 1e-6 [ x ] (fun r ->
                        let y = r[0].AvgPool2d(k, s, p, ceil, inc)
                        [ y; y.AvgPool2dBackward(r[0].Shape, k, s, p, ceil, inc) ])

            testCase "layer norm and attention softmax (contract defaults), adaptive pooling and upsampling agree"
            <| fun () ->
                let x = input (f32 (floats -1.0 1.0 150)) [ 2; 3; 5; 5 ]
                let w = input (f32 (floats 0.5 1.5 5)) [ 5 ]

                agree "layernorm" 1e-5 [ x; w; w ] (fun r ->
                    let y, m, rs = r[0].LayerNorm(5, Some r[1], Some r[2], 1e-5)
                    let dx, dw, db = r[0].LayerNormBackward(r[0], m, rs, Some r[1], 5)
                    [ y; m; rs; dx; dw; db ])

                agree "attention softmax" 1e-6 [ x ] (fun r ->
                    let y = r[0].AttentionSoftmax(0.5, true)
                    [ y; r[0].AttentionSoftmaxBackward(y, 0.5) ])

                for size in [ [| 2; 3 |]; [| 7; 4 |]; [| 1; 1 |] ] do
                    agree (sprintf "adaptive avg pool %A" size) 1e-6 [ x ] (fun r ->
                        let y = r[0].AdaptiveAvgPool2d size
                        [ y; y.AdaptiveAvgPool2dBackward r[0].Shape ])

                for size in [ [| 7; 9 |]; [| 10; 10 |]; [| 3; 2 |] ] do
                    agree (sprintf "upsample nearest %A" size) 1e-6 [ x ] (fun r ->
                        let y = r[0].UpsampleNearest2d size
                        [ y; y.UpsampleNearest2dBackward r[0].Shape ])

                    for align in [ false; true ] do
                        agree (sprintf "upsample bilinear %A align=%b" size align) 1e-5 [ x ] (fun r ->
                            let z = r[0].UpsampleBilinear2d(size, align)
                            [ z; z.UpsampleBilinear2dBackward(r[0].Shape, align) ])

            testCase "mixing devices names both devices"
            <| fun () ->
                let g = gpu ()
                let a = g.FromArray(f32 [| 1.0; 2.0 |], Shape.ofList [ 2 ])
                let b = cpu.FromArray(f32 [| 1.0; 2.0 |], Shape.ofList [ 2 ])

                let e =
                    Expects.throws<ArgumentException> "fun () -> a.Binary(BinaryKind.Add, b) |> ignore" (fun () ->
                        a.Binary(BinaryKind.Add, b) |> ignore)

                Expect.stringContains (e.Message) ("cuda:0") "the error message"
                Expect.stringContains (e.Message) ("cpu") "the error message"

                let e2 =
                    Expects.throwsAny<Exception> "fun () -> b.Binary(BinaryKind.Add, a) |> ignore" (fun () ->
                        b.Binary(BinaryKind.Add, a) |> ignore)

                Expect.stringContains (e2.Message) ("cuda:0") "the error message"

            testCase "scopes return device buffers to the caching allocator"
            <| fun () ->
                let g = gpu ()
                let before = Cuda.memoryStats 0

                for _ in 1..3 do
                    Scope.run (fun () ->
                        let t = TConst(g.Full(Shape.ofList [ 1000 ], DType.Float32, 1.0))
                        (Tensor.sum (t * t)).Raw.ToArray() |> ignore)

                let after = Cuda.memoryStats 0

                Expect.isTrue
                    (after.CacheHits > before.CacheHits)
                    (sprintf "expected cache hits, got %A -> %A" before after)

            testCase "broadcast metadata coalesces dims every operand walks as one"
            <| fun () ->
                let s (d: int list) = Shape.ofList d
                // Same shape: one dim of 24 with unit strides.
                Expect.equal
                    (CudaRawTensor.BroadcastMeta(s [ 2; 3; 4 ], [ s [ 2; 3; 4 ]; s [ 2; 3; 4 ] ]))
                    ([| 1; 24; 1; 1 |])
                    "CudaRawTensor.BroadcastMeta(s [ 2; 3; 4 ], [ s [ 2; 3; 4 ]; s [ 2; 3; 4 ] ])"
                // A bias over the last dim stays rank 2; size-1 dims disappear.
                Expect.equal
                    (CudaRawTensor.BroadcastMeta(s [ 2; 1; 3 ], [ s [ 2; 1; 3 ]; s [ 3 ] ]))
                    ([| 2; 2; 3; 3; 1; 0; 1 |])
                    "CudaRawTensor.BroadcastMeta(s [ 2; 1; 3 ], [ s [ 2; 1; 3 ]; s [ 3 ] ])"
                // A scalar result has rank 0.
                Expect.equal
                    (CudaRawTensor.BroadcastMeta(s [ 1; 1 ], [ s [ 1 ]; s [ 1; 1 ] ]))
                    ([| 0 |])
                    "CudaRawTensor.BroadcastMeta(s [ 1; 1 ], [ s [ 1 ]; s [ 1; 1 ] ])"

        ]
