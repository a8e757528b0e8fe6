/// A tiny MLP trained a few steps with Adam on the simulated device ends where the CPU run ends.
module FunctionalNets.Cuda.Tests.TrainingTests

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn
open FunctionalNets.Cuda.Tests.Sim

let private train (device: Device) =
    let model =
        Layer.sequential [ Layers.linear (6, 8); Layers.relu (); Layers.linear (8, 3) ]

    let tx = Optim.adam 1e-2
    let old = Defaults.Device
    Defaults.Device <- device

    try
        let mutable ts = Train.init model [ 4; 6 ] tx (Key.create 7L)

        let x =
            Tensor.create (Array2D.init 4 6 (fun i j -> float32 (sin (float (i * 6 + j)))), device = device)

        let y = Tensor.create ([ 0L; 2L; 1L; 2L ], device = device)
        let mutable losses = []

        for _ in 1..5 do
            let next, logs =
                Train.trainStep model Losses.crossEntropy tx ts { Input = x; Target = y }

            ts <- next
            losses <- logs["loss"] :: losses

        List.rev losses,
        PTree.leaves ts.Params
        |> List.map (fun (_, t: Tensor) -> t.Raw.ToArray() :?> float32[])
    finally
        Defaults.Device <- old

/// Trains model for a few Adam steps on device from the same key and batch; returns losses and parameters.
let private trainModel (model: Layer) (inputShape: int list) (input: Tensor) (target: Tensor) (device: Device) =
    let tx = Optim.adam 1e-2
    let old = Defaults.Device
    Defaults.Device <- device

    try
        let mutable ts = Train.init model inputShape tx (Key.create 11L)

        let batch =
            {
                Input = Tensor.toDevice (device, input)
                Target = Tensor.toDevice (device, target)
            }

        let losses =
            [
                for _ in 1..3 do
                    let next, logs = Train.trainStep model Losses.crossEntropy tx ts batch
                    ts <- next
                    yield logs["loss"]
            ]

        losses,
        PTree.leaves ts.Params
        |> List.map (fun (_, t: Tensor) -> t.Raw.ToArray() :?> float32[])
    finally
        Defaults.Device <- old

