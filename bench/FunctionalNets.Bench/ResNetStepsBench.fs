module FunctionalNets.Bench.ResNetStepsBench

open System
open System.Diagnostics
open FunctionalNets
open FunctionalNets.Nn

/// ResNet-18 for CIFAR-10 (Models.resnet18Cifar), the same work as bench/peers/pytorch_resnet18_cifar.py: training
/// steps (forward, backward, Adam 1e-3) at batch 32 on random inputs in [0, 1) and random labels, warm-up 2 steps,
/// then FN_BENCH_STEPS (default 8) timed steps. A full epoch (50,000 images) would take tens of minutes on this
/// machine, so the line gives the median step and the epoch extrapolated from it (1,563 steps), labelled as such,
/// with the process CPU seconds per step beside the wall time. FN_CONV_ALGORITHM forces one convolution algorithm.
let run () =
    let batch = 32

    let steps =
        match Int32.TryParse(Environment.GetEnvironmentVariable "FN_BENCH_STEPS") with
        | true, n when n > 0 -> n
        | _ -> 8

    match Environment.GetEnvironmentVariable "FN_CONV_ALGORITHM" with
    | null
    | "" -> ()
    | a ->
        FunctionalNets.Kernels.ConvAlgorithms.Override <- Nullable(Enum.Parse<FunctionalNets.Kernels.ConvAlgorithm> a)

    let model = Models.resnet18Cifar 10
    let tx = Optim.adam 1e-3
    let keys = Key.splitN 3 (Key.create 0L)

    let data =
        {
            Input = Tensor.rand (keys[0], [| batch; 3; 32; 32 |])
            Target = Tensor.randint (keys[1], 0, 10, [ batch ], DType.Int64)
        }

    let mutable state = Train.init model [ 3; 32; 32 ] tx keys[2]

    let step () =
        let next, _ = Train.trainStep model Losses.crossEntropy tx state data
        state <- next

    for _ in 1..2 do
        step ()

    let stepS, cpuS = BenchTiming.medianPerCall step steps
    let epochSteps = (50_000 + batch - 1) / batch

    printfn
        "{\"bench\":\"resnet18_steps\",\"batch\":%d,\"steps\":%d,\"step_s_median\":%.3f,\"cpu_s_per_step_median\":%.3f,\"epoch_seconds_extrapolated\":%.0f,\"load_average_1m\":%s}"
        batch
        steps
        stepS
        cpuS
        (stepS * float epochSteps)
        (IO.File.ReadAllText("/proc/loadavg").Split(' ')[0])
