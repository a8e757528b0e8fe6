/// Saves two checkpoints in turn at argv[0], each with params "big" of argv[1] Float32 values (save 1: step 2, all
/// 2.0; save 2: step 3, all 3.0), and stops at every phase of each save: it prints the phase on a line of its own,
///
///     start N                 before save N begins
///     opened N <temp file>    the temp file created and its header written
///     written N <temp file>   the temp file complete and flushed to disk, not yet renamed over the checkpoint
///     saved N                 save N renamed into place
///
/// and waits for a line "go" on stdin before it goes on; after save 2 it prints "done". The crash-safety tests kill
/// it at one of these points, which it announced, and check what is left on disk. Any other line, or the end of
/// stdin, ends it with exit code 3, so a writer whose test let go of it does not linger.
module FunctionalNets.Tests.CheckpointWriter.Program

open System
open FunctionalNets
open FunctionalNets.Nn

/// Announces a phase and waits to be told to go on.
let private pause (line: string) =
    Console.Out.WriteLine line
    Console.Out.Flush()

    match Console.In.ReadLine() with
    | "go" -> ()
    | _ -> exit 3

/// The state of save `save`: step save + 1, every value of "big" equal to save + 1.
let private stateOf (numel: int) (save: int) =
    {
        Params = PTree.node [ "big", Leaf(Tensor.full ([ numel ], float (save + 1))) ]
        State = PTree.empty
        Opt = PTree.empty
        Step = int64 (save + 1)
        Key = Key.create 2L
        LrScale = 1.0
    }

[<EntryPoint>]
let main argv =
    match argv with
    | [| path; numel |] ->
        let numel = int numel
        let mutable save = 0
        SafeTensors.writePhase <- fun phase tmp -> pause (sprintf "%s %d %s" phase save tmp)

        for s in 1..2 do
            save <- s
            pause (sprintf "start %d" s)
            Checkpoint.save path (stateOf numel s) Map.empty
            pause (sprintf "saved %d" s)

        Console.Out.WriteLine "done"
        0
    | _ ->
        eprintfn "usage: CheckpointWriter <checkpoint path> <values in the saved tensor>"
        2
