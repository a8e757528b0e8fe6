module FunctionalNets.Tests.Nn.TrainingTests

open System
open System.Diagnostics
open System.IO
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn

let private floats (t: Tensor) = Tensor.toFloatArray t

/// Two trees are bit-identical: same paths, dtypes, shapes and elements (compared as raw typed arrays,
/// so 0.1f and its neighbour differ).
let private assertSameTree (what: string) (a: PTree<Tensor>) (b: PTree<Tensor>) =
    let la, lb = PTree.leaves a, PTree.leaves b
    Expect.equal (List.map fst lb) (List.map fst la) "List.map fst lb"

    for (path, x), (_, y) in List.zip la lb do
        Expect.isTrue (x.DType = y.DType) (sprintf "%s %s: dtype %O vs %O" what path x.DType y.DType)
        Expect.equal (y.Shape.ToArray()) (x.Shape.ToArray()) "y.Shape.ToArray()"

        let same =
            match Tensor.toArray x, Tensor.toArray y with
            | (:? (float32[]) as p), (:? (float32[]) as q) ->
                Array.map BitConverter.SingleToInt32Bits p = Array.map BitConverter.SingleToInt32Bits q
            | (:? (float[]) as p), (:? (float[]) as q) ->
                Array.map BitConverter.DoubleToInt64Bits p = Array.map BitConverter.DoubleToInt64Bits q
            | p, q ->
                p.Equals q
                || (p :> Collections.IStructuralEquatable).Equals(q, Collections.Generic.EqualityComparer<obj>.Default)

        Expect.isTrue same (sprintf "%s %s differs" what path)

let private withTemp (f: string -> unit) =
    let d = Directory.CreateTempSubdirectory "fn-train-"

    try
        f d.FullName
    finally
        d.Delete true

// ---------- trainStep ----------

// y = x w + b on three Float64 examples with two features; MSE loss; SGD.
let private xs = [| 1.0; 2.0; -1.0; 0.5; 3.0; -2.0 |] // [3; 2]
let private ys = [| 1.0; -2.0; 0.5 |] // [3; 1]
let private w0 = [| 0.3; -0.7 |] // [1; 2]
let private b0 = 0.1

/// The gradient of mean((X w + b - y)^2) by formula: dw = 2/N sum r_i x_i, db = 2/N sum r_i.
let private handGradient () =
    let n = ys.Length

    let r =
        Array.init n (fun i -> xs[2 * i] * w0[0] + xs[2 * i + 1] * w0[1] + b0 - ys[i])

    let loss = (Array.sumBy (fun v -> v * v) r) / float n

    let dw =
        Array.init 2 (fun j -> 2.0 / float n * Array.sum (Array.init n (fun i -> r[i] * xs[2 * i + j])))

    let db = 2.0 / float n * Array.sum r
    loss, dw, db

let private regressionState (tx: GradTx) =
    let ps =
        PTree.node
            [
                "weight", Leaf(Tensor.ofArray (w0, [ 1; 2 ]))
                "bias", Leaf(Tensor.ofArray ([| b0 |], [ 1 ]))
            ]

    {
        Params = ps
        State = PTree.empty
        Opt = tx.Init ps
        Step = 0L
        Key = Key.create 1L
        LrScale = 1.0
    }

let private regressionBatch =
    {
        Input = Tensor.ofArray (xs, [ 3; 2 ])
        Target = Tensor.ofArray (ys, [ 3; 1 ])
    }

let ``trainStep on a linear regression is one hand-computed SGD step, scaled by LrScale`` () =
    let lr = 0.1
    let tx = Optim.sgd lr
    let model = Layers.linear (2, 1)
    let loss, dw, db = handGradient ()

    for scale in [ 1.0; 0.25 ] do
        let ts =
            { regressionState tx with
                LrScale = scale
            }

        let next, logs = Train.trainStep model Losses.mse tx ts regressionBatch
        Expect.equal (System.Math.Round(logs["loss"], 12)) (System.Math.Round(loss, 12)) "logs[\"loss\"] to 12 places"
        Expect.equal next.Step 1L "next.Step"
        let w = floats (Layer.param "test" "weight" next.Params)
        let b = floats (Layer.param "test" "bias" next.Params)

        for j in 0..1 do
            Expect.equal
                (System.Math.Round(w[j], 12))
                (System.Math.Round(w0[j] - scale * lr * dw[j], 12))
                "w[j] to 12 places"

        Expect.equal (System.Math.Round(b[0], 12)) (System.Math.Round(b0 - scale * lr * db, 12)) "b[0] to 12 places"
        // The state passed in is untouched (trees are immutable).
        Expect.equal
            (floats (Layer.param "test" "weight" ts.Params))
            w0
            "floats (Layer.param \"test\" \"weight\" ts.Params)"

