namespace FunctionalNets.Nn

open FunctionalNets

/// Loss functions: prediction -> target -> scalar, each the mean over the batch as PyTorch's default
/// reduction='mean'. Shapes are checked strictly (no silent broadcasting of [N; 1] against [N]).
[<RequireQualifiedAccess>]
module Losses =
    // Targets are data: a target of another dtype (Int labels for bce, Float64 data for a Float32 model) is
    // converted to the prediction's dtype instead of failing deep inside an op.
    let private like (pred: Tensor) (target: Tensor) =
        if target.DType = pred.DType then
            target
        else
            Tensor.cast (target, pred.DType)

    let private requireFloat (loss: string) (what: string) (t: Tensor) =
        if not t.DType.IsFloatingPoint then
            invalidArg what (sprintf "Losses.%s: the %s must be floating-point, got %O %O." loss what t.DType t.Shape)

    let private sameShape (loss: string) (pred: Tensor) (target: Tensor) =
        requireFloat loss "prediction" pred

        if not (pred.Shape.Equals target.Shape) then
            invalidArg
                "target"
                (sprintf "Losses.%s: prediction %O and target %O must have the same shape." loss pred.Shape target.Shape)

    /// Mean squared error: mean((pred - target)^2) (nn.MSELoss).
    let mse (pred: Tensor) (target: Tensor) : Tensor =
        sameShape "mse" pred target
        let d = pred - like pred target
        Tensor.mean (d * d)

    /// Mean absolute error: mean(|pred - target|) (nn.L1Loss).
    let mae (pred: Tensor) (target: Tensor) : Tensor =
        sameShape "mae" pred target
        Tensor.mean (Tensor.abs (pred - like pred target))

    /// Another name for mae (PyTorch's nn.L1Loss).
    let l1 (pred: Tensor) (target: Tensor) : Tensor = mae pred target

    // log(p) clamped to >= -100 as PyTorch's BCELoss does, with a derivative that is 0 (not NaN) where p = 0:
    // the inner where keeps log away from 0, the outer one picks -100 there.
    let private clampedLog (p: Tensor) =
        let positive = Tensor.gt (p.NoDiff, 0.0)
        let safe = Tensor.where (positive, p, Tensor.onesLike p)
        Tensor.clamp (Tensor.where (positive, Tensor.log safe, Tensor.fullLike (p, -100.0)), min = -100.0)

    /// Binary cross-entropy of probabilities: -mean(y log p + (1 - y) log(1 - p)) with each log clamped to
    /// >= -100 as nn.BCELoss does, so p = 0 or 1 gives a finite loss. Use bceWithLogits on raw scores.
    let bce (pred: Tensor) (target: Tensor) : Tensor =
        sameShape "bce" pred target
        let y = like pred target
        -Tensor.mean(y * clampedLog pred + (1.0 - y) * clampedLog (1.0 - pred))

    /// Binary cross-entropy of logits (nn.BCEWithLogitsLoss): mean(softplus(x) - x y), which equals
    /// max(x, 0) - x y + log(1 + e^-|x|) and is finite for any x; its derivative is sigmoid(x) - y everywhere
    /// (also at x = 0, where the max/abs form would give a one-sided one).
    let bceWithLogits (logits: Tensor) (target: Tensor) : Tensor =
        sameShape "bceWithLogits" logits target
        Tensor.mean (Tensor.softplus logits - logits * like logits target)

    // Class-index targets: labels [N] for scores [N; C], or [N; d1; ...] for [N; C; d1; ...] (classes in dim 1),
    // or a scalar label for unbatched scores [C]. Returns the scores and labels in batched form.
    let private checkIndexTargets (loss: string) (scores: Tensor) (labels: Tensor) =
        requireFloat loss "input" scores

        if labels.DType <> DType.Int32 && labels.DType <> DType.Int64 then
            invalidArg
                "target"
                (sprintf
                    "Losses.%s: class-index targets must be Int32 or Int64, got %O %O (use a floating-point target shaped like the input for class probabilities)."
                    loss
                    labels.DType
                    labels.Shape)

        let scores, labels =
            if scores.Rank = 1 && labels.Rank = 0 then
                Tensor.unsqueeze (scores, 0), Tensor.unsqueeze (labels, 0)
            else
                scores, labels

        if scores.Rank < 2 then
            invalidArg "input" (sprintf "Losses.%s: input %O must be [N; C] or [N; C; d1; ...]." loss scores.Shape)

        let expected = Shape.removeDim 1 scores.Shape

        if not (labels.Shape.Equals expected) then
            invalidArg
                "target"
                (sprintf
                    "Losses.%s: input %O needs class-index targets of shape %O, got %O."
                    loss
                    scores.Shape
                    expected
                    labels.Shape)

        let classes = scores.Shape[1]

        // Reading the labels is one small copy per step; it turns an out-of-range label into a message
        // instead of a wrong gather.
        for v in Tensor.toFloatArray labels do
            if v < 0.0 || v >= float classes then
                raise (
                    System.ArgumentOutOfRangeException(
                        "target",
                        sprintf
                            "Losses.%s: label %g is out of range for %d classes (expected 0..%d)."
                            loss
                            v
                            classes
                            (classes - 1)
                    )
                )

        scores, labels, classes

    // -mean over the examples of logp[label], with optional label smoothing (PyTorch's formula).
    let private nllOf (logp: Tensor) (labels: Tensor) (classes: int) (smoothing: float) =
        let picked = Tensor.gather (logp, 1, Tensor.unsqueeze (labels, 1))
        let nll = -Tensor.mean picked

        if smoothing = 0.0 then
            nll
        else
            // eps * mean over classes of -logp: the cross-entropy against the uniform distribution.
            let uniform = -Tensor.mean(Tensor.sum (logp, 1)) / float classes
            (1.0 - smoothing) * nll + smoothing * uniform

    let private checkSmoothing (loss: string) (smoothing: float) =
        if not (smoothing >= 0.0 && smoothing <= 1.0) then
            raise (
                System.ArgumentOutOfRangeException(
                    "labelSmoothing",
                    smoothing,
                    sprintf "Losses.%s: label smoothing must be in [0, 1], got %g." loss smoothing
                )
            )

    /// Negative log-likelihood of log-probabilities (nn.NLLLoss): -mean over examples of input[label].
    /// input is [N; C] with labels [N] (Int32/Int64), or [N; C; d1; ...] with labels [N; d1; ...].
    let nll (logProbs: Tensor) (target: Tensor) : Tensor =
        let logp, labels, classes = checkIndexTargets "nll" logProbs target
        nllOf logp labels classes 0.0

    /// Cross-entropy of logits with probability targets of the same shape (classes in dim 1):
    /// -mean over examples of sum_c y_c log softmax(x)_c, label smoothing mixing y with the uniform
    /// distribution as y (1 - eps) + eps / C.
    let crossEntropyProbsWith (labelSmoothing: float) (logits: Tensor) (target: Tensor) : Tensor =
        checkSmoothing "crossEntropy" labelSmoothing
        sameShape "crossEntropy" logits target

        if logits.Rank < 1 then
            invalidArg "input" (sprintf "Losses.crossEntropy: input %O must have a class dim." logits.Shape)

        let dim = if logits.Rank = 1 then 0 else 1
        let classes = logits.Shape[dim]
        let y = like logits target

        let y =
            if labelSmoothing = 0.0 then
                y
            else
                y * (1.0 - labelSmoothing) + labelSmoothing / float classes

        -Tensor.mean(Tensor.sum (y * Tensor.logSoftmax (logits, dim), dim))

    /// Cross-entropy of logits with probability targets (crossEntropyProbsWith 0.0).
    let crossEntropyProbs (logits: Tensor) (target: Tensor) : Tensor = crossEntropyProbsWith 0.0 logits target

    /// Cross-entropy of logits (nn.CrossEntropyLoss) with label smoothing eps in [0, 1]. Integer targets are class
    /// indices ([N] for [N; C], [N; d1; ...] for [N; C; d1; ...]); the loss is
    /// (1 - eps) * nll + eps * mean over classes of -log softmax(x), averaged over examples. Floating-point
    /// targets of the input's shape are class probabilities (see crossEntropyProbsWith), as in PyTorch.
    let crossEntropyWith (labelSmoothing: float) (logits: Tensor) (target: Tensor) : Tensor =
        checkSmoothing "crossEntropy" labelSmoothing

        if target.DType.IsFloatingPoint && logits.Rank >= 2 && logits.Shape[1] = 1 then
            // Softmax over one column is 1 whatever the logits: the loss would be 0 and nothing would learn.
            invalidArg
                "input"
                (sprintf
                    "Losses.crossEntropy: the logits %O have a single class column, so their softmax is always 1 and the loss 0 whatever the targets. For two classes, use Losses.bceWithLogits with one output column and 0/1 targets, or give the last layer 2 outputs and integer class indices."
                    logits.Shape)

        if target.DType.IsFloatingPoint && target.Rank = logits.Rank - 1 then
            invalidArg
                "target"
                (sprintf
                    "Losses.crossEntropy: the targets %O are %O, but class labels must be integer class indices (Int64 or Int32); cast them (Tensor.cast (t, DType.Int64)), or give class probabilities of the logits' shape %O."
                    target.Shape
                    target.DType
                    logits.Shape)

        if target.DType.IsFloatingPoint then
            crossEntropyProbsWith labelSmoothing logits target
        else
            let logits, labels, classes = checkIndexTargets "crossEntropy" logits target
            nllOf (Tensor.logSoftmax (logits, 1)) labels classes labelSmoothing

    /// Cross-entropy of logits without label smoothing (crossEntropyWith 0.0).
    let crossEntropy (logits: Tensor) (target: Tensor) : Tensor = crossEntropyWith 0.0 logits target

    /// coefficient * sum over every parameter of |w| (an L1 penalty to add to a loss).
    let l1Penalty (coefficient: float) (parameters: Params) : Tensor =
        match PTree.values parameters with
        | [] -> Tensor.scalar 0.0
        | ws ->
            coefficient
            * (ws |> List.map (fun w -> Tensor.sum (Tensor.abs w)) |> List.reduce (+))

    /// coefficient * sum over every parameter of w^2 (an L2 penalty to add to a loss).
    let l2Penalty (coefficient: float) (parameters: Params) : Tensor =
        match PTree.values parameters with
        | [] -> Tensor.scalar 0.0
        | ws -> coefficient * (ws |> List.map (fun w -> Tensor.sum (w * w)) |> List.reduce (+))
