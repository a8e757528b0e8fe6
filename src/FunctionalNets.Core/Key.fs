namespace FunctionalNets

open System

/// A counter-based random key (Threefry-2x32, 20 rounds). Keys are values: they are split, never mutated,
/// so the same key gives the same numbers on every device and in every order of evaluation.
[<Struct; CustomEquality; NoComparison>]
type Key =
    {
        K0: uint32
        K1: uint32
    }

    override k.Equals(o) =
        match o with
        | :? Key as other -> k.K0 = other.K0 && k.K1 = other.K1
        | _ -> false

    override k.GetHashCode() = HashCode.Combine(k.K0, k.K1)
    override k.ToString() = sprintf "Key(%08x, %08x)" k.K0 k.K1

/// Creating, splitting and drawing from keys.
[<RequireQualifiedAccess>]
module Key =
    let inline private rotl (x: uint32) (r: int) = (x <<< r) ||| (x >>> (32 - r))

    /// The Threefry-2x32 block function: 20 rounds over the counter (c0, c1) under the key.
    let threefry (key: Key) (c0: uint32) (c1: uint32) : struct (uint32 * uint32) =
        let ks0, ks1 = key.K0, key.K1
        let ks2 = 0x1BD11BDAu ^^^ ks0 ^^^ ks1

        let inline ks i =
            if i = 0 then ks0
            elif i = 1 then ks1
            else ks2

        let mutable x0 = c0 + ks0
        let mutable x1 = c1 + ks1

        for r in 0..19 do
            let rot =
                match r % 8 with
                | 0 -> 13
                | 1 -> 15
                | 2 -> 26
                | 3 -> 6
                | 4 -> 17
                | 5 -> 29
                | 6 -> 16
                | _ -> 24

            x0 <- x0 + x1
            x1 <- rotl x1 rot
            x1 <- x1 ^^^ x0

            if r % 4 = 3 then
                let s = (r + 1) / 4
                x0 <- x0 + ks (s % 3)
                x1 <- x1 + ks ((s + 1) % 3) + uint32 s

        struct (x0, x1)

    // Domain tags keep split, foldIn and bit streams from ever sharing a counter.
    let private splitDomain = 0x53504C54u
    let private foldDomain = 0x464F4C44u

    /// A key from an integer seed.
    let create (seed: int64) =
        {
            K0 = uint32 (uint64 seed >>> 32)
            K1 = uint32 (uint64 seed &&& 0xFFFFFFFFUL)
        }

    /// n independent keys derived from one.
    let splitN (n: int) (key: Key) : Key[] =
        if n < 0 then
            invalidArg "n" (sprintf "Key.splitN: n must be >= 0, got %d." n)

        Array.init n (fun i ->
            let struct (a, b) = threefry key splitDomain (uint32 i)
            { K0 = a; K1 = b })

    /// Two independent keys derived from one.
    let split (key: Key) : Key * Key =
        let ks = splitN 2 key
        ks[0], ks[1]

    /// A key derived from this one and an integer (a step number, an example index, a layer id).
    let foldIn (data: int) (key: Key) : Key =
        let struct (a, b) = threefry key foldDomain (uint32 data)
        { K0 = a; K1 = b }

    /// The i-th 32-bit word of the key's bit stream (word 2c and 2c+1 come from counter c).
    let inline word (key: Key) (i: int64) =
        let c = uint64 i >>> 1
        let struct (a, b) = threefry key (uint32 (c >>> 32)) (uint32 c)
        if i &&& 1L = 0L then a else b

    /// Uniform [0, 1) float32 from a 32-bit word: 24 random mantissa bits.
    let inline uniform32OfWord (w: uint32) =
        float32 (w >>> 8) * (1.0f / 16777216.0f)

    /// Uniform [0, 1) float64 from two 32-bit words: 53 random bits.
    let inline uniform64OfWords (hi: uint32) (lo: uint32) =
        float ((uint64 (hi >>> 5) <<< 26) ||| uint64 (lo >>> 6))
        * (1.0 / 9007199254740992.0)

    /// Fills `dst` with uniform [0, 1) floats: element i uses word i.
    let fillUniform32 (key: Key) (dst: Span<float32>) =
        let n = dst.Length
        let mutable c = 0

        while c * 2 < n do
            let struct (a, b) = threefry key (uint32 (uint64 c >>> 32)) (uint32 c)
            dst[2 * c] <- uniform32OfWord a

            if 2 * c + 1 < n then
                dst[2 * c + 1] <- uniform32OfWord b

            c <- c + 1

    /// Fills `dst` with uniform [0, 1) doubles: element i uses counter i (both words).
    let fillUniform64 (key: Key) (dst: Span<float>) =
        for i in 0 .. dst.Length - 1 do
            let struct (a, b) = threefry key (uint32 (uint64 i >>> 32)) (uint32 i)
            dst[i] <- uniform64OfWords a b

    /// Fills `dst` with standard normal float32 (Box-Muller): elements 2p and 2p+1 come from counter p.
    let fillNormal32 (key: Key) (dst: Span<float32>) =
        let n = dst.Length
        let mutable p = 0

        while p * 2 < n do
            let struct (a, b) = threefry key (uint32 (uint64 p >>> 32)) (uint32 p)
            // 1 - u keeps the log argument in (0, 1].
            let u1 = 1.0 - float (uniform32OfWord a)
            let u2 = float (uniform32OfWord b)
            let r = sqrt (-2.0 * log u1)
            let t = 2.0 * Math.PI * u2
            dst[2 * p] <- float32 (r * cos t)

            if 2 * p + 1 < n then
                dst[2 * p + 1] <- float32 (r * sin t)

            p <- p + 1

    /// Fills `dst` with standard normal doubles: elements 2p and 2p+1 come from counters 2p and 2p+1.
    let fillNormal64 (key: Key) (dst: Span<float>) =
        let n = dst.Length
        let mutable p = 0

        while p * 2 < n do
            let c0 = uint64 (2 * p)
            let c1 = c0 + 1UL
            let struct (a0, b0) = threefry key (uint32 (c0 >>> 32)) (uint32 c0)
            let struct (a1, b1) = threefry key (uint32 (c1 >>> 32)) (uint32 c1)
            let u1 = 1.0 - uniform64OfWords a0 b0
            let u2 = uniform64OfWords a1 b1
            let r = sqrt (-2.0 * log u1)
            let t = 2.0 * Math.PI * u2
            dst[2 * p] <- r * cos t

            if 2 * p + 1 < n then
                dst[2 * p + 1] <- r * sin t

            p <- p + 1

/// The key operations under .NET names for C# callers (F# code uses the Key module's functions).
type Key with
    /// A key from an integer seed: the same seed gives the same numbers on every device.
    static member Create(seed: int64) = Key.create seed

    /// n independent keys derived from this one.
    member k.SplitN(n: int) = Key.splitN n k

    /// A key derived from this one and an integer (a step number, an example index, a layer id).
    member k.FoldIn(data: int) = Key.foldIn data k
