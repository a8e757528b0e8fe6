namespace FunctionalNets.Nn

open System
open System.IO
open System.Numerics
open System.Text

/// A histogram of values as TensorBoard's HistogramProto holds it: buckets by their upper edges.
type Histogram =
    {
        Min: float
        Max: float
        Count: float
        Sum: float
        SumSquares: float
        /// The upper edge of each bucket, increasing; the last one is Max.
        BucketLimits: float[]
        /// How many values fall in each bucket.
        Buckets: float[]
    }

/// The value of one summary entry.
[<RequireQualifiedAccess>]
type SummaryValue =
    | Scalar of float
    | Histogram of Histogram

/// TensorBoard's event files: TFRecord framing (length, masked CRC32C of the length, the Event protobuf,
/// masked CRC32C of the data) around hand-encoded Event, Summary and HistogramProto messages. No protobuf
/// library is needed for the handful of fields a training run writes.
[<RequireQualifiedAccess>]
module EventFile =
    /// CRC-32C (Castagnoli) of the bytes, as TFRecord frames use it.
    let crc32c (data: ReadOnlySpan<byte>) : uint32 =
        let mutable crc = 0xFFFFFFFFu

        for b in data do
            crc <- BitOperations.Crc32C(crc, b)

        crc ^^^ 0xFFFFFFFFu

    /// TFRecord's masked CRC: rotated right by 15 bits plus a constant, so a CRC stored inside data that is
    /// itself checksummed does not cancel out.
    let maskedCrc32c (data: ReadOnlySpan<byte>) : uint32 =
        let crc = crc32c data
        ((crc >>> 15) ||| (crc <<< 17)) + 0xa282ead8u

    // ---- protobuf wire format: only what Event, Summary and HistogramProto need ----

    let private varint (out: Stream) (value: uint64) =
        let mutable v = value

        while v >= 0x80UL do
            out.WriteByte(byte (v &&& 0x7FUL) ||| 0x80uy)
            v <- v >>> 7

        out.WriteByte(byte v)

    let private tag (out: Stream) (field: int) (wireType: int) =
        varint out (uint64 ((field <<< 3) ||| wireType))

    let private fixed64Field (out: Stream) (field: int) (v: float) =
        tag out field 1
        out.Write(BitConverter.GetBytes v, 0, 8)

    let private fixed32Field (out: Stream) (field: int) (v: float32) =
        tag out field 5
        out.Write(BitConverter.GetBytes v, 0, 4)

    let private varintField (out: Stream) (field: int) (v: int64) =
        tag out field 0
        varint out (uint64 v)

    let private bytesField (out: Stream) (field: int) (b: byte[]) =
        tag out field 2
        varint out (uint64 b.Length)
        out.Write(b, 0, b.Length)

    let private message (build: Stream -> unit) =
        use ms = new MemoryStream()
        build ms
        ms.ToArray()

    let private packedDoubles (out: Stream) (field: int) (values: float[]) =
        bytesField out field (message (fun m -> values |> Array.iter (fun v -> m.Write(BitConverter.GetBytes v, 0, 8))))

    let private histogramProto (h: Histogram) =
        message (fun m ->
            fixed64Field m 1 h.Min
            fixed64Field m 2 h.Max
            fixed64Field m 3 h.Count
            fixed64Field m 4 h.Sum
            fixed64Field m 5 h.SumSquares
            packedDoubles m 6 h.BucketLimits
            packedDoubles m 7 h.Buckets)

    let private summaryValue (name: string, value: SummaryValue) =
        message (fun m ->
            bytesField m 1 (Encoding.UTF8.GetBytes name)

            match value with
            | SummaryValue.Scalar v -> fixed32Field m 2 (float32 v)
            | SummaryValue.Histogram h -> bytesField m 5 (histogramProto h))

    /// The Event message: wall time in seconds since the epoch, the step, and either the file version
    /// ("brain.Event:2", the first event of every file) or a summary.
    let encodeEvent (wallTime: float) (step: int64) (content: Choice<string, (string * SummaryValue) list>) : byte[] =
        message (fun m ->
            fixed64Field m 1 wallTime
            varintField m 2 step

            match content with
            | Choice1Of2 version -> bytesField m 3 (Encoding.UTF8.GetBytes version)
            | Choice2Of2 values ->
                bytesField m 5 (message (fun s -> values |> List.iter (fun v -> bytesField s 1 (summaryValue v)))))

    /// One TFRecord: the data framed with its length and both masked checksums.
    let frame (data: byte[]) : byte[] =
        let length = BitConverter.GetBytes(uint64 data.Length)

        [|
            yield! length
            yield! BitConverter.GetBytes(maskedCrc32c (ReadOnlySpan length))
            yield! data
            yield! BitConverter.GetBytes(maskedCrc32c (ReadOnlySpan data))
        |]

    /// A histogram of the values with `bins` equal-width buckets between their minimum and maximum.
    let histogram (bins: int) (values: float[]) : Histogram =
        if bins < 1 then
            invalidArg "bins" (sprintf "EventFile.histogram: bins must be >= 1, got %d." bins)

        let finite = values |> Array.filter Double.IsFinite

        if finite.Length = 0 then
            {
                Min = 0.0
                Max = 0.0
                Count = 0.0
                Sum = 0.0
                SumSquares = 0.0
                BucketLimits = [| 0.0 |]
                Buckets = [| 0.0 |]
            }
        else
            let lo = Array.min finite
            let hi = Array.max finite
            let bins = if hi > lo then bins else 1
            let width = (hi - lo) / float bins
            let counts = Array.zeroCreate bins

            for v in finite do
                let i =
                    if width > 0.0 then
                        min (bins - 1) (int ((v - lo) / width))
                    else
                        0

                counts[i] <- counts[i] + 1.0

            {
                Min = lo
                Max = hi
                Count = float finite.Length
                Sum = Array.sum finite
                SumSquares = finite |> Array.sumBy (fun v -> v * v)
                BucketLimits = Array.init bins (fun i -> if i = bins - 1 then hi else lo + width * float (i + 1))
                Buckets = counts
            }

    /// A new event file's name in TensorBoard's pattern (it reads files whose name contains "tfevents").
    let fileName (now: DateTimeOffset) =
        sprintf
            "events.out.tfevents.%d.%s.%d.%s"
            (now.ToUnixTimeSeconds())
            Environment.MachineName
            Environment.ProcessId
            (Guid.NewGuid().ToString("N").Substring(0, 8))

    /// Appends records to an event file, creating it (and its folder) with the file-version event first.
    let append (path: string) (records: byte[] list) =
        let fresh = not (File.Exists path)

        match Path.GetDirectoryName(Path.GetFullPath path) with
        | null -> ()
        | dir -> Directory.CreateDirectory dir |> ignore

        use stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read)

        let wallTime = float (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()) / 1000.0

        if fresh then
            stream.Write(frame (encodeEvent wallTime 0L (Choice1Of2 "brain.Event:2")))

        for r in records do
            stream.Write(frame r)

        stream.Flush(true)
