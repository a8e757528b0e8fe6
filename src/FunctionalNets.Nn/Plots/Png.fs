namespace FunctionalNets.Nn

open System
open System.IO
open System.IO.Compression

/// An RGB picture in memory, white to start with, that the chart rasterizers draw into. Colours are
/// 0xRRGGBB integers. Drawing outside the picture is clipped silently: charts compute coordinates
/// and should not have to guard every edge themselves.
type Raster(width: int, height: int) =
    do
        if width <= 0 || height <= 0 || int64 width * int64 height > 100_000_000L then
            invalidArg "width" (sprintf "Raster: %dx%d is not a picture size (1 to 100 megapixels)." width height)

    let pixels = Array.create (width * height * 3) 255uy

    member _.Width = width
    member _.Height = height

    /// The pixel bytes, row by row, R G B per pixel.
    member _.Pixels = pixels

    member _.Set(x: int, y: int, color: int) =
        if x >= 0 && y >= 0 && x < width && y < height then
            let i = (y * width + x) * 3
            pixels[i] <- byte (color >>> 16)
            pixels[i + 1] <- byte (color >>> 8)
            pixels[i + 2] <- byte color

    member _.Get(x: int, y: int) : int =
        let i = (y * width + x) * 3
        (int pixels[i] <<< 16) ||| (int pixels[i + 1] <<< 8) ||| int pixels[i + 2]

    /// Fills the w x h rectangle whose top-left pixel is (x, y).
    member r.FillRect(x: int, y: int, w: int, h: int, color: int) =
        for yy in max 0 y .. min (height - 1) (y + h - 1) do
            for xx in max 0 x .. min (width - 1) (x + w - 1) do
                r.Set(xx, yy, color)

    /// A one-pixel outline just inside the w x h rectangle at (x, y).
    member r.StrokeRect(x: int, y: int, w: int, h: int, color: int) =
        r.FillRect(x, y, w, 1, color)
        r.FillRect(x, y + h - 1, w, 1, color)
        r.FillRect(x, y, 1, h, color)
        r.FillRect(x + w - 1, y, 1, h, color)

    /// A line by Bresenham's algorithm, thickness pixels wide (a square brush), optionally dashed:
    /// dash = (on, off) in steps along the line. The dash phase carries over from one call to the next
    /// through the returned value, so a polyline's dashes flow across its vertices.
    member r.Line
        (x0: int, y0: int, x1: int, y1: int, color: int, thickness: int, dash: (int * int) option, phase: int)
        : int =
        let dx = abs (x1 - x0)
        let dy = -abs(y1 - y0)
        let sx = if x0 < x1 then 1 else -1
        let sy = if y0 < y1 then 1 else -1
        let lo = -(thickness - 1) / 2
        let hi = lo + thickness - 1
        let mutable x = x0
        let mutable y = y0
        let mutable err = dx + dy
        let mutable step = phase
        let mutable fin = false

        while not fin do
            let on =
                match dash with
                | Some(a, b) -> step % (a + b) < a
                | None -> true

            if on then
                for oy in lo..hi do
                    for ox in lo..hi do
                        r.Set(x + ox, y + oy, color)

            step <- step + 1

            if x = x1 && y = y1 then
                fin <- true
            else
                let e2 = 2 * err

                if e2 >= dy then
                    err <- err + dy
                    x <- x + sx

                if e2 <= dx then
                    err <- err + dx
                    y <- y + sy

        step

    /// Draws text in the built-in 3x5 pixel font, each font pixel scale x scale, with (x, y) the
    /// top-left corner. The font has digits and . - % only (enough for counts and tick labels);
    /// other characters leave a blank. Returns the width drawn.
    member r.Text(x: int, y: int, s: string, color: int, scale: int) : int =
        let mutable cx = x

        for ch in s do
            match Raster.Glyph ch with
            | Some rows ->
                for gy in 0..4 do
                    for gx in 0..2 do
                        if (rows[gy] >>> (2 - gx)) &&& 1 = 1 then
                            r.FillRect(cx + gx * scale, y + gy * scale, scale, scale, color)
            | None -> ()

            cx <- cx + 4 * scale

        cx - x - (if s.Length > 0 then scale else 0)

    /// The width in pixels of s in the built-in font at this scale.
    static member TextWidth(s: string, scale: int) =
        if s.Length = 0 then 0 else (4 * s.Length - 1) * scale

    /// A glyph of the 3x5 font as five rows of three bits (high bit = left column).
    static member Glyph(c: char) : int[] option =
        match c with
        | '0' -> Some [| 0b111; 0b101; 0b101; 0b101; 0b111 |]
        | '1' -> Some [| 0b010; 0b110; 0b010; 0b010; 0b111 |]
        | '2' -> Some [| 0b111; 0b001; 0b111; 0b100; 0b111 |]
        | '3' -> Some [| 0b111; 0b001; 0b111; 0b001; 0b111 |]
        | '4' -> Some [| 0b101; 0b101; 0b111; 0b001; 0b001 |]
        | '5' -> Some [| 0b111; 0b100; 0b111; 0b001; 0b111 |]
        | '6' -> Some [| 0b111; 0b100; 0b111; 0b101; 0b111 |]
        | '7' -> Some [| 0b111; 0b001; 0b001; 0b001; 0b001 |]
        | '8' -> Some [| 0b111; 0b101; 0b111; 0b101; 0b111 |]
        | '9' -> Some [| 0b111; 0b101; 0b111; 0b001; 0b111 |]
        | '.' -> Some [| 0b000; 0b000; 0b000; 0b000; 0b010 |]
        | '-' -> Some [| 0b000; 0b000; 0b111; 0b000; 0b000 |]
        | '%' -> Some [| 0b101; 0b001; 0b010; 0b100; 0b101 |]
        | _ -> None

