module FunctionalNets.Tests.ScopeTests

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Cpu

let private get (p: PTree<Tensor>) name =
    match PTree.tryFind name p with
    | Some(Leaf t) -> t
    | _ -> failwithf "missing %s" name

/// One SGD step of a 32-64-10 ReLU MLP with softmax cross-entropy; returns the new parameters.
let private sgdStep (x: Tensor) (y: Tensor) (p: PTree<Tensor>) =
    let loss (p: PTree<Tensor>) =
        let h = Tensor.relu (Tensor.linear (x, get p "w0", get p "b0"))
        let logits = Tensor.linear (h, get p "w1", get p "b1")
        -Tensor.mean(Tensor.gather (Tensor.logSoftmax (logits, 1), 1, y))

    let g = Diff.gradTree loss p
    PTree.map2 (fun (w: Tensor) (dw: Tensor) -> w - dw * 0.01) p g

let ``10,000 MLP steps inside scopes keep memory flat`` () =
    let ks = Key.splitN 4 (Key.create 7L)

    let mutable p =
        PTree.node
            [
                "w0", Leaf(Tensor.randn (ks[0], [ 64; 32 ]) * 0.1)
                "b0", Leaf(Tensor.zeros [ 64 ])
                "w1", Leaf(Tensor.randn (ks[1], [ 10; 64 ]) * 0.1)
                "b1", Leaf(Tensor.zeros [ 10 ])
            ]

    let x = Tensor.randn (ks[2], [ 16; 32 ])
    let y = Tensor.randint (ks[3], 0, 10, [ 16; 1 ])

    for _ in 1..200 do
        p <- Scope.run (fun () -> sgdStep x y p)

    GC.Collect()
    GC.WaitForPendingFinalizers()
    let missesBefore = CpuPool.threadMissCount ()
    let heapBefore = GC.GetTotalMemory true

    for _ in 1..10_000 do
        p <- Scope.run (fun () -> sgdStep x y p)

    let missesAfter = CpuPool.threadMissCount ()
    let heapAfter = GC.GetTotalMemory true

    // Every intermediate of a step (dozens of buffers) comes back from the pool; only the 4 returned
    // parameter tensors, which leave the scope, are new storage (fewer in practice: the dropped parameters'
    // buffers come back once collected). Misses are counted on this thread, and no other test runs meanwhile
    // to take buffers of the same sizes from the shared pool (a leak of the intermediates would add dozens of
    // misses per step, hundreds of thousands in all).
    let misses = missesAfter - missesBefore

    Expect.isTrue
        (misses <= 4L * 10_000L)
        (sprintf "pool misses over 10,000 steps: %d (expected at most 4 per step)" misses)
    // A leak of one step's intermediates (tens of KB) over 10,000 steps would exceed this bound by far.
    Expect.isTrue
        (heapAfter - heapBefore < 64L * 1024L * 1024L)
        (sprintf "heap grew by %d bytes over 10,000 steps" (heapAfter - heapBefore))
    // The loop still trains: the loss went down from its initial value (log 10 for a near-uniform start).
    let h = Tensor.relu (Tensor.linear (x, get p "w0", get p "b0"))

    let finalLoss =
        -Tensor.mean(Tensor.gather (Tensor.logSoftmax (Tensor.linear (h, get p "w1", get p "b1"), 1), 1, y))

    Expect.isTrue (Tensor.toScalar finalLoss < 1.0) (sprintf "loss after training: %f" (Tensor.toScalar finalLoss))

let ``a tensor used after its scope ended raises a clear error`` () =
    let mutable leaked = Unchecked.defaultof<Tensor>

    let kept =
        Scope.run (fun () ->
            let a = Tensor.ones [ 3 ] * 2.0
            leaked <- a + 1.0
            a)

    Expect.equal (Tensor.toFloatArray kept) ([| 2.0; 2.0; 2.0 |]) "Tensor.toFloatArray kept"

    let ex =
        Expects.throws<ReleasedTensorException> "Tensor.toFloatArray leaked" (fun () ->
            Tensor.toFloatArray leaked |> ignore)

    Expect.stringContains ex.Message "Scope" "ex.Message"

