module FunctionalNets.Bench.GeluBench

open System.Diagnostics
open FunctionalNets

/// The exact (erf) GELU and the tanh GELU on 1M float32 elements: forward alone and forward + backward, best mean
/// of 5 rounds; prints the wall ms per call and the process CPU ms of the whole measurement.
let run () =
    let x = Tensor.randn (Key.create 0L, [ 1024; 1024 ])

    for name, f in [ "gelu_erf", Tensor.gelu; "gelu_tanh", Tensor.geluTanh ] do
        let forward () = Scope.run (fun () -> f x) |> ignore

        let both () =
            Scope.run (fun () -> Diff.grad (fun (v: Tensor) -> Tensor.sum (f v)) x)
            |> ignore

        for pass, g in [ "forward", forward; "forward_backward", both ] do
            let proc = Process.GetCurrentProcess()
            let cpu0 = proc.TotalProcessorTime
            let calls = 20
            let seconds = BenchTiming.bestOf g calls 5
            proc.Refresh()
            // CPU per call over everything bestOf ran (warm-up included), an upper bound on the work per call.
            let cpuMs = (proc.TotalProcessorTime - cpu0).TotalMilliseconds

            printfn
                "{\"op\":\"%s\",\"pass\":\"%s\",\"elements\":1048576,\"ms\":%.3f,\"process_cpu_ms_total\":%.1f}"
                name
                pass
                (seconds * 1e3)
                cpuMs
