namespace FunctionalNets.Nn

open System.Runtime.InteropServices
open FunctionalNets

/// How a loss reduces its per-element values (torch's <c>reduction</c>).
[<RequireQualifiedAccess>]
type Reduction =
    /// The mean (torch's default; the weighted mean for class weights).
    | Mean
    /// The sum.
    | Sum
    /// No reduction: the per-element losses (per example for cross-entropy and NLL).
    | None
    /// The sum divided by the batch size (dim 0): KL divergence's mathematically right mean (torch's 'batchmean').
    | BatchMean

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

    /// Reduces elementwise losses: mean, sum, none, or sum / batch size (batchmean, KL divergence only).
    let internal reduce (loss: string) (reduction: Reduction) (perElement: Tensor) : Tensor =
        match reduction with
        | Reduction.Mean -> Tensor.mean perElement
        | Reduction.Sum -> Tensor.sum perElement
        | Reduction.None -> perElement
        | Reduction.BatchMean when loss = "klDiv" ->
            let batch = if perElement.Rank = 0 then 1 else perElement.Shape[0]
            Tensor.sum perElement / float batch
        | Reduction.BatchMean ->
            invalidArg
                "reduction"
                (sprintf "Losses.%s: reduction BatchMean is only defined for klDiv; use Mean, Sum or None." loss)

    /// Squared errors (pred - target)^2 reduced (nn.MSELoss(reduction=...)).
    let internal mseBy (reduction: Reduction) (pred: Tensor) (target: Tensor) : Tensor =
        sameShape "mse" pred target
        let d = pred - like pred target
        reduce "mse" reduction (d * d)

    /// Absolute errors |pred - target| reduced (nn.L1Loss(reduction=...)).
    let internal maeBy (reduction: Reduction) (pred: Tensor) (target: Tensor) : Tensor =
        sameShape "mae" pred target
        reduce "mae" reduction (Tensor.abs (pred - like pred target))

    /// Mean squared error: mean((pred - target)^2) (nn.MSELoss).
    let mse (pred: Tensor) (target: Tensor) : Tensor = mseBy Reduction.Mean pred target

    /// Mean absolute error: mean(|pred - target|) (nn.L1Loss).
    let mae (pred: Tensor) (target: Tensor) : Tensor = maeBy Reduction.Mean pred target

    /// Huber loss (nn.HuberLoss): 0.5 d^2 where |d| &lt; delta, delta (|d| - 0.5 delta) elsewhere, d = pred - target.
    let internal huberBy (delta: float) (reduction: Reduction) (pred: Tensor) (target: Tensor) : Tensor =
        sameShape "huber" pred target
        let d = pred - like pred target
        let a = Tensor.abs d
        let inside = Tensor.lt (a.NoDiff, delta)
        reduce "huber" reduction (Tensor.where (inside, 0.5 * d * d, delta * (a - 0.5 * delta)))

    /// Smooth L1 loss (nn.SmoothL1Loss): 0.5 d^2 / beta where |d| &lt; beta, |d| - 0.5 beta elsewhere; beta = 0
    /// is the L1 loss. Equals huber(delta = beta) / beta.
    let internal smoothL1By (beta: float) (reduction: Reduction) (pred: Tensor) (target: Tensor) : Tensor =
        sameShape "smoothL1" pred target
        let d = pred - like pred target
        let a = Tensor.abs d

        if beta = 0.0 then
            reduce "smoothL1" reduction a
        else
            let inside = Tensor.lt (a.NoDiff, beta)
            reduce "smoothL1" reduction (Tensor.where (inside, 0.5 * d * d / beta, a - 0.5 * beta))

    /// Huber loss with delta = 1, mean reduction (nn.HuberLoss()).
    let huber (pred: Tensor) (target: Tensor) : Tensor = huberBy 1.0 Reduction.Mean pred target

    /// Smooth L1 loss with beta = 1, mean reduction (nn.SmoothL1Loss()).
    let smoothL1 (pred: Tensor) (target: Tensor) : Tensor =
        smoothL1By 1.0 Reduction.Mean pred target

    /// KL divergence (F.kl_div): input holds log-probabilities, target probabilities (log-probabilities when
    /// logTarget); the pointwise loss is target (log target - input), 0 where target = 0 (torch's xlogy), or
    /// exp(target) (target - input) for log targets. torch's mean is over every element; BatchMean divides the
    /// sum by the batch size, the KL divergence per example.
    let internal klDivBy (logTarget: bool) (reduction: Reduction) (input: Tensor) (target: Tensor) : Tensor =
        sameShape "klDiv" input target
        let y = like input target

        let pointwise =
            if logTarget then
                Tensor.exp y * (y - input)
            else
                let positive = Tensor.gt (y.NoDiff, 0.0)
                // log is only taken of positive targets (1 elsewhere), and y log y is 0 where y = 0.
                let ylogy =
                    Tensor.where (
                        positive,
                        y * Tensor.log (Tensor.where (positive, y, Tensor.onesLike y)),
                        Tensor.zerosLike y
                    )

                ylogy - y * input

        reduce "klDiv" reduction pointwise

    /// KL divergence of log-probabilities from probabilities, mean over every element (F.kl_div's default).
    let klDiv (input: Tensor) (target: Tensor) : Tensor =
        klDivBy false Reduction.Mean input target

    /// Another name for mae (PyTorch's nn.L1Loss).
    let l1 (pred: Tensor) (target: Tensor) : Tensor = mae pred target

    // torch's BCELoss: the value takes each log clamped to >= -100, and the derivative with respect to p is
    // (p - y) / max(p (1 - p), 1e-12) (the float 1e-12 of its backward kernel), finite at p = 0 and p = 1 where
    // the clamped log's derivative would vanish or blow up. Written as an op so the derivative is torch's exactly,
    // with rules made of Tensor ops (so they differentiate again).
    let private bceEpsilon = float 1e-12f

    let private clampedLog (p: Tensor) =
        let positive = Tensor.gt (p.NoDiff, 0.0)
        let safe = Tensor.where (positive, p, Tensor.onesLike p)
        Tensor.clamp (Tensor.where (positive, Tensor.log safe, Tensor.fullLike (p, -100.0)), min = -100.0)

    let private bceValue (p: Tensor) (y: Tensor) =
        -(y * clampedLog p + (1.0 - y) * clampedLog (1.0 - p))

    let private bcePartial (xs: Tensor[]) (i: int) =
        let p, y = xs[0], xs[1]

        if i = 0 then
            (p - y) / Tensor.clamp (p * (1.0 - p), min = bceEpsilon)
        else
            clampedLog (1.0 - p) - clampedLog p

    let private bceElementwise (p: Tensor) (y: Tensor) =
        TensorCore.apply
            {
                Name = "binaryCrossEntropy"
                Raw = fun r -> (bceValue (TConst r[0]) (TConst r[1])).Raw
                Jvp = fun xs _ i t -> bcePartial xs i * t
                Vjp = fun xs _ i g -> bcePartial xs i * g
            }
            [| p; y |]

    /// Binary cross-entropy of probabilities (nn.BCELoss(reduction=...)), torch's clamps and derivative.
    let internal bceBy (reduction: Reduction) (pred: Tensor) (target: Tensor) : Tensor =
        sameShape "bce" pred target
        reduce "bce" reduction (bceElementwise pred (like pred target))

    /// Binary cross-entropy of probabilities: -mean(y log p + (1 - y) log(1 - p)) with each log clamped to
    /// >= -100 as nn.BCELoss does, so p = 0 or 1 gives a finite loss, and torch's derivative
    /// (p - y) / max(p (1 - p), 1e-12) there. Use bceWithLogits on raw scores.
    let bce (pred: Tensor) (target: Tensor) : Tensor = bceBy Reduction.Mean pred target

    /// Binary cross-entropy of logits (nn.BCEWithLogitsLoss(pos_weight=..., reduction=...)):
    /// posWeight p_c (broadcast against the last dim, one per class) weighs the positive term:
    /// p y softplus(-x) + (1 - y) softplus(x), which is softplus(x) - x y when p = 1.
    let internal bceWithLogitsBy (posWeight: Tensor option) (reduction: Reduction) (logits: Tensor) (target: Tensor) =
        sameShape "bceWithLogits" logits target
        let y = like logits target

        let perElement =
            match posWeight with
            | Option.None -> Tensor.softplus logits - logits * y
            | Some w ->
                requireFloat "bceWithLogits" "posWeight" w

                if not (Shape.canBroadcastTo w.Shape logits.Shape) then
                    invalidArg
                        "posWeight"
                        (sprintf
                            "Losses.bceWithLogits: posWeight %O does not broadcast against the logits %O; give one weight per class (the last dim)."
                            w.Shape
                            logits.Shape)

                like logits w * y * Tensor.softplus (-logits)
                + (1.0 - y) * Tensor.softplus logits

        reduce "bceWithLogits" reduction perElement

    /// Binary cross-entropy of logits (nn.BCEWithLogitsLoss): mean(softplus(x) - x y), which equals
    /// max(x, 0) - x y + log(1 + e^-|x|) and is finite for any x; its derivative is sigmoid(x) - y everywhere
    /// (also at x = 0, where the max/abs form would give a one-sided one).
    let bceWithLogits (logits: Tensor) (target: Tensor) : Tensor =
        bceWithLogitsBy Option.None Reduction.Mean logits target

    /// torch's default ignore_index: labels equal to it contribute nothing (and no count to the mean).
    [<Literal>]
    let DefaultIgnoreIndex = -100

    // Class-index targets: labels [N] for scores [N; C], or [N; d1; ...] for [N; C; d1; ...] (classes in dim 1),
    // or a scalar label for unbatched scores [C]. Returns the scores and labels in batched form.
    let private checkIndexTargets (loss: string) (ignoreIndex: int) (scores: Tensor) (labels: Tensor) =
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
        // instead of a wrong gather. On a GPU that read would stall every step, so there the gather kernel
        // records an out-of-range label and raises it at the next read.
        for v in
            (if labels.Device = Device.Cpu then
                 Tensor.toFloatArray labels
             else
                 [||]) do
            if (v < 0.0 || v >= float classes) && v <> float ignoreIndex then
                raise (
                    System.ArgumentOutOfRangeException(
                        "target",
                        sprintf
                            "Losses.%s: label %g is out of range for %d classes (expected 0..%d, or ignoreIndex %d)."
                            loss
                            v
                            classes
                            (classes - 1)
                            ignoreIndex
                    )
                )

        scores, labels, classes

    let private checkClassWeight (loss: string) (classes: int) (weight: Tensor option) =
        match weight with
        | Some w when w.Rank <> 1 || w.Shape[0] <> classes || not w.DType.IsFloatingPoint ->
            invalidArg
                "weight"
                (sprintf
                    "Losses.%s: the class weight must be a floating-point vector of %d elements (one per class), got %O %O."
                    loss
                    classes
                    w.DType
                    w.Shape)
        | _ -> ()

    // torch's nll_loss and cross_entropy over class indices: l_i = -w[y_i] logp[i, y_i], 0 where y_i is
    // ignoreIndex; Mean divides the sum by the sum of the weights of the counted labels (their number without
    // weights). Label smoothing eps adds eps / C times the smoothing term -sum_c w_c logp[i, c] (0 where ignored),
    // reduced with the same denominator, as torch 1.13's cross_entropy does.
    let private nllOf
        (loss: string)
        (weight: Tensor option)
        (ignoreIndex: int)
        (smoothing: float)
        (reduction: Reduction)
        (logp: Tensor)
        (labels: Tensor)
        (classes: int)
        =
        checkClassWeight loss classes weight
        let weight = weight |> Option.map (like logp)
        let counted = Tensor.ne (labels, float ignoreIndex)
        let safeLabels = Tensor.where (counted, labels, Tensor.zerosLike labels)

        let picked =
            Tensor.squeeze (Tensor.gather (logp, 1, Tensor.unsqueeze (safeLabels, 1)), 1)

        let zero = Tensor.zerosLike picked.NoDiff

        let labelWeight =
            let ones = Tensor.cast (counted, logp.DType)

            match weight with
            | Option.None -> ones
            | Some w ->
                let flat =
                    Tensor.indexSelect (w, 0, Tensor.reshape (Tensor.cast (safeLabels, DType.Int64), [ -1 ]))

                Tensor.reshape (flat, safeLabels.Shape.ToArray()) * ones

        let nll = Tensor.where (counted, -picked * labelWeight, zero)

        let perExample =
            if smoothing = 0.0 then
                nll
            else
                let weighted =
                    match weight with
                    | Option.None -> logp
                    | Some w ->
                        let shape = Array.init logp.Rank (fun d -> if d = 1 then classes else 1)
                        logp * Tensor.reshape (w, shape)

                let smooth = Tensor.where (counted, -Tensor.sum(weighted, 1), zero)
                (1.0 - smoothing) * nll + (smoothing / float classes) * smooth

        match reduction with
        | Reduction.Mean -> Tensor.sum perExample / Tensor.sum labelWeight.NoDiff
        | Reduction.BatchMean -> reduce loss reduction perExample
        | r -> reduce loss r perExample

    /// nn.NLLLoss(weight, ignore_index, reduction) of log-probabilities [N; C] (or [N; C; d1; ...]) against
    /// class indices [N] ([N; d1; ...]).
    let internal nllBy
        (weight: Tensor option)
        (ignoreIndex: int)
        (reduction: Reduction)
        (logProbs: Tensor)
        (target: Tensor)
        =
        let logp, labels, classes = checkIndexTargets "nll" ignoreIndex logProbs target
        nllOf "nll" weight ignoreIndex 0.0 reduction logp labels classes

    /// Negative log-likelihood of log-probabilities (nn.NLLLoss): -mean over examples of input[label].
    /// input is [N; C] with labels [N] (Int32/Int64), or [N; C; d1; ...] with labels [N; d1; ...]. Labels equal to
    /// -100 (torch's ignore_index) are ignored.
    let nll (logProbs: Tensor) (target: Tensor) : Tensor =
        nllBy Option.None DefaultIgnoreIndex Reduction.Mean logProbs target

    // Probability targets: -sum_c w_c y_c log softmax(x)_c per example (classes in dim 1), y smoothed as
    // y (1 - eps) + eps / C; the mean is over examples (torch does not normalise by weights here).
    let private crossEntropyProbsBy
        (weight: Tensor option)
        (labelSmoothing: float)
        (reduction: Reduction)
        (logits: Tensor)
        (target: Tensor)
        =
        sameShape "crossEntropy" logits target

        if logits.Rank < 1 then
            invalidArg "input" (sprintf "Losses.crossEntropy: input %O must have a class dim." logits.Shape)

        let dim = if logits.Rank = 1 then 0 else 1
        let classes = logits.Shape[dim]
        checkClassWeight "crossEntropy" classes weight
        let y = like logits target

        let y =
            if labelSmoothing = 0.0 then
                y
            else
                y * (1.0 - labelSmoothing) + labelSmoothing / float classes

        let y =
            match weight with
            | Option.None -> y
            | Some w ->
                y
                * Tensor.reshape (like logits w, Array.init logits.Rank (fun d -> if d = dim then classes else 1))

        reduce "crossEntropy" reduction (-Tensor.sum(y * Tensor.logSoftmax (logits, dim), dim))

    /// Cross-entropy of logits with probability targets of the same shape (classes in dim 1): -mean over
    /// examples of sum_c y_c log softmax(x)_c (Criterion.crossEntropy takes label smoothing and class weights).
    let crossEntropyProbs (logits: Tensor) (target: Tensor) : Tensor =
        crossEntropyProbsBy Option.None 0.0 Reduction.Mean logits target

    /// nn.CrossEntropyLoss(weight, ignore_index, reduction, label_smoothing): integer targets are class indices,
    /// floating-point targets of the input's shape class probabilities (ignoreIndex does not apply to them).
    let internal crossEntropyBy
        (weight: Tensor option)
        (ignoreIndex: int)
        (labelSmoothing: float)
        (reduction: Reduction)
        (logits: Tensor)
        (target: Tensor)
        =
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
            crossEntropyProbsBy weight labelSmoothing reduction logits target
        else
            let logits, labels, classes =
                checkIndexTargets "crossEntropy" ignoreIndex logits target

            nllOf
                "crossEntropy"
                weight
                ignoreIndex
                labelSmoothing
                reduction
                (Tensor.logSoftmax (logits, 1))
                labels
                classes

    /// Cross-entropy of logits (nn.CrossEntropyLoss()). Integer targets are class indices ([N] for [N; C],
    /// [N; d1; ...] for [N; C; d1; ...]), the loss -mean over examples of log softmax(x)[label]; floating-point
    /// targets of the input's shape are class probabilities (see crossEntropyProbs), as in PyTorch. Labels equal
    /// to -100 (torch's ignore_index) are ignored. Criterion.crossEntropy takes torch's options (label smoothing,
    /// class weights, ignore_index, reduction).
    let crossEntropy (logits: Tensor) (target: Tensor) : Tensor =
        crossEntropyBy Option.None DefaultIgnoreIndex 0.0 Reduction.Mean logits target

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

