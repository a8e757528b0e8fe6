/// The GPU check: on Device.Cuda 0 (or, with --smoke, on ILGPU's CPU accelerator with tiny settings) it prints
/// JSON lines: what the backend found, the conformance suite member by member, SGEMM throughput, and timed
/// MNIST MLP training steps with the loss beside the CPU's, then an MNIST MLP epoch, the MNIST CNN to 99.2% and a
/// CIFAR-10 ResNet-18 to 93% (Training.fs). Usage: GpuCheck [--smoke] [--data DIR] [--cifar ARCHIVE]
/// [--cnn-epochs N] [--cnn-seconds S] [--cifar-epochs N] [--cifar-seconds S] [--quick]
module FunctionalNets.GpuCheck.Program

open System
open System.Diagnostics
open FunctionalNets
open FunctionalNets.Nn
open FunctionalNets.Cuda
open FunctionalNets.Tests.Conformance

let private json (s: string) =
    "\""
    + s.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n").Replace("\r", "")
    + "\""

let private sgemm (dev: Device) (n: int) (reps: int) =
    let b = Backends.get dev
    let a = b.RandomNormal(Key.create 1L, Shape.ofList [ n; n ], DType.Float32)
    let c = b.RandomNormal(Key.create 2L, Shape.ofList [ n; n ], DType.Float32)
    a.MatMul(false, c, false).ToArray() |> ignore // warm-up (kernel compilation)
    let watch = Stopwatch.StartNew()

    for _ in 1..reps do
        a.MatMul(false, c, false) |> ignore

    Cuda.synchronize 0
    let s = watch.Elapsed.TotalSeconds
    let tflops = 2.0 * float n ** 3.0 * float reps / s / 1e12
    printfn "{\"check\":\"sgemm\",\"n\":%d,\"reps\":%d,\"seconds\":%.4f,\"tflops\":%.3f}" n reps s tflops

/// Threefry fills on the device against the CPU backend, bit for bit (uniform is integer arithmetic; normal goes
/// through the device's double log/cos/sin, so a last-bit difference there is reported, not hidden).
let private threefry (dev: Device) =
    let g = Backends.get dev
    let cpu = Backends.get Device.Cpu

    for dtype in [ DType.Float32; DType.Float64 ] do
        for kind in [ "uniform"; "normal" ] do
            let key = Key.create 20260101L
            let s = Shape.ofList [ 100_003 ]

            let fill (b: Backend) =
                let r =
                    if kind = "uniform" then
                        b.RandomUniform(key, s, dtype)
                    else
                        b.RandomNormal(key, s, dtype)

                match r.ToArray() with
                | :? (float32[]) as a -> a |> Array.map (fun v -> int64 (BitConverter.SingleToInt32Bits v))
                | :? (float[]) as a -> a |> Array.map BitConverter.DoubleToInt64Bits
                | _ -> [||]

            let e, a = fill cpu, fill g
            let differing = Array.fold2 (fun n x y -> if x = y then n else n + 1) 0 e a

            printfn
                "{\"check\":\"threefry_bitexact\",\"kind\":\"%s\",\"dtype\":\"%O\",\"n\":%d,\"differing\":%d,\"ok\":%b}"
                kind
                dtype
                e.Length
                differing
                (differing = 0)

let private mlpSteps (dev: Device) (dataDir: string option) (batch: int) (steps: int) =
    let mnist = Mnist.load (DataLocation.findMnist dataDir)

    let model =
        Layer.sequential
            [
                Layers.flatten ()
                Layers.linear (784, 512)
                Layers.relu ()
                Layers.linear (512, 256)
                Layers.relu ()
                Layers.linear (256, 10)
            ]

    let tx = Optim.adam 1e-3
    let ts0 = Train.init model [ 1; 28; 28 ] tx (Key.create 0L)

    let run (d: Device) =
        let mutable ts = Train.toDevice d ts0
        let losses = ResizeArray<float>()
        let watch = Stopwatch.StartNew()

        for s in 0 .. steps - 1 do
            let b =
                mnist.Train.GetBatch(Array.init batch (fun i -> (s * batch + i) % mnist.Train.Count))

            let b =
                {
                    Input = Tensor.toDevice (d, b.Input)
                    Target = Tensor.toDevice (d, b.Target)
                }

            let next, logs = Train.trainStep model Losses.crossEntropy tx ts b
            ts <- next
            losses.Add logs["loss"]

        watch.Elapsed.TotalSeconds, List.ofSeq losses

    let gpuSeconds, gpuLoss = run dev
    let cpuSeconds, cpuLoss = run Device.Cpu
    let maxDiff = List.map2 (fun a b -> abs (a - b)) gpuLoss cpuLoss |> List.max

    printfn
        "{\"check\":\"mnist_mlp_steps\",\"batch\":%d,\"steps\":%d,\"device_seconds\":%.3f,\"cpu_seconds\":%.3f,\"final_loss_device\":%.6f,\"final_loss_cpu\":%.6f,\"max_loss_diff\":%.3g,\"ok\":%b}"
        batch
        steps
        gpuSeconds
        cpuSeconds
        (List.last gpuLoss)
        (List.last cpuLoss)
        maxDiff
        (maxDiff < 1e-3)

