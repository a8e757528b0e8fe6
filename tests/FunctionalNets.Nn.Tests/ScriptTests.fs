module FunctionalNets.Tests.Nn.ScriptTests

open System
open System.Diagnostics
open System.Globalization
open System.IO
open System.Text.RegularExpressions
open Expecto
open FunctionalNets.Testing

/// The repository root: the first ancestor of the test's folder that has samples/scripts.
let private repoRoot =
    lazy
        (let rec up (dir: string | null) =
            match dir with
            | null -> failwithf "samples/scripts not found above %s" AppContext.BaseDirectory
            | d when Directory.Exists(Path.Combine(d, "samples", "scripts")) -> d
            | d -> up (Path.GetDirectoryName d)

         up AppContext.BaseDirectory)

/// A hang guard, not a speed bar: far beyond what any script here takes even on a loaded machine, so that only a
/// script that never finishes fails on it.
let private hangGuardMinutes = 30

/// Runs `dotnet fsi samples/scripts/<script> <args>` from the repository root and returns its stdout;
/// fails with the script's output when it exits with an error or has not finished after hangGuardMinutes.
let private runScript (script: string) (args: string list) : string =
    let root = repoRoot.Value

    let bin config =
        Path.Combine(root, "tests", "FunctionalNets.Nn.Tests", "bin", config, "net10.0", "FunctionalNets.Nn.dll")

    Expect.isTrue
        (File.Exists(bin "Release") || File.Exists(bin "Debug"))
        (sprintf
            "%s is missing (and so is the Debug one): the scripts reference the test project's build; run dotnet build -c Release tests/FunctionalNets.Nn.Tests"
            (bin "Release"))

    let psi =
        ProcessStartInfo(
            "dotnet",
            [ "fsi"; "--quiet"; "--exec"; Path.Combine("samples", "scripts", script) ]
            @ args
        )

    psi.WorkingDirectory <- root
    psi.RedirectStandardOutput <- true
    psi.RedirectStandardError <- true
    psi.UseShellExecute <- false
    psi.Environment["DOTNET_NOLOGO"] <- "1"
    psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] <- "1"

    use p =
        match Process.Start psi with
        | null -> failwith "could not start dotnet fsi"
        | p -> p

    let stdout = p.StandardOutput.ReadToEndAsync()
    let stderr = p.StandardError.ReadToEndAsync()

    if not (p.WaitForExit(TimeSpan.FromMinutes(float hangGuardMinutes))) then
        p.Kill true

        failwithf
            "%s has not finished after %d minutes (a hang guard): killed it; output so far:\n%s"
            script
            hangGuardMinutes
            stdout.Result

    p.WaitForExit()
    let out, err = stdout.Result, stderr.Result
    Expect.isTrue (p.ExitCode = 0) (sprintf "%s exited with %d.\nstdout:\n%s\nstderr:\n%s" script p.ExitCode out err)
    out

let private matches (pattern: string) (text: string) =
    [ for m in Regex.Matches(text, pattern, RegexOptions.Multiline) -> m ]

let ``PerceptronGates.fsx: AND, OR and NAND converge with 4/4 correct, XOR does not`` () =
    let out = runScript "PerceptronGates.fsx" []

    for gate in [ "AND"; "OR"; "NAND" ] do
        match matches (sprintf @"^%s converged in (\d+) epochs, (\d)/4 correct" gate) out with
        | [ m ] ->
            Checks.inRange "int m.Groups[1].Value" 1 100 (int m.Groups[1].Value)
            Expect.equal (m.Groups[2].Value) "4" "m.Groups[2].Value"
        | ms -> failwithf "expected one convergence line for %s, found %d in:\n%s" gate ms.Length out

    match matches @"^XOR did not converge in (\d+) epochs, (\d)/4 correct" out with
    | [ m ] -> Checks.inRange "int m.Groups[2].Value" 0 3 (int m.Groups[2].Value)
    | _ -> failwithf "expected XOR not to converge:\n%s" out

    Expect.isEmpty (matches @"^XOR converged" out) "matches @\"^XOR converged\" out"
    // Each gate's truth table: four rows "a b -> predicted (target t)", 16 in all; the converged ones agree.
    let rows = matches @"^  ([01]) ([01]) -> ([01]) \(target ([01])\)" out
    Expect.equal rows.Length 16 "rows.Length"

    for m in rows[..11] do
        Expect.equal (m.Groups[3].Value) (m.Groups[4].Value) "m.Groups[3].Value"

    // AND's table is the AND of its inputs.
    for m in rows[..3] do
        let a, b = int m.Groups[1].Value, int m.Groups[2].Value
        Expect.equal (m.Groups[4].Value) (string (a &&& b)) "m.Groups[4].Value"

