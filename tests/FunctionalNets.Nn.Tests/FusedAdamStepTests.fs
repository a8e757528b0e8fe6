/// Optim.adam's one-pass update (the training fold's fused Adam-and-apply) against the two-pass road it replaces:
/// the same chain built from its parts (no fused form), or GradTx.Update followed by Optim.applyUpdates. Weights and
/// optimizer states must agree bit for bit, through whole fits with dropout, for constant and scheduled rates.
module FunctionalNets.Tests.Nn.FusedAdamStepTests

open System
open Expecto
open FunctionalNets
open FunctionalNets.Nn
open FunctionalNets.Testing

let private bits (tree: PTree<Tensor>) =
    PTree.leaves tree
    |> List.map (fun (path, t) ->
        path,
        match Tensor.toArray t with
        | :? (float32[]) as a -> a |> Array.map (fun x -> int64 (BitConverter.SingleToInt32Bits x))
        | :? (float[]) as a -> a |> Array.map BitConverter.DoubleToInt64Bits
        | a -> failwithf "unexpected array %O" (a.GetType()))

let private sameTrees (what: string) (a: PTree<Tensor>) (b: PTree<Tensor>) =
    let a, b = bits a, bits b
    Expect.equal (List.map fst a) (List.map fst b) (what + ": paths")

    for (path, x), (_, y) in List.zip a b do
        Expect.isTrue (x = y) (sprintf "%s: %s differs" what path)

let private model () =
    Layer.sequential
        [
            Layers.linear (6, 16)
            Layers.relu ()
            Layers.dropout 0.25
            Layers.linear (16, 3)
        ]

let private data () =
    let key = Key.create 5L
    let x = Tensor.randn (key, [ 96; 6 ])
    let y = Tensor.randint (Key.foldIn 1 key, 0, 3, [ 96 ])
    Dataset.ofTensors x y

let private fitWith (tx: GradTx) =
    let m = model ()
    let ts = Train.init m [ 6 ] tx (Key.create 3L)

    let options =
        { FitOptions.defaults with
            Epochs = 3
            BatchSize = 16
        }

    fst (Train.fit m Losses.crossEntropy tx options (data ()) ts)

let ``fit with Optim.adam ends bit for bit where the unfused chain ends`` () =
    // Optim.adam 1e-2 is chain [ scaleByAdam 0.9 0.999 1e-8; -lr ]; built from its parts it has no fused form.
    let fused = fitWith (Optim.adam 1e-2)

    let parts =
        fitWith (Optim.chain [ Optim.scaleByAdam 0.9 0.999 1e-8; Optim.scaleByLearningRate 1e-2 ])

    Expect.equal fused.Step 18L "fused.Step"
    sameTrees "params" fused.Params parts.Params
    sameTrees "optimizer state" fused.Opt parts.Opt

let ``fit with a scheduled Optim.adam ends bit for bit where the unfused chain ends`` () =
    let lr: Schedule = fun step -> 1e-2 / (1.0 + 0.1 * float step)
    let fused = fitWith (Optim.adam lr)

    let parts =
        fitWith (Optim.chain [ Optim.scaleByAdam 0.9 0.999 1e-8; Optim.scaleByLearningRateWith lr ])

    sameTrees "params" fused.Params parts.Params
    sameTrees "optimizer state" fused.Opt parts.Opt

let ``applyGradients equals Update then applyUpdates, with and without a learning-rate scale`` () =
    let tx = Optim.adam 3e-3
    let m = model ()
    let ts0 = Train.init m [ 6 ] tx (Key.create 8L)

    for scale in [ 1.0; 0.5 ] do
        let mutable ts = { ts0 with LrScale = scale }
        let mutable p = ts0.Params
        let mutable opt = ts0.Opt

        for step in 0..4 do
            let grads =
                p
                |> PTree.mapWithPath (fun path t ->
                    Tensor.randn (Key.foldIn step (Key.create (int64 (hash path))), t.Shape.ToArray()))

            ts <- Train.applyGradients tx grads ts.State ts
            let updates, opt' = tx.Update (int64 step) grads opt p

            let updates =
                if scale = 1.0 then
                    updates
                else
                    PTree.map (fun (u: Tensor) -> u * scale) updates

            p <- Optim.applyUpdates p updates
            opt <- opt'

        sameTrees (sprintf "params, scale %g" scale) ts.Params p
        sameTrees (sprintf "optimizer state, scale %g" scale) ts.Opt opt

let tests =
    testList
        "FusedAdamStep"
        [
            testCase
                "fit with Optim.adam ends bit for bit where the unfused chain ends"
                ``fit with Optim.adam ends bit for bit where the unfused chain ends``
            testCase
                "fit with a scheduled Optim.adam ends bit for bit where the unfused chain ends"
                ``fit with a scheduled Optim.adam ends bit for bit where the unfused chain ends``
            testCase
                "applyGradients equals Update then applyUpdates, with and without a learning-rate scale"
                ``applyGradients equals Update then applyUpdates, with and without a learning-rate scale``
        ]

/// The xunit class that runs these tests under `dotnet test` (see tests/README.md).
type FusedAdamStep() =
    inherit ExpectoSuite(tests)