// ---------- fit on XOR ----------

let private xorInputs =
    Tensor.ofArray ([| 0.0f; 0.0f; 0.0f; 1.0f; 1.0f; 0.0f; 1.0f; 1.0f |], [ 4; 2 ])

let private xorTargets = [| 0.0f; 1.0f; 1.0f; 0.0f |]

let private xorData =
    Dataset.ofTensors xorInputs (Tensor.ofArray (xorTargets, [ 4; 1 ]))

let private xorModel =
    Layers.linear (2, 4)
    >-> Layers.tanh ()
    >-> Layers.linear (4, 1)
    >-> Layers.sigmoid ()

let ``fit learns XOR with a 2-4-1 MLP and Adam; History logs loss, accuracy and their val_ versions`` () =
    let tx = Optim.adam 0.05
    let ts0 = Train.init xorModel [ 2 ] tx (Key.create 3L)

    let options =
        { FitOptions.defaults with
            Epochs = 300
            BatchSize = 4
            Metrics = [ Metrics.accuracy ]
            Validation = Some xorData
        }

    let ts, history = Train.fit xorModel Losses.bce tx options xorData ts0
    // Judge the predictions directly, not through the metric.
    let p = floats (Train.predict xorModel ts xorData 4)

    for i in 0..3 do
        Expect.isTrue
            ((p[i] > 0.5) = (xorTargets[i] = 1.0f))
            (sprintf "XOR %d: predicted %g for target %g" i p[i] xorTargets[i])

    Expect.equal ts.Step 300L "ts.Step"
    // Keras's order: the loss, the metrics, their val_ versions, then the learning rate.
    Expect.equal history.Keys [ "loss"; "accuracy"; "val_loss"; "val_accuracy"; "lr" ] "history.Keys"
    // Adam(0.05) with no schedule or plateau callback: the rate logged each epoch is the constant.
    history["lr"] |> Seq.iter (fun lr -> Expect.equal lr 0.05 "every epoch's lr")

    for k in history.Keys do
        Expect.equal (history[k].Length) 300 "history[k].Length"

    Expect.equal (List.last history["val_accuracy"]) 1.0 "List.last history[\"val_accuracy\"]"
    // The untrained network gets XOR partly wrong: the binary accuracy is a real measurement (an argmax over
    // the single output column would report 1.0 from the start).
    Expect.isTrue (List.head history["accuracy"] < 1.0) "List.head history[\"accuracy\"] < 1.0"
    Expect.isTrue (List.head history["val_accuracy"] < 1.0) "List.head history[\"val_accuracy\"] < 1.0"
    let losses = history["loss"]

    Expect.isTrue
        (List.last losses < 0.1 * List.head losses)
        (sprintf "loss %g -> %g" (List.head losses) (List.last losses))
    // Eval-mode validation loss of the final state equals an independent BCE of the predictions.
    let bce =
        Array.map2 (fun (q: float) (y: float32) -> -(float y * log q + (1.0 - float y) * log (1.0 - q))) p xorTargets
        |> Array.average

    Expect.equal
        (System.Math.Round((Train.evaluate xorModel Losses.bce [] ts xorData 4)["loss"], 5))
        (System.Math.Round(bce, 5))
        "(Train.evaluate xorModel Losses.bce [] ts xorData 4)[\"loss\"] to 5 places"

    // Without a validation set there are no val_ entries.
    let _, h2 =
        Train.fit
            xorModel
            Losses.bce
            tx
            { options with
                Epochs = 2
                Validation = None
            }
            xorData
            ts0

    Expect.equal h2.Keys [ "loss"; "accuracy"; "lr" ] "h2.Keys"
    Expect.equal h2.Epochs.Length 2 "h2.Epochs.Length"

