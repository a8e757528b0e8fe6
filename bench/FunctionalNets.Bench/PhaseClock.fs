module FunctionalNets.Bench.PhaseClock

open System
open System.Diagnostics
open System.Runtime.InteropServices

[<Struct; StructLayout(LayoutKind.Sequential)>]
type private Timespec =
    val mutable Seconds: int64
    val mutable Nanoseconds: int64

[<DllImport("libc", EntryPoint = "clock_gettime")>]
extern int private clockGettime(int clock, Timespec& time)

// Linux clock ids: the whole process's CPU time (every thread) and the calling thread's.
let private processCpu = 2
let private threadCpu = 3

let private cpuNanoseconds (clock: int) =
    if OperatingSystem.IsLinux() then
        let mutable ts = Timespec()

        if clockGettime (clock, &ts) = 0 then
            ts.Seconds * 1_000_000_000L + ts.Nanoseconds
        else
            0L
    else
        0L

/// Splits a stretch of work into named phases: each Mark charges everything since the previous mark (wall time,
/// process CPU time, this thread's CPU time, bytes this thread allocated, collections of each generation) to one phase.
/// Process CPU includes the kernels' helper threads, so a phase's CPU may exceed its wall time.
type Clock(phases: string[]) =
    let n = phases.Length
    let wall = Array.zeroCreate<int64> n
    let cpu = Array.zeroCreate<int64> n
    let thread = Array.zeroCreate<int64> n
    let alloc = Array.zeroCreate<int64> n
    let gcs = Array2D.zeroCreate<int> n 3
    let mutable t0 = 0L
    let mutable c0 = 0L
    let mutable h0 = 0L
    let mutable a0 = 0L
    let g0 = Array.zeroCreate<int> 3

    let read () =
        t0 <- Stopwatch.GetTimestamp()
        c0 <- cpuNanoseconds processCpu
        h0 <- cpuNanoseconds threadCpu
        a0 <- GC.GetAllocatedBytesForCurrentThread()

        for g in 0..2 do
            g0[g] <- GC.CollectionCount g

    /// Zeroes every phase.
    member _.Reset() =
        for a in [ wall; cpu; thread; alloc ] do
            Array.fill a 0 n 0L

        for i in 0 .. n - 1 do
            for k in 0..2 do
                gcs[i, k] <- 0

    /// Starts the clock: nothing before this is charged.
    member _.Start() = read ()

    /// Charges the time since the last mark to phase i.
    member _.Mark(i: int) =
        let t, c, h, a = t0, c0, h0, a0
        let gA, gB, gC = g0[0], g0[1], g0[2]
        read ()
        wall[i] <- wall[i] + (t0 - t)
        cpu[i] <- cpu[i] + (c0 - c)
        thread[i] <- thread[i] + (h0 - h)
        alloc[i] <- alloc[i] + (a0 - a)

        gcs[i, 0] <- gcs[i, 0] + (g0[0] - gA)
        gcs[i, 1] <- gcs[i, 1] + (g0[1] - gB)
        gcs[i, 2] <- gcs[i, 2] + (g0[2] - gC)

    /// Total wall seconds over all phases.
    member _.WallSeconds = float (Array.sum wall) / float Stopwatch.Frequency

    /// Total process CPU seconds over all phases.
    member _.CpuSeconds = float (Array.sum cpu) / 1e9

    /// The phases as a JSON object, every figure per 1,000 steps: wall and process CPU seconds, the main thread's
    /// CPU seconds, megabytes the main thread allocated and collections of each generation.
    member _.Json(steps: int) =
        let per x = x * 1000.0 / float steps

        phases
        |> Array.mapi (fun i name ->
            sprintf
                "\"%s\":{\"wall_s\":%.4f,\"cpu_s\":%.4f,\"main_thread_cpu_s\":%.4f,\"alloc_mb\":%.2f,\"gen0\":%.1f,\"gen1\":%.1f,\"gen2\":%.1f}"
                name
                (per (float wall[i] / float Stopwatch.Frequency))
                (per (float cpu[i] / 1e9))
                (per (float thread[i] / 1e9))
                (per (float alloc[i] / 1048576.0))
                (per (float gcs[i, 0]))
                (per (float gcs[i, 1]))
                (per (float gcs[i, 2])))
        |> String.concat ","
        |> sprintf "{%s}"
