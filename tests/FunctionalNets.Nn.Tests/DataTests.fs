module FunctionalNets.Tests.Nn.DataTests

open System
open System.IO
open System.Threading
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn

/// A dataset whose example i has input [i] (float32) and target i (int64), counting GetBatch calls.
type CountingDataset(n: int) =
    let mutable calls = 0
    member _.Calls = calls

    interface IDataset with
        member _.Count = n

        member _.GetBatch(ix) =
            Interlocked.Increment(&calls) |> ignore

            {
                Input = Tensor.ofArray (ix |> Array.map float32, [ ix.Length; 1 ])
                Target = Tensor.ofArray (ix |> Array.map int64, [ ix.Length ])
            }

let private targets (b: Batch) =
    Tensor.toArray b.Target :?> int64[] |> Array.map int

let private epoch (loader: DataLoader) key =
    DataLoader.batches loader key |> Seq.map targets |> List.ofSeq

// ---------- Dataset ----------

let ``ofTensors selects rows on dim 0`` () =
    let x = Tensor.ofArray (Array.init 12 float32, [ 4; 3 ])
    let y = Tensor.ofArray ([| 10L; 11L; 12L; 13L |], [ 4 ])
    let ds = Dataset.ofTensors x y
    Expect.equal ds.Count 4 "ds.Count"
    let b = ds.GetBatch [| 2; 0 |]

    Expect.equal
        (Tensor.toArray b.Input :?> float32[])
        [| 6.f; 7.f; 8.f; 0.f; 1.f; 2.f |]
        "Tensor.toArray b.Input :?> float32[]"

    Expect.equal (Tensor.toArray b.Target :?> int64[]) [| 12L; 10L |] "Tensor.toArray b.Target :?> int64[]"

let ``ofTensors rejects different first dims and bad indices`` () =
    let x = Tensor.zeros [ 4; 3 ]
    let y = Tensor.zeros [ 5 ]

    let e =
        Expects.throws<ArgumentException> "Dataset.ofTensors x y" (fun () -> Dataset.ofTensors x y |> ignore)

    Expect.stringContains e.Message "4 examples" "e.Message"
    let ds = Dataset.ofTensors x (Tensor.zeros [ 4 ])

    Expects.throws<ArgumentOutOfRangeException> "ds.GetBatch [| 4 |]" (fun () -> ds.GetBatch [| 4 |] |> ignore)
    |> ignore

let ``subset take map and split`` () =
    let ds = CountingDataset 10 :> IDataset
    let sub = Dataset.subset [| 7; 3; 5 |] ds
    Expect.equal sub.Count 3 "sub.Count"
    Expect.equal (targets (sub.GetBatch [| 2; 0 |])) [| 5; 7 |] "targets (sub.GetBatch [| 2; 0 |])"
    Expect.equal ((Dataset.take 4 ds).Count) 4 "(Dataset.take 4 ds).Count"
    Expect.equal ((Dataset.take 100 ds).Count) 10 "(Dataset.take 100 ds).Count"
    let doubled = Dataset.map (fun b -> { b with Input = b.Input * 2.0 }) ds

    Expect.equal
        (Tensor.toArray (doubled.GetBatch [| 3 |]).Input :?> float32[])
        [| 6.f |]
        "Tensor.toArray (doubled.GetBatch [| 3 |]).Input :?> float32[]"

    let tr, va = Dataset.split 0.8 (Key.create 1L) ds
    Expect.equal tr.Count 8 "tr.Count"
    Expect.equal va.Count 2 "va.Count"

    let all =
        Array.append (targets (tr.GetBatch [| 0..7 |])) (targets (va.GetBatch [| 0; 1 |]))

    Expect.equal (Array.sort all) [| 0..9 |] "Array.sort all"
    let tr2, _ = Dataset.split 0.8 (Key.create 1L) ds

    Expect.equal
        (targets (tr2.GetBatch [| 0..7 |]))
        (targets (tr.GetBatch [| 0..7 |]))
        "targets (tr2.GetBatch [| 0..7 |])"

