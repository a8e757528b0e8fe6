module FunctionalNets.Tests.Nn.SafeTensorsTests

open System
open System.IO
open System.Text
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn

let private tempDir () =
    Directory.CreateTempSubdirectory "fn-st-"

let private withTemp (f: string -> unit) =
    let d = tempDir ()

    try
        f d.FullName
    finally
        d.Delete true

let private sameTensor (a: Tensor) (b: Tensor) =
    Expect.equal b.DType a.DType "b.DType"
    Expect.equal (b.Shape.ToArray()) (a.Shape.ToArray()) "b.Shape.ToArray()"
    // Array equality on the typed arrays: bitwise for the floats used here (no NaNs).
    Expect.equal (Tensor.toArray b :> obj) (Tensor.toArray a :> obj) "Tensor.toArray b :> obj"

let private le64 (v: int64) =
    BitConverter.GetBytes v
    |> fun b -> (if BitConverter.IsLittleEndian then b else Array.rev b)

// ---------- SafeTensors ----------

let ``round trip of every dtype, scalars and empty tensors, order and metadata kept`` () =
    withTemp (fun d ->
        let path = Path.Combine(d, "t.safetensors")

        let tensors =
            [
                "z.f32", Tensor.ofArray ([| 1.5f; -0.0f; Single.MaxValue; Single.Epsilon; 3.25f; -7.0f |], [ 2; 3 ])
                "a.f64", Tensor.ofArray ([| Math.PI; -1e-300; Double.MaxValue |], [ 3 ])
                "i32", Tensor.ofArray ([| Int32.MinValue; 0; Int32.MaxValue; 5 |], [ 2; 1; 2 ])
                "i64", Tensor.ofArray ([| Int64.MinValue; Int64.MaxValue |], [ 2 ])
                "bool", Tensor.ofArray ([| true; false; true |], [ 3 ])
                "scalar", Tensor.ofArray ([| 42.0f |], [])
                "empty", Tensor.ofArray (Array.empty<float32>, [ 0; 4 ])
                "empty.i64", Tensor.ofArray (Array.empty<int64>, [ 0 ])
            ]

        let meta = Map [ "epoch", "3"; "note", "héllo \"quoted\"" ]
        SafeTensors.write path tensors meta
        let back, meta2 = SafeTensors.read path
        Expect.equal (List.map fst back) (List.map fst tensors) "List.map fst back"
        List.iter2 (fun (_, a) (_, b) -> sameTensor a b) tensors back
        Expect.equal meta2 meta "meta2"
        // The header is padded so that the data starts 8-byte aligned.
        Expect.equal
            (BitConverter.ToInt64(File.ReadAllBytes path, 0) % 8L)
            0L
            "BitConverter.ToInt64(File.ReadAllBytes path, 0) % 8L")

let ``exact bytes of a tiny file`` () =
    withTemp (fun d ->
        let path = Path.Combine(d, "tiny.safetensors")

        SafeTensors.write
            path
            [
                "w", Tensor.ofArray ([| 1.0f; -2.0f |], [ 2 ])
                "n", Tensor.ofArray ([| 7L |], [])
            ]
            (Map [ "k", "v" ])

        let json =
            """{"__metadata__":{"k":"v"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"n":{"dtype":"I64","shape":[],"data_offsets":[8,16]}}"""

        let header = Encoding.UTF8.GetBytes json

        let padded =
            Array.append header (Array.create ((8 - header.Length % 8) % 8) (byte ' '))

        let expected =
            Array.concat
                [
                    le64 (int64 padded.Length)
                    padded
                    [| 0x00uy; 0x00uy; 0x80uy; 0x3Fuy |] // 1.0f
                    [| 0x00uy; 0x00uy; 0x00uy; 0xC0uy |] // -2.0f
                    [| 7uy; 0uy; 0uy; 0uy; 0uy; 0uy; 0uy; 0uy |]
                ]

        Expect.equal (File.ReadAllBytes path) expected "File.ReadAllBytes path")

