namespace FunctionalNets.Nn

open FunctionalNets

/// A metric accumulated over batches: Update turns one batch's (predictions, targets) into counts that are
/// summed across batches; Compute turns the sums into the value. Summing counts (not averaging per-batch
/// values) makes the epoch value exact whatever the batch sizes.
type Metric =
    {
        Name: string
        Update: Tensor -> Tensor -> float[]
        Compute: float[] -> float
        /// Optionally, the same counts computed on the tensors' device (a Float64 vector, no host read), plus a
        /// last entry counting invalid targets; Train.fit sums these on the device and reads them at its log
        /// points, raising CheckCounts' error there. None: fit runs Update at its log points.
        OnDevice: (Tensor -> Tensor -> Tensor) option
    }

/// Classification metrics. Predictions are scores [N; C] (logits or probabilities); targets are class
/// indices [N] (Int32/Int64) or one-hot/probability rows [N; C].
[<RequireQualifiedAccess>]
module Metrics =
    let private classIndices (op: string) (predictions: Tensor) (targets: Tensor) : int64[] * int =
        if predictions.Rank <> 2 then
            invalidArg "predictions" (sprintf "%s: predictions must be [N; C] scores, got %O." op predictions.Shape)

        let n, c = predictions.Shape[0], predictions.Shape[1]

        // With one column argmax is always 0, so every row would count as right: refuse instead.
        if c = 1 then
            invalidArg
                "predictions"
                (sprintf
                    "%s: predictions %O have a single column (a binary classifier); use Metrics.accuracy or Metrics.binaryAccuracy threshold, or output 2 classes."
                    op
                    predictions.Shape)

        let labels =
            if targets.DType.IsFloatingPoint && targets.Rank = 2 then
                Tensor.toArray (Tensor.argmax (targets, 1)) :?> int64[]
            else
                match Tensor.toArray (Tensor.cast (targets, DType.Int64)) with
                | :? (int64[]) as a -> a
                | _ -> invalidOp "unreachable"

        if labels.Length <> n then
            invalidArg
                "targets"
                (sprintf
                    "%s: %d targets for %d predictions (shapes %O and %O)."
                    op
                    labels.Length
                    n
                    targets.Shape
                    predictions.Shape)

        for l in labels do
            if l < 0L || l >= int64 c then
                invalidArg "targets" (sprintf "%s: label %d is out of range for %d classes." op l c)

        labels, c

    /// Counts [C*C] of (target, predicted) pairs, row = target, column = predicted.
    let internal confusionCounts (op: string) (predictions: Tensor) (targets: Tensor) =
        let labels, c = classIndices op predictions targets
        let predicted = Tensor.toArray (Tensor.argmax (predictions, 1)) :?> int64[]
        let counts = Array.zeroCreate<float>(c * c)

        for i in 0 .. labels.Length - 1 do
            let k = int labels[i] * c + int predicted[i]
            counts[k] <- counts[k] + 1.0

        counts

    let private binaryCounts (op: string) (threshold: float) (p: Tensor) (t: Tensor) =
        if p.Numel <> t.Numel || p.Rank < 1 || p.Shape[0] <> t.Shape[0] then
            invalidArg
                "targets"
                (sprintf "%s: binary predictions %O and targets %O must hold one value per example." op p.Shape t.Shape)

        let predicted = Tensor.toFloatArray p
        let labels = Tensor.toFloatArray t
        let mutable correct = 0

        for i in 0 .. labels.Length - 1 do
            if labels[i] <> 0.0 && labels[i] <> 1.0 then
                invalidArg "targets" (sprintf "%s: target %g is not 0 or 1." op labels[i])

            if (predicted[i] > threshold) = (labels[i] = 1.0) then
                correct <- correct + 1

        [| float correct; float labels.Length |]

    /// [correct; rows; invalid] as a Float64 vector on the predictions' device, with no host read: the argmax
    /// of [N; C] scores against class-index targets [N] (or one-hot/probability rows [N; C]); invalid counts the
    /// targets outside [0, C), which checkDeviceCounts reports when the sums are read.
    let private classCountsOnDevice (op: string) (p: Tensor) (t: Tensor) =
        let n, c = p.Shape[0], p.Shape[1]

        let labels =
            if t.DType.IsFloatingPoint && t.Rank = 2 then
                Tensor.argmax (t, 1)
            else
                Tensor.cast (t, DType.Int64)

        if labels.Numel <> n then
            invalidArg
                "targets"
                (sprintf "%s: %d targets for %d predictions (shapes %O and %O)." op labels.Numel n t.Shape p.Shape)

        let labels = Tensor.reshape (labels, [ n ])

        let count (b: Tensor) =
            Tensor.sum (Tensor.cast (b, DType.Float64))

        let correct = count (Tensor.eq (labels, Tensor.argmax (p, 1)))

        let invalid =
            count (Tensor.logicalOr (Tensor.lt (labels, 0.0), Tensor.ge (labels, float c)))

        Tensor.stack [ correct; Tensor.scalar (float n, DType.Float64, p.Device); invalid ]

    /// Binary accuracy of one score per example ([N] or [N; 1]) against 0/1 targets: a score above
    /// threshold predicts 1 (0.5 for probabilities from a sigmoid, 0.0 for logits).
    let binaryAccuracy (threshold: float) : Metric =
        {
            Name = "binary_accuracy"
            Update = binaryCounts "binaryAccuracy" threshold
            Compute = fun s -> if s[1] = 0.0 then 0.0 else s[0] / s[1]
            OnDevice = None
        }

    /// Fraction of rows whose highest score is the target class. Binary outputs ([N] or [N; 1]
    /// probabilities) count as right when (score > 0.5) matches the 0/1 target, as Keras's "accuracy" does.
    let accuracy: Metric =
        {
            Name = "accuracy"
            Update =
                fun p t ->
                    if p.Rank = 1 || (p.Rank = 2 && p.Shape[1] = 1) then
                        binaryCounts "accuracy" 0.5 p t
                    else
                        let labels, _ = classIndices "accuracy" p t
                        let predicted = Tensor.toArray (Tensor.argmax (p, 1)) :?> int64[]
                        let mutable correct = 0

                        for i in 0 .. labels.Length - 1 do
                            if labels[i] = predicted[i] then
                                correct <- correct + 1

                        [| float correct; float labels.Length |]
            Compute = fun s -> if s[1] = 0.0 then 0.0 else s[0] / s[1]
            OnDevice =
                Some(fun p t ->
                    if p.Rank = 2 && p.Shape[1] > 1 then
                        classCountsOnDevice "accuracy" p t
                    else
                        // Binary outputs: the host counts, as a vector with no invalid entry.
                        let u = binaryCounts "accuracy" 0.5 p t
                        Tensor.create ([ u[0]; u[1]; 0.0 ], DType.Float64, p.Device))
        }

    /// Fraction of rows whose target is among the k highest scores.
    let topKAccuracy (k: int) : Metric =
        if k < 1 then
            invalidArg "k" (sprintf "Metrics.topKAccuracy: k must be >= 1, got %d." k)

        {
            Name = sprintf "top%d_accuracy" k
            Update =
                fun p t ->
                    let labels, c = classIndices "topKAccuracy" p t
                    let scores = Tensor.toFloatArray p
                    let mutable hits = 0

                    for i in 0 .. labels.Length - 1 do
                        let target = scores[i * c + int labels[i]]
                        // The target is in the top k when fewer than k classes score strictly higher.
                        let mutable higher = 0

                        for j in 0 .. c - 1 do
                            if scores[i * c + j] > target then
                                higher <- higher + 1

                        if higher < k then
                            hits <- hits + 1

                    [| float hits; float labels.Length |]
            Compute = fun s -> if s[1] = 0.0 then 0.0 else s[0] / s[1]
            OnDevice = None
        }

    let internal perClass (counts: float[]) =
        let c = int (sqrt (float counts.Length))

        [|
            for k in 0 .. c - 1 ->
                let tp = counts[k * c + k]
                let actual = Array.sum counts[k * c .. k * c + c - 1]
                let predicted = Seq.sum (seq { for r in 0 .. c - 1 -> counts[r * c + k] })
                let precision = if predicted = 0.0 then 0.0 else tp / predicted
                let recall = if actual = 0.0 then 0.0 else tp / actual

                let f1 =
                    if precision + recall = 0.0 then
                        0.0
                    else
                        2.0 * precision * recall / (precision + recall)

                precision, recall, f1
        |]

    // Averaged over the classes that occur in the targets or the predictions (scikit-learn's labels=None,
    // torchmetrics' macro): a class absent from both says nothing and must not pull the mean to 0.
    let private macro (name: string) (pick: float * float * float -> float) : Metric =
        {
            Name = name
            Update = confusionCounts name
            Compute =
                fun counts ->
                    let c = int (sqrt (float counts.Length))

                    let present k =
                        Array.sum counts[k * c .. k * c + c - 1] > 0.0
                        || Seq.sum (seq { for r in 0 .. c - 1 -> counts[r * c + k] }) > 0.0

                    let scores =
                        perClass counts
                        |> Array.indexed
                        |> Array.filter (fst >> present)
                        |> Array.map (snd >> pick)

                    if scores.Length = 0 then 0.0 else Array.average scores
            OnDevice = None
        }

    /// Unweighted mean, over the classes present in the targets or the predictions, of TP / (TP + FP)
    /// (0 for a class never predicted, as scikit-learn's zero_division=0).
    let macroPrecision: Metric = macro "precision" (fun (p, _, _) -> p)
    /// Unweighted mean over classes of TP / (TP + FN).
    let macroRecall: Metric = macro "recall" (fun (_, r, _) -> r)
    /// Unweighted mean over classes of the F1 score.
    let macroF1: Metric = macro "f1" (fun (_, _, f) -> f)

    // ---- regression ----

    // Predictions and targets as columns: [N] or [N; K] (K outputs), targets of the same element count per row.
    let private regressionColumns (op: string) (predictions: Tensor) (targets: Tensor) =
        if not predictions.DType.IsFloatingPoint then
            invalidArg
                "predictions"
                (sprintf "%s: predictions must be floating-point, got %O %O." op predictions.DType predictions.Shape)

        let n = if predictions.Rank = 0 then 1 else predictions.Shape[0]

        if predictions.Numel <> targets.Numel || targets.Rank = 0 || targets.Shape[0] <> n then
            invalidArg
                "targets"
                (sprintf
                    "%s: predictions %O and targets %O must hold the same values per example ([N] or [N; K])."
                    op
                    predictions.Shape
                    targets.Shape)

        let k = if n = 0 then 1 else predictions.Numel / n
        Tensor.toFloatArray predictions, Tensor.toFloatArray targets, n, k

    /// Mean absolute error over every element ("mae").
    let mae: Metric =
        {
            Name = "mae"
            Update =
                fun p t ->
                    let p, t, _, _ = regressionColumns "Metrics.mae" p t
                    [| Array.fold2 (fun acc a b -> acc + abs (a - b)) 0.0 p t; float p.Length |]
            Compute = fun s -> if s[1] = 0.0 then 0.0 else s[0] / s[1]
            OnDevice = None
        }

    /// Root mean squared error over every element ("rmse"): the square root of the epoch's mean squared error.
    let rmse: Metric =
        {
            Name = "rmse"
            Update =
                fun p t ->
                    let p, t, _, _ = regressionColumns "Metrics.rmse" p t

                    [|
                        Array.fold2 (fun acc a b -> acc + (a - b) * (a - b)) 0.0 p t
                        float p.Length
                    |]
            Compute = fun s -> if s[1] = 0.0 then 0.0 else sqrt (s[0] / s[1])
            OnDevice = None
        }

    /// The coefficient of determination R² = 1 - SS_res / SS_tot ("r2"), per output column and averaged over
    /// the columns (scikit-learn's r2_score, multioutput='uniform_average'). A constant target column scores 1
    /// when predicted exactly and 0 otherwise (scikit-learn's force_finite). The counts are, per column, the sums
    /// of y, y² and (y - p)², and the row count last, so batches add up exactly.
    let r2: Metric =
        {
            Name = "r2"
            Update =
                fun p t ->
                    let p, t, n, k = regressionColumns "Metrics.r2" p t
                    let sums = Array.zeroCreate (3 * k + 1)

                    for i in 0 .. n - 1 do
                        for j in 0 .. k - 1 do
                            let y, d = t[i * k + j], t[i * k + j] - p[i * k + j]
                            sums[3 * j] <- sums[3 * j] + y
                            sums[3 * j + 1] <- sums[3 * j + 1] + y * y
                            sums[3 * j + 2] <- sums[3 * j + 2] + d * d

                    sums[3 * k] <- float n
                    sums
            Compute =
                fun s ->
                    let k = (s.Length - 1) / 3
                    let n = s[s.Length - 1]

                    if n = 0.0 then
                        0.0
                    else
                        Array.init k (fun j ->
                            let total = max 0.0 (s[3 * j + 1] - s[3 * j] * s[3 * j] / n)
                            let residual = s[3 * j + 2]

                            if total > 0.0 then 1.0 - residual / total
                            elif residual = 0.0 then 1.0
                            else 0.0)
                        |> Array.average
            OnDevice = None
        }

    /// The confusion matrix: entry [target, predicted] counts the rows with that pair.
    let confusionMatrix (predictions: Tensor) (targets: Tensor) : int[,] =
        let counts = confusionCounts "confusionMatrix" predictions targets
        let c = int (sqrt (float counts.Length))
        Array2D.init c c (fun r k -> int counts[r * c + k])

    /// Device counts read back: raises when targets were invalid, else the counts Compute takes.
    let checkDeviceCounts (metric: Metric) (counts: float[]) =
        let invalid = counts[counts.Length - 1]

        if invalid > 0.0 then
            invalidArg
                "targets"
                (sprintf
                    "%s: %g targets are out of range for the number of classes (class indices must be in [0, C))."
                    metric.Name
                    invalid)

        counts[.. counts.Length - 2]

    /// Runs Update on one batch and adds into running sums (created on first use).
    let accumulate (metric: Metric) (sums: float[] option) (predictions: Tensor) (targets: Tensor) =
        let u = metric.Update predictions targets

        match sums with
        | None -> u
        | Some s ->
            if s.Length <> u.Length then
                invalidOp (
                    sprintf
                        "metric %s: batch counts changed length (%d vs %d); do the batches have the same number of classes?"
                        metric.Name
                        s.Length
                        u.Length
                )

            Array.map2 (+) s u
