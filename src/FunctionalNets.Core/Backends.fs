namespace FunctionalNets

open System.Collections.Concurrent
open FunctionalNets.Cpu

/// Finds the backend for a device. The CPU backend is built in; others (CUDA) register themselves.
[<RequireQualifiedAccess>]
module Backends =
    let private registry = ConcurrentDictionary<Device, Backend>()

    /// Makes a backend available for its device (called by backend assemblies such as FunctionalNets.Cuda).
    let register (backend: Backend) = registry[backend.Device] <- backend

    /// The backend for a device, or a clear error when none is loaded.
    let get (device: Device) : Backend =
        match device with
        | Device.Cpu -> CpuRawTensor.DefaultBackend
        | d ->
            match registry.TryGetValue d with
            | true, b -> b
            | _ ->
                invalidOp (
                    sprintf
                        "No backend is loaded for %O. Reference FunctionalNets.Cuda and initialise it before creating tensors on a GPU."
                        d
                )