let ``Xor.fsx: the 2-4-1 MLP gets all four XOR cases right`` () =
    let out = runScript "Xor.fsx" []

    let rows =
        matches @"^([01]) xor ([01]) -> ([0-9.]+) predicted ([01]) target ([01])" out

    Expect.equal rows.Length 4 "rows.Length"

    for m in rows do
        let a, b = int m.Groups[1].Value, int m.Groups[2].Value
        let p = Double.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture)
        Expect.equal (int m.Groups[5].Value) (a ^^^ b) "int m.Groups[5].Value"
        Expect.equal (int m.Groups[4].Value) (a ^^^ b) "int m.Groups[4].Value"
        // On the right side of 0.5 by a margin, not by luck.
        Expect.isTrue (abs (p - float (a ^^^ b)) < 0.2) (sprintf "%d xor %d: probability %g" a b p)

    Expect.stringContains out "correct: 4/4" "out"

let ``MnistMlp.fsx on 2000 images for 1 epoch prints a test accuracy above 0.8`` () =
    let out = runScript "MnistMlp.fsx" [ "--limit"; "2000"; "--epochs"; "1" ]
    Expect.stringContains out "MNIST: 2000 training and 2000 test images, 1 epochs" "out"

    Expects.single "matches @\"^epoch \\d+/1: train loss\" out" (matches @"^epoch \d+/1: train loss" out)
    |> ignore

    match matches @"^test accuracy: ([0-9.]+)" out with
    | [ m ] ->
        let acc = Double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)
        Expect.isTrue (acc > 0.8 && acc <= 1.0) (sprintf "test accuracy %g, expected > 0.8:\n%s" acc out)
    | _ -> failwithf "no test accuracy line in:\n%s" out

let private pictures =
    [ "training_curves"; "confusion_matrix"; "filters" ]
    |> List.collect (fun p -> [ p + ".svg"; p + ".png" ])

let private assertPictures (dir: string) =
    for p in pictures do
        let file = Path.Combine(dir, p)
        Expect.isTrue (File.Exists file && FileInfo(file).Length > 200L) (sprintf "%s was not written" file)

let ``MnistCnn.fsx on 1000 images for 1 epoch learns and writes its six pictures`` () =
    let out =
        Path.Combine(Path.GetTempPath(), sprintf "fn-mnistcnn-%d" (Random.Shared.Next()))

    try
        let text =
            runScript "MnistCnn.fsx" [ "--limit"; "1000"; "--epochs"; "1"; "--out"; out ]

        Expects.single
            "matches @\"^epoch 1: [0-9.]+ s, val_accuracy\" text"
            (matches @"^epoch 1: [0-9.]+ s, val_accuracy" text)
        |> ignore

        match matches @"^test accuracy: ([0-9.]+)" text with
        | [ m ] ->
            let acc = Double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)
            Expect.isTrue (acc > 0.7 && acc <= 1.0) (sprintf "test accuracy %g, expected > 0.7:\n%s" acc text)
        | _ -> failwithf "no test accuracy line in:\n%s" text

        assertPictures out
    finally
        if Directory.Exists out then
            Directory.Delete(out, true)

