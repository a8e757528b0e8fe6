/// Same seed, any thread count: bit-identical training (DESIGN.md section 4). The list changes the process-wide
/// KernelSettings.MaxThreads, so it runs alone (Main.fs).
module FunctionalNets.Tests.Nn.DeterminismTests

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Kernels
open FunctionalNets.Nn

/// conv-BatchNorm-ReLU-pool twice, then a linear classifier. 28 x 28 and 14 x 14 outputs take the
/// per-image convolution path, whose weight gradient sums over the batch across worker threads.
let private model =
    Layer.sequential
        [
            Layers.conv2d (1, 8, 3, padding = 1)
            Layers.batchNorm2d 8
            Layers.relu ()
            Layers.maxPool2d 2
            Layers.conv2d (8, 16, 3, padding = 1)
            Layers.batchNorm2d 16
            Layers.relu ()
            Layers.maxPool2d 2
            Layers.flatten ()
            Layers.linear (16 * 7 * 7, 10)
        ]

let private batchSize = 48
let private steps = 30

let private batches =
    lazy
        (let mnist = Mnist.load (DataLocation.findMnist None)

         [
             for s in 0 .. steps - 1 -> mnist.Train.GetBatch(Array.init batchSize (fun i -> s * batchSize + i))
         ])

/// Trains from seed 7 with Adam under the given thread cap; the cap is restored afterwards.
let private train (threads: int) =
    let saved = KernelSettings.MaxThreads

    try
        KernelSettings.MaxThreads <- threads
        let tx = Optim.adam 1e-3
        let start = Train.init model [ 1; 28; 28 ] tx (Key.create 7L)

        batches.Value
        |> List.fold (fun ts batch -> fst (Train.trainStep model Losses.crossEntropy tx ts batch)) start
    finally
        KernelSettings.MaxThreads <- saved

/// The raw bits of every element of every leaf, by path.
let private bits (tree: PTree<Tensor>) =
    PTree.leaves tree
    |> List.map (fun (path, t) ->
        let raw =
            match Tensor.toArray t with
            | :? (float32[]) as a -> Array.map (fun v -> int64 (uint32 (BitConverter.SingleToInt32Bits v))) a
            | :? (float[]) as a -> Array.map BitConverter.DoubleToInt64Bits a
            | :? (int64[]) as a -> a
            | :? (int[]) as a -> Array.map int64 a
            | other -> failwithf "%s: unexpected element array %s" path (other.GetType().Name)

        path, raw)

let private assertBitIdentical (what: string) (a: PTree<Tensor>) (b: PTree<Tensor>) =
    let la, lb = bits a, bits b
    Expect.equal (List.map fst lb) (List.map fst la) "List.map fst lb"

    for (path, x), (_, y) in List.zip la lb do
        Expect.equal y.Length x.Length "y.Length"
        let first = Array.tryFindIndex id (Array.map2 (<>) x y)

        match first with
        | Some i -> failtest (sprintf "%s: %s differs first at element %d (bits %x vs %x)" what path i x[i] y[i])
        | None -> ()

let ``a CNN with BatchNorm trains to bit-identical weights with 1, 2 and 3 kernel threads`` () =
    let one = train 1
    let two = train 2
    let twoAgain = train 2
    let three = train 3
    assertBitIdentical "params, 1 vs 2 threads" one.Params two.Params
    assertBitIdentical "BatchNorm state, 1 vs 2 threads" one.State two.State
    assertBitIdentical "params, 2 vs 2 threads" two.Params twoAgain.Params
    assertBitIdentical "BatchNorm state, 2 vs 2 threads" two.State twoAgain.State
    assertBitIdentical "optimizer state, 1 vs 2 threads" one.Opt two.Opt
    assertBitIdentical "params, 1 vs 3 threads" one.Params three.Params
    // The run really trained: the weights moved away from their initial values.
    let start = Train.init model [ 1; 28; 28 ] (Optim.adam 1e-3) (Key.create 7L)

    Expect.notEqual
        (snd (List.head (bits one.Params)))
        (snd (List.head (bits start.Params)))
        "snd (List.head (bits one.Params))"

/// The tests of this module.
let tests =
    testSequenced
    <| testList
        "Determinism"
        [
            testCase
                "a CNN with BatchNorm trains to bit-identical weights with 1, 2 and 3 kernel threads"
                ``a CNN with BatchNorm trains to bit-identical weights with 1, 2 and 3 kernel threads``
        ]