let ``a file written by Python's safetensors reads`` () =
    // Bytes as safetensors.torch.save_file({"b": torch.tensor([1, 2], dtype=torch.int32), "a": torch.tensor(0.5)})
    // lays them out: header sorted by key, unpadded JSON padded with spaces to 8.
    withTemp (fun d ->
        let json =
            """{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"b":{"dtype":"I32","shape":[2],"data_offsets":[4,12]}}"""

        let h = Encoding.UTF8.GetBytes json
        let h = Array.append h (Array.create ((8 - h.Length % 8) % 8) (byte ' '))

        let bytes =
            Array.concat
                [
                    le64 (int64 h.Length)
                    h
                    BitConverter.GetBytes 0.5f
                    BitConverter.GetBytes 1
                    BitConverter.GetBytes 2
                ]

        let path = Path.Combine(d, "py.safetensors")
        File.WriteAllBytes(path, bytes)
        let ts, meta = SafeTensors.read path
        Expect.isTrue meta.IsEmpty "meta.IsEmpty"
        Expect.equal (List.map fst ts) [ "a"; "b" ] "List.map fst ts"
        Expect.equal (Tensor.toScalar (snd ts[0])) 0.5 "Tensor.toScalar (snd ts[0])"
        Expect.equal (Tensor.toArray (snd ts[1]) :?> int[]) [| 1; 2 |] "Tensor.toArray (snd ts[1]) :?> int[]")

let private corrupt (bytes: byte[]) (fragment: string) =
    withTemp (fun d ->
        let path = Path.Combine(d, "bad.safetensors")
        File.WriteAllBytes(path, bytes)

        let e =
            Expects.throws<InvalidDataException> "SafeTensors.read path" (fun () -> SafeTensors.read path |> ignore)

        Expect.stringContains e.Message path "e.Message"
        Expect.stringContains e.Message fragment "e.Message")

let private fileWith (json: string) (data: byte[]) =
    let h = Encoding.UTF8.GetBytes json
    Array.concat [ le64 (int64 h.Length); h; data ]

let ``corrupt files are rejected with messages`` () =
    corrupt [| 1uy; 2uy; 3uy |] "too short"
    corrupt (Array.append (le64 1000L) (Array.zeroCreate 20)) "runs past the end of the file"
    corrupt (fileWith "{not json" [||]) "not valid JSON"
    corrupt (fileWith """{"x":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}""" [| 0uy; 0uy |]) "dtype 'F16'"

    corrupt
        (fileWith """{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""" [| 0uy; 0uy; 0uy; 0uy |])
        "run past the end of the data"

    corrupt (fileWith """{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""" (Array.zeroCreate 12)) "needs 12"

    corrupt
        (fileWith
            """{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"""
            (Array.zeroCreate 12))
        "overlap"

    corrupt (fileWith """{"x":{"dtype":"F32","shape":[2]}}""" (Array.zeroCreate 8)) "data_offsets"
    corrupt (fileWith """{"__metadata__":{"a":1}}""" [||]) "must be strings"

let ``missing file`` () =
    let e =
        Expects.throws<FileNotFoundException> "SafeTensors.read \"/nonexistent/x.safetensors\"" (fun () ->
            SafeTensors.read "/nonexistent/x.safetensors" |> ignore)

    Expect.stringContains e.Message "/nonexistent/x.safetensors" "e.Message"

let ``a write that fails midway leaves the previous file intact and no temp file`` () =
    withTemp (fun d ->
        let path = Path.Combine(d, "ckpt.safetensors")
        SafeTensors.write path [ "a", Tensor.ofArray ([| 1.0f; 2.0f |], [ 2 ]) ] Map.empty
        let before = File.ReadAllBytes path
        // A tensor released by its scope: its shape is known (the header is written) but reading its
        // data throws, after the first tensor's bytes are already in the temp file.
        let mutable released = Unchecked.defaultof<Tensor>

        Scope.run (fun () ->
            released <- Tensor.ones [ 1000 ]
            0)
        |> ignore

        let big = Tensor.ones [ 100000 ]

        Expects.throwsAny<ObjectDisposedException>
            "SafeTensors.write path [ \"big\", big; \"gone\", released ] Map.empty"
            (fun () -> SafeTensors.write path [ "big", big; "gone", released ] Map.empty)
        |> ignore

        Expect.equal (File.ReadAllBytes path) before "File.ReadAllBytes path"
        Expect.equal (Directory.GetFiles d) [| path |] "Directory.GetFiles d")

