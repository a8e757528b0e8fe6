module FunctionalNets.Tests.Nn.ReportingTests

// Issue 14, items 5 and 6: training that says what it does, and fails before the first epoch in words that
// name what was wrong and what to do.

open System
open System.IO
open Xunit
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


[<Fact>]
let ``EarlyStopping says when and why it stopped and that it restored the best weights`` () =
    // minDelta 1e9: no later epoch counts as an improvement, so with patience 2 it stops at epoch 3, best epoch 1.
    let run, _ =
        fitWith (Some blobs) blobs [ Callbacks.earlyStopping "val_loss" 2 1e9 MonitorMode.Auto true ]

    let _, history = run ()
    Assert.Equal(3, history.Epochs.Length)
    let best = history["val_loss"].[0]

    let expected =
        sprintf
            "Epoch 3: early stopping: val_loss has not decreased by more than 1e+09 for 2 epochs (best val_loss = %.6g at epoch 1; restoring the weights of epoch 1)."
            best

    Assert.Equal<string list>([ expected ], history.Messages)

[<Fact>]
let ``ReduceLROnPlateau names the new rate, and the history's lr follows it`` () =
    // "lr" is constant at Adam's 0.05, so it never improves under mode Min: epoch 2 halves it; epoch 3's lower
    // rate is an improvement, so nothing more happens.
    let run, _ =
        fitWith None blobs [ Callbacks.reduceLROnPlateau "lr" 0.5 1 0.0 MonitorMode.Min ]

    let _, history = run ()
    Assert.Equal<float list>([ 0.05; 0.05; 0.025 ], history["lr"])

    Assert.Equal<string list>(
        [
            "Epoch 2: ReduceLROnPlateau: lr has not improved for 1 epoch; reducing the learning rate from 0.05 to 0.025."
        ],
        history.Messages
    )

[<Fact>]
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

    Assert.Equal("loss=0.1250 accuracy=0.7500 val_loss=0.2500 val_accuracy=0.5000 lr=0.001", EpochLog.line logs)

[<Fact>]
let ``A bad EarlyStopping monitor fails before the first epoch and lists what fit logs`` () =
    let run, calls =
        fitWith (Some blobs) blobs [ Callbacks.earlyStopping "val_acc" 2 0.0 MonitorMode.Auto true ]

    let e = Assert.Throws<ArgumentException>(fun () -> run () |> ignore)
    Assert.Equal(0, calls.Value)
    Assert.Contains("EarlyStopping monitors 'val_acc'", e.Message)
    Assert.Contains("'val_accuracy'", e.Message)

    // Without a validation set, a val_ monitor says to pass one.
    let run, calls =
        fitWith None blobs [ Callbacks.earlyStopping "val_loss" 2 0.0 MonitorMode.Auto true ]

    let e = Assert.Throws<ArgumentException>(fun () -> run () |> ignore)
    Assert.Equal(0, calls.Value)
    Assert.Contains("Pass a validation set", e.Message)

[<Fact>]
let ``A validation set of the wrong shape fails before the first epoch, naming both shapes`` () =
    let wide =
        Dataset.ofTensors (Tensor.zeros [ 4; 3 ]) (Tensor.ofArray ([| 0L; 0L; 1L; 1L |], [ 4 ]))

    let run, calls = fitWith (Some wide) blobs []
    let e = Assert.Throws<ArgumentException>(fun () -> run () |> ignore)
    Assert.Equal(0, calls.Value)
    Assert.Contains("validation input is [3] per example but the training input is [2]", e.Message)

[<Fact>]
let ``A Float64 dataset into a Float32 net is named with the cast that fixes it`` () =
    let doubles =
        Dataset.ofTensors
            (Tensor.ofArray ([| 0.0; 0.1; 0.2; 0.0; 1.0; 0.9; 0.8; 1.1 |], [ 4; 2 ]))
            (Tensor.ofArray ([| 0L; 0L; 1L; 1L |], [ 4 ]))

    let run, calls = fitWith None doubles []
    let e = Assert.Throws<ArgumentException>(fun () -> run () |> ignore)
    Assert.Equal(0, calls.Value)

    Assert.Contains(
        "inputs are float64 (DType.Float64) but the net's parameters are float32 (DType.Float32)",
        e.Message
    )

    Assert.Contains("cast", e.Message)

[<Fact>]
let ``Cross-entropy on one output column with float targets fails instead of training at loss 0`` () =
    let logits = Tensor.ofArray ([| 0.3f; -1.0f; 2.0f; 0.5f |], [ 4; 1 ])
    let targets = Tensor.ofArray ([| 1.0f; 0.0f; 1.0f; 0.0f |], [ 4; 1 ])

    let e =
        Assert.Throws<ArgumentException>(fun () -> Losses.crossEntropy logits targets |> ignore)

    Assert.Contains("single class column", e.Message)
    Assert.Contains("bceWithLogits", e.Message)

[<Fact>]
let ``Float class labels get a message that integer class indices are expected`` () =
    let logits = Tensor.zeros [ 4; 3 ]
    let labels = Tensor.ofArray ([| 0.0f; 2.0f; 1.0f; 0.0f |], [ 4 ])

    let e =
        Assert.Throws<ArgumentException>(fun () -> Losses.crossEntropy logits labels |> ignore)

    Assert.Contains("integer class indices", e.Message)
    Assert.Contains("DType.Int64", e.Message)

[<Fact>]
let ``Saving into a missing folder names the folder, not the temporary file`` () =
    let dir =
        Path.Combine(Path.GetTempPath(), sprintf "fn-missing-%s" (Guid.NewGuid().ToString "N"), "sub")

    let path = Path.Combine(dir, "weights.safetensors")

    let e =
        Assert.Throws<DirectoryNotFoundException>(fun () ->
            Checkpoint.saveWeights path (PTree.node [ "w", Leaf(Tensor.zeros [ 2 ]) ]) PTree.empty Map.empty)

    Assert.Contains(dir, e.Message)
    Assert.DoesNotContain(".tmp", e.Message)
    Assert.Contains("Create it first", e.Message)
    Assert.False(Directory.Exists dir)

[<Fact>]
let ``Summary expands nested sequentials with dotted paths, and the rows add up to the model's parameters`` () =
    let inner = Layer.sequential [ Layers.linear (4, 8); Layers.relu () ]
    let net = Layer.sequential [ Layers.flatten (); inner; Layers.linear (8, 2) ]
    let _, p, _ = Layer.init net (Key.create 0L) [ 2; 2 ]
    let rows = Summary.rows net (Shape.ofList [ 2; 2 ]) p
    Assert.Equal<string list>([ "0"; "1.0"; "1.1"; "2" ], rows |> List.map _.Path)
    // By hand: Linear(4->8) 4*8+8 = 40, Linear(8->2) 8*2+2 = 18.
    Assert.Equal<int list>([ 0; 40; 0; 18 ], rows |> List.map _.Params)
    Assert.Equal<int list list>([ [ 4 ]; [ 8 ]; [ 8 ]; [ 2 ] ], rows |> List.map (fun r -> r.OutputShape.ToList()))