/// The tests of this module.
let tests =
    testList
        "Training"
        [
            testCase "an MLP trained 5 Adam steps on the simulated device ends within tolerance of the CPU"
            <| fun () ->
                let g = gpu ()
                let lossCpu, pCpu = train Device.Cpu
                let lossGpu, pGpu = train g.Device

                List.iter2
                    (fun (a: float) (b: float) -> Expect.isTrue (abs (a - b) < 1e-4) (sprintf "loss %g vs %g" a b))
                    lossCpu
                    lossGpu

                Expect.isTrue (List.last lossCpu < List.head lossCpu) ("the CPU run learns")

                List.iter2
                    (fun (a: float32[]) (b: float32[]) ->
                        for i in 0 .. a.Length - 1 do
                            Expect.isTrue (abs (a[i] - b[i]) < 1e-4f) (sprintf "param %d: %g vs %g" i a[i] b[i]))
                    pCpu
                    pGpu

            testCase "a small CNN trained 3 Adam steps on the simulated device ends within tolerance of the CPU"
            <| fun () ->
                let g = gpu ()

                let model =
                    Layer.sequential
                        [
                            Layers.conv2d (1, 4, 3, padding = 1)
                            Layers.relu ()
                            Layers.maxPool2d 2
                            Layers.conv2d (4, 4, 3, groups = 2)
                            Layers.relu ()
                            Layers.avgPool2d 2
                            Layers.flatten ()
                            Layers.linear (4, 3)
                        ]

                let x =
                    Tensor.create (
                        Array.init (2 * 8 * 8) (fun i -> float32 (sin (float i * 0.37)))
                        |> Array.chunkBySize 8
                        |> Array.chunkBySize 8
                        |> Array.map (fun p -> [| p |])
                    )

                let y = Tensor.create ([ 2L; 0L ])
                let lossCpu, pCpu = trainModel model [ 1; 8; 8 ] x y Device.Cpu
                let lossGpu, pGpu = trainModel model [ 1; 8; 8 ] x y g.Device

                List.iter2
                    (fun (a: float) (b: float) -> Expect.isTrue (abs (a - b) < 1e-4) (sprintf "loss %g vs %g" a b))
                    lossCpu
                    lossGpu

                List.iter2
                    (fun (a: float32[]) (b: float32[]) ->
                        for i in 0 .. a.Length - 1 do
                            Expect.isTrue (abs (a[i] - b[i]) < 1e-4f) (sprintf "param %d: %g vs %g" i a[i] b[i]))
                    pCpu
                    pGpu

            testCase "a train state moved to the device mid-run continues like the CPU run"
            <| fun () ->
                let g = gpu ()

                let model =
                    Layer.sequential [ Layers.linear (6, 8); Layers.relu (); Layers.linear (8, 3) ]

                let tx = Optim.adam 1e-2
                let x = Tensor.create (Array2D.init 4 6 (fun i j -> float32 (cos (float (i + j)))))
                let y = Tensor.create ([ 1L; 0L; 2L; 2L ])
                let batch = { Input = x; Target = y }

                let gBatch =
                    {
                        Input = Tensor.toDevice (g.Device, x)
                        Target = Tensor.toDevice (g.Device, y)
                    }

                let step b ts =
                    fst (Train.trainStep model Losses.crossEntropy tx ts b)

                let ts0 = Train.init model [ 4; 6 ] tx (Key.create 3L)
                let cpuRun = ts0 |> step batch |> step batch |> step batch |> step batch

                let mixed =
                    ts0
                    |> step batch
                    |> step batch
                    |> Train.toDevice g.Device
                    |> step gBatch
                    |> step gBatch

                Expect.equal
                    ((PTree.leaves mixed.Params |> List.head |> snd).Device)
                    (g.Device)
                    "(PTree.leaves mixed.Params |> List.head |> snd).Device"

                let back = Train.toDevice Device.Cpu mixed

                List.iter2
                    (fun (_, a: Tensor) (_, b: Tensor) ->
                        let a, b = a.Raw.ToArray() :?> float32[], b.Raw.ToArray() :?> float32[]

                        for i in 0 .. a.Length - 1 do
                            Expect.isTrue (abs (a[i] - b[i]) < 1e-5f) (sprintf "param %d: %g vs %g" i a[i] b[i]))
                    (PTree.leaves cpuRun.Params)
                    (PTree.leaves back.Params)

            testCase "toDevice round-trips values and refuses tensors that carry derivatives"
            <| fun () ->
                let g = gpu ()
                let x = Tensor.create ([ 1.5; -2.0; 3.25 ], DType.Float64)
                let d = Tensor.toDevice (g.Device, x)
                Expect.equal (d.Device) (g.Device) "d.Device"

                Expect.equal
                    ((Tensor.toDevice (Device.Cpu, d)).Raw.ToArray() :?> float[])
                    ([| 1.5; -2.0; 3.25 |])
                    "(Tensor.toDevice (Device.Cpu, d)).Raw.ToArray() :?> float[]"

                let e =
                    Expects.throws<InvalidOperationException> "fun () -> Diff.grad (fun t -> Tensor" (fun () ->
                        Diff.grad (fun t -> Tensor.sum (Tensor.toDevice (g.Device, t))) x |> ignore)

                Expect.stringContains (e.Message) ("carries derivatives") "the error message"

            testCase
                "a tiny GPT (embedding, causal attention, LayerNorm, GELU) trained 2 Adam steps on the simulated device matches the CPU"
            <| fun () ->
                let g = gpu ()

                let model = Layers.gpt (7, 4, dim = 8, heads = 2, layers = 1)

                let loss (logits: Tensor) (target: Tensor) =
                    Losses.crossEntropy (Tensor.reshape (logits, [ -1; 7 ])) (Tensor.reshape (target, [ -1 ]))

                let run (device: Device) =
                    let tx = Optim.adam 1e-2
                    let old = Defaults.Device
                    Defaults.Device <- device

                    try
                        let mutable ts = Train.init model [ 4 ] tx (Key.create 5L)

                        let batch =
                            {
                                Input =
                                    Tensor.toDevice (
                                        device,
                                        Tensor.ofArray ([| 1L; 2L; 3L; 4L; 6L; 5L; 0L; 2L |], [ 2; 4 ])
                                    )
                                Target =
                                    Tensor.toDevice (
                                        device,
                                        Tensor.ofArray ([| 2L; 3L; 4L; 5L; 5L; 0L; 2L; 1L |], [ 2; 4 ])
                                    )
                            }

                        [
                            for _ in 1..2 do
                                let next, logs = Train.trainStep model loss tx ts batch
                                ts <- next
                                yield logs["loss"]
                        ]
                    finally
                        Defaults.Device <- old

                List.iter2
                    (fun (a: float) (b: float) -> Expect.isTrue (abs (a - b) < 1e-4) (sprintf "loss %g vs %g" a b))
                    (run Device.Cpu)
                    (run g.Device)

        ]