let ``Cifar10.fsx on 256 images runs an epoch and writes its six pictures`` () =
    let out =
        Path.Combine(Path.GetTempPath(), sprintf "fn-cifar-%d" (Random.Shared.Next()))

    try
        let text =
            runScript
                "Cifar10.fsx"
                [
                    "--data"
                    Cifar10Tests.source.Value
                    "--limit"
                    "256"
                    "--epochs"
                    "1"
                    "--out"
                    out
                ]

        Expect.stringContains text "CIFAR-10: 256 training and 256 test images, small, 1 epochs" "text"

        Expects.single
            "matches @\"^epoch 1: [0-9.]+ s, loss [0-9.]+, val_accuracy\" text"
            (matches @"^epoch 1: [0-9.]+ s, loss [0-9.]+, val_accuracy" text)
        |> ignore

        Expects.single
            "matches @\"^test accuracy: 0\\.[0-9]+ after 1 epochs\" text"
            (matches @"^test accuracy: 0\.[0-9]+ after 1 epochs" text)
        |> ignore

        assertPictures out
    finally
        if Directory.Exists out then
            Directory.Delete(out, true)

let ``LstmSequence.fsx on 2000 images for 1 epoch beats chance by a margin`` () =
    let out =
        runScript "LstmSequence.fsx" [ "--limit"; "2000"; "--epochs"; "1"; "--hidden"; "64" ]

    Expect.stringContains out "sequential MNIST: 2000 training and 2000 test images, 1 epochs" "out"

    Expects.single "matches @\"^epoch 1/1: train loss [0-9.]+\" out" (matches @"^epoch 1/1: train loss [0-9.]+" out)
    |> ignore

    match matches @"^test accuracy: ([0-9.]+)" out with
    | [ m ] ->
        // Ten classes: chance is 0.1; one short epoch of an LSTM reading rows gets well past it.
        let acc = Double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)
        Expect.isTrue (acc > 0.2 && acc <= 1.0) (sprintf "test accuracy %g, expected > 0.2:\n%s" acc out)
    | _ -> failwithf "no test accuracy line in:\n%s" out

let ``CharGpt.fsx on 30,000 characters trains below the uniform rate and samples from the prompt`` () =
    let out =
        runScript "CharGpt.fsx" [ "--limit"; "30000"; "--epochs"; "3"; "--layers"; "1"; "--dim"; "32" ]

    let vocab =
        match matches @"^30000 characters, vocabulary (\d+)," out with
        | [ m ] -> int m.Groups[1].Value
        | _ -> failwithf "no corpus line in:\n%s" out

    match matches @"^validation: ([0-9.]+) bits/char" out with
    | [ m ] ->
        // An untrained model predicts about uniformly: log2(vocab) bits per character.
        let bits = Double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)
        let uniform = Math.Log2(float vocab)
        Expect.isTrue (bits < uniform - 0.5) (sprintf "%g bits/char, uniform %g:\n%s" bits uniform out)
    | _ -> failwithf "no validation line in:\n%s" out

    Expects.single "matches @\"^And God said\" out" (matches @"^And God said" out)
    |> ignore

let ``TransformerClassifier.fsx on 1000 sequences for 1 epoch beats chance by a margin`` () =
    let out =
        runScript "TransformerClassifier.fsx" [ "--limit"; "1000"; "--epochs"; "1" ]

    match matches @"^test accuracy: ([0-9.]+)" out with
    | [ m ] ->
        let acc = Double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)
        Expect.isTrue (acc > 0.2 && acc <= 1.0) (sprintf "test accuracy %g, expected > 0.2 (chance 0.1):\n%s" acc out)
    | _ -> failwithf "no test accuracy line in:\n%s" out

/// Runs a generative script on 256 images for one epoch in a temporary folder, with a check classifier trained on
/// 256 images beforehand (the scripts train one on all of MNIST when none is there); returns the output and the
/// files written.
let private runGenerative (script: string) (args: string list) =
    TestFiles.withTemp "generative-script" (fun dir ->
        let classifier = Path.Combine(dir, "classifier.safetensors")

        let mnist =
            FunctionalNets.Nn.Mnist.load (FunctionalNets.Nn.DataLocation.findMnist None)

        FunctionalNets.Nn.SampleQuality.mnistClassifier
            classifier
            (FunctionalNets.Nn.Dataset.take 256 mnist.Train)
            1
            (FunctionalNets.Key.create 0L)
        |> ignore

        let out =
            runScript
                script
                ([ "--limit"; "256"; "--epochs"; "1"; "--samples"; "8" ]
                 @ [ "--out"; Path.Combine(dir, "out"); "--classifier"; classifier ]
                 @ args)

        let files =
            Directory.GetFiles(Path.Combine(dir, "out"))
            |> Array.map Path.GetFileName
            |> Set.ofArray

        Expects.single
            "matches @\"^check: 8 samples: [0-9.]+% classified with confidence > 0.9, class entropy [..."
            (matches @"^check: 8 samples: [0-9.]+% classified with confidence > 0.9, class entropy [0-9.]+ bits" out)
        |> ignore

        Expects.single "matches @\"^epoch 1/1: .*loss\" out" (matches @"^epoch 1/1: .*loss" out)
        |> ignore

        out, files)

