namespace FunctionalNets.Nn

open FunctionalNets

/// Rosenblatt's perceptron (1958): yhat = step(w . x + b) with step(z) = 1 for z > 0, else 0.
type Perceptron =
    {
        /// Weights, shape [nInputs].
        Weight: Tensor
        /// Bias, a scalar tensor.
        Bias: Tensor
    }

/// The perceptron and its learning rule. Training is not gradient descent (step has no useful derivative):
/// after each example, w <- w + lr (y - yhat) x and b <- b + lr (y - yhat), which moves the weights only on
/// mistakes. On linearly separable data it converges in finitely many updates (Novikoff); on XOR it never does.
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Perceptron =
    /// A perceptron with nInputs inputs, zero weights and zero bias (Rosenblatt's start), in dtype (default
    /// Defaults.DType).
    let createWith (dtype: DType) (nInputs: int) : Perceptron =
        if nInputs < 1 then
            invalidArg "nInputs" (sprintf "Perceptron.create: nInputs must be >= 1, got %d." nInputs)

        {
            Weight = Tensor.zeros ([ nInputs ], dtype)
            Bias = Tensor.zeros ([], dtype)
        }

    /// A perceptron with nInputs inputs and zero weights and bias.
    let create (nInputs: int) : Perceptron = createWith Defaults.DType nInputs

    let private checkInput (model: Perceptron) (x: Tensor) =
        let n = model.Weight.Numel

        if x.Rank < 1 || x.Rank > 2 || x.Shape[-1] <> n then
            invalidArg "input" (sprintf "Perceptron(%d inputs): input %O must be [%d] or [N; %d]." n x.Shape n n)

    // Inputs are data: Int or Float64 examples are read in the weights' dtype.
    let private asWeights (model: Perceptron) (x: Tensor) =
        if x.DType = model.Weight.DType then
            x
        else
            Tensor.cast (x, model.Weight.DType)

    /// The 0/1 outputs: [N] for inputs [N; nInputs], a scalar for one input [nInputs].
    let predict (model: Perceptron) (input: Tensor) : Tensor =
        checkInput model input
        Tensor.step (Tensor.matmul (asWeights model input, model.Weight) + model.Bias)

    /// One application of the learning rule to example x with target y (0 or 1): the new model and whether
    /// the old one got x wrong.
    let update (lr: float) (model: Perceptron) (x: Tensor) (y: float) : Perceptron * bool =
        let yhat = Tensor.toScalar (predict model x)
        let err = y - yhat

        if err = 0.0 then
            model, false
        else
            {
                Weight = model.Weight + x * (lr * err)
                Bias = model.Bias + lr * err
            },
            true

    let private checkData (model: Perceptron) (data: Batch) =
        checkInput model data.Input

        if data.Input.Rank <> 2 || data.Target.Numel <> data.Input.Shape[0] then
            invalidArg
                "data"
                (sprintf
                    "Perceptron: inputs %O need one 0/1 target each, got targets %O."
                    data.Input.Shape
                    data.Target.Shape)

        Tensor.toFloatArray data.Target
        |> Array.iteri (fun i y ->
            if y <> 0.0 && y <> 1.0 then
                invalidArg "data" (sprintf "Perceptron: target %d is %g; targets must be 0 or 1." i y))

    /// One pass over the examples in order (the rule is online: each update sees the previous one's weights):
    /// the new model and the number of mistakes made during the pass.
    let trainEpoch (lr: float) (data: Batch) (model: Perceptron) : Perceptron * int =
        checkData model data
        let targets = Tensor.toFloatArray data.Target
        let input = asWeights model data.Input.NoDiff

        targets
        |> Array.indexed
        |> Array.fold
            (fun (m, mistakes) (i, y) ->
                let m', wrong = update lr m (Tensor.select (input, 0, i)) y
                m', (if wrong then mistakes + 1 else mistakes))
            (model, 0)

    /// Epochs of the learning rule until one makes no mistake (converged) or maxEpochs have run: the model,
    /// whether it converged, and the number of epochs used (the clean epoch included).
    let train (lr: float) (maxEpochs: int) (data: Batch) (model: Perceptron) : Perceptron * bool * int =
        if maxEpochs < 0 then
            invalidArg "maxEpochs" (sprintf "Perceptron.train: maxEpochs must be >= 0, got %d." maxEpochs)

        let rec loop model epoch =
            if epoch = maxEpochs then
                model, false, epoch
            else
                match trainEpoch lr data model with
                | m, 0 -> m, true, epoch + 1
                | m, _ -> loop m (epoch + 1)

        loop model 0

    /// The fraction of examples the model classifies correctly.
    let accuracy (model: Perceptron) (data: Batch) : float =
        let yhat = Tensor.toFloatArray (predict model data.Input)
        let y = Tensor.toFloatArray data.Target

        float (Array.fold2 (fun n a b -> if a = b then n + 1 else n) 0 yhat y)
        / float y.Length
