module FunctionalNets.Tests.Nn.LoggingCallbackTests

open System
open System.Globalization
open System.IO
open System.Text
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn

// ---------- an independent reader of TFRecord framing and the Event protobuf ----------

// CRC-32C bit by bit from the reflected Castagnoli polynomial, independent of the library's
// hardware-accelerated one.
let private crc32cReference (data: byte[]) =
    let mutable crc = 0xFFFFFFFFu

    for b in data do
        crc <- crc ^^^ uint32 b

        for _ in 1..8 do
            crc <-
                if crc &&& 1u = 1u then
                    (crc >>> 1) ^^^ 0x82F63B78u
                else
                    crc >>> 1

    crc ^^^ 0xFFFFFFFFu

// TFRecord's mask as TensorFlow documents it: rotate right by 15, add 0xa282ead8.
let private masked (data: byte[]) =
    let c = crc32cReference data
    ((c >>> 15) ||| (c <<< 17)) + 0xa282ead8u

let private readRecords (path: string) =
    let bytes = File.ReadAllBytes path
    let mutable at = 0

    [
        while at < bytes.Length do
            let lengthBytes = bytes[at .. at + 7]
            let length = int (BitConverter.ToUInt64(lengthBytes, 0))

            Expect.equal
                (BitConverter.ToUInt32(bytes, at + 8))
                (masked lengthBytes)
                "BitConverter.ToUInt32(bytes, at + 8)"

            let data = bytes[at + 12 .. at + 12 + length - 1]

            Expect.equal
                (BitConverter.ToUInt32(bytes, at + 12 + length))
                (masked data)
                "BitConverter.ToUInt32(bytes, at + 12 + length)"

            at <- at + 16 + length
            yield data
    ]

type private Field =
    | Varint of uint64
    | Fixed64 of byte[]
    | Fixed32 of byte[]
    | Bytes of byte[]

let private fields (data: byte[]) : (int * Field) list =
    let mutable at = 0

    let varint () =
        let mutable result = 0UL
        let mutable shift = 0
        let mutable go = true

        while go do
            let b = data[at]
            at <- at + 1
            result <- result ||| (uint64 (b &&& 0x7Fuy) <<< shift)
            shift <- shift + 7
            go <- b &&& 0x80uy <> 0uy

        result

    [
        while at < data.Length do
            let key = varint ()
            let field = int (key >>> 3)

            match int (key &&& 7UL) with
            | 0 -> yield field, Varint(varint ())
            | 1 ->
                yield field, Fixed64 data[at .. at + 7]
                at <- at + 8
            | 5 ->
                yield field, Fixed32 data[at .. at + 3]
                at <- at + 4
            | 2 ->
                let n = int (varint ())
                yield field, Bytes data[at .. at + n - 1]
                at <- at + n
            | w -> failwithf "unexpected wire type %d" w
    ]

type private Event =
    {
        Step: int64
        Version: string option
        Scalars: Map<string, float32>
        Histograms: Map<string, float * float * float * float[]>
    }

let private doubles (b: byte[]) =
    Array.init (b.Length / 8) (fun i -> BitConverter.ToDouble(b, 8 * i))

let private parseEvent (data: byte[]) =
    let fs = fields data

    let summaryValues =
        [
            for f, v in fs do
                match f, v with
                | 5, Bytes summary ->
                    for g, value in fields summary do
                        match g, value with
                        | 1, Bytes v -> yield fields v
                        | _ -> ()
                | _ -> ()
        ]

    let tagOf (v: (int * Field) list) =
        v
        |> List.pick (function
            | 1, Bytes t -> Some(Encoding.UTF8.GetString t)
            | _ -> None)

    {
        Step =
            fs
            |> List.tryPick (function
                | 2, Varint s -> Some(int64 s)
                | _ -> None)
            |> Option.defaultValue 0L
        Version =
            fs
            |> List.tryPick (function
                | 3, Bytes v -> Some(Encoding.UTF8.GetString v)
                | _ -> None)
        Scalars =
            summaryValues
            |> List.choose (fun v ->
                v
                |> List.tryPick (function
                    | 2, Fixed32 b -> Some(tagOf v, BitConverter.ToSingle(b, 0))
                    | _ -> None))
            |> Map.ofList
        Histograms =
            summaryValues
            |> List.choose (fun v ->
                v
                |> List.tryPick (function
                    | 5, Bytes h ->
                        let hf = fields h

                        let d n =
                            hf
                            |> List.pick (function
                                | k, Fixed64 b when k = n -> Some(BitConverter.ToDouble(b, 0))
                                | _ -> None)

                        let buckets =
                            hf
                            |> List.pick (function
                                | 7, Bytes b -> Some(doubles b)
                                | _ -> None)

                        Some(tagOf v, (d 1, d 2, d 3, buckets))
                    | _ -> None))
            |> Map.ofList
    }