// ---------- callbacks ----------

let private epochEnd (epoch: int) (valLoss: float) (state: TrainState) : EpochEnd =
    {
        Epoch = epoch
        Logs = Map [ "loss", 1.0; "val_loss", valLoss ]
        State = state
    }

let ``ReduceLROnPlateau multiplies LrScale by factor after patience epochs without improvement, not below minScale``
    ()
    =
    let ts = regressionState (Optim.sgd 0.1)
    let cb = Callbacks.reduceLROnPlateau "val_loss" 0.5 2 0.2 MonitorMode.Auto
    // improves, improves, flat, flat (reduce to 0.5), worse, flat (reduce to 0.25), better, flat, flat (0.2 floor)
    let losses = [ 1.0; 0.9; 0.9; 0.95; 0.95; 0.91; 0.8; 0.8; 0.85 ]
    let expected = [ 1.0; 1.0; 1.0; 0.5; 0.5; 0.25; 0.25; 0.25; 0.2 ]

    let scales =
        losses
        |> List.indexed
        |> List.mapFold
            (fun (cb: Callback, ts: TrainState) (i, v) ->
                let r = cb.OnEpochEnd(epochEnd (i + 1) v ts)
                Expect.isFalse r.Stop "r.Stop"
                r.State.LrScale, (r.Next, r.State))
            (cb, ts)
        |> fst

    Expect.equal scales expected "scales"
    // A monitored name that is not logged is a clear error.
    let bad = Callbacks.reduceLROnPlateau "val_accuracy" 0.5 2 0.0 MonitorMode.Auto

    let e =
        Expects.throws<InvalidOperationException> "bad.OnEpochEnd(epochEnd 1 1.0 ts)" (fun () ->
            bad.OnEpochEnd(epochEnd 1 1.0 ts) |> ignore)

    Expect.stringContains e.Message "val_accuracy" "e.Message"
    Expect.stringContains e.Message "val_loss" "e.Message"

let ``in fit, ReduceLROnPlateau lowers LrScale when the validation loss cannot improve`` () =
    // lr = 0: the parameters never move, so val_loss is the same every epoch and never improves after epoch 1.
    let tx = Optim.sgd 0.0
    let model = Layers.linear (2, 1)
    let ts0 = regressionState tx
    let data = Dataset.ofTensors regressionBatch.Input regressionBatch.Target

    let options =
        { FitOptions.defaults with
            Epochs = 4
            BatchSize = 3
            Validation = Some data
            Callbacks = [ Callbacks.reduceLROnPlateau "val_loss" 0.5 1 0.0 MonitorMode.Min ]
        }

    let ts, history = Train.fit model Losses.mse tx options data ts0
    Expect.equal ts.LrScale 0.125 "ts.LrScale"

    Expect.equal
        (history["val_loss"] |> List.distinct |> List.length)
        1
        "history[\"val_loss\"] |> List.distinct |> List.length"

    assertSameTree "params" ts0.Params ts.Params

// y = 2x for training, y = x for validation: from w = 0 gradient descent moves w towards 2, so the validation
// loss falls until w passes 1 and rises after: its best epoch is in the middle of the run.
let private slopeData (slope: float32) =
    let x = [| -1.0f; -0.5f; 0.25f; 0.5f; 1.0f; 1.5f |]
    Dataset.ofTensors (Tensor.ofArray (x, [ 6; 1 ])) (Tensor.ofArray (Array.map ((*) slope) x, [ 6; 1 ]))

