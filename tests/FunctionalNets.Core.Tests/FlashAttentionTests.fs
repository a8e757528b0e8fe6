/// The tiled attention kernel against the composed definition written out in double: scores, mask, softmax, the
/// weighted sum, and the softmax's gradient formulas applied to the whole score matrix at once.
module FunctionalNets.Tests.FlashAttentionTests

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets.Kernels

type private Case =
    {
        BH: int
        L: int
        S: int
        E: int
        Ev: int
        Causal: bool
        Lengths: int[]
    }

/// o, lse and the gradients of sum(o * dO) from the definition: P = softmax(scale q k^T) over the visible keys,
/// o = P v, dV = P^T dO, dS = P (dO v^T - rowsum(dO o)), dQ = scale dS k, dK = scale dS^T q.
let private reference (c: Case) (q: float32[]) (k: float32[]) (v: float32[]) (dO: float32[]) (scale: float) =
    let o = Array.zeroCreate<float>(c.BH * c.L * c.Ev)
    let lse = Array.zeroCreate<float>(c.BH * c.L)
    let dq = Array.zeroCreate<float>(c.BH * c.L * c.E)
    let dk = Array.zeroCreate<float>(c.BH * c.S * c.E)
    let dv = Array.zeroCreate<float>(c.BH * c.S * c.Ev)

    for b in 0 .. c.BH - 1 do
        for i in 0 .. c.L - 1 do
            let visible j =
                j < c.Lengths[b] && (not c.Causal || j <= i)

            let score j =
                let mutable t = 0.0

                for x in 0 .. c.E - 1 do
                    t <- t + float q[(b * c.L + i) * c.E + x] * float k[(b * c.S + j) * c.E + x]

                scale * t

            let keys = [| 0 .. c.S - 1 |] |> Array.filter visible
            let scores = keys |> Array.map score
            let m = Array.max scores
            let total = scores |> Array.sumBy (fun t -> exp (t - m))
            let p = scores |> Array.map (fun t -> exp (t - m) / total)
            lse[b * c.L + i] <- m + log total

            for y in 0 .. c.Ev - 1 do
                o[(b * c.L + i) * c.Ev + y] <-
                    Array.fold2 (fun acc j w -> acc + w * float v[(b * c.S + j) * c.Ev + y]) 0.0 keys p

            let g y = float dO[(b * c.L + i) * c.Ev + y]

            let d =
                Seq.sum (seq { for y in 0 .. c.Ev - 1 -> g y * o[(b * c.L + i) * c.Ev + y] })

            for idx in 0 .. keys.Length - 1 do
                let j, w = keys[idx], p[idx]

                let dp =
                    Seq.sum (seq { for y in 0 .. c.Ev - 1 -> g y * float v[(b * c.S + j) * c.Ev + y] })

                let ds = w * (dp - d) * scale

                for y in 0 .. c.Ev - 1 do
                    dv[(b * c.S + j) * c.Ev + y] <- dv[(b * c.S + j) * c.Ev + y] + w * g y

                for x in 0 .. c.E - 1 do
                    dq[(b * c.L + i) * c.E + x] <- dq[(b * c.L + i) * c.E + x] + ds * float k[(b * c.S + j) * c.E + x]
                    dk[(b * c.S + j) * c.E + x] <- dk[(b * c.S + j) * c.E + x] + ds * float q[(b * c.L + i) * c.E + x]

    o, lse, dq, dk, dv

/// Within 1e-4 absolute plus 1e-4 relative: every value here is O(1) (inputs in [-1, 1), a few hundred terms), and a
/// wrong mask, block edge or rescaling gives errors of order 0.1 and more.
let private close (what: string) (expected: float[]) (actual: float32[]) =
    Expect.equal actual.Length expected.Length "actual.Length"

    for i in 0 .. expected.Length - 1 do
        if abs (float actual[i] - expected[i]) > 1e-4 + 1e-4 * abs expected[i] then
            failtest (sprintf "%s: element %d is %.7g, the definition gives %.7g" what i actual[i] expected[i])

let private randomFloats (rng: Random) n =
    Array.init n (fun _ -> float32 (rng.NextDouble() * 2.0 - 1.0))

let private check (rng: Random) (c: Case) =
    let q = randomFloats rng (c.BH * c.L * c.E)
    let k = randomFloats rng (c.BH * c.S * c.E)
    let v = randomFloats rng (c.BH * c.S * c.Ev)
    let dO = randomFloats rng (c.BH * c.L * c.Ev)
    let scale = 1.0 / sqrt (float c.E)
    let o = Array.create (c.BH * c.L * c.Ev) nanf
    let lse = Array.create (c.BH * c.L) nanf

    let lengths =
        if c.Lengths |> Array.forall ((=) c.S) then
            [||]
        else
            c.Lengths

    FlashAttention.Forward(q, k, v, c.BH, c.L, c.S, c.E, c.Ev, float32 scale, c.Causal, lengths, o, lse)

    let dq = Array.create q.Length nanf
    let dk = Array.create k.Length nanf
    let dv = Array.create v.Length nanf

    FlashAttention.Backward(
        q,
        k,
        v,
        o,
        lse,
        dO,
        c.BH,
        c.L,
        c.S,
        c.E,
        c.Ev,
        float32 scale,
        c.Causal,
        lengths,
        dq,
        dk,
        dv
    )

    let ro, rlse, rdq, rdk, rdv = reference c q k v dO scale
    let name = sprintf "%A" c
    close (name + " o") ro o
    close (name + " lse") rlse lse
    close (name + " dq") rdq dq
    close (name + " dk") rdk dk
    close (name + " dv") rdv dv

let ``flash attention forward and backward match the composed definition (causal, padded, both, neither)`` () =
    let rng = Random 21

    for trial in 0..23 do
        let causal = trial % 2 = 1
        let padded = trial % 4 >= 2
        let l = 1 + rng.Next(if trial < 8 then 20 else 150)
        // Under the causal mask query i sees keys up to i, so S >= L keeps every query's key 0 in range.
        let s =
            if causal then
                l + rng.Next 20
            else
                1 + rng.Next(if trial < 8 then 20 else 150)

        let bh = 1 + rng.Next 3

        check
            rng
            {
                BH = bh
                L = l
                S = s
                E = 1 + rng.Next 40
                Ev = 1 + rng.Next 40
                Causal = causal
                Lengths = Array.init bh (fun _ -> if padded then 1 + rng.Next s else s)
            }

let ``flash attention names the operation and the sizes on bad input`` () =
    let ex =
        Expects.throws<ArgumentException> "FlashAttention.Forward(" (fun () ->
            FlashAttention.Forward(
                ReadOnlySpan(Array.zeroCreate<float32> 10),
                ReadOnlySpan(Array.zeroCreate<float32> 12),
                ReadOnlySpan(Array.zeroCreate<float32> 12),
                1,
                2,
                3,
                4,
                4,
                0.5f,
                false,
                ReadOnlySpan [| 4 |],
                Span(Array.zeroCreate<float32> 8),
                Span(Array.zeroCreate<float32> 2)
            ))

    Expect.stringContains ex.Message "FlashAttention.Forward" "ex.Message"
    Expect.stringContains ex.Message "key length 4" "ex.Message"

let tests =
    testList
        "FlashAttention"
        [
            testCase
                "flash attention forward and backward match the composed definition (causal, padded, both, neither)"
                ``flash attention forward and backward match the composed definition (causal, padded, both, neither)``
            testCase
                "flash attention names the operation and the sizes on bad input"
                ``flash attention names the operation and the sizes on bad input``
        ]
