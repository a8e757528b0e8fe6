/// Host<->device copies through pinned buffers, and the promise that a training step reads nothing to the host.
module FunctionalNets.Cuda.Tests.TransferTests

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn
open FunctionalNets.Cuda
open FunctionalNets.Cuda.Tests.Sim

/// Device-to-host reads made by one Train.fit epoch of `batches` batches of a tiny MLP on the simulated device.
let private readsOfFit (batches: int) =
    let g = gpu ()
    let old = Defaults.Device
    Defaults.Device <- g.Device

    try
        let model =
            Layer.sequential [ Layers.linear (3, 4); Layers.relu (); Layers.linear (4, 2) ]

        let tx = Optim.sgd 0.1
        let ts = Train.init model [ 2; 3 ] tx (Key.create 3L)
        let n = 2 * batches

        let x =
            Tensor.ofArray (Array.init (n * 3) (fun i -> float32 (sin (float i))), [ n; 3 ], device = g.Device)

        let y =
            Tensor.ofArray (Array.init n (fun i -> int64 (i % 2)), [ n ], device = g.Device)

        let options =
            { FitOptions.defaults with
                BatchSize = 2
                Metrics = [ Metrics.accuracy ]
            }

        let before = (Cuda.transferStats 0).Downloads

        Train.fit model Losses.crossEntropy tx options (Dataset.ofTensors x y) ts
        |> ignore

        (Cuda.transferStats 0).Downloads - before
    finally
        Defaults.Device <- old

/// The tests of this module.
let tests =
    testList
        "Transfer"
        [
            testCase "uploads queued through more pinned slots than the ring holds arrive intact"
            <| fun () ->
                let g = gpu ()
                let before = Cuda.transferStats 0
                // Six uploads through a ring of four slots: slots are reused while earlier copies may still be queued.
                let arrays =
                    [ for k in 0..5 -> Array.init (100 + 37 * k) (fun i -> float32 (k * 1000 + i)) ]

                let tensors =
                    arrays |> List.map (fun a -> g.FromArray(a, Shape.ofArray [| a.Length |]))

                List.iter2
                    (fun (a: float32[]) (t: RawTensor) ->
                        Expect.equal (t.ToArray() :?> float32[]) (a) "t.ToArray() :?> float32[]")
                    arrays
                    tensors

                let after = Cuda.transferStats 0
                Expect.equal (after.Uploads - before.Uploads) (6L) "after.Uploads - before.Uploads"
                Expect.equal (after.Downloads - before.Downloads) (6L) "after.Downloads - before.Downloads"
                Expect.isTrue (after.PinnedBytes > 0L) ("copies go through page-locked host memory")

            testCase "Train.fit reads to the host at its log points only, not in every step"
            <| fun () ->
                // Loss and accuracy counts accumulate on the device and are read at the end of the epoch: an epoch of 6
                // steps makes exactly as many host reads as an epoch of 2 (the rest of fit's reads are per epoch).
                let two = readsOfFit 2
                let six = readsOfFit 6
                Expect.equal (six) (two) "six"
                Expect.isTrue (two > 0L) ("the epoch's loss is read once")

            testCase "an out-of-range label on the device is still reported, at the next read"
            <| fun () ->
                // The loss no longer reads labels to the host on a device; the gather kernel records the bad index instead.
                let g = gpu ()
                let logits = Tensor.ofArray (Array.init 6 float32, [ 3; 2 ], device = g.Device)
                let labels = Tensor.ofArray ([| 0L; 5L; 1L |], [ 3 ], device = g.Device)

                let e =
                    Expects.throwsAny<System.ArgumentException> "fun () -> Tensor.toScalar (Losses.cr" (fun () ->
                        Tensor.toScalar (Losses.crossEntropy logits labels) |> ignore)

                Expect.stringContains (e.Message) ("index 5 is out of range") "the error message"

            testCase "out of device memory is a clear error that leaves the allocator's counters as they were"
            <| fun () ->
                gpu () |> ignore
                let pool = (DeviceRuntimes.get 0).Pool
                let before = pool.Stats
                // 1 PiB: more than any device (or this simulating host) has.
                let e =
                    Expects.throws<InvalidOperationException> "fun () -> pool.Rent(1L <<< 50) |> ignore" (fun () ->
                        pool.Rent(1L <<< 50) |> ignore)

                Expect.stringContains (e.Message) ("Out of device memory") "the error message"
                Expect.stringContains (e.Message) ("smaller batch") "the error message"
                Expect.equal (pool.Stats) (before) "pool.Stats"
                // The device keeps working.
                let t = (gpu ()).FromArray([| 1.0f; 2.0f |], Shape.ofArray [| 2 |])
                Expect.equal (t.ToArray() :?> float32[]) ([| 1.0f; 2.0f |]) "t.ToArray() :?> float32[]"

        ]
