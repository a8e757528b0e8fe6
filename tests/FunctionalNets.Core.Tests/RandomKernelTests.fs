module FunctionalNets.Tests.RandomKernelTests

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Kernels

// The vectorised Threefry kernel must give exactly the numbers of the scalar reference in the Key module,
// for every length (vector body, scalar tail, chunk boundaries) and both float widths.
let private lengths = [ 0; 1; 2; 7; 8; 15; 16; 17; 31; 4095; 4096; 4097; 10_001 ]

let ``vector Threefry words equal the scalar block function`` () =
    let key = Key.create 0x1234_5678_9ABCL
    let words = Array.zeroCreate<uint32>(2 * 40)
    Threefry.Words(key.K0, key.K1, 3L, Span words)

    for c in 0..39 do
        let struct (a, b) = Key.threefry key 0u (uint32 (c + 3))
        Expect.equal (words[2 * c]) a "words[2 * c]"
        Expect.equal (words[2 * c + 1]) b "words[2 * c + 1]"

let ``uniform and normal fills match the Key reference bit for bit`` () =
    for seed in [ 0L; 1L; 987654321L ] do
        let key = Key.create seed

        for n in lengths do
            let expected32, actual32 = Array.zeroCreate<float32> n, Array.zeroCreate<float32> n
            Key.fillUniform32 key (Span expected32)
            Threefry.FillUniform(key.K0, key.K1, Span actual32)
            Expect.equal actual32 expected32 "actual32"
            Key.fillNormal32 key (Span expected32)
            Threefry.FillNormal(key.K0, key.K1, Span actual32)
            Expect.equal actual32 expected32 "actual32"
            let expected64, actual64 = Array.zeroCreate<float> n, Array.zeroCreate<float> n
            Key.fillUniform64 key (Span expected64)
            Threefry.FillUniform(key.K0, key.K1, Span actual64)
            Expect.equal actual64 expected64 "actual64"
            Key.fillNormal64 key (Span expected64)
            Threefry.FillNormal(key.K0, key.K1, Span actual64)
            Expect.equal actual64 expected64 "actual64"

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
        Expect.equal (Math.Round(mOut[i], 12)) (Math.Round(mi, 12)) "mOut[i] to 12 places"
        Expect.equal (Math.Round(vOut[i], 12)) (Math.Round(vi, 12)) "vOut[i] to 12 places"
        Expect.equal (Math.Round(u[i], 9)) (Math.Round((mi / bc1) / (sqrt (vi / bc2) + eps), 9)) "u[i] to 9 places"

let tests =
    testList
        "RandomKernel"
        [
            testCase
                "vector Threefry words equal the scalar block function"
                ``vector Threefry words equal the scalar block function``
            testCase
                "uniform and normal fills match the Key reference bit for bit"
                ``uniform and normal fills match the Key reference bit for bit``
            testCase "fused Adam step equals the textbook formula" ``fused Adam step equals the textbook formula``
        ]
