/// The Expecto entry point of a test project: `dotnet run --project tests/X -- [expecto options]`.
module FunctionalNets.Testing.Runner

open Expecto

/// Runs `tests` with Expecto's runner and the command-line options in argv; names join with '/' as in
/// `dotnet test`. Returns the process exit code (0 when every test passed).
let main (argv: string[]) (tests: Test) =
    Tests.runTestsWithCLIArgs [ CLIArguments.JoinWith ExpectoRun.separator ] argv tests