/// The losses with torch's options as optional arguments, each returning a <c>Loss</c>:
/// <c>Criterion.crossEntropy(weight = w, ignoreIndex = 0, reduction = Reduction.Sum)</c> is
/// nn.CrossEntropyLoss(weight=w, ignore_index=0, reduction='sum'). Defaults are torch's; an omitted reduction
/// is Mean, an omitted weight none. The options are checked here, once, when the loss is built; each member's
/// PascalCase CompiledName is what C# calls. The Losses module holds the same losses with the defaults as plain
/// functions (Losses.mse, Losses.crossEntropy).
[<AbstractClass; Sealed>]
type Criterion =
    static member private Reduce(reduction: Reduction) =
        Check.given reduction |> Option.defaultValue Reduction.Mean

    /// nn.MSELoss(reduction).
    [<CompiledName("MSE")>]
    static member mse([<Optional>] reduction: Reduction) : Loss =
        Losses.mseBy (Criterion.Reduce reduction)

    /// nn.L1Loss(reduction).
    [<CompiledName("MAE")>]
    static member mae([<Optional>] reduction: Reduction) : Loss =
        Losses.maeBy (Criterion.Reduce reduction)

    /// nn.HuberLoss(reduction, delta = 1): 0.5 d^2 where |d| &lt; delta, delta (|d| - 0.5 delta) elsewhere.
    [<CompiledName("Huber")>]
    static member huber
        ([<Optional; DefaultParameterValue(1.0)>] delta: float, [<Optional>] reduction: Reduction)
        : Loss =
        Check.positive "Huber" "delta" delta
        Losses.huberBy delta (Criterion.Reduce reduction)

    /// nn.SmoothL1Loss(reduction, beta = 1): 0.5 d^2 / beta where |d| &lt; beta, |d| - 0.5 beta elsewhere; beta
    /// = 0 is the L1 loss.
    [<CompiledName("SmoothL1")>]
    static member smoothL1
        ([<Optional; DefaultParameterValue(1.0)>] beta: float, [<Optional>] reduction: Reduction)
        : Loss =
        if not (beta >= 0.0) || System.Double.IsInfinity beta then
            raise (
                System.ArgumentOutOfRangeException(
                    "beta",
                    beta,
                    sprintf "SmoothL1: beta must be a non-negative finite number, got %g." beta
                )
            )

        Losses.smoothL1By beta (Criterion.Reduce reduction)

    /// nn.KLDivLoss(reduction, log_target): input log-probabilities; use Reduction.BatchMean for the KL
    /// divergence per example (torch's mean is over every element).
    [<CompiledName("KLDiv")>]
    static member klDiv
        ([<Optional>] reduction: Reduction, [<Optional; DefaultParameterValue(false)>] logTarget: bool)
        : Loss =
        Losses.klDivBy logTarget (Criterion.Reduce reduction)

    /// nn.BCELoss(reduction).
    [<CompiledName("BCE")>]
    static member bce([<Optional>] reduction: Reduction) : Loss =
        Losses.bceBy (Criterion.Reduce reduction)

    /// nn.BCEWithLogitsLoss(pos_weight, reduction): posWeight broadcasts against the last dim.
    [<CompiledName("BCEWithLogits")>]
    static member bceWithLogits([<Optional>] posWeight: Tensor, [<Optional>] reduction: Reduction) : Loss =
        Losses.bceWithLogitsBy (Check.given posWeight) (Criterion.Reduce reduction)

    /// nn.NLLLoss(weight, ignore_index = -100, reduction).
    [<CompiledName("NLL")>]
    static member nll
        (
            [<Optional>] weight: Tensor,
            [<Optional; DefaultParameterValue(Losses.DefaultIgnoreIndex)>] ignoreIndex: int,
            [<Optional>] reduction: Reduction
        ) : Loss =
        Losses.nllBy (Check.given weight) ignoreIndex (Criterion.Reduce reduction)

    /// nn.CrossEntropyLoss(weight, ignore_index = -100, reduction, label_smoothing = 0): with label smoothing eps
    /// in [0, 1] the loss is (1 - eps) * nll + eps * mean over classes of -log softmax(x).
    [<CompiledName("CrossEntropy")>]
    static member crossEntropy
        (
            [<Optional>] weight: Tensor,
            [<Optional; DefaultParameterValue(Losses.DefaultIgnoreIndex)>] ignoreIndex: int,
            [<Optional; DefaultParameterValue(0.0)>] labelSmoothing: float,
            [<Optional>] reduction: Reduction
        ) : Loss =
        if not (labelSmoothing >= 0.0 && labelSmoothing <= 1.0) then
            raise (
                System.ArgumentOutOfRangeException(
                    "labelSmoothing",
                    labelSmoothing,
                    sprintf "CrossEntropy: labelSmoothing must be in [0, 1], got %g." labelSmoothing
                )
            )

        Losses.crossEntropyBy (Check.given weight) ignoreIndex labelSmoothing (Criterion.Reduce reduction)