[<EntryPoint>]
let main argv =
    let smoke = Array.contains "--smoke" argv

    let option (name: string) =
        match Array.tryFindIndex ((=) name) argv with
        | Some i when i + 1 < argv.Length -> Some argv[i + 1]
        | _ -> None

    let dataDir = option "--data"
    // The CIFAR-10 archive (cifar-10-binary.tar.gz): --cifar PATH, else FUNCTIONALNETS_DATA/cifar10; no run without.
    let cifar =
        option "--cifar"
        |> Option.orElse (
            Environment.GetEnvironmentVariable "FUNCTIONALNETS_DATA"
            |> Option.ofObj
            |> Option.map (fun d -> IO.Path.Combine(d, "cifar10"))
            |> Option.filter IO.Directory.Exists
        )

    let intOption name fallback =
        option name |> Option.map int |> Option.defaultValue fallback

    if smoke then
        Cuda.useSimulator ()

    let dev =
        try
            Cuda.init 0
        with e ->
            printfn "{\"check\":\"device\",\"ok\":false,\"error\":%s}" (json e.Message)
            printfn "{\"check\":\"describe\",\"text\":%s}" (json (Cuda.describe ()))
            exit 2

    printfn "{\"check\":\"describe\",\"smoke\":%b,\"text\":%s}" smoke (json (Cuda.describe ()))
    let backend = Backends.get dev
    let mutable failed = 0

    for c in Suite.checks do
        let watch = Stopwatch.StartNew()

        let error =
            try
                Suite.runCheck backend c.Name
                None
            with e ->
                Some e.Message

        if error.IsSome then
            failed <- failed + 1

        printfn
            "{\"check\":\"conformance\",\"name\":%s,\"ok\":%b,\"ms\":%d%s}"
            (json c.Name)
            error.IsNone
            watch.ElapsedMilliseconds
            (match error with
             | Some e -> ",\"error\":" + json e
             | None -> "")

    threefry dev
    if smoke then sgemm dev 64 2 else sgemm dev 4096 20

    // --quick (CI, with --smoke): the training code once through a narrow MLP; the real models' smoke runs take
    // minutes on the simulator, which runs one OS thread per GPU thread.
    let quick = Array.contains "--quick" argv
    let mnist = Mnist.load (DataLocation.findMnist dataDir)
    let limit = if smoke then Some 8 else None

    if quick then
        Training.mnistMlpEpoch dev mnist.Train limit (32, 16)
    else
        if smoke then
            mlpSteps dev dataDir 16 3
        else
            mlpSteps dev dataDir 128 200

        // Training to the accuracy bars; smoke runs a handful of examples through the same code.
        Training.mnistMlpEpoch dev mnist.Train limit (512, 256)

        Training.mnistCnn
            dev
            (mnist.Train, mnist.Test)
            (intOption "--cnn-epochs" (if smoke then 1 else 4))
            limit
            (float (intOption "--cnn-seconds" 90))

    match cifar with
    | Some _ when quick -> ()
    | Some archive ->
        Training.cifarResnet
            dev
            archive
            (intOption "--cifar-epochs" (if smoke then 1 else 18))
            (if smoke then Some 8 else None)
            (float (intOption "--cifar-seconds" 270))
            smoke
    | None -> printfn "{\"check\":\"cifar10_resnet18\",\"skipped\":\"no archive: pass --cifar PATH\"}"

    printfn "{\"check\":\"summary\",\"conformance_failed\":%d}" failed
    if failed = 0 then 0 else 1