// ---------- tests ----------

let ``CRC-32C of "123456789" is the catalogue's check value 0xE3069283`` () =
    let data = Encoding.ASCII.GetBytes "123456789"
    Expect.equal (EventFile.crc32c (ReadOnlySpan data)) 0xE3069283u "EventFile.crc32c (ReadOnlySpan data)"
    Expect.equal (crc32cReference data) 0xE3069283u "crc32cReference data"

let ``histogram counts every finite value once, in buckets whose last edge is the maximum`` () =
    let values = [| -1.0; 0.0; 0.5; 2.0; 2.0; nan; infinity |]
    let h = EventFile.histogram 3 values
    Expect.equal ((h.Min, h.Max, h.Count)) ((-1.0, 2.0, 5.0)) "(h.Min, h.Max, h.Count)"
    Expect.equal (System.Math.Round(h.Sum, 12)) (System.Math.Round(3.5, 12)) "h.Sum to 12 places"

    Expect.equal
        (System.Math.Round(h.SumSquares, 12))
        (System.Math.Round(1.0 + 0.25 + 4.0 + 4.0, 12))
        "h.SumSquares to 12 places"
    // width 1: [-1, 0) holds -1; [0, 1) holds 0 and 0.5; [1, 2] holds both 2s.
    Expect.equal h.BucketLimits [| 0.0; 1.0; 2.0 |] "h.BucketLimits"
    Expect.equal h.Buckets [| 1.0; 2.0; 2.0 |] "h.Buckets"

let private blobs =
    let x =
        Tensor.ofArray ([| 0.0f; 0.1f; 0.2f; 0.0f; 1.0f; 0.9f; 0.8f; 1.1f |], [ 4; 2 ])

    Dataset.ofTensors x (Tensor.ofArray ([| 0; 0; 1; 1 |], [ 4 ]))

let private model = Layers.linear (2, 3) >-> Layers.relu () >-> Layers.linear (3, 2)

let private fitWith (callbacks: Callback list) =
    let tx = Optim.adam 0.05
    let ts0 = Train.init model [ 2 ] tx (Key.create 5L)

    let options =
        { FitOptions.defaults with
            Epochs = 3
            BatchSize = 4
            Metrics = [ Metrics.accuracy ]
            Validation = Some blobs
            Callbacks = callbacks
        }

    Train.fit model Losses.crossEntropy tx options blobs ts0

let private withTemp f = TestFiles.withTemp "fn-logging-" f

let ``TensorBoard writes checksummed records: the file version, then per epoch the logged scalars and weight histograms``
    ()
    =
    withTemp (fun dir ->
        let ts, history = fitWith [ Callbacks.tensorBoard dir true ]
        let files = Directory.GetFiles dir
        Expects.single "files" files |> ignore
        Expect.stringContains (Path.GetFileName files[0]) "tfevents" "Path.GetFileName files[0]"
        let events = readRecords files[0] |> List.map parseEvent
        Expect.equal events.Length 4 "events.Length"
        Expect.equal (events[0].Version) (Some "brain.Event:2") "events[0].Version"
        Expect.equal (events |> List.tail |> List.map _.Step) [ 1L; 2L; 3L ] "events |> List.tail |> List.map _.Step"

        for e in List.tail events do
            Expect.equal
                (e.Scalars |> Map.keys |> List.ofSeq |> List.sort)
                (List.sort history.Keys)
                "e.Scalars |> Map.keys |> List.ofSeq |> List.sort"

            for k in history.Keys do
                // Scalars travel as float32 (TensorBoard's simple_value).
                Expect.equal e.Scalars[k] (float32 history[k].[int e.Step - 1]) "e.Scalars[k]"

        let last = List.last events

        for path, w in PTree.leaves ts.Params do
            let values = Tensor.toFloatArray w
            let lo, hi, count, buckets = last.Histograms[path]

            Expect.equal
                ((lo, hi, count))
                ((Array.min values, Array.max values, float values.Length))
                "(lo, hi, count)"

            Expect.equal (Array.sum buckets) (float values.Length) "Array.sum buckets")