let ``EarlyStopping stops after patience epochs without improvement and restores the best epoch's parameters`` () =
    let model = Layers.linear (1, 1, bias = false)
    let tx = Optim.sgd 0.1
    let init = Train.init model [ 1 ] tx (Key.create 5L)
    let ps = PTree.node [ "weight", Leaf(Tensor.zeros [ 1; 1 ]) ]

    let ts0 =
        { init with
            Params = ps
            Opt = tx.Init ps
        }

    let recorded = Collections.Generic.List<PTree<Tensor>>()

    let recorder =
        Callbacks.create "recorder" (fun e ->
            recorded.Add e.State.Params
            false)

    let patience = 3

    let options =
        { FitOptions.defaults with
            Epochs = 100
            BatchSize = 6
            Validation = Some(slopeData 1.0f)
            Callbacks =
                [
                    recorder
                    Callbacks.earlyStopping "val_loss" patience 0.0 MonitorMode.Auto true
                ]
        }

    let ts, history = Train.fit model Losses.mse tx options (slopeData 2.0f) ts0
    let valLosses = history["val_loss"]
    let best = valLosses |> List.indexed |> List.minBy snd |> fst // first minimum, 0-based
    Checks.inRange "best" 1 30 best // not the first epoch, and well before the end
    // Stopped exactly patience epochs after the best one.
    Expect.equal history.Epochs.Length (best + 1 + patience) "history.Epochs.Length"

    Expect.isTrue
        (valLosses[best + 1 ..] |> List.forall (fun v -> v >= valLosses[best]))
        "valLosses[best + 1 ..] |> List.forall (fun v -> v >= valLosses[best])"
    // The final weights are those recorded at the best epoch, not the last ones.
    assertSameTree "params" recorded[best] ts.Params
    // The best weight is the one closest to the validation slope 1 among those seen.
    let ws =
        recorded
        |> Seq.map (fun p -> (floats (Layer.param "t" "weight" p)).[0])
        |> Array.ofSeq

    let final = (floats (Layer.param "t" "weight" ts.Params)).[0]
    Expect.notEqual final (ws[ws.Length - 1]) "final"
    Expect.equal ws[best] (ws |> Array.minBy (fun w -> abs (w - 1.0))) "ws[best]"

let ``a user callback stops training after epoch 2`` () =
    let model = Layers.linear (2, 1)
    let tx = Optim.sgd 0.01
    let data = Dataset.ofTensors regressionBatch.Input regressionBatch.Target
    let seen = Collections.Generic.List<int>()

    let stopAt2 =
        Callbacks.create "stop-at-2" (fun e ->
            seen.Add e.Epoch
            e.Epoch >= 2)

    let ts, history =
        Train.fit
            model
            Losses.mse
            tx
            { FitOptions.defaults with
                Epochs = 10
                BatchSize = 2
                Callbacks = [ stopAt2 ]
            }
            data
            (regressionState tx)

    Expect.equal history.Epochs.Length 2 "history.Epochs.Length"
    Expect.equal (history["loss"].Length) 2 "history[\"loss\"].Length"
    Expect.equal (List.ofSeq seen) [ 1; 2 ] "List.ofSeq seen"
    Expect.equal ts.Step 4L "ts.Step" // 2 epochs of 2 batches (3 examples, batch 2)

// ---------- resume ----------

let private mnistSubset =
    lazy
        (let raw = Mnist.loadRaw true (DataLocation.findMnist None) MnistSplit.Test
         Mnist.toDataset raw |> Dataset.take 512)

let private dropoutMlp =
    Layers.flatten ()
    >-> Layers.linear (784, 32)
    >-> Layers.relu ()
    >-> Layers.dropout 0.3
    >-> Layers.linear (32, 10)

