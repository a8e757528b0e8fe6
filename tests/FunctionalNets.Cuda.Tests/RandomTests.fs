/// Threefry random fills on the simulated device are bit-identical with the CPU backend for the same key.
module FunctionalNets.Cuda.Tests.RandomTests

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Cuda.Tests.Sim

let private lengths = [ 1; 2; 7; 64; 1001; 4097 ]

let private keys =
    [ Key.create 0L; Key.create 42L; Key.create 0x1234_5678_9ABCL |> Key.foldIn 7 ]

let private bitsEqual (what: string) (e: Array) (a: Array) =
    match e, a with
    | (:? (float32[]) as e), (:? (float32[]) as a) ->
        for i in 0 .. e.Length - 1 do
            if BitConverter.SingleToInt32Bits e[i] <> BitConverter.SingleToInt32Bits a[i] then
                failtest (sprintf "%s: element %d differs: CPU %.9g, simulated CUDA %.9g" what i e[i] a[i])
    | (:? (float[]) as e), (:? (float[]) as a) ->
        for i in 0 .. e.Length - 1 do
            if BitConverter.DoubleToInt64Bits e[i] <> BitConverter.DoubleToInt64Bits a[i] then
                failtest (sprintf "%s: element %d differs: CPU %.17g, simulated CUDA %.17g" what i e[i] a[i])
    | _ -> failtest "unexpected arrays"

/// The tests of this module.
let tests =
    testList
        "Random"
        [
            testCase "uniform and normal fills are bit-identical with the CPU backend"
            <| fun () ->
                let g = gpu ()

                for key in keys do
                    for n in lengths do
                        for dtype in [ DType.Float32; DType.Float64 ] do
                            let s = Shape.ofList [ n ]
                            let what = sprintf "%O n=%d %O" key n dtype

                            bitsEqual
                                ("uniform " + what)
                                (cpu.RandomUniform(key, s, dtype).ToArray())
                                (g.RandomUniform(key, s, dtype).ToArray())

                            bitsEqual
                                ("normal " + what)
                                (cpu.RandomNormal(key, s, dtype).ToArray())
                                (g.RandomNormal(key, s, dtype).ToArray())

            testCase "random fills need a floating-point dtype"
            <| fun () ->
                let g = gpu ()

                Expects.throws<InvalidOperationException> "fun () -> g.RandomUniform(Key.create 1L," (fun () ->
                    g.RandomUniform(Key.create 1L, Shape.ofList [ 3 ], DType.Int32) |> ignore)
                |> ignore

        ]
