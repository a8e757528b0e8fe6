/// The fused dropout (Tensor.dropout, RawTensor.Dropout, Kernels.Dropout): the same bits as the composed
/// rand -> ge -> where it replaces (mask, values, first and higher derivatives, forward mode), for any kernel thread
/// count, and clear errors for bad input.
module FunctionalNets.Tests.DropoutTests

open System
open Expecto
open FunctionalNets
open FunctionalNets.Kernels
open FunctionalNets.Testing

/// The composed dropout the layers used before the fused op: the reference these tests hold it to.
let private composed (x: Tensor) (p: float) (key: Key) =
    let u = Tensor.rand (key, x.Shape.ToArray(), x.DType)
    Tensor.where (Tensor.ge (u, p), x * (1.0 / (1.0 - p)), Tensor.zeros ([], x.DType))

let private bits (t: Tensor) =
    match Tensor.toArray t with
    | :? (float32[]) as a -> a |> Array.map (fun x -> int64 (BitConverter.SingleToInt32Bits x))
    | :? (float[]) as a -> a |> Array.map BitConverter.DoubleToInt64Bits
    | a -> failwithf "unexpected array %O" (a.GetType())

let private randomTensor (seed: int) (shape: int[]) (dtype: DType) =
    let rng = Random seed

    let values =
        Array.init (Array.fold (*) 1 shape) (fun _ -> rng.NextDouble() * 4.0 - 2.0)

    Tensor.cast (Tensor.ofArray (values, shape), dtype)

/// Shapes with vector tails, odd lengths (a float32 counter's second word unused) and lengths that split across
/// parts and threads (above 2^16 and 2^15-element parts).
let private shapes =
    [
        [| 1 |]
        [| 7 |]
        [| 3; 5 |]
        [| 2; 3; 11 |]
        [| 64; 128 |]
        [| 300; 257 |]
        [| 70001 |]
    ]

let private withThreads (threads: int) (f: unit -> 'a) =
    let saved = KernelSettings.MaxThreads
    KernelSettings.MaxThreads <- threads

    try
        f ()
    finally
        KernelSettings.MaxThreads <- saved

let ``values and gradients are the composed dropout's bits, float32 and float64, 1 and 2 threads`` () =
    for threads in [ 1; 2 ] do
        for dtype in [ DType.Float32; DType.Float64 ] do
            for i, shape in List.indexed shapes do
                for p in [ 0.1; 0.5; 0.9 ] do
                    let x = randomTensor i shape dtype
                    let w = randomTensor (100 + i) shape dtype
                    let key = Key.create (int64 (17 * i + int (p * 10.0)))
                    let what = sprintf "%O %A p=%g, %d threads" dtype shape p threads

                    withThreads threads (fun () ->
                        let loss (drop: Tensor -> Tensor) (x: Tensor) = Tensor.sum (drop x * w)
                        let fused = fun x -> Tensor.dropout (x, p, key)
                        let reference = fun x -> composed x p key
                        Expect.sequenceEqual (bits (fused x)) (bits (reference x)) (what + ": values")

                        Expect.sequenceEqual
                            (bits (Diff.grad (loss fused) x))
                            (bits (Diff.grad (loss reference) x))
                            (what + ": gradient"))

let ``forward mode and second derivatives follow the composed formula`` () =
    let p, key = 0.4, Key.create 5L

    for dtype in [ DType.Float32; DType.Float64 ] do
        let x = randomTensor 1 [| 6; 9 |] dtype
        let v = randomTensor 2 [| 6; 9 |] dtype
        let cube (drop: Tensor -> Tensor) (x: Tensor) = Tensor.sum (drop x * drop x * drop x)
        let fused = fun x -> Tensor.dropout (x, p, key)
        let reference = fun x -> composed x p key
        let what = sprintf "%O" dtype

        Expect.sequenceEqual (bits (snd (Diff.jvp fused x v))) (bits (snd (Diff.jvp reference x v))) (what + ": jvp")

        // Hessian-vector products need the gradient's own derivative: the composed backward written with tensor ops.
        Expect.sequenceEqual (bits (Diff.hvp (cube fused) x v)) (bits (Diff.hvp (cube reference) x v)) (what + ": hvp")

        Expect.sequenceEqual
            (bits (Diff.grad (fun x -> Tensor.sum (Diff.grad (cube fused) x)) x))
            (bits (Diff.grad (fun x -> Tensor.sum (Diff.grad (cube reference) x)) x))
            (what + ": grad of grad")

let ``the mask keeps u >= p for u the key's uniform draw`` () =
    // The definition checked element by element against Tensor.rand, with the kept values x / (1 - p) in double.
    let p, key = 0.3, Key.create 11L
    let x = randomTensor 3 [| 1001 |] DType.Float64
    let y = Tensor.toArray (Tensor.dropout (x, p, key)) :?> float[]
    let u = Tensor.toArray (Tensor.rand (key, [ 1001 ], DType.Float64)) :?> float[]
    let xs = Tensor.toArray x :?> float[]

    for i in 0 .. xs.Length - 1 do
        let expected = if u[i] >= p then xs[i] * (1.0 / 0.7) else 0.0
        Expect.equal y[i] expected (sprintf "element %d (u = %g)" i u[i])

let ``p = 0 returns the input itself`` () =
    let x = randomTensor 4 [| 3; 4 |] DType.Float32
    Expect.isTrue (obj.ReferenceEquals(Tensor.dropout (x, 0.0, Key.create 1L), x)) "dropout with p = 0"

let ``bad input names dropout and the way out`` () =
    let x = randomTensor 5 [| 2; 3 |] DType.Float32
    let before = bits x

    for p in [ 1.0; -0.1; Double.NaN; 1.5 ] do
        let e =
            Expects.throwsAny<ArgumentException> (sprintf "dropout p = %g" p) (fun () ->
                Tensor.dropout (x, p, Key.create 1L) |> ignore)

        Expect.stringContains e.Message "dropout" "e.Message"
        Expect.stringContains e.Message "[0, 1)" "e.Message"

    let e =
        Expects.throwsAny<exn> "dropout of an Int64 tensor" (fun () ->
            Tensor.dropout (Tensor.cast (x, DType.Int64), 0.5, Key.create 1L) |> ignore)

    Expect.stringContains e.Message "dropout" "e.Message"
    Expect.sequenceEqual (bits x) before "the input after the failed calls"

let tests =
    testSequencedGroup "KernelSettings.MaxThreads"
    <| testList
        "Dropout"
        [
            testCase
                "values and gradients are the composed dropout's bits, float32 and float64, 1 and 2 threads"
                ``values and gradients are the composed dropout's bits, float32 and float64, 1 and 2 threads``
            testCase
                "forward mode and second derivatives follow the composed formula"
                ``forward mode and second derivatives follow the composed formula``
            testCase
                "the mask keeps u >= p for u the key's uniform draw"
                ``the mask keeps u >= p for u the key's uniform draw``
            testCase "p = 0 returns the input itself" ``p = 0 returns the input itself``
            testCase "bad input names dropout and the way out" ``bad input names dropout and the way out``
        ]
