namespace FunctionalNets.Nn

open System.Runtime.CompilerServices

// The C# host reads a few internals that are not API (the training fold's hooks); the checkpoint-writer test
// program injects a crash between the phases of an atomic write (SafeTensors.writePhase).
[<assembly: InternalsVisibleTo("FunctionalNets")>]
[<assembly: InternalsVisibleTo("CheckpointWriter")>]
do ()
