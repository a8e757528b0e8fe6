/// The CheckpointWriter helper (tests/CheckpointWriter) as a child process, for the crash-safety tests: it announces
/// each phase of a checkpoint save and waits, so that a test kills it at a known point instead of after a guessed
/// delay.
module FunctionalNets.Tests.Nn.CheckpointWriterProcess

open System
open System.Diagnostics
open System.IO
open Expecto

/// Values in the tensor the writer saves: several of the write's 1 MB buffers, so the data outlasts the header.
let numel = 1 <<< 20

/// Every point the writer stops at, in order: (phase, save) for its saves 1 and 2.
let phases =
    [
        for save in 1..2 do
            for phase in [ "start"; "opened"; "written"; "saved" ] -> phase, save
    ]

/// The saves whose rename had happened when the writer was killed at (phase, save): what the checkpoint must hold.
let completedAt (phase: string, save: int) =
    if phase = "saved" then save else save - 1

/// The writer's dll, built next to this test project (same configuration).
let private dll () =
    // .../tests/FunctionalNets.Nn.Tests/bin/<Configuration>/<tfm>/
    let baseDir = AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)
    let parts = baseDir.Split Path.DirectorySeparatorChar
    let tfm, config = parts[parts.Length - 1], parts[parts.Length - 2]
    let tests = Path.GetFullPath(Path.Combine(baseDir, "..", "..", "..", ".."))

    let dll =
        Path.Combine(tests, "CheckpointWriter", "bin", config, tfm, "CheckpointWriter.dll")

    Expect.isTrue (File.Exists dll) (sprintf "%s is missing; build the test project (it builds the writer)." dll)
    dll

/// Runs the writer on path, lets it go on through every point before (phase, save), and kills it at that one.
/// Returns the temp file the save was writing at "opened" and "written", None at "start" and "saved".
let killAt (path: string) (phase: string, save: int) : string option =
    let psi = ProcessStartInfo("dotnet", [ dll (); path; string numel ])

    psi.RedirectStandardOutput <- true
    psi.RedirectStandardInput <- true
    psi.UseShellExecute <- false

    use child =
        match Process.Start psi with
        | null -> failtest "could not start the checkpoint writer (dotnet CheckpointWriter.dll)"
        | p -> p

    let target = sprintf "%s %d" phase save

    let rec untilTarget () =
        match child.StandardOutput.ReadLine() with
        | null ->
            child.WaitForExit()
            failtestf "the checkpoint writer ended (exit code %d) before it reached '%s'" child.ExitCode target
        | line when line = target -> None
        | line when line.StartsWith(target + " ") -> Some(line.Substring(target.Length + 1))
        | _ ->
            child.StandardInput.WriteLine "go"
            child.StandardInput.Flush()
            untilTarget ()

    try
        untilTarget ()
    finally
        child.Kill true
        child.WaitForExit()