/// PNG encoding, written out by hand (no image package): 8-bit RGB, no interlace, zlib-compressed.
module Png =

    /// The CRC-32 table (polynomial 0xEDB88320, the reflected IEEE polynomial PNG specifies).
    let private crcTable =
        Array.init 256 (fun n ->
            let mutable c = uint32 n

            for _ in 0..7 do
                c <-
                    if c &&& 1u <> 0u then
                        0xEDB88320u ^^^ (c >>> 1)
                    else
                        c >>> 1

            c)

    /// CRC-32 of bytes[offset .. offset + count - 1], as PNG chunks need.
    let crc32 (bytes: byte[]) (offset: int) (count: int) : uint32 =
        let mutable c = 0xFFFFFFFFu

        for i in offset .. offset + count - 1 do
            c <- crcTable[int ((c ^^^ uint32 bytes[i]) &&& 0xFFu)] ^^^ (c >>> 8)

        c ^^^ 0xFFFFFFFFu

    let private writeBE (s: Stream) (v: uint32) =
        s.WriteByte(byte (v >>> 24))
        s.WriteByte(byte (v >>> 16))
        s.WriteByte(byte (v >>> 8))
        s.WriteByte(byte v)

    /// One chunk: length, type, data, then the CRC over type and data.
    let private chunk (s: Stream) (kind: string) (data: byte[]) =
        writeBE s (uint32 data.Length)
        let body = Array.append (Text.Encoding.ASCII.GetBytes kind) data
        s.Write(body, 0, body.Length)
        writeBE s (crc32 body 0 body.Length)

    /// Encodes a raster as PNG bytes. Each scanline uses the Up filter (difference from the row above):
    /// chart rows repeat a lot, so most filtered rows become zeros that deflate to almost nothing.
    let fromRaster (raster: Raster) : byte[] =
        let w, h = raster.Width, raster.Height
        let px = raster.Pixels
        let stride = w * 3
        use out = new MemoryStream()
        out.Write([| 137uy; 80uy; 78uy; 71uy; 13uy; 10uy; 26uy; 10uy |], 0, 8)

        let ihdr = Array.zeroCreate<byte> 13
        Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(Span(ihdr, 0, 4), uint32 w)
        Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(Span(ihdr, 4, 4), uint32 h)
        ihdr[8] <- 8uy // bits per sample
        ihdr[9] <- 2uy // colour type 2: RGB
        // compression 0, filter method 0, interlace 0: the bytes are already zero.
        chunk out "IHDR" ihdr

        let idat =
            use z = new MemoryStream()

            do
                use zs = new ZLibStream(z, CompressionLevel.Optimal, true)
                let row = Array.zeroCreate<byte>(stride + 1)

                for y in 0 .. h - 1 do
                    let start = y * stride

                    if y = 0 then
                        row[0] <- 0uy // None: there is no row above
                        Buffer.BlockCopy(px, start, row, 1, stride)
                    else
                        row[0] <- 2uy // Up

                        for i in 0 .. stride - 1 do
                            row[i + 1] <- px[start + i] - px[start - stride + i]

                    zs.Write(row, 0, row.Length)

            z.ToArray()

        chunk out "IDAT" idat
        chunk out "IEND" [||]
        out.ToArray()

    /// An 0xRRGGBB colour from components in [0, 1] (clamped; NaN is 0).
    let rgb (r: float) (g: float) (b: float) : int =
        let c (v: float) =
            int (Math.Round(255.0 * Math.Clamp((if Double.IsNaN v then 0.0 else v), 0.0, 1.0)))

        (c r <<< 16) ||| (c g <<< 8) ||| c b

    /// Writes a raster as a PNG file atomically, creating the folder if needed.
    let save (path: string) (raster: Raster) : unit =
        PlotFiles.writeAtomic path (fromRaster raster)
