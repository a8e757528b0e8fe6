module FunctionalNets.Bench.ConvAlgorithmBench

open System
open FunctionalNets.Kernels

/// The 3x3 stride-1 pad-1 convolutions of the MNIST CNN, Models.cifarSmall and ResNet-18 (CIFAR), plus channel counts
/// around the Winograd threshold: (label, batch, in channels, out channels, height = width).
let private shapes =
    [
        "mnist conv1", 64, 1, 32, 28
        "mnist conv2", 64, 32, 64, 14
        "small conv1", 64, 3, 32, 32
        "small conv2", 64, 32, 64, 16
        "small conv3", 64, 64, 128, 8
        "small conv4", 64, 128, 256, 4
        "resnet stage1", 32, 64, 64, 32
        "resnet stage2", 32, 128, 128, 16
        "resnet stage3", 32, 256, 256, 8
        "resnet stage4", 32, 512, 512, 4
        "threshold 8x8", 64, 8, 8, 28
        "threshold 16x16", 64, 16, 16, 28
        "threshold 16x32", 64, 16, 32, 16
    ]

/// Forward, input gradient and weight gradient of each shape under each algorithm: one JSON line per (shape, pass, algorithm) with the
/// fastest and median wall milliseconds of 20 calls, the process CPU milliseconds per call and the GFLOP/s of the
/// direct definition's 2 N O C 9 OH OW multiply-adds at the fastest time (so the algorithms compare on the same work).
/// FN_THREADS sets KernelSettings.MaxThreads (1: a single core's kernel speed); FN_CONV_SHAPES picks shapes.
let run () =
    match Environment.GetEnvironmentVariable "FN_THREADS" with
    | null
    | "" -> ()
    | t -> KernelSettings.MaxThreads <- int t

    let rng = Random 5

    let randomArray n =
        Array.init n (fun _ -> float32 (rng.NextDouble() * 2.0 - 1.0))

    // FN_CONV_SHAPES=small,mnist keeps the shapes whose label contains one of the words.
    let selected =
        match Environment.GetEnvironmentVariable "FN_CONV_SHAPES" with
        | null
        | "" -> shapes
        | words ->
            let ws = words.Split ','

            shapes
            |> List.filter (fun (label, _, _, _, _) -> ws |> Array.exists label.Contains)

    for label, n, c, o, hw in selected do
        let g =
            ConvGeometry.Create(label, [| n; c; hw; hw |], [| o; c; 3; 3 |], 1, 1, 1, 1, 1, 1, 1)

        let x = randomArray (n * c * hw * hw)
        let w = randomArray (o * c * 9)
        let y = randomArray (n * o * hw * hw)
        let dx = Array.zeroCreate<float32> x.Length
        let dw = Array.zeroCreate<float32> w.Length
        let flops = 2.0 * float n * float o * float c * 9.0 * float (hw * hw)

        for pass in [ ConvPass.Forward; ConvPass.InputGrad; ConvPass.WeightGrad ] do
            // The direct kernel computes the forward pass and the weight gradient of inputs with few channels.
            let direct =
                if pass <> ConvPass.InputGrad && c <= 4 then
                    [ ConvAlgorithm.Direct ]
                else
                    []

            for algorithm in [ ConvAlgorithm.Im2Col; ConvAlgorithm.Winograd ] @ direct do
                let call () =
                    ConvAlgorithms.Override <- Nullable algorithm

                    try
                        match pass with
                        | ConvPass.Forward -> ConvKernels.Forward(&g, ReadOnlySpan x, ReadOnlySpan w, Span y)
                        | ConvPass.InputGrad -> ConvKernels.InputGrad(&g, ReadOnlySpan y, ReadOnlySpan w, Span dx)
                        | _ -> ConvKernels.WeightGrad(&g, ReadOnlySpan y, ReadOnlySpan x, Span dw)
                    finally
                        ConvAlgorithms.Override <- Nullable()

                let best, median, cpu = ConvKernelBench.stats call 20

                printfn
                    "{\"bench\":\"conv_algorithms\",\"shape\":\"%s\",\"n\":%d,\"c\":%d,\"o\":%d,\"hw\":%d,\"pass\":\"%O\",\"algorithm\":\"%O\",\"threads\":%d,\"min_ms\":%.3f,\"median_ms\":%.3f,\"cpu_ms\":%.3f,\"gflops\":%.1f,\"chosen\":\"%O\"}"
                    label
                    n
                    c
                    o
                    hw
                    pass
                    algorithm
                    KernelSettings.MaxThreads
                    best
                    median
                    cpu
                    (flops / best / 1e6)
                    (ConvAlgorithms.Choose(&g, pass))