let ``values returned from nested scopes survive and belong to the outer scope`` () =
    let outerKept, innerValue =
        Scope.run (fun () ->
            let inner = Scope.run (fun () -> Tensor.full ([ 2 ], 3.0) * 2.0, Tensor.zeros [ 1 ])
            let a, _ = inner
            a + 1.0, a)

    Expect.equal (Tensor.toFloatArray outerKept) ([| 7.0; 7.0 |]) "Tensor.toFloatArray outerKept"
    // innerValue was returned by the outer scope too, so it is still readable.
    Expect.equal (Tensor.toFloatArray innerValue) ([| 6.0; 6.0 |]) "Tensor.toFloatArray innerValue"

let ``an exception inside a scope releases what it created and propagates`` () =
    let mutable created = Unchecked.defaultof<Tensor>

    let ex =
        Expects.throws<InvalidOperationException> "Scope.run (fun () -> c" (fun () ->
            Scope.run (fun () ->
                created <- Tensor.ones [ 4 ]
                invalidOp "boom")
            |> ignore)

    Expect.equal ex.Message "boom" "ex.Message"

    Expects.throws<ReleasedTensorException> "Tensor.toFloatArray created" (fun () ->
        Tensor.toFloatArray created |> ignore)
    |> ignore

let ``trees returned from a scope keep every leaf`` () =
    let tree =
        Scope.run (fun () ->
            PTree.node
                [
                    "a", Leaf(Tensor.ones [ 2 ] + 1.0)
                    "b", PTree.node [ "c", Leaf(Tensor.zeros [ 3 ] - 1.0) ]
                ])

    Expect.equal (Tensor.toFloatArray (get tree "a")) ([| 2.0; 2.0 |]) "Tensor.toFloatArray (get tree \"a\")"

    Expect.equal
        (Tensor.toFloatArray (get tree "b.c"))
        ([| -1.0; -1.0; -1.0 |])
        "Tensor.toFloatArray (get tree \"b.c\")"

/// A value kept by an outermost scope and then dropped (as a user's own fold drops each state) gives its buffer
/// back to the pool once collected, at the thread's next outermost scope; without that every step allocated anew.
let ``buffers of dropped values kept by an outermost scope are reused after a collection`` () =
    // A length no other test uses (and no other test runs meanwhile), so no other thread rents these buffers.
    let n = 77_773

    let step () =
        Scope.run (fun () -> Tensor.ones [ n ] * 2.0) |> ignore
        GC.Collect()
        GC.WaitForPendingFinalizers()

    step ()
    step ()
    let misses0 = CpuPool.threadMissCount ()

    for _ in 1..10 do
        step ()

    Expect.equal (CpuPool.threadMissCount () - misses0) 0L "CpuPool.threadMissCount () - misses0"

/// A value kept by an outermost scope and still referenced is never reclaimed, whatever is collected or allocated.
let ``a kept value that is still referenced keeps its buffer through collections`` () =
    let n = 77_771
    let kept = Scope.run (fun () -> Tensor.ones [ n ] * 3.0)

    for i in 1..5 do
        GC.Collect()
        GC.WaitForPendingFinalizers()
        Scope.run (fun () -> Tensor.ones [ n ] * float (10 + i)) |> ignore

    Seq.iter (fun v -> Expect.equal v 3.0f "v") (Tensor.toArray kept :?> float32[])

let tests =
    testList
        "Scope"
        [
            testCase
                "a tensor used after its scope ended raises a clear error"
                ``a tensor used after its scope ended raises a clear error``
            testCase
                "values returned from nested scopes survive and belong to the outer scope"
                ``values returned from nested scopes survive and belong to the outer scope``
            testCase
                "an exception inside a scope releases what it created and propagates"
                ``an exception inside a scope releases what it created and propagates``
            testCase "trees returned from a scope keep every leaf" ``trees returned from a scope keep every leaf``
            testCase
                "a kept value that is still referenced keeps its buffer through collections"
                ``a kept value that is still referenced keeps its buffer through collections``
        ]

/// The tests that count the calling thread's misses in the process-wide CPU pool: any test running beside them rents
/// and returns buffers of the same sizes. Main.fs runs their class alone under `dotnet test`; under Expecto's runner
/// they run one at a time (run them alone with `--filter-test-list "Scope: CPU pool"`, or `--sequenced`).
let poolTests =
    testSequencedGroup "KernelSettings.MaxThreads"
    <| testList
        "Scope: CPU pool"
        [
            testCase
                "10,000 MLP steps inside scopes keep memory flat"
                ``10,000 MLP steps inside scopes keep memory flat``
            testCase
                "buffers of dropped values kept by an outermost scope are reused after a collection"
                ``buffers of dropped values kept by an outermost scope are reused after a collection``
        ]
