namespace FunctionalNets.Nn

open FunctionalNets
/// Trainable parameters of a model: a tree of tensors whose paths match PyTorch's state_dict names.
type Params = PTree<Tensor>

/// Non-trainable model state (BatchNorm running statistics, counters).
type State = PTree<Tensor>

/// Whether a layer runs for training (dropout active, batch statistics) or evaluation.
[<RequireQualifiedAccess>]
type Mode =
    | Train
    | Eval

/// What a layer's Apply receives besides its parameters and input: the mode and, in Train mode, a key
/// for randomness (dropout). Layers that need randomness split it further.
type Ctx = { Mode: Mode; Key: Key option }

/// A layer is a pair of pure functions. Init infers the output shape from the input shape (per example,
/// without the batch dim) and creates parameters and state from a key; Apply maps a batch.
type Layer =
    {
        Name: string
        Init: Key -> Shape -> Shape * Params * State
        Apply: Params -> State -> Ctx -> Tensor -> Tensor * State
        /// The children a sequential container runs one after another, by name (each child's parameters and
        /// state live under its name); empty for every other layer. Summaries list them.
        Sequence: (string * Layer) list
        /// True for a chain built by `>->` (Layer.chain): composing it with another layer splices its children
        /// into one flat sequential instead of nesting it. A Layer.sequential is not a chain and stays one child.
        IsChain: bool
    }

/// A loss: prediction -> target -> scalar tensor.
type Loss = Tensor -> Tensor -> Tensor

/// A learning-rate (or any hyper-parameter) schedule: a pure function of the step.
type Schedule = int64 -> float

/// A gradient transformation in Optax's shape: Init builds the optimizer state from the parameters;
/// Update maps (step, gradients, state, parameters) to (updates, new state). Updates are added to parameters.
/// step is the number of updates made before this one, passed in from the host-side TrainState, so that no
/// update reads a value back from the device.
type GradTx =
    {
        Init: Params -> PTree<Tensor>
        Update: int64 -> Params -> PTree<Tensor> -> Params -> Params * PTree<Tensor>
    }

/// Everything a training run carries from step to step. Trees are immutable, so keeping an old one
/// (early stopping's best weights) is free.
type TrainState =
    {
        Params: Params
        State: State
        Opt: PTree<Tensor>
        Step: int64
        Key: Key
        /// Multiplies the optimizer's updates; ReduceLROnPlateau lowers it.
        LrScale: float
    }

/// Scalar values logged by a step or an epoch ("loss", "accuracy", "val_loss", ...).
type Logs = Map<string, float>
