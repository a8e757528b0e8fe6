/// The simulated CUDA device (ILGPU's CPU accelerator) and helpers that run one primitive on it and on the CPU
/// backend from the same inputs and compare the results.
module FunctionalNets.Cuda.Tests.Sim

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Cuda

let private gpuBackend =
    lazy
        (Cuda.useSimulator ()
         Cuda.backend 0 :> Backend)

/// The simulated CUDA backend (device cuda:0).
let gpu () = gpuBackend.Value
/// The CPU backend, the oracle.
let cpu = Backends.get Device.Cpu

let private rng = Random 1234

/// Uniform floats in [lo, hi).
let floats (lo: float) (hi: float) (n: int) =
    Array.init n (fun _ -> lo + (hi - lo) * rng.NextDouble())

let f32 (xs: float[]) = xs |> Array.map float32 :> Array
let f64 (xs: float[]) = xs :> Array

/// An input given as data and shape.
type Input = { Data: Array; Shape: int[] }

let input (data: Array) (shape: int list) =
    {
        Data = data
        Shape = Array.ofList shape
    }

let private asFloats (a: Array) : float[] =
    match a with
    | :? (float32[]) as x -> x |> Array.map float
    | :? (float[]) as x -> x
    | :? (int[]) as x -> x |> Array.map float
    | :? (int64[]) as x -> x |> Array.map float
    | :? (bool[]) as x -> x |> Array.map (fun b -> if b then 1.0 else 0.0)
    | _ -> failwithf "unexpected array %s" (a.GetType().Name)

/// Asserts two raw tensors have the same shape, dtype and values within tol (relative to max(1, |expected|);
/// NaN matches NaN).
let assertClose (what: string) (tol: float) (expected: RawTensor) (actual: RawTensor) =
    Expect.isTrue
        (expected.Shape.Equals actual.Shape)
        (sprintf "%s: shape %O expected, got %O" what expected.Shape actual.Shape)

    Expect.isTrue
        ((expected.DType = actual.DType))
        (sprintf "%s: dtype %O expected, got %O" what expected.DType actual.DType)

    let e = asFloats (expected.ToArray())
    let a = asFloats (actual.ToArray())

    for i in 0 .. e.Length - 1 do
        let ok =
            (Double.IsNaN e[i] && Double.IsNaN a[i])
            || e[i] = a[i]
            || abs (e[i] - a[i]) <= tol * max 1.0 (abs e[i])

        if not ok then
            failtest (sprintf "%s: element %d: CPU %.9g, simulated CUDA %.9g" what i e[i] a[i])

/// Runs f on the CPU backend and on the simulated device from the same inputs; asserts every output agrees.
let agree (what: string) (tol: float) (inputs: Input list) (f: RawTensor list -> RawTensor list) =
    let make (b: Backend) =
        inputs |> List.map (fun i -> b.FromArray(i.Data, Shape.ofArray i.Shape))

    let expected = f (make cpu)
    let g = gpu ()
    let actual = f (make g)

    for r in actual do
        Expect.equal (r.Device) (g.Device) "r.Device"

    List.iteri2 (fun k e a -> assertClose (sprintf "%s (output %d)" what k) tol e a) expected actual

/// One-output form of agree.
let agree1 what tol inputs (f: RawTensor list -> RawTensor) =
    agree what tol inputs (fun xs -> [ f xs ])
