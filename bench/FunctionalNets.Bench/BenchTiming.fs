module FunctionalNets.Bench.BenchTiming

open System
open System.Diagnostics

/// Best mean seconds per call over `rounds` timed runs of `reps` calls each, after a warm-up long enough for
/// tiered JIT compilation to settle (the peer warms up with one call; .NET needs a little longer).
let bestOf (f: unit -> unit) (reps: int) (rounds: int) =
    let warm = Stopwatch.StartNew()
    f ()

    while warm.Elapsed.TotalSeconds < 0.5 do
        f ()

    let mutable best = Double.MaxValue

    for _ in 1..rounds do
        let sw = Stopwatch.StartNew()

        for _ in 1..reps do
            f ()

        best <- min best (sw.Elapsed.TotalSeconds / float reps)

    best

/// Median wall and median process CPU seconds of `calls` timed calls of f, each timed on its own (the caller warms
/// up first: how long depends on what f runs). The CPU includes the kernel helper threads' share.
let medianPerCall (f: unit -> unit) (calls: int) =
    let proc = Process.GetCurrentProcess()
    let wall = Array.zeroCreate calls
    let cpu = Array.zeroCreate calls

    for i in 0 .. calls - 1 do
        proc.Refresh()
        let c0 = proc.TotalProcessorTime
        let sw = Stopwatch.StartNew()
        f ()
        wall[i] <- sw.Elapsed.TotalSeconds
        proc.Refresh()
        cpu[i] <- (proc.TotalProcessorTime - c0).TotalSeconds

    let median (xs: float[]) = (Array.sort xs)[xs.Length / 2]
    median wall, median cpu