/// A property (FsCheck's default 100 cases and arbitraries, as the Check.QuickThrowOnFailure it replaces); the check
/// that two keys give different permutations of 100 is fixed, and holds in every case.
let ``permutation is a permutation and depends only on the key`` (seed: int64) (n: byte) =
    let n = int n
    let p = Dataset.permutation (Key.create seed) n

    Array.sort p = Array.init n id
    && p = Dataset.permutation (Key.create seed) n
    && Dataset.permutation (Key.create 2L) 100
       <> Dataset.permutation (Key.create 1L) 100

// ---------- DataLoader ----------

let ``batch sizes count and drop last`` () =
    let ds = CountingDataset 10
    let l = DataLoader.create ds 4 false false
    Expect.equal (DataLoader.count l) 3 "DataLoader.count l"

    Expect.equal
        (epoch l (Key.create 0L) |> List.map Array.length)
        [ 4; 4; 2 ]
        "epoch l (Key.create 0L) |> List.map Array.length"

    Expect.equal (epoch l (Key.create 0L)) [ [| 0..3 |]; [| 4..7 |]; [| 8; 9 |] ] "epoch l (Key.create 0L)"
    let ld = DataLoader.create ds 4 false true
    Expect.equal (DataLoader.count ld) 2 "DataLoader.count ld"

    Expect.equal
        (epoch ld (Key.create 0L) |> List.map Array.length)
        [ 4; 4 ]
        "epoch ld (Key.create 0L) |> List.map Array.length"

    let b = DataLoader.batches l (Key.create 0L) |> Seq.head
    Expect.equal (b.Input.Shape.ToArray()) [| 4; 1 |] "b.Input.Shape.ToArray()"

let ``every index exactly once per epoch, same key same order, different keys different order`` () =
    for prefetch in [ 0; 1; 2 ] do
        let l =
            DataLoader.create (CountingDataset 103) 8 true false
            |> DataLoader.withPrefetch prefetch

        let a = epoch l (Key.create 42L)
        Expect.equal (a |> Array.concat |> Array.sort) [| 0..102 |] "a |> Array.concat |> Array.sort"
        Expect.equal (epoch l (Key.create 42L)) a "epoch l (Key.create 42L)"
        Expect.notEqual (epoch l (Key.create 43L)) a "epoch l (Key.create 43L)"
        Expect.notEqual (Array.concat a) [| 0..102 |] "Array.concat a"

let ``prefetch builds ahead but stays bounded`` () =
    let ds = CountingDataset 1000
    let l = DataLoader.create ds 10 false false |> DataLoader.withPrefetch 1
    use e = (DataLoader.batches l (Key.create 0L)).GetEnumerator()
    let mutable consumed = 0
    let mutable ahead = 0

    // At every step: at most the batch handed out, one waiting in the queue and one built but blocked on
    // the full queue. The worker is far faster than this loop, so an unbounded one would run ahead here.
    while e.MoveNext() do
        consumed <- consumed + 1
        ahead <- max ahead (ds.Calls - consumed)

    Expect.equal consumed 100 "consumed"
    Checks.inRange "ahead" 0 2 ahead

let ``early break does not hang and stops the worker`` () =
    let ds = CountingDataset 100000
    let l = DataLoader.create ds 10 true false

    for _ in 1..20 do
        let first = DataLoader.batches l (Key.create 3L) |> Seq.take 2 |> List.ofSeq
        Expect.equal first.Length 2 "first.Length"

    // Disposing the enumerator waits for its worker, so nothing is built after the loop: each of the 20
    // early exits built its 2 batches and at most 2 more ahead.
    Checks.inRange "ds.Calls" 40 80 ds.Calls

