/// A fold's buffer reuse, counted by the CPU pool's misses on the test's thread; the list runs alone (Main.fs), since a
/// test running beside it may rent the very buffers it expects back from the shared pool.
module FunctionalNets.Tests.Nn.FoldBufferReuseTests

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn

/// A user's own fold of trainStep drops each state without telling anyone; once the collector has seen the dropped
/// states, their buffers serve the next steps, so the fold stops allocating new ones (as fit, which donates them).
let ``a Seq.fold of trainStep reuses the buffers of the states it dropped`` () =
    let model =
        Layer.sequential [ Layers.linear (8, 37); Layers.relu (); Layers.linear (37, 3) ]

    let tx = Optim.adam 1e-2
    let ks = Key.splitN 2 (Key.create 5L)

    let batch =
        {
            Input = Tensor.randn (ks[0], [ 16; 8 ])
            Target = Tensor.randint (ks[1], 0, 3, [ 16 ])
        }

    let step ts =
        let next = fst (Train.trainStep model Losses.crossEntropy tx ts batch)
        GC.Collect()
        GC.WaitForPendingFinalizers()
        next

    let mutable ts = Train.init model [ 8 ] tx (Key.create 1L)

    for _ in 1..3 do
        ts <- step ts

    let misses0 = Cpu.CpuPool.threadMissCount ()

    for _ in 1..10 do
        ts <- step ts

    Expect.equal (Cpu.CpuPool.threadMissCount () - misses0) 0L "Cpu.CpuPool.threadMissCount () - misses0"

/// The tests of this module.
let tests =
    testSequenced
    <| testList
        "FoldBufferReuse"
        [
            testCase
                "a Seq.fold of trainStep reuses the buffers of the states it dropped"
                ``a Seq.fold of trainStep reuses the buffers of the states it dropped``
        ]
