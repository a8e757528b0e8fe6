module FunctionalNets.Bench.CifarProfileBench

open System
open System.Diagnostics
open FunctionalNets
open FunctionalNets.Nn

/// Where a Models.cifarSmall training step's time goes: each layer of the network at batch 64, in Train mode, alone,
/// forward and forward + backward (gradients for the layer's input unless it is the first, and for its parameters),
/// as process CPU milliseconds per call beside the best wall milliseconds, then the whole model the same way.
/// FN_THREADS sets the kernel threads (1: one core's work, without hand-offs).
let run () =
    match Environment.GetEnvironmentVariable "FN_THREADS" with
    | null
    | "" -> ()
    | t -> FunctionalNets.Kernels.KernelSettings.MaxThreads <- int t

    let n = 64
    let model = Models.cifarSmall 10
    let ctx = Ctx.train (Key.create 1L)
    let proc = Process.GetCurrentProcess()

    let time (label: string) (inputShape: int list) (needInputGrad: bool) (layer: Layer) =
        let _, ps, ss = Layer.init layer (Key.create 0L) inputShape
        let x = Tensor.rand (Key.create 2L, n :: inputShape)

        let loss (tree: PTree<Tensor>) =
            match tree with
            | Node [ _, Leaf xi; _, p ] -> Tensor.sum (fst (layer.Apply p ss ctx xi))
            | _ -> failwith "unreachable"

        let both () =
            Scope.run (fun () ->
                if needInputGrad then
                    Diff.gradTree loss (Node [ "x", Leaf x; "p", ps ]) |> ignore
                else
                    Diff.gradTree (fun p -> Tensor.sum (fst (layer.Apply p ss ctx x))) ps |> ignore)

        let fwd () =
            Scope.run (fun () -> layer.Apply ps ss ctx x |> ignore)

        let measure (f: unit -> unit) =
            let reps = 10
            let best = BenchTiming.bestOf f reps 3
            proc.Refresh()
            let cpu0 = proc.TotalProcessorTime

            for _ in 1..reps do
                f ()

            proc.Refresh()
            best * 1e3, (proc.TotalProcessorTime - cpu0).TotalMilliseconds / float reps

        let fo, fc = measure fwd
        let bo, bc = measure both

        printfn
            "{\"bench\":\"cifar_profile\",\"stage\":\"%s\",\"forward_ms\":%.3f,\"forward_cpu_ms\":%.3f,\"forward_backward_ms\":%.3f,\"forward_backward_cpu_ms\":%.3f}"
            label
            fo
            fc
            bo
            bc

    let mutable shape = [ 3; 32; 32 ]

    for i, (_, layer) in List.indexed model.Sequence do
        let out, _, _ = Layer.init layer (Key.create 0L) shape
        time (sprintf "%d %s %A" i layer.Name shape) shape (i > 0) layer
        shape <- out.ToArray() |> List.ofArray

    time "whole model" [ 3; 32; 32 ] false model