let ``an exception in GetBatch reaches the consumer`` () =
    let ds =
        { new IDataset with
            member _.Count = 10

            member _.GetBatch ix =
                if ix[0] >= 4 then
                    failwith "boom at 4"
                else
                    (CountingDataset 10 :> IDataset).GetBatch ix
        }

    let l = DataLoader.create ds 2 false false

    let e =
        Expects.throws<Exception> "DataLoader.batches l (Key.create 0L) |> Seq.iter ignore" (fun () ->
            DataLoader.batches l (Key.create 0L) |> Seq.iter ignore)

    Expect.equal e.Message "boom at 4" "e.Message"

// ---------- DataLocation ----------

let ``resolve prefers the explicit path, then the environment, then the cache`` () =
    // The environment is passed in, so no test changes the process's variables while others run.
    let environment (vars: (string * string) list) (name: string) =
        vars |> List.tryFind (fst >> (=) name) |> Option.map snd

    let root = Path.Combine(Path.GetTempPath(), "fn-data-root")

    let withRoot =
        environment [ DataLocation.EnvironmentVariable, root; "XDG_CACHE_HOME", "/xdg" ]

    let explicitDir = Path.Combine(Path.GetTempPath(), "fn-explicit")

    Expect.equal
        (DataLocation.resolveWith withRoot (Some explicitDir) "mnist")
        (Path.GetFullPath explicitDir)
        "DataLocation.resolveWith withRoot (Some explicitDir) \"mnist\""

    Expect.equal
        (DataLocation.resolveWith withRoot None "mnist")
        (Path.Combine(root, "mnist"))
        "DataLocation.resolveWith withRoot None \"mnist\""

    Expect.equal
        (DataLocation.resolveWith (environment [ "XDG_CACHE_HOME", "/xdg" ]) None "mnist")
        (Path.Combine("/xdg", "functionalnets", "mnist"))
        "DataLocation.resolveWith (environment [ \"XDG_CACHE_HOME\", \"/xdg\" ]) None \"mnist\""

    let cached = DataLocation.resolveWith (environment []) None "mnist"
    Expect.stringEnds cached (Path.Combine(".cache", "functionalnets", "mnist")) "cached"

let ``findMnist finds the repository copy and explains a missing one`` () =
    let dir = DataLocation.findMnist None

    Expect.isTrue
        (File.Exists(Path.Combine(dir, "train-images-idx3-ubyte.gz")))
        "File.Exists(Path.Combine(dir, \"train-images-idx3-ubyte.gz\"))"

    let empty = Directory.CreateTempSubdirectory "fn-nomnist-"

    try
        let e =
            Expects.throws<FileNotFoundException> "DataLocation.findMnist (Some empty.FullName)" (fun () ->
                DataLocation.findMnist (Some empty.FullName) |> ignore)

        Expect.stringContains e.Message empty.FullName "e.Message"
        Expect.stringContains e.Message DataLocation.EnvironmentVariable "e.Message"
        Expect.stringContains e.Message DataLocation.mnistUrl "e.Message"
    finally
        empty.Delete true

/// The tests of this module.
let tests =
    testList
        "Data"
        [
            testCase "ofTensors selects rows on dim 0" ``ofTensors selects rows on dim 0``
            testCase
                "ofTensors rejects different first dims and bad indices"
                ``ofTensors rejects different first dims and bad indices``
            testCase "subset take map and split" ``subset take map and split``
            testProperty
                "permutation is a permutation and depends only on the key"
                ``permutation is a permutation and depends only on the key``
            testCase "batch sizes count and drop last" ``batch sizes count and drop last``
            testCase
                "every index exactly once per epoch, same key same order, different keys different order"
                ``every index exactly once per epoch, same key same order, different keys different order``
            testCase "prefetch builds ahead but stays bounded" ``prefetch builds ahead but stays bounded``
            testCase "early break does not hang and stops the worker" ``early break does not hang and stops the worker``
            testCase "an exception in GetBatch reaches the consumer" ``an exception in GetBatch reaches the consumer``
            testCase
                "resolve prefers the explicit path, then the environment, then the cache"
                ``resolve prefers the explicit path, then the environment, then the cache``
            testCase
                "findMnist finds the repository copy and explains a missing one"
                ``findMnist finds the repository copy and explains a missing one``
        ]