let ``a run stopped after epoch 2 and resumed from its checkpoint ends with exactly the same weights as an uninterrupted run``
    ()
    =
    withTemp (fun dir ->
        let data = mnistSubset.Value
        let tx = Optim.adam 1e-3
        let ts0 = Train.init dropoutMlp [ 1; 28; 28 ] tx (Key.create 11L)

        let options =
            { FitOptions.defaults with
                Epochs = 4
                BatchSize = 64
                Shuffle = true
                Metrics = [ Metrics.accuracy ]
            }

        let full, fullHistory = Train.fit dropoutMlp Losses.crossEntropy tx options data ts0

        let path = Path.Combine(dir, "epoch{epoch}.safetensors")

        let half, _ =
            Train.fit
                dropoutMlp
                Losses.crossEntropy
                tx
                { options with
                    Epochs = 2
                    Callbacks = [ Callbacks.modelCheckpoint path None MonitorMode.Auto ]
                }
                data
                ts0

        let file = Path.Combine(dir, "epoch2.safetensors")

        Expect.isTrue
            (File.Exists(Path.Combine(dir, "epoch1.safetensors")))
            "File.Exists(Path.Combine(dir, \"epoch1.safetensors\"))"

        let loaded, meta = Checkpoint.load file
        Expect.equal (meta["epoch"]) "2" "meta[\"epoch\"]"
        Expect.equal loaded.Step 16L "loaded.Step" // 2 epochs of 512 / 64 batches
        assertSameTree "checkpoint params" half.Params loaded.Params

        let resumed, resumedHistory =
            Train.fit
                dropoutMlp
                Losses.crossEntropy
                tx
                { options with
                    InitialEpoch = int meta["epoch"]
                }
                data
                loaded

        assertSameTree "params" full.Params resumed.Params
        assertSameTree "state" full.State resumed.State
        assertSameTree "optimizer state" full.Opt resumed.Opt
        Expect.equal resumed.Step full.Step "resumed.Step"
        Expect.equal resumed.Step 32L "resumed.Step"
        Expect.equal resumed.Key full.Key "resumed.Key"
        Expect.equal resumed.LrScale full.LrScale "resumed.LrScale"
        // The resumed epochs log exactly what epochs 3 and 4 of the uninterrupted run logged.
        Expect.equal resumedHistory.Epochs.Length 2 "resumedHistory.Epochs.Length"
        Expect.equal resumedHistory.Epochs fullHistory.Epochs[2..] "resumedHistory.Epochs"
        // Training moved the weights, and the key matters: resuming with another key (other dropout masks
        // and batch orders) ends elsewhere, so the equality above is not vacuous.
        let leaf name (t: PTree<Tensor>) =
            PTree.leaves t |> List.find (fst >> (=) name) |> snd |> floats

        Expect.notEqual (leaf "1.weight" full.Params) (leaf "1.weight" ts0.Params) "leaf \"1.weight\" full.Params"

        let otherKey, _ =
            Train.fit
                dropoutMlp
                Losses.crossEntropy
                tx
                { options with InitialEpoch = 2 }
                data
                { loaded with Key = Key.create 99L }

        Expect.notEqual
            (leaf "1.weight" otherKey.Params)
            (leaf "1.weight" full.Params)
            "leaf \"1.weight\" otherKey.Params")

// ---------- checkpoint crash safety ----------

let ``a process killed while writing a checkpoint never leaves a corrupt file where the last good one was`` () =
    withTemp (fun dir ->
        let path = Path.Combine(dir, "model.safetensors")

        let good =
            {
                Params = PTree.node [ "w", Leaf(Tensor.ofArray ([| 1.0f; 2.0f; 3.0f |], [ 3 ])) ]
                State = PTree.empty
                Opt = PTree.empty
                Step = 1L
                Key = Key.create 1L
                LrScale = 1.0
            }

        // Kill the writer at every point of its two saves that it announces (no timing guesses): before a save,
        // with the temp file open and its header written, with the temp file complete but not renamed, and after
        // the rename. Each round starts from the good checkpoint.
        for point in CheckpointWriterProcess.phases do
            Checkpoint.save path good Map.empty
            let what = sprintf "killed at %A" point

            match CheckpointWriterProcess.killAt path point with
            | Some tmp -> Expect.isTrue (File.Exists tmp) (sprintf "%s: the save's temp file %s exists" what tmp)
            | None -> ()

            // The path holds a whole checkpoint, the one of the last save that was renamed into place: the good
            // one, or the writer's save N (step N + 1, every value N + 1).
            let loaded, _ = Checkpoint.load path

            match CheckpointWriterProcess.completedAt point with
            | 0 ->
                Expect.equal loaded.Step 1L (what + ": step of the good checkpoint")
                assertSameTree "params" good.Params loaded.Params
            | n ->
                Expect.equal loaded.Step (int64 (n + 1)) (sprintf "%s: step of the writer's save %d" what n)
                let big = PTree.leaves loaded.Params
                Expect.equal (List.map fst big) [ "big" ] (what + ": parameter names")
                let values = floats (snd big.Head)
                Expect.equal values.Length CheckpointWriterProcess.numel (what + ": values saved")

                Expect.isTrue
                    (values |> Array.forall ((=) (float (n + 1))))
                    (sprintf "%s: every value is %d" what (n + 1))

            // The load removed a killed save's temp file: the folder holds the checkpoint alone.
            Expect.equal (Directory.GetFiles dir) [| path |] (what + ": the folder's files after the load"))