let ``CsvLogger writes a header, then one row per epoch with the History's values, loss first`` () =
    withTemp (fun dir ->
        let path = Path.Combine(dir, "sub", "log.csv")
        let _, history = fitWith [ Callbacks.csvLogger path false ]
        let lines = File.ReadAllLines path
        Expect.equal lines[0] "epoch,loss,accuracy,val_loss,val_accuracy,lr" "lines[0]"
        Expect.equal lines.Length 4 "lines.Length"

        for epoch in 1..3 do
            let cells = lines[epoch].Split ','
            Expect.equal cells[0] (string epoch) "cells[0]"

            [ "loss"; "accuracy"; "val_loss"; "val_accuracy"; "lr" ]
            |> List.iteri (fun i k ->
                Expect.equal
                    (Double.Parse(cells[i + 1], CultureInfo.InvariantCulture))
                    (history[k].[epoch - 1])
                    "Double.Parse(cells[i + 1], CultureInfo.InvariantCulture)")

        // A second run with append continues the file without a second header.
        fitWith [ Callbacks.csvLogger path true ] |> ignore
        let lines = File.ReadAllLines path
        Expect.equal lines.Length 7 "lines.Length"

        Expect.equal
            (lines |> Array.filter (fun l -> l.StartsWith "epoch") |> Array.length)
            1
            "lines |> Array.filter (fun l -> l.StartsWith \"epoch\") |> Array.length")

let ``TensorBoard with updateFreq writes the running loss and the learning rate every n steps`` () =
    withTemp (fun dir ->
        let tx = Optim.adam 0.05
        let ts0 = Train.init model [ 2 ] tx (Key.create 5L)

        let options =
            { FitOptions.defaults with
                Epochs = 3
                BatchSize = 1
                Shuffle = false
                Callbacks = [ Callbacks.tensorBoardWith dir false 2 ]
            }

        let _, history = Train.fit model Losses.crossEntropy tx options blobs ts0

        let events =
            readRecords (Directory.GetFiles dir).[0] |> List.map parseEvent |> List.tail
        // 4 steps per epoch: step events at 2, 4 (then epoch 1), 6, 8 (then epoch 2), 10, 12 (then epoch 3).
        let steps = events |> List.filter (fun e -> e.Scalars.ContainsKey "batch_loss")
        Expect.equal (steps |> List.map _.Step) [ 2L; 4L; 6L; 8L; 10L; 12L ] "steps |> List.map _.Step"
        Expect.equal (events |> List.map _.Step) [ 2L; 4L; 1L; 6L; 8L; 2L; 10L; 12L; 3L ] "events |> List.map _.Step"

        for e in steps do
            Expect.equal
                (e.Scalars |> Map.keys |> List.ofSeq)
                [ "batch_loss"; "batch_lr" ]
                "e.Scalars |> Map.keys |> List.ofSeq"

            Expect.equal (e.Scalars["batch_lr"]) 0.05f "e.Scalars[\"batch_lr\"]"

        // At an epoch's last step the running loss is the epoch's loss.
        for epoch in 1..3 do
            let atEnd = steps |> List.find (fun e -> e.Step = int64 (4 * epoch))

            Expect.equal
                (atEnd.Scalars["batch_loss"])
                (float32 history["loss"].[epoch - 1])
                "atEnd.Scalars[\"batch_loss\"]"

        // The epoch events carry the learning rate too.
        for e in events |> List.filter (fun e -> e.Scalars.ContainsKey "loss") do
            Expect.equal (e.Scalars["lr"]) 0.05f "e.Scalars[\"lr\"]")

/// The tests of this module.
let tests =
    testList
        "LoggingCallback"
        [
            testCase
                "CRC-32C of \"123456789\" is the catalogue's check value 0xE3069283"
                ``CRC-32C of "123456789" is the catalogue's check value 0xE3069283``
            testCase
                "histogram counts every finite value once, in buckets whose last edge is the maximum"
                ``histogram counts every finite value once, in buckets whose last edge is the maximum``
            testCase
                "TensorBoard writes checksummed records: the file version, then per epoch the logged scalars and weight histograms"
                ``TensorBoard writes checksummed records: the file version, then per epoch the logged scalars and weight histograms``
            testCase
                "CsvLogger writes a header, then one row per epoch with the History's values, loss first"
                ``CsvLogger writes a header, then one row per epoch with the History's values, loss first``
            testCase
                "TensorBoard with updateFreq writes the running loss and the learning rate every n steps"
                ``TensorBoard with updateFreq writes the running loss and the learning rate every n steps``
        ]
