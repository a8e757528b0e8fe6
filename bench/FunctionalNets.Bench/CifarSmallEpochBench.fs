module FunctionalNets.Bench.CifarSmallEpochBench

open System
open FunctionalNets.Nn

/// One training epoch of Models.cifarSmall on CIFAR-10 (inputs in [0, 1], Adam 1e-3, batch 64); the peer is
/// bench/peers/pytorch_cifar_small.py. FN_BENCH_LIMIT=n trains on the first n examples only (the peer's --limit).
/// The data: $FUNCTIONALNETS_DATA_CIFAR, else Cifar10.find's usual places (../shared/datasets/cifar10-approx here).
let run () =
    let path =
        match Environment.GetEnvironmentVariable "FUNCTIONALNETS_DATA_CIFAR" with
        | null
        | "" -> Cifar10.find None
        | p -> Cifar10.find (Some p)

    let cifar = Cifar10.load path

    let train =
        match Int32.TryParse(Environment.GetEnvironmentVariable "FN_BENCH_LIMIT") with
        | true, n when n > 0 -> Dataset.take n cifar.Train
        | _ -> cifar.Train

    EpochBench.run "cifar_small_epoch" (Models.cifarSmall 10) [ 3; 32; 32 ] train cifar.Test