// ---------- bad input ----------

let ``a NaN loss raises ArithmeticException that says what to do`` () =
    let model = Layers.linear (2, 1)
    let tx = Optim.sgd 0.1
    let x = Tensor.ofArray ([| 1.0; nan; 0.5; 2.0 |], [ 2; 2 ])
    let data = Dataset.ofTensors x (Tensor.ofArray ([| 1.0; 2.0 |], [ 2; 1 ]))

    let e =
        Expects.throws<ArithmeticException>
            "Train.fit model Losses.mse tx { FitOptions.defaults with BatchSize = 2 } data (regressi..."
            (fun () ->
                Train.fit
                    model
                    Losses.mse
                    tx
                    { FitOptions.defaults with
                        BatchSize = 2
                    }
                    data
                    (regressionState tx)
                |> ignore)

    Expect.stringContains e.Message "NaN" "e.Message"
    Expect.stringContains e.Message "learning rate" "e.Message"
    Expect.stringContains e.Message "clipByGlobalNorm" "e.Message"

    // A learning rate far too large diverges to Inf/NaN within a few steps: same error, same advice.
    let e =
        Expects.throws<ArithmeticException>
            "Train.fit model Losses.mse (Optim.sgd 1e30) { FitOptions.defaults with Epochs = 50 Batc..."
            (fun () ->
                Train.fit
                    model
                    Losses.mse
                    (Optim.sgd 1e30)
                    { FitOptions.defaults with
                        Epochs = 50
                        BatchSize = 3
                    }
                    (Dataset.ofTensors regressionBatch.Input regressionBatch.Target)
                    (regressionState (Optim.sgd 1e30))
                |> ignore)

    Expect.stringContains e.Message "learning rate" "e.Message"

let ``a wrong input shape into fit raises the layer's clear error`` () =
    let model = Layers.flatten () >-> Layers.linear (784, 10)
    let tx = Optim.sgd 0.1
    let ts = Train.init model [ 784 ] tx (Key.create 1L)
    // Images of 27 x 27 pixels: flatten gives 729 features, not 784.
    let data =
        Dataset.ofTensors (Tensor.zeros [ 4; 27; 27 ]) (Tensor.ofArray ([| 0L; 1L; 2L; 3L |], [ 4 ]))

    let e =
        Expects.throwsAny<ArgumentException>
            "Train.fit model Losses.crossEntropy tx FitOptions.defaults data ts"
            (fun () -> Train.fit model Losses.crossEntropy tx FitOptions.defaults data ts |> ignore)

    Expect.stringContains e.Message "Linear(784->10)" "e.Message"
    Expect.stringContains e.Message "729" "e.Message"
    Expect.stringContains e.Message "expected 784" "e.Message"

let ``fit reads the loss at its log points and names the step range of a NaN loss`` () =
    let model = Layers.linear (2, 1)
    let tx = Optim.sgd 0.1
    // The NaN is in the second of two batches; the loss is read at the end of the epoch.
    let x = Tensor.ofArray ([| 1.0; 2.0; 0.5; 2.0; 1.0; nan; 0.5; 2.0 |], [ 4; 2 ])
    let data = Dataset.ofTensors x (Tensor.ofArray ([| 1.0; 2.0; 3.0; 4.0 |], [ 4; 1 ]))

    let e =
        Expects.throws<ArithmeticException>
            "Train.fit model Losses.mse tx { FitOptions.defaults with BatchSize = 2 Shuffle = false ..."
            (fun () ->
                Train.fit
                    model
                    Losses.mse
                    tx
                    { FitOptions.defaults with
                        BatchSize = 2
                        Shuffle = false
                    }
                    data
                    (regressionState tx)
                |> ignore)

    Expect.stringContains e.Message "between steps 0 and 1" "e.Message"
    Expect.stringContains e.Message "learning rate" "e.Message"