let ``Vae.fsx on 256 images writes reconstructions, prior samples, the interpolation grid and its curves`` () =
    let _, files = runGenerative "Vae.fsx" [ "--latent"; "4" ]

    for f in
        [
            "reconstructions.png"
            "samples.png"
            "interpolation.png"
            "training_curves.png"
        ] do
        Expect.contains files f "files"

let ``Gan.fsx on 256 images writes the epoch's sample grid and its curves`` () =
    let out, files = runGenerative "Gan.fsx" []

    Expects.single
        "matches @\"^epoch 1/1: d_fake [0-9.]+, d_loss [0-9.]+, d_real [0-9.]+, g_loss [0-9.]+\" out"
        (matches @"^epoch 1/1: d_fake [0-9.]+, d_loss [0-9.]+, d_real [0-9.]+, g_loss [0-9.]+" out)
    |> ignore

    Expect.contains files "samples_epoch1.png" "files"
    Expect.contains files "training_curves.png" "files"

let ``Diffusion.fsx on 256 images samples from pure noise and writes the grid and its curves`` () =
    let out, files = runGenerative "Diffusion.fsx" [ "--channels"; "8"; "--steps"; "4" ]

    Expects.single "matches @\"^sampling 8 images in 4 steps\" out" (matches @"^sampling 8 images in 4 steps" out)
    |> ignore

    Expect.contains files "samples.png" "files"
    Expect.contains files "training_curves.png" "files"

/// The tests of this module.
let tests =
    testList
        "Script"
        [
            testCase
                "PerceptronGates.fsx: AND, OR and NAND converge with 4/4 correct, XOR does not"
                ``PerceptronGates.fsx: AND, OR and NAND converge with 4/4 correct, XOR does not``
            testCase
                "Xor.fsx: the 2-4-1 MLP gets all four XOR cases right"
                ``Xor.fsx: the 2-4-1 MLP gets all four XOR cases right``
            testCase
                "MnistMlp.fsx on 2000 images for 1 epoch prints a test accuracy above 0.8"
                ``MnistMlp.fsx on 2000 images for 1 epoch prints a test accuracy above 0.8``
            testCase
                "MnistCnn.fsx on 1000 images for 1 epoch learns and writes its six pictures"
                ``MnistCnn.fsx on 1000 images for 1 epoch learns and writes its six pictures``
            testCase
                "Cifar10.fsx on 256 images runs an epoch and writes its six pictures"
                (Cifar10Tests.realCifar ``Cifar10.fsx on 256 images runs an epoch and writes its six pictures``)
            testCase
                "LstmSequence.fsx on 2000 images for 1 epoch beats chance by a margin"
                ``LstmSequence.fsx on 2000 images for 1 epoch beats chance by a margin``
            testCase
                "CharGpt.fsx on 30,000 characters trains below the uniform rate and samples from the prompt"
                ``CharGpt.fsx on 30,000 characters trains below the uniform rate and samples from the prompt``
            testCase
                "TransformerClassifier.fsx on 1000 sequences for 1 epoch beats chance by a margin"
                ``TransformerClassifier.fsx on 1000 sequences for 1 epoch beats chance by a margin``
            testCase
                "Vae.fsx on 256 images writes reconstructions, prior samples, the interpolation grid and its curves"
                ``Vae.fsx on 256 images writes reconstructions, prior samples, the interpolation grid and its curves``
            testCase
                "Gan.fsx on 256 images writes the epoch's sample grid and its curves"
                ``Gan.fsx on 256 images writes the epoch's sample grid and its curves``
            testCase
                "Diffusion.fsx on 256 images samples from pure noise and writes the grid and its curves"
                ``Diffusion.fsx on 256 images samples from pure noise and writes the grid and its curves``
        ]
