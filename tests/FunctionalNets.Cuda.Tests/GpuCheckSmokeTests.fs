/// The GPU check's smoke path (bench/gpu/GpuCheck --smoke --quick) in CI: the same program the GPU machine runs,
/// on the simulated device, as a separate process (the simulator switch is per process).
module FunctionalNets.Cuda.Tests.GpuCheckSmokeTests

open System
open System.Diagnostics
open System.IO
open System.Text.Json
open Expecto
open FunctionalNets.Testing

let private repoRoot () =
    let rec up (d: DirectoryInfo) =
        if isNull d then
            failwith "FunctionalNets.sln not found above the test assembly"
        elif File.Exists(Path.Combine(d.FullName, "FunctionalNets.sln")) then
            d.FullName
        else
            up d.Parent

    up (DirectoryInfo AppContext.BaseDirectory)

/// The tests of this module.
let tests =
    testList
        "GpuCheckSmoke"
        [
            testCase "GpuCheck --smoke --quick passes on the simulated device and prints its JSON lines"
            <| fun () ->
                let here =
                    DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar))

                let root = repoRoot ()
                // Built by this project's build-order reference, in the same configuration and framework.
                let dll =
                    Path.Combine(root, "bench", "gpu", "GpuCheck", "bin", here.Parent.Name, here.Name, "GpuCheck.dll")

                Expect.isTrue (File.Exists dll) (sprintf "GpuCheck was not built at %s" dll)

                let psi =
                    ProcessStartInfo("dotnet", RedirectStandardOutput = true, RedirectStandardError = true)

                for a in [ dll; "--smoke"; "--quick"; "--data"; Path.Combine(root, "data", "mnist") ] do
                    psi.ArgumentList.Add a

                use p = Process.Start psi
                let err = p.StandardError.ReadToEndAsync()
                let out = p.StandardOutput.ReadToEnd()
                p.WaitForExit()
                Expect.isTrue ((p.ExitCode = 0)) (sprintf "exit code %d\n%s\n%s" p.ExitCode out err.Result)

                let lines =
                    out.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                    |> Array.filter (fun l -> l.StartsWith "{")
                    |> Array.map (fun l -> JsonDocument.Parse(l).RootElement)

                let named (c: string) =
                    lines |> Array.filter (fun e -> e.GetProperty("check").GetString() = c)

                Expect.isNonEmpty (named "conformance") "conformance lines"

                for e in named "conformance" do
                    Expect.isTrue (e.GetProperty("ok").GetBoolean()) (string e)

                for e in named "threefry_bitexact" do
                    Expect.equal (e.GetProperty("differing").GetInt32()) 0 (string e)

                let epoch = Expects.single "named \"mnist_mlp_epoch\"" (named "mnist_mlp_epoch")

                Expect.equal
                    (epoch.GetProperty("epoch_seconds").GetArrayLength())
                    (2)
                    "epoch.GetProperty(\"epoch_seconds\").GetArrayLength()"

                Expect.equal
                    ((Expects.single "the summary line" (named "summary")).GetProperty("conformance_failed").GetInt32())
                    0
                    "conformance_failed"
        ]
