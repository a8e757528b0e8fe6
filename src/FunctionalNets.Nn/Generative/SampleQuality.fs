namespace FunctionalNets.Nn

open System
open System.IO
open FunctionalNets

/// How a classifier trained on real data sees a batch of generated samples.
type SampleQuality =
    {
        /// Number of samples scored.
        Count: int
        /// The confidence threshold used for ConfidentShare.
        Threshold: float
        /// Share of samples whose most likely class has probability above Threshold.
        ConfidentShare: float
        /// Entropy in bits of the distribution of predicted classes (argmax labels) over the samples: log2 10 =
        /// 3.32 for ten equally frequent digits, 0 when every sample gets the same label (mode collapse).
        ClassEntropyBits: float
        /// Samples per predicted class.
        ClassCounts: int[]
    }

/// The generated-digit check: a CNN trained on real MNIST labels the samples; sharp, varied digits are
/// classified confidently and spread over the classes, blurs are not, and a collapsed generator shows as low
/// class entropy. The classifier is trained independently of the generator being judged.
[<RequireQualifiedAccess>]
module SampleQuality =
    /// Entropy in bits of the distribution given by counts (zero counts contribute nothing).
    let entropyBits (counts: int[]) : float =
        let total = Array.sum counts

        if total <= 0 || counts |> Array.exists (fun c -> c < 0) then
            invalidArg
                "counts"
                (sprintf "SampleQuality.entropyBits: counts must be >= 0 with a positive total, got %A." counts)

        counts
        |> Array.sumBy (fun c ->
            if c = 0 then
                0.0
            else
                let p = float c / float total
                -p * Math.Log2 p)

    /// The quality of samples from their class probabilities [N; K] (rows summing to 1).
    let ofProbabilities (threshold: float) (probabilities: Tensor) : SampleQuality =
        if not (threshold >= 0.0 && threshold < 1.0) then
            invalidArg "threshold" (sprintf "SampleQuality: threshold must be in [0, 1), got %g." threshold)

        if
            probabilities.Rank <> 2
            || probabilities.Shape[0] = 0
            || probabilities.Shape[1] = 0
        then
            invalidArg
                "probabilities"
                (sprintf "SampleQuality: probabilities %O must be [N; K] with N, K >= 1." probabilities.Shape)

        let n, k = probabilities.Shape[0], probabilities.Shape[1]
        let p = Tensor.toFloatArray probabilities
        let counts = Array.zeroCreate k
        let mutable confident = 0

        for i in 0 .. n - 1 do
            let row = Array.sub p (i * k) k
            let best = Array.findIndex ((=) (Array.max row)) row
            counts[best] <- counts[best] + 1

            if row[best] > threshold then
                confident <- confident + 1

        {
            Count = n
            Threshold = threshold
            ConfidentShare = float confident / float n
            ClassEntropyBits = entropyBits counts
            ClassCounts = counts
        }

    /// The classifier: Models.mnistCnn (99.4% on MNIST after 6 epochs, about 98.3% after one).
    let classifierModel () : Layer = Models.mnistCnn ()

    /// Trains the classifier on MNIST (inputs normalised as Mnist.load gives them) with Adam under a one-cycle
    /// schedule peaking at 3e-3, batch 64, for the given epochs.
    let trainMnistClassifier (train: IDataset) (epochs: int) (key: Key) : TrainState =
        if epochs < 1 then
            invalidArg "epochs" (sprintf "SampleQuality.trainMnistClassifier: epochs must be >= 1, got %d." epochs)

        let model = classifierModel ()
        let steps = int64 epochs * int64 ((train.Count + 63) / 64)
        let tx = Optim.adam (Schedules.oneCycle 3e-3 (max 2L steps) 0.3 25.0 1e4)
        let initial = Train.init model [ 1; 28; 28 ] tx key

        let options =
            { FitOptions.defaults with
                Epochs = epochs
                BatchSize = 64
            }

        fst (Train.fit model Losses.crossEntropy tx options train initial)

    /// The classifier's weights from path when the file exists (Checkpoint.saveWeights format), else trained with
    /// trainMnistClassifier and written there for the next run.
    let mnistClassifier (path: string) (train: IDataset) (epochs: int) (key: Key) : TrainState =
        if File.Exists path then
            let template = Train.init (classifierModel ()) [ 1; 28; 28 ] Optim.identity key
            let ps, ss = Checkpoint.loadWeights path template.Params template.State

            { template with
                Params = ps
                State = ss
            }
        else
            let trained = trainMnistClassifier train epochs key

            Checkpoint.saveWeights
                path
                trained.Params
                trained.State
                (Map.ofList [ "epochs", string epochs; "purpose", "SampleQuality classifier" ])

            trained

    /// Scores images [N; 1; 28; 28] with pixels in [0, 1] (0 background, 1 ink, as MNIST before normalisation)
    /// with the classifier, in batches of 500, on the images' device.
    let scoreMnist (classifier: TrainState) (threshold: float) (images: Tensor) : SampleQuality =
        if
            images.Rank <> 4
            || images.Shape[1] <> 1
            || images.Shape[2] <> 28
            || images.Shape[3] <> 28
        then
            invalidArg
                "images"
                (sprintf
                    "SampleQuality.scoreMnist: images %O must be [N; 1; 28; 28] with pixels in [0, 1]."
                    images.Shape)

        let model = classifierModel ()
        let onDevice = Train.toDevice images.Device classifier
        let n = images.Shape[0]

        let probabilities =
            [ 0..500 .. n - 1 ]
            |> List.map (fun start ->
                Scope.run (fun () ->
                    let batch = Tensor.slice (images.NoDiff, 0, start, min n (start + 500))
                    let normalised = (batch - Mnist.Mean) / Mnist.Std

                    Tensor.toDevice (
                        Device.Cpu,
                        Tensor.softmax (Layer.predict model onDevice.Params onDevice.State normalised, 1)
                    )))

        ofProbabilities threshold (Tensor.cat (probabilities, 0))

    /// One line: "N samples: P% classified with confidence > T, class entropy H bits (counts c0 ... c9)".
    let describe (q: SampleQuality) : string =
        sprintf
            "%d samples: %.1f%% classified with confidence > %g, class entropy %.2f bits (per class %s)"
            q.Count
            (100.0 * q.ConfidentShare)
            q.Threshold
            q.ClassEntropyBits
            (q.ClassCounts |> Array.map string |> String.concat " ")
