namespace FunctionalNets.Cpu

/// When the CPU backend runs attention with the tiled kernel (FunctionalNets.Kernels.FlashAttention) instead of the
/// composed batched GEMMs and fused softmax, chosen from bench attention_kernels and attention_sdpa on a 2-core
/// AVX-512 EPYC (bench/README.md): under the causal mask the tiles above the diagonal are skipped and the tiled
/// kernel used less CPU time at every length measured (128 to 1024 tokens, head size 32 and 64); without a mask the
/// two cost about the same, and the tiled kernel is taken once the [L, S] matrices it never keeps are large.
module internal CpuAttention =
    /// Below this many queries or keys a tile is mostly empty and the batched GEMMs win.
    let private minCausal = 64

    /// Scores per slice from which the unmasked case takes the tiled kernel for the memory it saves.
    let private minUnmasked = 512L * 512L

    /// Whether the tiled kernel is at least as fast as the composed path for these float32 sizes.
    let prefersTiled (batch: int) (l: int) (s: int) (e: int) (ev: int) (causal: bool) =
        ignore (batch, e, ev)

        if causal then
            l >= minCausal && s >= minCausal
        else
            int64 l * int64 s >= minUnmasked

    /// The key lengths as the kernel takes them: null (no padding) or one per batch slice.
    let lengths (keyLengths: int[] option) =
        match keyLengths with
        | Some lens -> lens
        | None -> null
