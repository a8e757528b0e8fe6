// --device cpu|cuda|cuda-sim for the scripts, loaded with #load "ScriptDevice.fsx" after the core assemblies (the
// Nn test build the scripts' #I lines name holds the CUDA backend too).
#r "ILGPU.dll"
#r "ILGPU.Algorithms.dll"
#r "FunctionalNets.Cuda.Kernels.dll"
#r "FunctionalNets.Cuda.dll"

open FunctionalNets
open FunctionalNets.Nn
open FunctionalNets.Cuda

/// Takes "--device NAME" out of the arguments: the device (initialised) and the other arguments. An unknown
/// name, or "cuda" without a GPU, prints what was expected, what was found and what to do, and exits with
/// code 3; it never falls back to the simulator or the CPU.
let take (args: string list) : Device * string list =
    let rec split acc rest =
        match rest with
        | "--device" :: name :: tail -> Some name, List.rev acc @ tail
        | a :: tail -> split (a :: acc) tail
        | [] -> None, List.rev acc

    let name, others = split [] args

    try
        Cuda.parseDevice (defaultArg name "cpu"), others
    with
    | :? System.ArgumentException
    | :? System.InvalidOperationException as e ->
        eprintfn "%s" e.Message
        exit 3

/// The dataset with each batch moved to the device as it is read.
let data (device: Device) (ds: IDataset) : IDataset = Dataset.toDevice device ds
