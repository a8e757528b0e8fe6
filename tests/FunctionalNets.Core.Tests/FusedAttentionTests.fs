/// scaledDotProductAttention through the backend's fused op (RawTensor.Attention) against the composed definition
/// (scaledDotProductAttentionWithWeights, which always multiplies out the [L, S] weights) and against central finite
/// differences of that definition in float64: values, the gradients of q, k and v, forward mode and second order,
/// the causal and key-padding masks, odd sizes, batch 1, and bit-identical results for 1 and 2 kernel threads.
module FunctionalNets.Tests.FusedAttentionTests

open System
open Expecto
open FunctionalNets
open FunctionalNets.Kernels
open FunctionalNets.Testing

type private Case =
    {
        Batch: int list
        L: int
        S: int
        E: int
        Ev: int
        Causal: bool
        /// Key lengths per batch slice, given as a Bool key-padding mask [batch..., 1, S]; None: no mask.
        Lengths: int[] option
    }

// Long enough that the CPU backend takes the fused op (64 tokens under the causal mask, 512 x 512 without) (asserted in each test, so a change of the heuristic
// cannot make these tests vacuous), with odd E, Ev and a non-square L x S.
let private cases =
    [
        {
            Batch = [ 1; 2 ]
            L = 256
            S = 256
            E = 5
            Ev = 3
            Causal = true
            Lengths = None
        }
        {
            Batch = [ 2; 1 ]
            L = 513
            S = 520
            E = 4
            Ev = 6
            Causal = false
            Lengths = None
        }
        {
            Batch = [ 1 ]
            L = 100
            S = 67
            E = 3
            Ev = 2
            Causal = true
            Lengths = None
        }
        {
            Batch = [ 3 ]
            L = 512
            S = 530
            E = 4
            Ev = 3
            Causal = false
            Lengths = Some [| 530; 1; 131 |]
        }
    ]

let private slices (c: Case) = List.fold (*) 1 c.Batch

let private operands (c: Case) (seed: int64) =
    let keys = Key.splitN 4 (Key.create seed)
    let shape rows last = c.Batch @ [ rows; last ]
    // Scores of a few units, so the softmax is neither flat nor one-hot.
    Tensor.randn (keys[0], shape c.L c.E) * 1.5,
    Tensor.randn (keys[1], shape c.S c.E) * 1.5,
    Tensor.randn (keys[2], shape c.S c.Ev),
    Tensor.randn (keys[3], shape c.L c.Ev)

let private mask (c: Case) (dtypeLike: Tensor) =
    c.Lengths
    |> Option.map (fun lens ->
        let visible = Array.init (slices c * c.S) (fun i -> i % c.S < lens[i / c.S])

        Tensor.ofArray (visible, c.Batch @ [ 1; c.S ], dtypeLike.Device))

let private fused (c: Case) q k v =
    match mask c q with
    | Some m -> Tensor.scaledDotProductAttention (q, k, v, m)
    | None -> Tensor.scaledDotProductAttention (q, k, v, isCausal = c.Causal)

let private composed (c: Case) q k v =
    match mask c q with
    | Some m -> fst (Tensor.scaledDotProductAttentionWithWeights (q, k, v, m))
    | None -> fst (Tensor.scaledDotProductAttentionWithWeights (q, k, v, isCausal = c.Causal))

let private assertFusedTaken (c: Case) (q: Tensor) =
    let taken = q.Raw.PrefersFusedAttention(slices c, c.L, c.S, c.E, c.Ev, c.Causal)

    Expect.isTrue taken (sprintf "the CPU backend should take the fused op for %A" c)

/// max |a - b| <= tol * max(1, max |b|), NaN only where the other is NaN.
let private close (what: string) (tol: float) (expected: float[]) (actual: float[]) =
    Expect.equal actual.Length expected.Length (what + ": length")

    let scale =
        expected
        |> Array.filter Double.IsFinite
        |> Array.fold (fun m x -> max m (abs x)) 1.0

    for i in 0 .. expected.Length - 1 do
        let e, a = expected[i], actual[i]

        if Double.IsNaN e || Double.IsNaN a then
            Expect.isTrue (Double.IsNaN e && Double.IsNaN a) (sprintf "%s: element %d is %g, expected %g" what i a e)
        elif abs (a - e) > tol * scale then
            failtest (sprintf "%s: element %d is %.9g, expected %.9g (tolerance %g x %g)" what i a e tol scale)

