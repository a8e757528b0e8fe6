module FunctionalNets.Tests.Nn.ReportingTests

// Issue 14, items 5 and 6: training that says what it does, and fails before the first epoch in words that
// name what was wrong and what to do.

open System
open System.IO
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn

let private blobs =
    let x =
        Tensor.ofArray ([| 0.0f; 0.1f; 0.2f; 0.0f; 1.0f; 0.9f; 0.8f; 1.1f |], [ 4; 2 ])

    Dataset.ofTensors x (Tensor.ofArray ([| 0L; 0L; 1L; 1L |], [ 4 ]))

let private model = Layers.linear (2, 3) >-> Layers.relu () >-> Layers.linear (3, 2)

/// Fits 3 epochs of blobs with Adam(0.05), counting the loss's calls.
let private fitWith (validation: IDataset option) (train: IDataset) (callbacks: Callback list) =
    let tx = Optim.adam 0.05
    let ts0 = Train.init model [ 2 ] tx (Key.create 5L)
    let calls = ref 0

    let loss p t =
        calls.Value <- calls.Value + 1
        Losses.crossEntropy p t

    let options =
        { FitOptions.defaults with
            Epochs = 3
            BatchSize = 4
            Metrics = [ Metrics.accuracy ]
            Validation = validation
            Callbacks = callbacks
        }

    let run () =
        Train.fit model loss tx options train ts0

    run, calls


let ``EarlyStopping says when and why it stopped and that it restored the best weights`` () =
    // minDelta 1e9: no later epoch counts as an improvement, so with patience 2 it stops at epoch 3, best epoch 1.
    let run, _ =
        fitWith (Some blobs) blobs [ Callbacks.earlyStopping "val_loss" 2 1e9 MonitorMode.Auto true ]

    let _, history = run ()
    Expect.equal history.Epochs.Length 3 "history.Epochs.Length"
    let best = history["val_loss"].[0]

    let expected =
        sprintf
            "Epoch 3: early stopping: val_loss has not decreased by more than 1e+09 for 2 epochs (best val_loss = %.6g at epoch 1; restoring the weights of epoch 1)."
            best

    Expect.equal history.Messages [ expected ] "history.Messages"

let ``ReduceLROnPlateau names the new rate, and the history's lr follows it`` () =
    // "lr" is constant at Adam's 0.05, so it never improves under mode Min: epoch 2 halves it; epoch 3's lower
    // rate is an improvement, so nothing more happens.
    let run, _ =
        fitWith None blobs [ Callbacks.reduceLROnPlateau "lr" 0.5 1 0.0 MonitorMode.Min ]

    let _, history = run ()
    Expect.equal (history["lr"]) [ 0.05; 0.05; 0.025 ] "history[\"lr\"]"

    Expect.equal
        history.Messages
        [
            "Epoch 2: ReduceLROnPlateau: lr has not improved for 1 epoch; reducing the learning rate from 0.05 to 0.025."
        ]
        "history.Messages"

let ``The epoch line puts the loss first, then metrics, then val_ ones, then lr`` () =
    let logs =
        Map.ofList
            [
                "val_accuracy", 0.5
                "accuracy", 0.75
                "lr", 0.001
                "val_loss", 0.25
                "loss", 0.125
            ]

    Expect.equal
        (EpochLog.line logs)
        "loss=0.1250 accuracy=0.7500 val_loss=0.2500 val_accuracy=0.5000 lr=0.001"
        "EpochLog.line logs"

let ``A bad EarlyStopping monitor fails before the first epoch and lists what fit logs`` () =
    let run, calls =
        fitWith (Some blobs) blobs [ Callbacks.earlyStopping "val_acc" 2 0.0 MonitorMode.Auto true ]

    let e = Expects.throws<ArgumentException> "run ()" (fun () -> run () |> ignore)
    Expect.equal calls.Value 0 "calls.Value"
    Expect.stringContains e.Message "EarlyStopping monitors 'val_acc'" "e.Message"
    Expect.stringContains e.Message "'val_accuracy'" "e.Message"

    // Without a validation set, a val_ monitor says to pass one.
    let run, calls =
        fitWith None blobs [ Callbacks.earlyStopping "val_loss" 2 0.0 MonitorMode.Auto true ]

    let e = Expects.throws<ArgumentException> "run ()" (fun () -> run () |> ignore)
    Expect.equal calls.Value 0 "calls.Value"
    Expect.stringContains e.Message "Pass a validation set" "e.Message"

let ``A validation set of the wrong shape fails before the first epoch, naming both shapes`` () =
    let wide =
        Dataset.ofTensors (Tensor.zeros [ 4; 3 ]) (Tensor.ofArray ([| 0L; 0L; 1L; 1L |], [ 4 ]))

    let run, calls = fitWith (Some wide) blobs []
    let e = Expects.throws<ArgumentException> "run ()" (fun () -> run () |> ignore)
    Expect.equal calls.Value 0 "calls.Value"
    Expect.stringContains e.Message "validation input is [3] per example but the training input is [2]" "e.Message"

