module FunctionalNets.Bench.ConvKernelBench

open System
open System.Diagnostics
open FunctionalNets.Kernels

/// Minimum and median milliseconds of `runs` calls after a warm-up. On a machine shared with other builds the
/// minimum is the closest to the uncontended cost and the median shows how much the load moves it.
let stats (f: unit -> unit) (runs: int) =
    let warm = Stopwatch.StartNew()

    while warm.Elapsed.TotalSeconds < 0.3 do
        f ()

    let proc = Process.GetCurrentProcess()
    let cpu0 = proc.TotalProcessorTime

    let times =
        Array.init runs (fun _ ->
            let sw = Stopwatch.StartNew()
            f ()
            sw.Elapsed.TotalMilliseconds)
        |> Array.sort

    proc.Refresh()
    let cpu = (proc.TotalProcessorTime - cpu0).TotalMilliseconds / float runs
    times[0], times[runs / 2], cpu

let private randomArray (rng: Random) (n: int) =
    Array.init n (fun _ -> float32 (rng.NextDouble() * 2.0 - 1.0))

/// The raw kernels of the MNIST CNN at batch 64, without tensors, autodiff or allocation: the convolutions'
/// forward and both gradients and the 2x2 max pool forward and backward. One JSON line per kernel, with the
/// process CPU time per call beside the wall times (the work done, which the machine's load hardly changes).
/// FN_THREADS sets KernelSettings.MaxThreads (e.g. 1 to time one core's work without thread hand-offs).
let run () =
    match Environment.GetEnvironmentVariable "FN_THREADS" with
    | null
    | "" -> ()
    | t -> KernelSettings.MaxThreads <- int t

    let rng = Random 7
    let n = 64

    let report (name: string) (f: unit -> unit) =
        let best, median, cpu = stats f 40

        printfn
            "{\"kernel\":\"%s\",\"threads\":%d,\"min_ms\":%.3f,\"median_ms\":%.3f,\"cpu_ms\":%.3f}"
            name
            KernelSettings.MaxThreads
            best
            median
            cpu

    for (label, c, o, hw) in [ "conv1", 1, 32, 28; "conv2", 32, 64, 14 ] do
        let g =
            ConvGeometry.Create(label, [| n; c; hw; hw |], [| o; c; 3; 3 |], 1, 1, 1, 1, 1, 1, 1)

        let x = randomArray rng (n * c * hw * hw)
        let w = randomArray rng (o * c * 9)
        let y = randomArray rng (n * o * hw * hw)
        let dx = Array.zeroCreate<float32> x.Length
        let dw = Array.zeroCreate<float32> w.Length
        report (label + " forward") (fun () -> ConvKernels.Forward(&g, ReadOnlySpan x, ReadOnlySpan w, Span y))
        report (label + " input grad") (fun () -> ConvKernels.InputGrad(&g, ReadOnlySpan y, ReadOnlySpan w, Span dx))
        report (label + " weight grad") (fun () -> ConvKernels.WeightGrad(&g, ReadOnlySpan y, ReadOnlySpan x, Span dw))

    // conv2's per-image products alone, 64 of them, to show what the unfolding and packing around them cost.
    for (label, m, nn, k, ta, tb) in
        [
            "forward", 64, 196, 288, false, false
            "input grad", 288, 196, 64, true, false
            "weight grad", 288, 64, 196, false, true
        ] do
        let a = randomArray rng (m * k)
        let b = randomArray rng (k * nn)
        let c = Array.zeroCreate<float32>(m * nn)
        let lda = if ta then m else k
        let ldb = if tb then k else nn

        report (sprintf "conv2 %s GEMMs only (64 x %dx%dx%d)" label m nn k) (fun () ->
            for _ in 1..n do
                Gemm.Sgemm(ta, tb, m, nn, k, 1.0f, ReadOnlySpan a, lda, ReadOnlySpan b, ldb, 0.0f, Span c, nn))

    for (c, hw) in [ 32, 28; 64, 14 ] do
        let x = randomArray rng (n * c * hw * hw)
        let pw = PoolWindow(n * c, hw, hw, hw / 2, hw / 2, 2, 2, 2, 2, 0, 0, 1, 1)
        let y = Array.zeroCreate<float32>(x.Length / 4)
        let ix = Array.zeroCreate<int64> y.Length
        let dx = Array.zeroCreate<float32> x.Length
        report (sprintf "maxpool2 %dx%d forward" c hw) (fun () -> Pooling.MaxPool2d(x, pw, y, ix))
        report (sprintf "maxpool2 %dx%d backward" c hw) (fun () -> Pooling.MaxPool2dBackward(y, ix, pw, dx))