/// The gradients of sum(f(q, k, v) * w) with respect to q, k and v.
let private grads f (q: Tensor) (k: Tensor) (v: Tensor) (w: Tensor) =
    let loss q k v = Tensor.sum (f q k v * w)

    [
        Diff.grad (fun q -> loss q k v) q
        Diff.grad (fun k -> loss q k v) k
        Diff.grad (fun v -> loss q k v) v
    ]

let ``the fused op's values and gradients of q, k and v match the composed definition`` () =
    for c in cases do
        let q, k, v, w = operands c 11L
        assertFusedTaken c q
        let what = sprintf "%A" c
        close ("output " + what) 2e-5 (Tensor.toFloatArray (composed c q k v)) (Tensor.toFloatArray (fused c q k v))

        List.iteri2
            (fun i (e: Tensor) (a: Tensor) ->
                close
                    (sprintf "gradient of operand %d, %s" i what)
                    1e-4
                    (Tensor.toFloatArray e)
                    (Tensor.toFloatArray a))
            (grads (composed c) q k v w)
            (grads (fused c) q k v w)

let ``the fused op's gradients match central differences of the definition in float64`` () =
    // Directional derivatives: <grad, d> against (L(x + h d) - L(x - h d)) / 2h of the composed float64 definition.
    for c in cases do
        let q, k, v, w = operands c 12L
        let dirs = operands c 13L

        let d =
            [
                (let a, _, _, _ = dirs in a)
                (let _, b, _, _ = dirs in b)
                (let _, _, x, _ = dirs in x)
            ]

        let f64 (t: Tensor) = Tensor.cast (t, DType.Float64)

        let loss (xs: Tensor list) =
            Tensor.toFloatArray (Tensor.sum (composed c xs[0] xs[1] xs[2] * f64 w))
            |> Array.exactlyOne

        let x0 = [ f64 q; f64 k; f64 v ]
        let h = 1e-4
        let gs = grads (fused c) q k v w

        for i in 0..2 do
            let shifted (sign: float) =
                x0 |> List.mapi (fun j x -> if j = i then x + f64 d[i] * (sign * h) else x)

            let numeric = (loss (shifted 1.0) - loss (shifted -1.0)) / (2.0 * h)

            let analytic =
                Array.fold2 (fun acc g dd -> acc + g * dd) 0.0 (Tensor.toFloatArray gs[i]) (Tensor.toFloatArray d[i])

            Expect.floatClose
                { absolute = 1e-3; relative = 1e-3 }
                analytic
                numeric
                (sprintf "directional derivative of operand %d, %A" i c)

let ``forward mode and second derivatives through the fused op match the composed definition`` () =
    let c = cases[0]
    let q, k, v, w = operands c 14L
    let t, _, _, _ = operands c 15L
    assertFusedTaken c q
    let tangent f = snd (Diff.jvp (fun q -> f q k v) q t)
    close "jvp" 1e-4 (Tensor.toFloatArray (tangent (composed c))) (Tensor.toFloatArray (tangent (fused c)))
    // d/dq of sum(dL/dk * w') : reverse over reverse, the inner gradient taken through the fused op.
    let w2 = Tensor.randn (Key.create 16L, k.Shape.ToArray())

    let secondOrder f =
        Diff.grad (fun q -> Tensor.sum (Diff.grad (fun k -> Tensor.sum (f q k v * w)) k * w2)) q

    close
        "grad of grad"
        1e-4
        (Tensor.toFloatArray (secondOrder (composed c)))
        (Tensor.toFloatArray (secondOrder (fused c)))

    close
        "hvp"
        1e-4
        (Tensor.toFloatArray (Diff.hvp (fun q -> Tensor.sum (composed c q k v * w)) q t))
        (Tensor.toFloatArray (Diff.hvp (fun q -> Tensor.sum (fused c q k v * w)) q t))

