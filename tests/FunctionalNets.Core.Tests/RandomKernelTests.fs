module FunctionalNets.Tests.RandomKernelTests

open System
open Xunit
open FunctionalNets
open FunctionalNets.Kernels

// The vectorised Threefry kernel must give exactly the numbers of the scalar reference in the Key module,
// for every length (vector body, scalar tail, chunk boundaries) and both float widths.
let private lengths = [ 0; 1; 2; 7; 8; 15; 16; 17; 31; 4095; 4096; 4097; 10_001 ]

[<Fact>]
let ``vector Threefry words equal the scalar block function`` () =
    let key = Key.create 0x1234_5678_9ABCL
    let words = Array.zeroCreate<uint32>(2 * 40)
    Threefry.Words(key.K0, key.K1, 3L, Span words)

    for c in 0..39 do
        let struct (a, b) = Key.threefry key 0u (uint32 (c + 3))
        Assert.Equal(a, words[2 * c])
        Assert.Equal(b, words[2 * c + 1])

[<Fact>]
let ``uniform and normal fills match the Key reference bit for bit`` () =
    for seed in [ 0L; 1L; 987654321L ] do
        let key = Key.create seed

        for n in lengths do
            let expected32, actual32 = Array.zeroCreate<float32> n, Array.zeroCreate<float32> n
            Key.fillUniform32 key (Span expected32)
            Threefry.FillUniform(key.K0, key.K1, Span actual32)
            Assert.Equal<float32[]>(expected32, actual32)
            Key.fillNormal32 key (Span expected32)
            Threefry.FillNormal(key.K0, key.K1, Span actual32)
            Assert.Equal<float32[]>(expected32, actual32)
            let expected64, actual64 = Array.zeroCreate<float> n, Array.zeroCreate<float> n
            Key.fillUniform64 key (Span expected64)
            Threefry.FillUniform(key.K0, key.K1, Span actual64)
            Assert.Equal<float[]>(expected64, actual64)
            Key.fillNormal64 key (Span expected64)
            Threefry.FillNormal(key.K0, key.K1, Span actual64)
            Assert.Equal<float[]>(expected64, actual64)

[<Fact>]
let ``fused Adam step equals the textbook formula`` () =
    let rng = Random 5
    let n = 37

    let g, m, v =
        Array.init n (fun _ -> rng.NextDouble() - 0.5),
        Array.init n (fun _ -> rng.NextDouble() - 0.5),
        Array.init n (fun _ -> rng.NextDouble())

    let mOut, vOut, u =
        Array.zeroCreate<float> n, Array.zeroCreate<float> n, Array.zeroCreate<float> n

    let b1, b2, eps, t = 0.9, 0.999, 1e-8, 3.0
    let bc1, bc2 = 1.0 - b1 ** t, 1.0 - b2 ** t

    OptimizerKernels.Adam<float>(
        ReadOnlySpan g,
        ReadOnlySpan m,
        ReadOnlySpan v,
        Span mOut,
        Span vOut,
        Span u,
        b1,
        b2,
        eps,
        bc1,
        bc2
    )

    for i in 0 .. n - 1 do
        let mi = b1 * m[i] + (1.0 - b1) * g[i]
        let vi = b2 * v[i] + (1.0 - b2) * g[i] * g[i]
        Assert.Equal(mi, mOut[i], 12)
        Assert.Equal(vi, vOut[i], 12)
        Assert.Equal((mi / bc1) / (sqrt (vi / bc2) + eps), u[i], 9)
