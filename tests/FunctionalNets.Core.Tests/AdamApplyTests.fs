/// The fused Adam-and-apply pass (Tensor.adamApply, OptimizerKernels.AdamApply): Adam's formulas evaluated here in
/// double, bit-identity with the two-pass road it replaces (adamStep, then p + update * scale), any thread count,
/// and clear errors for bad input.
module FunctionalNets.Tests.AdamApplyTests

open System
open Expecto
open FunctionalNets
open FunctionalNets.Kernels
open FunctionalNets.Testing

let private floats32 (t: Tensor) = Tensor.toArray t :?> float32[]

let private randomTensor (seed: int) (n: int) (positive: bool) (dtype: DType) =
    let rng = Random seed

    let values =
        Array.init n (fun _ ->
            if positive then
                rng.NextDouble() * 0.01
            else
                rng.NextDouble() - 0.5)

    let t = Tensor.ofArray (values, [ n ])
    Tensor.cast (t, dtype)

/// (g, m, v, p) of n elements; v is non-negative, as a second moment is.
let private inputs (seed: int) (n: int) (dtype: DType) =
    randomTensor seed n false dtype,
    randomTensor (seed + 1) n false dtype,
    randomTensor (seed + 2) n true dtype,
    randomTensor (seed + 3) n false dtype

let private bits (t: Tensor) =
    match Tensor.toArray t with
    | :? (float32[]) as a -> a |> Array.map (fun x -> int64 (BitConverter.SingleToInt32Bits x))
    | :? (float[]) as a -> a |> Array.map BitConverter.DoubleToInt64Bits
    | a -> failwithf "unexpected array %O" (a.GetType())

let private b1, b2, eps = 0.9, 0.999, 1e-8

let private corrections (t: int) =
    1.0 - Math.Pow(b1, float t), 1.0 - Math.Pow(b2, float t)

let ``matches Adam's formulas evaluated in double`` () =
    let n = 37
    let g, m, v, p = inputs 1 n DType.Float64
    let bc1, bc2 = corrections 3
    let lr = 1e-3
    let m1, v1, p1 = Tensor.adamApply (g, m, v, p, b1, b2, eps, bc1, bc2, -lr)
    let arr (t: Tensor) = Tensor.toArray t :?> float[]
    let g, m, v, p = arr g, arr m, arr v, arr p
    let m1, v1, p1 = arr m1, arr v1, arr p1

    for i in 0 .. n - 1 do
        // PyTorch's Adam (torch.optim.Adam, eps outside the root): m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2,
        // p -= lr * (m / bc1) / (sqrt(v / bc2) + eps).
        let em = b1 * m[i] + (1.0 - b1) * g[i]
        let ev = b2 * v[i] + (1.0 - b2) * g[i] * g[i]
        let ep = p[i] - lr * (em / bc1) / (sqrt (ev / bc2) + eps)
        Expect.floatClose Accuracy.veryHigh m1[i] em (sprintf "m' at %d" i)
        Expect.floatClose Accuracy.veryHigh v1[i] ev (sprintf "v' at %d" i)
        Expect.floatClose Accuracy.veryHigh p1[i] ep (sprintf "p' at %d" i)

let ``is bit for bit adamStep followed by p + update * scale`` () =
    // Lengths below one vector, with tails, and above the size that splits the pass across kernel threads.
    for dtype in [ DType.Float32; DType.Float64 ] do
        for n in [ 1; 7; 16; 33; 1000; 65537; 200003 ] do
            let g, m, v, p = inputs n n dtype
            let bc1, bc2 = corrections 5
            let m1, v1, p1 = Tensor.adamApply (g, m, v, p, b1, b2, eps, bc1, bc2, -3e-4)
            let m2, v2, u = Tensor.adamStep (g, m, v, b1, b2, eps, bc1, bc2)
            let p2 = p + u * -3e-4
            let what = sprintf "%O n=%d" dtype n
            Expect.sequenceEqual (bits m1) (bits m2) (what + ": m'")
            Expect.sequenceEqual (bits v1) (bits v2) (what + ": v'")
            Expect.sequenceEqual (bits p1) (bits p2) (what + ": p'")

let ``is bit-identical for 1 to 4 kernel threads`` () =
    let g, m, v, p = inputs 11 300001 DType.Float32
    let bc1, bc2 = corrections 1
    let saved = KernelSettings.MaxThreads

    let run threads =
        KernelSettings.MaxThreads <- threads
        let m1, v1, p1 = Tensor.adamApply (g, m, v, p, b1, b2, eps, bc1, bc2, -1e-3)
        Array.concat [ floats32 m1; floats32 v1; floats32 p1 ]

    let results =
        try
            [ for t in [ 1; 2; 3; 4; 2 ] -> t, run t ]
        finally
            KernelSettings.MaxThreads <- saved

    let _, first = results.Head

    for t, r in results.Tail do
        Expect.isTrue (Array.forall2 (fun (a: float32) b -> a.Equals b) first r) (sprintf "%d threads differ from 1" t)

let ``bad input names adamApply and leaves the inputs as they were`` () =
    let g, m, v, p = inputs 3 8 DType.Float32
    let before = [ g; m; v; p ] |> List.map bits
    let short = randomTensor 9 7 false DType.Float32

    let e =
        Expects.throwsAny<exn> "adamApply with a 7-element p" (fun () ->
            Tensor.adamApply (g, m, v, short, b1, b2, eps, 0.1, 0.001, -1e-3) |> ignore)

    Expect.stringContains e.Message "adamApply" "e.Message"
    Expect.stringContains e.Message "[7]" "e.Message"

    let e =
        Expects.throwsAny<exn> "adamApply with a Float64 m" (fun () ->
            Tensor.adamApply (g, Tensor.cast (m, DType.Float64), v, p, b1, b2, eps, 0.1, 0.001, -1e-3)
            |> ignore)

    Expect.stringContains e.Message "adamApply" "e.Message"
    Expect.equal ([ g; m; v; p ] |> List.map bits) before "the inputs after the failed calls"

let ``a differentiable input is refused with the way out`` () =
    let g, m, v, p = inputs 4 5 DType.Float64

    let e =
        Expects.throwsAny<exn> "adamApply under grad" (fun () ->
            Diff.grad
                (fun (x: Tensor) ->
                    let _, _, p1 = Tensor.adamApply (g, m, v, x, b1, b2, eps, 0.1, 0.001, -1e-3)
                    Tensor.sum p1)
                p
            |> ignore)

    Expect.stringContains e.Message "Tensor arithmetic" "e.Message"

let tests =
    testSequencedGroup "KernelSettings.MaxThreads"
    <| testList
        "AdamApply"
        [
            testCase "matches Adam's formulas evaluated in double" ``matches Adam's formulas evaluated in double``
            testCase
                "is bit for bit adamStep followed by p + update * scale"
                ``is bit for bit adamStep followed by p + update * scale``
            testCase "is bit-identical for 1 to 4 kernel threads" ``is bit-identical for 1 to 4 kernel threads``
            testCase
                "bad input names adamApply and leaves the inputs as they were"
                ``bad input names adamApply and leaves the inputs as they were``
            testCase
                "a differentiable input is refused with the way out"
                ``a differentiable input is refused with the way out``
        ]