let ``a key-padding mask that is not a prefix, dropout and an empty key set take paths that agree`` () =
    let c = cases[3]
    let q, k, v, _ = operands c 17L
    // Not a prefix: key 0 hidden, the rest visible.
    let holey =
        Tensor.ofArray (Array.init (slices c * c.S) (fun i -> i % c.S <> 0), c.Batch @ [ 1; c.S ])

    let plain = fst (Tensor.scaledDotProductAttentionWithWeights (q, k, v, holey))

    close
        "non-prefix mask"
        0.0
        (Tensor.toFloatArray plain)
        (Tensor.toFloatArray (Tensor.scaledDotProductAttention (q, k, v, holey)))
    // Dropout goes to the composed path with the same key, so the same weights are dropped.
    let key = Key.create 18L

    let dropped =
        Tensor.scaledDotProductAttention (q, k, v, isCausal = true, dropout = 0.25, key = Nullable key)

    let reference =
        fst (Tensor.scaledDotProductAttentionWithWeights (q, k, v, isCausal = true, dropout = 0.25, key = Nullable key))

    close "dropout" 0.0 (Tensor.toFloatArray reference) (Tensor.toFloatArray dropped)
    // A slice whose key length is 0 sees nothing: its rows are NaN on both paths, the others agree.
    let c0 =
        { c with
            Lengths = Some [| 0; 5; 530 |]
        }

    assertFusedTaken c0 q
    close "empty key set" 2e-5 (Tensor.toFloatArray (composed c0 q k v)) (Tensor.toFloatArray (fused c0 q k v))

    let nanRows =
        Tensor.toFloatArray (fused c0 q k v)
        |> Array.take (c.L * c.Ev)
        |> Array.forall Double.IsNaN

    Expect.isTrue nanRows "the slice with no visible key gives NaN rows"

let ``the fused op is bit-identical for 1 and 2 kernel threads`` () =
    let saved = KernelSettings.MaxThreads

    let run threads =
        KernelSettings.MaxThreads <- threads

        [
            for c in [ cases[0]; cases[3] ] do
                let q, k, v, w = operands c 19L
                yield Tensor.toArray (fused c q k v) :?> float32[]

                for g in grads (fused c) q k v w do
                    yield Tensor.toArray g :?> float32[]
        ]

    let one, two =
        try
            run 1, run 2
        finally
            KernelSettings.MaxThreads <- saved

    List.iteri2
        (fun i (a: float32[]) (b: float32[]) ->
            let differs = Array.map2 (fun (x: float32) y -> not (x.Equals y)) a b
            Expect.isFalse (Array.contains true differs) (sprintf "result %d differs between 1 and 2 threads" i))
        one
        two

let ``the fused contract members name the op and the shapes on bad input`` () =
    let b = Backends.get Device.Cpu

    let t (dims: int[]) =
        b.Zeros(Shape.Create dims, DType.Float32)

    let e =
        Expects.throwsAny<ArgumentException> "Attention with unequal batch dims" (fun () ->
            t([| 2; 4; 3 |]).Attention(t [| 3; 4; 3 |], t [| 3; 4; 3 |], 1.0, false, None)
            |> ignore)

    Expect.stringContains e.Message "attention" "e.Message"
    Expect.stringContains e.Message "[3; 4; 3]" "e.Message"

    let e =
        Expects.throwsAny<ArgumentException> "Attention with a key length past S" (fun () ->
            t([| 2; 4; 3 |]).Attention(t [| 2; 5; 3 |], t [| 2; 5; 3 |], 1.0, false, Some [| 1; 6 |])
            |> ignore)

    Expect.stringContains e.Message "key lengths in [0, 5]" "e.Message"

let tests =
    testSequencedGroup "KernelSettings.MaxThreads"
    <| testList
        "FusedAttention"
        [
            testCase
                "the fused op's values and gradients of q, k and v match the composed definition"
                ``the fused op's values and gradients of q, k and v match the composed definition``
            testCase
                "the fused op's gradients match central differences of the definition in float64"
                ``the fused op's gradients match central differences of the definition in float64``
            testCase
                "forward mode and second derivatives through the fused op match the composed definition"
                ``forward mode and second derivatives through the fused op match the composed definition``
            testCase
                "a key-padding mask that is not a prefix, dropout and an empty key set take paths that agree"
                ``a key-padding mask that is not a prefix, dropout and an empty key set take paths that agree``
            testCase
                "the fused op is bit-identical for 1 and 2 kernel threads"
                ``the fused op is bit-identical for 1 and 2 kernel threads``
            testCase
                "the fused contract members name the op and the shapes on bad input"
                ``the fused contract members name the op and the shapes on bad input``
        ]
