/// Overwrites the checkpoint at argv[0] in a loop, forever, with a large state (step 2, params "big" of
/// 8M Float32 values all equal to 2.0), printing "writing" before the first write and "wrote" after each
/// one. The crash-safety test kills this process while it writes.
///
/// With "--pause-at opened" or "--pause-at written" it stops inside its first write at that phase (temp
/// file created and header written / temp file flushed, before the rename), printing "paused <phase>
/// <temp file>" and waiting forever, so a test can kill it at exactly that point; "--pause-at PHASE N"
/// lets N writes complete first.
module FunctionalNets.Tests.CheckpointWriter.Program

open System
open FunctionalNets
open FunctionalNets.Nn

/// Elements in the big tensor: 32 MB of Float32, so a write takes long enough to be interrupted.
[<Literal>]
let BigNumel = 8_000_000

[<EntryPoint>]
let main argv =
    match argv with
    | [| path |]
    | [| path; "--pause-at"; _ |]
    | [| path; "--pause-at"; _; _ |] ->
        let state =
            {
                Params = PTree.node [ "big", Leaf(Tensor.full ([ BigNumel ], 2.0)) ]
                State = PTree.empty
                Opt = PTree.empty
                Step = 2L
                Key = Key.create 2L
                LrScale = 1.0
            }

        match argv with
        | [| _; _; phase |]
        | [| _; _; phase; _ |] ->
            let skip = if argv.Length = 4 then int argv[3] else 0
            let mutable started = 0

            SafeTensors.writePhase <-
                fun p tmp ->
                    if p = "opened" then
                        started <- started + 1

                    if p = phase && started > skip then
                        Console.Out.WriteLine(sprintf "paused %s %s" p tmp)
                        Console.Out.Flush()
                        // Wait to be killed (stdin never closes while the test holds it).
                        Threading.Thread.Sleep Threading.Timeout.Infinite
        | _ -> ()

        Console.Out.WriteLine "writing"
        Console.Out.Flush()

        while true do
            Checkpoint.save path state Map.empty
            Console.Out.WriteLine "wrote"
            Console.Out.Flush()

        0
    | _ ->
        eprintfn "usage: CheckpointWriter <checkpoint path> [--pause-at opened|written [completed writes]]"
        2