/// A progress display that records what fit shows it.
type private RecordingProgress(live: bool) =
    member val Epochs = Collections.Generic.List<int * int * int>()
    member val Reports = Collections.Generic.List<int * int>()
    member val Lines = Collections.Generic.List<string>()

    interface IFitProgress with
        member _.Live = live

        member this.RunEpoch(epoch, epochs, batches, body) =
            this.Epochs.Add((epoch, epochs, batches))
            body (fun done' _ -> this.Reports.Add((epoch, done')))

        member this.EpochEnded line = this.Lines.Add line

let ``fit shows each epoch through the supplied progress display, and nothing when quiet`` () =
    let tx = Optim.sgd 0.01
    let data = Dataset.ofTensors regressionBatch.Input regressionBatch.Target
    // The examples in batches of 2.
    let count = regressionBatch.Input.Shape[0]
    let batches = (count + 1) / 2
    let display = RecordingProgress(true)

    let options =
        { FitOptions.defaults with
            Epochs = 2
            BatchSize = 2
            Verbose = true
            Progress = Some(display :> IFitProgress)
        }

    Train.fit (Layers.linear (2, 1)) Losses.mse tx options data (regressionState tx)
    |> ignore

    Expect.equal (List.ofSeq display.Epochs) [ 1, 2, batches; 2, 2, batches ] "List.ofSeq display.Epochs"
    // A live display hears of the last batch of each epoch.
    Expect.contains display.Reports (1, batches) "display.Reports"
    Expect.contains display.Reports (2, batches) "display.Reports"
    Expect.equal display.Lines.Count 2 "display.Lines.Count"
    Expect.stringStarts display.Lines[0] "epoch 1/2 loss=" "display.Lines[0]"
    let quiet = RecordingProgress(true)

    Train.fit
        (Layers.linear (2, 1))
        Losses.mse
        tx
        { options with
            Verbose = false
            Progress = Some(quiet :> IFitProgress)
        }
        data
        (regressionState tx)
    |> ignore

    Expect.isEmpty quiet.Epochs "quiet.Epochs"
    Expect.isEmpty quiet.Lines "quiet.Lines"

/// The tests of this module.
let tests =
    testList
        "Training"
        [
            testCase
                "trainStep on a linear regression is one hand-computed SGD step, scaled by LrScale"
                ``trainStep on a linear regression is one hand-computed SGD step, scaled by LrScale``
            testCase
                "fit learns XOR with a 2-4-1 MLP and Adam; History logs loss, accuracy and their val_ versions"
                ``fit learns XOR with a 2-4-1 MLP and Adam; History logs loss, accuracy and their val_ versions``
            testCase
                "ReduceLROnPlateau multiplies LrScale by factor after patience epochs without improvement, not below minScale"
                ``ReduceLROnPlateau multiplies LrScale by factor after patience epochs without improvement, not below minScale``
            testCase
                "in fit, ReduceLROnPlateau lowers LrScale when the validation loss cannot improve"
                ``in fit, ReduceLROnPlateau lowers LrScale when the validation loss cannot improve``
            testCase
                "EarlyStopping stops after patience epochs without improvement and restores the best epoch's parameters"
                ``EarlyStopping stops after patience epochs without improvement and restores the best epoch's parameters``
            testCase "a user callback stops training after epoch 2" ``a user callback stops training after epoch 2``
            testCase
                "a run stopped after epoch 2 and resumed from its checkpoint ends with exactly the same weights as an uninterrupted run"
                ``a run stopped after epoch 2 and resumed from its checkpoint ends with exactly the same weights as an uninterrupted run``
            testCase
                "a process killed while writing a checkpoint never leaves a corrupt file where the last good one was"
                ``a process killed while writing a checkpoint never leaves a corrupt file where the last good one was``
            testCase
                "a NaN loss raises ArithmeticException that says what to do"
                ``a NaN loss raises ArithmeticException that says what to do``
            testCase
                "a wrong input shape into fit raises the layer's clear error"
                ``a wrong input shape into fit raises the layer's clear error``
            testCase
                "fit reads the loss at its log points and names the step range of a NaN loss"
                ``fit reads the loss at its log points and names the step range of a NaN loss``
            testCase
                "fit shows each epoch through the supplied progress display, and nothing when quiet"
                ``fit shows each epoch through the supplied progress display, and nothing when quiet``
        ]
