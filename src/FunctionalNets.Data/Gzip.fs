namespace FunctionalNets.Nn

open System
open System.Buffers.Binary
open System.IO
open System.IO.Compression

/// CRC-32 as gzip uses it (IEEE 802.3, reflected polynomial 0xEDB88320), eight bytes per step.
module internal Crc32 =
    let private tables =
        let t = Array.zeroCreate<uint32>(8 * 256)

        for i in 0..255 do
            let mutable c = uint32 i

            for _ in 0..7 do
                c <-
                    if c &&& 1u <> 0u then
                        0xEDB88320u ^^^ (c >>> 1)
                    else
                        c >>> 1

            t[i] <- c

        for k in 1..7 do
            for i in 0..255 do
                let prev = t[(k - 1) * 256 + i]
                t[k * 256 + i] <- (prev >>> 8) ^^^ t[int (prev &&& 0xFFu)]

        t

    /// The CRC of the bytes so far (start from 0u) extended by data.
    let update (crc: uint32) (data: ReadOnlySpan<byte>) : uint32 =
        let t = tables
        let mutable c = ~~~crc
        let mutable i = 0

        while i + 8 <= data.Length do
            let one = c ^^^ BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(i, 4))
            let two = BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(i + 4, 4))

            c <-
                t[7 * 256 + int (one &&& 0xFFu)]
                ^^^ t[6 * 256 + int ((one >>> 8) &&& 0xFFu)]
                ^^^ t[5 * 256 + int ((one >>> 16) &&& 0xFFu)]
                ^^^ t[4 * 256 + int (one >>> 24)]
                ^^^ t[3 * 256 + int (two &&& 0xFFu)]
                ^^^ t[2 * 256 + int ((two >>> 8) &&& 0xFFu)]
                ^^^ t[256 + int ((two >>> 16) &&& 0xFFu)]
                ^^^ t[int (two >>> 24)]

            i <- i + 8

        while i < data.Length do
            c <- t[int ((c ^^^ uint32 data[i]) &&& 0xFFu)] ^^^ (c >>> 8)
            i <- i + 1

        ~~~c

/// Reading gzip files (RFC 1952) without trusting them: one member, inflated in bounded chunks, with a
/// hard limit on the output and the CRC-32 and length of the trailer checked against what was inflated.
module internal Gzip =
    /// Deflate never expands more than about 1032:1, so a compressed file of n bytes cannot hold more
    /// than this many bytes of content: a limit derived from the file itself.
    let maxInflated (compressedLength: int64) : int64 =
        Math.Max(0L, compressedLength - 18L) * 1032L + 1024L

    /// Whether the bytes start with the gzip magic 1f 8b.
    let hasMagic (head: ReadOnlySpan<byte>) =
        head.Length >= 2 && head[0] = 0x1fuy && head[1] = 0x8buy

    /// Whether the file starts with the gzip magic.
    let fileHasMagic (path: string) =
        use f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1)
        let b = Array.zeroCreate<byte> 2
        f.ReadAtLeast(b.AsSpan(), 2, false) = 2 && hasMagic (ReadOnlySpan b)

/// The decompressed bytes of a single-member gzip file, read forward only. Every failure raises the
/// exception fail makes of a description (the caller's, naming the file): deflate data that does not
/// decode, output past limit (raised on the first byte past it, so a gzip bomb stops early), and at the
/// end a CRC-32 or length that differs from the trailer's (a truncated file, one cut inside the trailer,
/// trailing bytes or a second member). The file stream is owned and closed by this stream.
type internal VerifiedGzipStream(file: FileStream, limit: int64, fail: string -> exn) =
    inherit Stream()

    let fileLength = file.Length

    let trailerCrc, trailerSize =
        // Header (10 bytes), the shortest deflate stream (2 bytes), trailer (8 bytes).
        if fileLength < 20L then
            raise (
                fail (
                    sprintf "the gzip file is truncated: %d bytes, shorter than the 20 of an empty gzip file" fileLength
                )
            )

        let head = Array.zeroCreate<byte> 10
        file.ReadExactly(head, 0, 10)

        if not (Gzip.hasMagic (ReadOnlySpan head)) then
            raise (fail "it does not start with the gzip magic bytes 1f 8b")

        if head[2] <> 8uy then
            raise (fail (sprintf "gzip compression method %d is not deflate (8)" head[2]))

        if head[3] &&& 0xE0uy <> 0uy then
            raise (fail (sprintf "the gzip header has reserved flag bits set (flags 0x%02x)" head[3]))

        let t = Array.zeroCreate<byte> 8
        file.Position <- fileLength - 8L
        file.ReadExactly(t, 0, 8)
        file.Position <- 0L

        BinaryPrimitives.ReadUInt32LittleEndian(ReadOnlySpan(t, 0, 4)),
        BinaryPrimitives.ReadUInt32LittleEndian(ReadOnlySpan(t, 4, 4))

    let gz = new GZipStream(file, CompressionMode.Decompress, false)
    let mutable limit = limit
    let mutable crc = 0u
    let mutable produced = 0L
    let mutable finished = false

    /// The uncompressed length mod 2^32 that the trailer records (only a claim until the end is reached).
    member _.DeclaredSize: uint32 = trailerSize

    /// The most bytes it may inflate; lowering it (to a size the file declares) stops inflating earlier.
    member _.Limit
        with get () = limit
        and set v = limit <- v

    /// Bytes inflated so far.
    member _.Produced = produced

    override _.CanRead = true
    override _.CanSeek = false
    override _.CanWrite = false
    override _.Length = raise (NotSupportedException())

    override _.Position
        with get () = produced
        and set _ = raise (NotSupportedException())

    override _.Flush() = ()
    override _.Seek(_, _) = raise (NotSupportedException())
    override _.SetLength _ = raise (NotSupportedException())
    override _.Write(_: byte[], _: int, _: int) = raise (NotSupportedException())

    override this.Read(buffer: byte[], offset: int, count: int) = this.Read(Span(buffer, offset, count))

    override _.Read(buffer: Span<byte>) =
        if finished || buffer.Length = 0 then
            0
        else
            // At most one byte past the limit is asked for: that byte, if it exists, is the error.
            let room = int (Math.Min(int64 buffer.Length, limit + 1L - produced))

            let n =
                try
                    gz.Read(buffer.Slice(0, room))
                with
                | :? InvalidDataException as e -> raise (fail (sprintf "the gzip data is corrupt (%s)" e.Message))
                | :? EndOfStreamException as e -> raise (fail (sprintf "the gzip data is truncated (%s)" e.Message))

            if n > 0 then
                produced <- produced + int64 n

                if produced > limit then
                    raise (fail (sprintf "it decompresses to more than %d bytes, the most it may hold" limit))

                crc <- Crc32.update crc (Span<byte>.op_Implicit(buffer.Slice(0, n)))
                n
            else
                finished <- true

                if crc <> trailerCrc || uint32 produced <> trailerSize then
                    raise (
                        fail (
                            sprintf
                                "the gzip data is truncated or corrupt: it decompresses to %d bytes with CRC-32 %08x, but the gzip trailer records %d bytes (mod 2^32) with CRC-32 %08x"
                                produced
                                crc
                                trailerSize
                                trailerCrc
                        )
                    )

                0

    override _.Dispose(disposing: bool) =
        if disposing then
            gz.Dispose()
            file.Dispose()

        base.Dispose disposing
