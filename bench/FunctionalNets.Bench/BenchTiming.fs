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
