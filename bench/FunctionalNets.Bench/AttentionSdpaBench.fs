module FunctionalNets.Bench.AttentionSdpaBench

open System
open System.Diagnostics
open System.IO
open FunctionalNets

/// The process's peak resident memory so far in MB (VmHWM of /proc/self/status; -1 where there is none).
let private peakMb () =
    try
        File.ReadAllLines "/proc/self/status"
        |> Array.tryFind (fun line -> line.StartsWith "VmHWM:")
        |> Option.map (fun line -> float (line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0)
        |> Option.defaultValue -1.0
    with :? IOException ->
        -1.0

/// Tensor.scaledDotProductAttention forward + reverse (q, k and v all active) at CharGpt's shape and at long
/// sequences, two ways: "dispatch" (whatever the backend chooses: the fused op where it prefers it) and "composed"
/// (scaledDotProductAttentionWithWeights, which always keeps the [L, S] weights). One JSON line per shape and
/// variant: median wall and process CPU milliseconds of 15 calls (after 3 warm-up calls), the size of one [N, H, L, L] float32 matrix,
/// and the process's peak resident MB after the variant (dispatch runs first, so a rise after composed is its own); each variant runs twice, alternating.
let run () =
    let keys = Key.splitN 4 (Key.create 5L)

    for n, h, l, causal in
        [
            32, 4, 128, true
            8, 4, 256, true
            2, 4, 512, true
            2, 4, 1024, true
            2, 4, 1024, false
        ] do
        let e = 32
        let q = Tensor.randn (keys[0], [ n; h; l; e ])

        let variants =
            [
                "dispatch",
                (fun (q: Tensor) -> Tensor.scaledDotProductAttention (q, q * 0.5, q * 2.0, isCausal = causal))
                "composed",
                (fun q -> fst (Tensor.scaledDotProductAttentionWithWeights (q, q * 0.5, q * 2.0, isCausal = causal)))
            ]

        // Twice each, alternating, so that the order in the process (warm-up, the pool's growth) shows.
        for name, f in variants @ variants do
            let both () =
                Scope.run (fun () -> Diff.grad (fun x -> Tensor.sum (f x)) q |> ignore)

            for _ in 1..3 do
                both ()

            let wall, cpu = BenchTiming.medianPerCall both 15

            printfn
                "{\"bench\":\"attention_sdpa\",\"variant\":\"%s\",\"n\":%d,\"heads\":%d,\"l\":%d,\"e\":%d,\"causal\":%b,\"median_ms\":%.2f,\"cpu_ms\":%.2f,\"score_matrix_mb\":%.1f,\"peak_rss_mb\":%.0f}"
                name
                n
                h
                l
                e
                causal
                (wall * 1e3)
                (cpu * 1e3)
                (float n * float h * float l * float l * 4.0 / 1e6)
                (peakMb ())