let ``A Float64 dataset into a Float32 net is named with the cast that fixes it`` () =
    let doubles =
        Dataset.ofTensors
            (Tensor.ofArray ([| 0.0; 0.1; 0.2; 0.0; 1.0; 0.9; 0.8; 1.1 |], [ 4; 2 ]))
            (Tensor.ofArray ([| 0L; 0L; 1L; 1L |], [ 4 ]))

    let run, calls = fitWith None doubles []
    let e = Expects.throws<ArgumentException> "run ()" (fun () -> run () |> ignore)
    Expect.equal calls.Value 0 "calls.Value"

    Expect.stringContains
        e.Message
        "inputs are float64 (DType.Float64) but the net's parameters are float32 (DType.Float32)"
        "e.Message"

    Expect.stringContains e.Message "cast" "e.Message"

let ``Cross-entropy on one output column with float targets fails instead of training at loss 0`` () =
    let logits = Tensor.ofArray ([| 0.3f; -1.0f; 2.0f; 0.5f |], [ 4; 1 ])
    let targets = Tensor.ofArray ([| 1.0f; 0.0f; 1.0f; 0.0f |], [ 4; 1 ])

    let e =
        Expects.throws<ArgumentException> "Losses.crossEntropy logits targets" (fun () ->
            Losses.crossEntropy logits targets |> ignore)

    Expect.stringContains e.Message "single class column" "e.Message"
    Expect.stringContains e.Message "bceWithLogits" "e.Message"

let ``Float class labels get a message that integer class indices are expected`` () =
    let logits = Tensor.zeros [ 4; 3 ]
    let labels = Tensor.ofArray ([| 0.0f; 2.0f; 1.0f; 0.0f |], [ 4 ])

    let e =
        Expects.throws<ArgumentException> "Losses.crossEntropy logits labels" (fun () ->
            Losses.crossEntropy logits labels |> ignore)

    Expect.stringContains e.Message "integer class indices" "e.Message"
    Expect.stringContains e.Message "DType.Int64" "e.Message"

let ``Saving into a missing folder names the folder, not the temporary file`` () =
    let dir =
        Path.Combine(Path.GetTempPath(), sprintf "fn-missing-%s" (Guid.NewGuid().ToString "N"), "sub")

    let path = Path.Combine(dir, "weights.safetensors")

    let e =
        Expects.throws<DirectoryNotFoundException>
            "Checkpoint.saveWeights path (PTree.node [ \"w\", Leaf(Tensor.zeros [ 2 ]) ]) PTree.empty ..."
            (fun () -> Checkpoint.saveWeights path (PTree.node [ "w", Leaf(Tensor.zeros [ 2 ]) ]) PTree.empty Map.empty)

    Expect.stringContains e.Message dir "e.Message"
    Expect.isFalse (e.Message.Contains(".tmp": string)) "e.Message does not contain \".tmp\""
    Expect.stringContains e.Message "Create it first" "e.Message"
    Expect.isFalse (Directory.Exists dir) "Directory.Exists dir"

let ``Summary expands nested sequentials with dotted paths, and the rows add up to the model's parameters`` () =
    let inner = Layer.sequential [ Layers.linear (4, 8); Layers.relu () ]
    let net = Layer.sequential [ Layers.flatten (); inner; Layers.linear (8, 2) ]
    let _, p, _ = Layer.init net (Key.create 0L) [ 2; 2 ]
    let rows = Summary.rows net (Shape.ofList [ 2; 2 ]) p
    Expect.equal (rows |> List.map _.Path) [ "0"; "1.0"; "1.1"; "2" ] "rows |> List.map _.Path"
    // By hand: Linear(4->8) 4*8+8 = 40, Linear(8->2) 8*2+2 = 18.
    Expect.equal (rows |> List.map _.Params) [ 0; 40; 0; 18 ] "rows |> List.map _.Params"

    Expect.equal
        (rows |> List.map (fun r -> r.OutputShape.ToList()))
        [ [ 4 ]; [ 8 ]; [ 8 ]; [ 2 ] ]
        "rows |> List.map (fun r -> r.OutputShape.ToList())"

/// The tests of this module.
let tests =
    testList
        "Reporting"
        [
            testCase
                "EarlyStopping says when and why it stopped and that it restored the best weights"
                ``EarlyStopping says when and why it stopped and that it restored the best weights``
            testCase
                "ReduceLROnPlateau names the new rate, and the history's lr follows it"
                ``ReduceLROnPlateau names the new rate, and the history's lr follows it``
            testCase
                "The epoch line puts the loss first, then metrics, then val_ ones, then lr"
                ``The epoch line puts the loss first, then metrics, then val_ ones, then lr``
            testCase
                "A bad EarlyStopping monitor fails before the first epoch and lists what fit logs"
                ``A bad EarlyStopping monitor fails before the first epoch and lists what fit logs``
            testCase
                "A validation set of the wrong shape fails before the first epoch, naming both shapes"
                ``A validation set of the wrong shape fails before the first epoch, naming both shapes``
            testCase
                "A Float64 dataset into a Float32 net is named with the cast that fixes it"
                ``A Float64 dataset into a Float32 net is named with the cast that fixes it``
            testCase
                "Cross-entropy on one output column with float targets fails instead of training at loss 0"
                ``Cross-entropy on one output column with float targets fails instead of training at loss 0``
            testCase
                "Float class labels get a message that integer class indices are expected"
                ``Float class labels get a message that integer class indices are expected``
            testCase
                "Saving into a missing folder names the folder, not the temporary file"
                ``Saving into a missing folder names the folder, not the temporary file``
            testCase
                "Summary expands nested sequentials with dotted paths, and the rows add up to the model's parameters"
                ``Summary expands nested sequentials with dotted paths, and the rows add up to the model's parameters``
        ]
