module FunctionalNets.Bench.Program

/// Benchmarks by name; with no name the core set runs. Each prints JSON lines on stdout.
let private benches: (string * (unit -> unit)) list =
    [
        "sgemm", SgemmBench.run
        "mlp_step", MlpBench.run
        "mnist_mlp_epoch", MnistMlpEpochBench.run
        "mnist_cnn_epoch", MnistCnnEpochBench.run
        "cifar_small_epoch", CifarSmallEpochBench.run
        "conv2d", ConvBench.run
        "cnn_profile", CnnProfileBench.run
        "cifar_profile", CifarProfileBench.run
        "conv_kernels", ConvKernelBench.run
        "conv_algorithms", ConvAlgorithmBench.run
        "attention_kernels", AttentionKernelBench.run
        "attention_sdpa", AttentionSdpaBench.run
        "chargpt_train", CharGptBench.run
        "chargpt_profile", CharGptBench.profile
        "fold_vs_fit", StepBench.run
        "mlp_step_profile", StepProfileBench.run
        "resnet18_steps", ResNetStepsBench.run
        "gelu", GeluBench.run
    ]

let private coreSet = [ "sgemm"; "mlp_step" ]

[<EntryPoint>]
let main argv =
    let names = if argv.Length = 0 then coreSet else List.ofArray argv

    let unknown =
        names |> List.filter (fun n -> not (List.exists (fun (k, _) -> k = n) benches))

    if not unknown.IsEmpty then
        eprintfn
            "unknown benchmark(s): %s; known: %s"
            (String.concat ", " unknown)
            (benches |> List.map fst |> String.concat ", ")

        2
    else
        for n in names do
            (benches |> List.find (fun (k, _) -> k = n) |> snd) ()

        0