let ``duplicate names are refused before anything is written`` () =
    withTemp (fun d ->
        let path = Path.Combine(d, "x.safetensors")
        let t = Tensor.zeros [ 1 ]

        Expects.throws<ArgumentException> "SafeTensors.write path [ \"a\", t; \"a\", t ] Map.empty" (fun () ->
            SafeTensors.write path [ "a", t; "a", t ] Map.empty)
        |> ignore

        Expect.isEmpty (Directory.GetFiles d) "Directory.GetFiles d")

// ---------- Checkpoint ----------

let private leaf (data: float32[]) (shape: int list) = Leaf(Tensor.ofArray (data, shape))

let private state () =
    let rnd = Random 7

    let floats n =
        Array.init n (fun _ -> float32 (rnd.NextDouble() * 2.0 - 1.0) * 1e-3f)

    {
        Params =
            Node
                [
                    "0", Node [ "weight", leaf (floats 12) [ 4; 3 ]; "bias", leaf (floats 4) [ 4 ] ]
                    "1", Node [] // a parameter-free layer
                    "2", Node [ "weight", leaf (floats 8) [ 2; 4 ] ]
                ]
        State =
            Node
                [
                    "bn",
                    Node
                        [
                            "running_mean", leaf (floats 4) [ 4 ]
                            "num_batches", Leaf(Tensor.ofArray ([| 17L |], []))
                        ]
                ]
        Opt =
            Node
                [
                    "count", Leaf(Tensor.ofArray ([| 5L |], []))
                    "mu", Node [ "0", Node [ "weight", leaf (floats 12) [ 4; 3 ] ] ]
                ]
        Step = 123456789012L
        Key = { K0 = 0xDEADBEEFu; K1 = 7u }
        LrScale = 0.1 + 0.2
    }

let rec private sameTree (a: PTree<Tensor>) (b: PTree<Tensor>) =
    match a, b with
    | Leaf x, Leaf y -> sameTensor x y
    | Node ka, Node kb ->
        Expect.equal (List.map fst kb) (List.map fst ka) "List.map fst kb"
        List.iter2 (fun (_, x) (_, y) -> sameTree x y) ka kb
    | _ -> failtest "tree structure differs"

let private sameState (a: TrainState) (b: TrainState) =
    sameTree a.Params b.Params
    sameTree a.State b.State
    sameTree a.Opt b.Opt
    Expect.equal b.Step a.Step "b.Step"
    Expect.equal b.Key a.Key "b.Key"

    Expect.equal
        (BitConverter.DoubleToInt64Bits b.LrScale)
        (BitConverter.DoubleToInt64Bits a.LrScale)
        "BitConverter.DoubleToInt64Bits b.LrScale"

let ``checkpoint round trip is bit exact`` () =
    withTemp (fun d ->
        let path = Path.Combine(d, "c.safetensors")
        let ts = state ()
        SafeTensors.write path [] Map.empty // an older file to replace
        Checkpoint.save path ts (Map [ "model", "mlp" ])
        let back, meta = Checkpoint.load path
        sameState ts back
        Expect.equal meta (Map [ "model", "mlp" ]) "meta"
        let back2, _ = Checkpoint.loadInto path ts
        sameState ts back2
        // Names follow the trees' paths.
        let names = SafeTensors.read path |> fst |> List.map fst
        Expect.contains names "params.0.weight" "tensor names"
        Expect.contains names "opt.mu.0.weight" "tensor names")

let ``empty trees and bare leaves round trip`` () =
    withTemp (fun d ->
        let path = Path.Combine(d, "e.safetensors")

        let ts =
            {
                Params = Leaf(Tensor.ofArray ([| 1.0; 2.0 |], [ 2 ]))
                State = PTree.empty
                Opt = PTree.empty
                Step = 0L
                Key = Key.create 0L
                LrScale = 1.0
            }

        Checkpoint.save path ts Map.empty
        let back, meta = Checkpoint.load path
        sameState ts back
        Expect.isTrue meta.IsEmpty "meta.IsEmpty"

        Expect.equal
            (SafeTensors.read path |> fst |> List.map fst)
            [ "params" ]
            "SafeTensors.read path |> fst |> List.map fst")

