// Forward and forward+backward time of a one-layer LSTM (input 28, hidden 128, batch 128, 28 steps: the
// sequential-MNIST model's body), one JSON line each; the peer is bench/peers/pytorch_lstm.py.
// Build first: dotnet build -c Release tests/FunctionalNets.Nn.Tests; run: dotnet fsi bench/LstmStep.fsx
#I "../tests/FunctionalNets.Nn.Tests/bin/Release/net10.0"
#r "FunctionalNets.Kernels.dll"
#r "System.Numerics.Tensors.dll"
#r "FunctionalNets.Core.dll"
#r "FunctionalNets.Nn.dll"

open System.Diagnostics
open FunctionalNets
open FunctionalNets.Nn

let cfg = Recurrent.config CellKind.Lstm 28 128
let ps = Recurrent.init cfg (Key.create 1L)
let x = Tensor.randn (Key.create 2L, [ 128; 28; 28 ])

let loss (ps: Params) =
    let _, s = Recurrent.apply cfg ps Ctx.eval x None
    Tensor.sum s.H

// Enough warm-up calls for the JIT's tiered compilation to settle before timing.
let time (name: string) (f: unit -> obj) =
    for _ in 1..15 do
        Scope.run f |> ignore

    let n = 20
    let w = Stopwatch.StartNew()

    for _ in 1..n do
        Scope.run f |> ignore

    printfn
        """{"bench": "%s", "batch": 128, "T": 28, "hidden": 128, "ms": %.2f}"""
        name
        (w.Elapsed.TotalMilliseconds / float n)

time "lstm_fwd_bwd" (fun () -> box (Diff.gradTree loss ps))
time "lstm_fwd" (fun () -> box (loss ps))
time "lstm_fwd_bwd" (fun () -> box (Diff.gradTree loss ps))