let ``trees rebuild from names when the file has no structure`` () =
    withTemp (fun d ->
        let path = Path.Combine(d, "n.safetensors")
        let ts = state ()
        Checkpoint.save path ts Map.empty
        let tensors, meta = SafeTensors.read path
        SafeTensors.write path tensors (meta.Remove "structure")
        let back, _ = Checkpoint.load path
        // The empty node "1" cannot be seen in names; everything else comes back.
        let expectedParams =
            match ts.Params with
            | Node kids -> Node(kids |> List.filter (fun (k, _) -> k <> "1"))
            | t -> t

        sameTree expectedParams back.Params
        sameTree ts.State back.State
        sameTree ts.Opt back.Opt)

let ``loadInto names the first mismatching path and both shapes`` () =
    withTemp (fun d ->
        let path = Path.Combine(d, "m.safetensors")
        let ts = state ()
        Checkpoint.save path ts Map.empty

        let other =
            { ts with
                Params =
                    Node
                        [
                            "0",
                            Node
                                [
                                    "weight", leaf (Array.zeroCreate 8) [ 2; 4 ]
                                    "bias", leaf (Array.zeroCreate 4) [ 4 ]
                                ]
                            "2", Node [ "weight", leaf (Array.zeroCreate 8) [ 2; 4 ] ]
                        ]
            }

        let e =
            Expects.throws<InvalidDataException> "Checkpoint.loadInto path other" (fun () ->
                Checkpoint.loadInto path other |> ignore)

        Expect.stringContains
            e.Message
            "checkpoint mismatch at params.0.weight: file has [4; 3], model has [2; 4]"
            "e.Message"

        let missing =
            { ts with
                State = Node [ "bn", Node [ "running_mean", leaf (Array.zeroCreate 4) [ 4 ] ] ]
            }

        let e2 =
            Expects.throws<InvalidDataException> "Checkpoint.loadInto path missing" (fun () ->
                Checkpoint.loadInto path missing |> ignore)

        Expect.stringContains e2.Message "state.bn.num_batches" "e2.Message")

let ``reserved metadata keys are refused`` () =
    withTemp (fun d ->
        let e =
            Expects.throws<ArgumentException>
                "Checkpoint.save (Path.Combine(d, \"r\")) (state ()) (Map [ \"step\", \"1\" ])"
                (fun () -> Checkpoint.save (Path.Combine(d, "r")) (state ()) (Map [ "step", "1" ]))

        Expect.stringContains e.Message "reserved" "e.Message")

/// The tests of this module.
let tests =
    testList
        "SafeTensors"
        [
            testCase
                "round trip of every dtype, scalars and empty tensors, order and metadata kept"
                ``round trip of every dtype, scalars and empty tensors, order and metadata kept``
            testCase "exact bytes of a tiny file" ``exact bytes of a tiny file``
            testCase "a file written by Python's safetensors reads" ``a file written by Python's safetensors reads``
            testCase "corrupt files are rejected with messages" ``corrupt files are rejected with messages``
            testCase "missing file" ``missing file``
            testCase
                "a write that fails midway leaves the previous file intact and no temp file"
                ``a write that fails midway leaves the previous file intact and no temp file``
            testCase
                "duplicate names are refused before anything is written"
                ``duplicate names are refused before anything is written``
            testCase "checkpoint round trip is bit exact" ``checkpoint round trip is bit exact``
            testCase "empty trees and bare leaves round trip" ``empty trees and bare leaves round trip``
            testCase
                "trees rebuild from names when the file has no structure"
                ``trees rebuild from names when the file has no structure``
            testCase
                "loadInto names the first mismatching path and both shapes"
                ``loadInto names the first mismatching path and both shapes``
            testCase "reserved metadata keys are refused" ``reserved metadata keys are refused``
        ]
