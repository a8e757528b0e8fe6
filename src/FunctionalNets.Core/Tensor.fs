namespace FunctionalNets

open System
open System.Runtime.CompilerServices
open System.Runtime.InteropServices
open System.Threading

/// An immutable tensor: a constant, a forward-mode dual number (primal, tangent, tag) or a reverse-mode
/// node (primal, node in the graph, tag). Tags nest: every grad/jvp call takes a fresh, higher tag, the
/// highest tag among an op's operands is the active one, and the other operands are constants at that
/// level. That is what keeps nested derivatives free of perturbation confusion.
[<CustomEquality; NoComparison>]
type Tensor =
    /// A value with no derivative attached.
    | TConst of RawTensor
    /// A forward-mode dual: primal, tangent and the tag of the jvp call that made it.
    | TForward of primal: Tensor * tangent: Tensor * tag: uint32
    /// A reverse-mode node: primal, its place in the graph and the tag of the grad call that made it.
    | TReverse of primal: Tensor * node: RevNode * tag: uint32

    /// The innermost raw value, stripped of every derivative level.
    member t.Raw: RawTensor =
        match t with
        | TConst r -> r
        | TForward(p, _, _)
        | TReverse(p, _, _) -> p.Raw

    /// The dimensions.
    member t.Shape = t.Raw.Shape
    /// The element type.
    member t.DType = t.Raw.DType
    /// The device holding the storage.
    member t.Device = t.Raw.Device
    /// Number of dimensions.
    member t.Rank = t.Raw.Shape.Rank
    /// Number of elements.
    member t.Numel = t.Raw.Shape.Numel

    /// The nesting tag of the outermost derivative level (0 for a constant).
    member t.NestingTag =
        match t with
        | TConst _ -> 0u
        | TForward(_, _, tag)
        | TReverse(_, _, tag) -> tag

    /// The value one derivative level down (a constant is its own primal).
    member t.Primal =
        match t with
        | TConst _ -> t
        | TForward(p, _, _)
        | TReverse(p, _, _) -> p

    /// The value with every derivative level removed.
    member t.NoDiff = TConst t.Raw

    /// True when a derivative level is attached.
    member t.IsDifferentiable =
        match t with
        | TConst _ -> false
        | _ -> true

    override t.Equals(o) = Object.ReferenceEquals(t, o)
    override t.GetHashCode() = RuntimeHelpers.GetHashCode t
    override t.ToString() = TensorFormat.format t.Raw

/// A node of the reverse-mode graph: the operands active at its tag and the rule that turns the
/// output's adjoint into theirs.
and RevNode =
    {
        Id: int64
        Name: string
        Inputs: Tensor[]
        Backward: Tensor -> Tensor[]
    }

/// How one differentiable op computes its value and its derivatives. Jvp and Vjp are written with
/// Tensor ops, so derivatives are themselves differentiable. They receive the operands' primals and
/// the output's primal.
type OpDef =
    {
        Name: string
        /// The value from raw operands.
        Raw: RawTensor[] -> RawTensor
        /// Tangent of the output from the tangent of operand i.
        Jvp: Tensor[] -> Tensor -> int -> Tensor -> Tensor
        /// Adjoint of operand i from the adjoint of the output (same shape as operand i).
        Vjp: Tensor[] -> Tensor -> int -> Tensor -> Tensor
    }

/// What the rules of an op with residuals receive at one derivative level.
type OpContext =
    {
        /// The operands' primals at this level.
        Primals: Tensor[]
        /// The output's primal.
        Output: Tensor
        /// The values the raw forward saved beside its output. They are constants at every level: a rule uses them
        /// where it needs no derivative through them (max-pool indices, which are piecewise constant; LayerNorm's
        /// mean and rstd when the operands and the adjoint are constants) and recomputes them with Tensor ops where
        /// it does.
        Residuals: Tensor[]
        /// Whether operand i is active at this level (its tangent is given, or its adjoint asked for).
        Active: bool[]
    }

/// An op whose raw forward returns saved values (residuals) with its output, and whose rules see all operands at
/// once: one adjoint rule returns the adjoints of every active operand (as tinygrad's Function.backward), so work
/// shared between operands (a fused backward kernel) is done once, with no cache keyed on the adjoint.
type ResidualOpDef =
    {
        Name: string
        /// The value and the residuals from raw operands.
        Forward: RawTensor[] -> RawTensor * RawTensor[]
        /// The output's tangent from the operands' tangents (None for operands inactive at this level).
        Jvp: OpContext -> Tensor option[] -> Tensor
        /// From the output's adjoint, the adjoint of each operand (same shape), at least of the active ones; the
        /// entries of inactive operands are ignored (they may be null).
        Vjp: OpContext -> Tensor -> Tensor[]
    }

/// Tags for derivative levels.
module Tags =
    let mutable private last = 0

    /// A fresh tag, higher than every tag handed out before.
    let next () = uint32 (Interlocked.Increment(&last))

/// The lifting of an op over derivative levels and the arithmetic every derivative rule needs. (F#
/// operators must be members of the type itself, so this family lives with the type.)
module TensorCore =
    let mutable private lastNode = 0L

    let private rawOf (t: Tensor) =
        match t with
        | TConst r -> r
        | _ -> invalidOp "internal: an operand still carries a derivative level at the raw level."

    let private scalarOf (like: Tensor) (v: float) =
        TConst(like.Raw.Backend.Full(Shape.Scalar, like.DType, v))

    let private checkVjpShape (opName: string) (i: int) (x: Tensor) (g: Tensor) =
        if isNull (box g) then
            invalidOp (sprintf "internal: the adjoint rule of %s gave no adjoint for active operand %d." opName i)

        if not (g.Shape.Equals x.Shape) then
            invalidOp (
                sprintf
                    "internal: the adjoint rule of %s gave shape %O for operand %d of shape %O."
                    opName
                    g.Shape
                    i
                    x.Shape
            )

        g

    /// Applies an op to operands at any mix of derivative levels.
    let rec apply (op: OpDef) (xs: Tensor[]) : Tensor =
        let mutable tag = 0u

        for x in xs do
            if x.NestingTag > tag then
                tag <- x.NestingTag

        if tag = 0u then
            let raws = Array.map rawOf xs

            try
                TConst(op.Raw raws)
            with :? NotImplementedException as e when raws.Length > 0 ->
                raise (RawTensor.MissingPrimitive(raws[0].Backend, op.Name, e))
        else
            let primals = xs |> Array.map (fun x -> if x.NestingTag = tag then x.Primal else x)
            let y = apply op primals
            let first = xs |> Array.find (fun x -> x.NestingTag = tag)

            match first with
            | TForward _ ->
                let mutable tangent = Unchecked.defaultof<Tensor>

                for i in 0 .. xs.Length - 1 do
                    match xs[i] with
                    | TForward(_, dx, tg) when tg = tag ->
                        let ti = op.Jvp primals y i dx
                        tangent <- if isNull (box tangent) then ti else add tangent ti
                    | _ -> ()

                TForward(y, tangent, tag)
            | TReverse _ ->
                let active =
                    [|
                        for i in 0 .. xs.Length - 1 do
                            if xs[i].NestingTag = tag then
                                i
                    |]

                let node =
                    {
                        Id = Interlocked.Increment(&lastNode)
                        Name = op.Name
                        Inputs = active |> Array.map (fun i -> xs[i])
                        Backward =
                            fun g ->
                                active
                                |> Array.map (fun i -> checkVjpShape op.Name i primals[i] (op.Vjp primals y i g))
                    }

                TReverse(y, node, tag)
            | TConst _ -> invalidOp "unreachable"

    /// Applies an op with residuals to operands at any mix of derivative levels: returns the output and the
    /// residuals (constants) of its raw forward.
    and applyResidual (op: ResidualOpDef) (xs: Tensor[]) : Tensor * Tensor[] =
        let mutable tag = 0u

        for x in xs do
            if x.NestingTag > tag then
                tag <- x.NestingTag

        if tag = 0u then
            let raws = Array.map rawOf xs

            let y, res =
                try
                    op.Forward raws
                with :? NotImplementedException as e when raws.Length > 0 ->
                    raise (RawTensor.MissingPrimitive(raws[0].Backend, op.Name, e))

            TConst y, Array.map TConst res
        else
            let primals = xs |> Array.map (fun x -> if x.NestingTag = tag then x.Primal else x)
            let y, res = applyResidual op primals
            let active = xs |> Array.map (fun x -> x.NestingTag = tag)

            let ctx =
                {
                    Primals = primals
                    Output = y
                    Residuals = res
                    Active = active
                }

            match xs |> Array.find (fun x -> x.NestingTag = tag) with
            | TForward _ ->
                let tangents =
                    xs
                    |> Array.map (fun x ->
                        match x with
                        | TForward(_, dx, tg) when tg = tag -> Some dx
                        | _ -> None)

                TForward(y, op.Jvp ctx tangents, tag), res
            | TReverse _ ->
                let idx =
                    [|
                        for i in 0 .. xs.Length - 1 do
                            if active[i] then
                                i
                    |]

                let node =
                    {
                        Id = Interlocked.Increment(&lastNode)
                        Name = op.Name
                        Inputs = idx |> Array.map (fun i -> xs[i])
                        Backward =
                            fun g ->
                                let gs = op.Vjp ctx g
                                idx |> Array.map (fun i -> checkVjpShape op.Name i primals[i] gs[i])
                    }

                TReverse(y, node, tag), res
            | TConst _ -> invalidOp "unreachable"

    /// A scalar constant with the dtype and device of `like`.
    and scalarLike (like: Tensor) (v: float) = scalarOf like v

    /// An integer tensor meeting a fractional scalar becomes floating point first (PyTorch's promotion).
    and promoteFor (op: string) (name: string) (v: float) (x: Tensor) =
        Args.required op name x

        if
            not x.DType.IsFloatingPoint
            && x.DType <> DType.Bool
            && (v <> Math.Floor v || Double.IsNaN v || Double.IsInfinity v)
        then
            TConst(x.Raw.Cast Defaults.DType)
        else
            x

    /// Reshape to a shape of equal element count (-1 infers one dim).
    and reshape (dims: int[]) (x: Tensor) : Tensor =
        let target = Shape.resolveReshape "reshape" x.Numel x.Shape dims

        if target.Equals x.Shape then
            x
        else
            let from = x.Shape

            apply
                {
                    Name = "reshape"
                    Raw = fun r -> r[0].Reshape target
                    Jvp = fun _ _ _ t -> reshape target.Dims t
                    Vjp = fun _ _ _ g -> reshape from.Dims g
                }
                [| x |]

    /// Broadcast to a larger shape.
    and expand (target: Shape) (x: Tensor) : Tensor =
        if target.Equals x.Shape then
            x
        else
            if not (Shape.canBroadcastTo x.Shape target) then
                invalidArg "shape" (sprintf "expand: cannot expand %O to %O; only size-1 dims can grow." x.Shape target)

            apply
                {
                    Name = "expand"
                    Raw = fun r -> r[0].Expand target
                    Jvp = fun _ _ _ t -> expand target t
                    Vjp = fun xs _ _ g -> sumToShape xs[0].Shape g
                }
                [| x |]

    /// Sum over (normalised, sorted) dims.
    and sumDims (dims: int[]) (keepDim: bool) (x: Tensor) : Tensor =
        if dims.Length = 0 then
            x
        else
            let inShape = x.Shape

            apply
                {
                    Name = "sum"
                    Raw = fun r -> r[0].Sum(dims, keepDim)
                    Jvp = fun _ _ _ t -> sumDims dims keepDim t
                    Vjp =
                        fun _ _ _ g ->
                            let kept =
                                inShape.Dims |> Array.mapi (fun i n -> if Array.contains i dims then 1 else n)

                            expand inShape (reshape kept g)
                }
                [| x |]

    /// Sum a broadcast result back down to the shape of the operand it came from.
    and sumToShape (target: Shape) (x: Tensor) : Tensor =
        if x.Shape.Equals target then
            x
        else
            let r, rt = x.Rank, target.Rank
            let lead = r - rt

            let dims =
                [|
                    for i in 0 .. r - 1 do
                        if i < lead || (target.Dims[i - lead] = 1 && x.Shape.Dims[i] <> 1) then
                            i
                |]

            reshape target.Dims (sumDims dims true x)

    /// Elementwise binary op with broadcasting, given its raw kind and partial-derivative rules.
    and private binary
        (name: string)
        (kind: BinaryKind)
        (jvp: Tensor[] -> Tensor -> int -> Tensor -> Tensor)
        (vjp: Tensor[] -> Tensor -> int -> Tensor -> Tensor)
        (a: Tensor)
        (b: Tensor)
        =
        Args.required name "a" a
        Args.required name "b" b

        if a.DType <> b.DType then
            invalidArg
                "b"
                (sprintf
                    "%s: dtypes differ (%O %O and %O %O); cast one with Tensor.cast."
                    name
                    a.DType
                    a.Shape
                    b.DType
                    b.Shape)

        Shape.broadcast name a.Shape b.Shape |> ignore

        apply
            {
                Name = name
                Raw = fun r -> r[0].Binary(kind, r[1])
                Jvp = jvp
                Vjp = vjp
            }
            [| a; b |]

    /// a + b with broadcasting.
    and add (a: Tensor) (b: Tensor) : Tensor =
        binary "add" BinaryKind.Add (fun _ y _ t -> expand y.Shape t) (fun xs _ i g -> sumToShape xs[i].Shape g) a b

    /// a - b with broadcasting.
    and sub (a: Tensor) (b: Tensor) : Tensor =
        binary
            "sub"
            BinaryKind.Sub
            (fun _ y i t -> expand y.Shape (if i = 0 then t else neg t))
            (fun xs _ i g -> sumToShape xs[i].Shape (if i = 0 then g else neg g))
            a
            b

    /// a * b with broadcasting.
    and mul (a: Tensor) (b: Tensor) : Tensor =
        binary
            "mul"
            BinaryKind.Mul
            (fun xs y i t -> expand y.Shape (mul t xs[1 - i]))
            (fun xs _ i g -> sumToShape xs[i].Shape (mul g xs[1 - i]))
            a
            b

    /// a / b with broadcasting; integer operands divide as floats (true division, as in PyTorch).
    and div (a: Tensor) (b: Tensor) : Tensor =
        if not a.DType.IsFloatingPoint && not b.DType.IsFloatingPoint && a.DType = b.DType then
            div (TConst(a.Raw.Cast Defaults.DType)) (TConst(b.Raw.Cast Defaults.DType))
        else
            binary
                "div"
                BinaryKind.Div
                (fun xs y i t -> expand y.Shape (if i = 0 then div t xs[1] else neg (div (mul t y) xs[1])))
                (fun xs y i g -> sumToShape xs[i].Shape (if i = 0 then div g xs[1] else neg (div (mul g y) xs[1])))
                a
                b

    /// a ** b with broadcasting (d/db uses log a, so it is NaN where a < 0, as in PyTorch).
    and pow (a: Tensor) (b: Tensor) : Tensor =
        let partial (xs: Tensor[]) (y: Tensor) (i: int) =
            if i = 0 then
                // b a^(b-1) is 0 * inf at a = 0, b = 0; torch defines that derivative as 0. Where b = 0 the
                // exponent is replaced by 1 (a constant shift), so the product is 0 * 1.
                let b = xs[1]

                let zeroExp =
                    b.Raw.Compare(CompareKind.Eq, b.Raw.Backend.Zeros(Shape.Scalar, b.DType)).Cast b.DType

                mul b (pow xs[0] (sub (add b (TConst zeroExp)) (scalarLike b 1.0)))
            else
                // y * log a is 0 * -inf where a = 0; PyTorch defines that derivative as 0. Replacing those
                // bases by 1 (a constant shift, no derivative) makes log a exactly 0 there.
                let a = xs[0]

                let zeroMask =
                    TConst(a.Raw.Compare(CompareKind.Eq, a.Raw.Backend.Zeros(Shape.Scalar, a.DType)).Cast a.DType)

                mul y (log (add a zeroMask))

        binary
            "pow"
            BinaryKind.Pow
            (fun xs y i t -> expand y.Shape (mul (partial xs y i) t))
            (fun xs y i g -> sumToShape xs[i].Shape (mul (partial xs y i) g))
            a
            b

    /// The one check that an operand is floating point: ArgumentException naming the op and the parameter.
    and requireFloat (op: string) (name: string) (x: Tensor) =
        if not x.DType.IsFloatingPoint then
            invalidArg
                name
                (sprintf "%s: expected a floating-point tensor, got %O %O; cast it first." op x.DType x.Shape)

    /// An elementwise function of one tensor, given its derivative as a function of (x, y).
    and unary (name: string) (kind: UnaryKind) (deriv: Tensor -> Tensor -> Tensor) (x: Tensor) : Tensor =
        Args.required name "x" x

        if kind <> UnaryKind.Neg && kind <> UnaryKind.Abs then
            requireFloat name "x" x

        apply
            {
                Name = name
                Raw = fun r -> r[0].Unary kind
                Jvp = fun xs y _ t -> mul (deriv xs[0] y) t
                Vjp = fun xs y _ g -> mul (deriv xs[0] y) g
            }
            [| x |]

    /// -x.
    and neg (x: Tensor) : Tensor =
        Args.required "neg" "x" x

        if x.DType.IsFloatingPoint then
            apply
                {
                    Name = "neg"
                    Raw = fun r -> r[0].Unary UnaryKind.Neg
                    Jvp = fun _ _ _ t -> neg t
                    Vjp = fun _ _ _ g -> neg g
                }
                [| x |]
        else
            sub (scalarLike x 0.0) x

    /// Natural logarithm.
    and log (x: Tensor) : Tensor =
        unary "log" UnaryKind.Log (fun x _ -> div (scalarLike x 1.0) x) x

    /// e^x.
    and exp (x: Tensor) : Tensor =
        unary "exp" UnaryKind.Exp (fun _ y -> y) x

    /// x ** p for a constant exponent (faster than pow with a tensor exponent).
    and powScalar (p: float) (x: Tensor) : Tensor =
        Args.required "pow" "x" x

        if p = 1.0 then
            x
        elif p = 0.0 then
            // x ** 0 is 1 everywhere with derivative 0 (the general rule would give 0 * inf at x = 0).
            TConst(x.Raw.Backend.Full(x.Shape, x.DType, 1.0))
        elif p = 2.0 then
            unary "square" UnaryKind.Square (fun x _ -> mul (scalarLike x 2.0) x) x
        else
            apply
                {
                    Name = "pow"
                    Raw = fun r -> r[0].Binary(BinaryKind.Pow, r[0].Backend.Full(Shape.Scalar, r[0].DType, p))
                    Jvp = fun xs _ _ t -> mul (mul (scalarLike xs[0] p) (powScalar (p - 1.0) xs[0])) t
                    Vjp = fun xs _ _ g -> mul (mul (scalarLike xs[0] p) (powScalar (p - 1.0) xs[0])) g
                }
                [| x |]

/// The F# operators, as members of Tensor itself (the compiler only resolves operators defined there).
type Tensor with
    static member (+)(a: Tensor, b: Tensor) = TensorCore.add a b

    static member (+)(a: Tensor, b: float) =
        let a = TensorCore.promoteFor "add" "a" b a
        TensorCore.add a (TensorCore.scalarLike a b)

    static member (+)(a: float, b: Tensor) =
        let b = TensorCore.promoteFor "add" "b" a b
        TensorCore.add (TensorCore.scalarLike b a) b

    static member (-)(a: Tensor, b: Tensor) = TensorCore.sub a b

    static member (-)(a: Tensor, b: float) =
        let a = TensorCore.promoteFor "sub" "a" b a
        TensorCore.sub a (TensorCore.scalarLike a b)

    static member (-)(a: float, b: Tensor) =
        let b = TensorCore.promoteFor "sub" "b" a b
        TensorCore.sub (TensorCore.scalarLike b a) b

    static member (*)(a: Tensor, b: Tensor) = TensorCore.mul a b

    static member (*)(a: Tensor, b: float) =
        let a = TensorCore.promoteFor "mul" "a" b a
        TensorCore.mul a (TensorCore.scalarLike a b)

    static member (*)(a: float, b: Tensor) =
        let b = TensorCore.promoteFor "mul" "b" a b
        TensorCore.mul (TensorCore.scalarLike b a) b

    static member (/)(a: Tensor, b: Tensor) = TensorCore.div a b

    static member (/)(a: Tensor, b: float) =
        let a = TensorCore.promoteFor "div" "a" b a
        TensorCore.div a (TensorCore.scalarLike a b)

    static member (/)(a: float, b: Tensor) =
        let b = TensorCore.promoteFor "div" "b" a b
        TensorCore.div (TensorCore.scalarLike b a) b

    static member (~-)(a: Tensor) = TensorCore.neg a
    static member Pow(a: Tensor, b: Tensor) = TensorCore.pow a b

    static member Pow(a: Tensor, b: float) =
        TensorCore.powScalar b (Args.notNull "pow" "a" a)

    static member Pow(a: float, b: Tensor) =
        TensorCore.pow (TensorCore.scalarLike (Args.notNull "pow" "b" b) a) b

/// Creating tensors: static members of Tensor itself, so C# calls them as Tensor.Zeros(...) and F# as
/// Tensor.zeros(...). A dtype or device left out (null from C#) is the process default (Defaults).
type Tensor with
    static member private Backend(device: Device) = Backends.get (Args.device device)

    /// A tensor holding a copy of a typed array (float32[], float[], int[], int64[] or bool[]), row-major, with a
    /// shape whose element count is the array's length.
    [<CompiledName("OfArray")>]
    static member ofArray(data: Array, shape: int seq, [<Optional>] device: Device) =
        let data = Args.notNull "ofArray" "data" data
        let shape = Args.shape "ofArray" "shape" shape

        match data with
        | :? (float32[])
        | :? (float[])
        | :? (int[])
        | :? (int64[])
        | :? (bool[]) -> ()
        | _ ->
            invalidArg
                "data"
                (sprintf
                    "ofArray: %s is not tensor data; pass float32[], float[], int[], int64[] or bool[]."
                    (data.GetType().Name))

        if data.Length <> shape.Numel then
            invalidArg
                "data"
                (sprintf "ofArray: the array has %d elements but shape %O needs %d." data.Length shape shape.Numel)

        TConst((Tensor.Backend device).FromArray(data, shape))

    /// A tensor from nested data: F# lists/arrays (tensor [[1.0; 2.0]; [3.0; 4.0]]), multi-dimensional .NET
    /// arrays or sequences of numbers or bools. Doubles become the default floating-point dtype unless a dtype is
    /// given (as PyTorch does with Python floats).
    [<CompiledName("Create")>]
    static member create(value: obj, [<Optional>] dtype: DType, [<Optional>] device: Device) =
        let data, dims = TensorData.flatten (Args.notNull "create" "value" value)
        let t = Tensor.ofArray (data, dims, device)
        // F# floats are read as doubles so an explicit Float64 keeps every digit; without a dtype they
        // become the default floating-point type, as Python floats become float32 in PyTorch.
        let target =
            match Args.opt dtype, data with
            | Some d, _ -> d
            | None, (:? (float[])) -> Defaults.DType
            | None, _ -> t.DType

        if target <> t.DType then TConst(t.Raw.Cast target) else t

    /// A scalar (rank 0) tensor.
    [<CompiledName("Scalar")>]
    static member scalar(value: float, [<Optional>] dtype: DType, [<Optional>] device: Device) =
        TConst((Tensor.Backend device).Full(Shape.Scalar, Args.dtypeOr Defaults.DType dtype, value))

    /// Zeros.
    [<CompiledName("Zeros")>]
    static member zeros(shape: int seq, [<Optional>] dtype: DType, [<Optional>] device: Device) =
        TConst((Tensor.Backend device).Zeros(Args.shape "zeros" "shape" shape, Args.dtypeOr Defaults.DType dtype))

    /// Ones.
    [<CompiledName("Ones")>]
    static member ones(shape: int seq, [<Optional>] dtype: DType, [<Optional>] device: Device) =
        TConst((Tensor.Backend device).Full(Args.shape "ones" "shape" shape, Args.dtypeOr Defaults.DType dtype, 1.0))

    /// Every element equal to value.
    [<CompiledName("Full")>]
    static member full(shape: int seq, value: float, [<Optional>] dtype: DType, [<Optional>] device: Device) =
        TConst((Tensor.Backend device).Full(Args.shape "full" "shape" shape, Args.dtypeOr Defaults.DType dtype, value))

    /// start, start + step, ... up to but excluding stop (the default floating-point dtype unless one is given).
    [<CompiledName("Arange")>]
    static member arange
        (
            stop: float,
            [<Optional; DefaultParameterValue(0.0)>] start: float,
            [<Optional; DefaultParameterValue(1.0)>] step: float,
            [<Optional>] dtype: DType,
            [<Optional>] device: Device
        ) =
        if step = 0.0 then
            invalidArg "step" "arange: step must not be zero."

        let count = max 0 (int (Math.Ceiling((stop - start) / step)))
        TConst((Tensor.Backend device).Arange(start, step, count, Args.dtypeOr Defaults.DType dtype))

    /// count evenly spaced values from start to stop inclusive.
    [<CompiledName("Linspace")>]
    static member linspace
        (start: float, stop: float, count: int, [<Optional>] dtype: DType, [<Optional>] device: Device)
        =
        if count < 0 then
            invalidArg "count" (sprintf "linspace: count must be >= 0, got %d." count)

        let step =
            if count > 1 then
                (stop - start) / float (count - 1)
            else
                0.0

        TConst((Tensor.Backend device).Arange(start, step, count, Args.dtypeOr Defaults.DType dtype))

    /// The n x m identity (m defaults to n).
    [<CompiledName("Eye")>]
    static member eye(n: int, [<Optional>] m: Nullable<int>, [<Optional>] dtype: DType, [<Optional>] device: Device) =
        let m = if m.HasValue then m.Value else n
        let shape = Args.shape "eye" (if n < 0 then "n" else "m") [ n; m ]
        let data = Array.zeroCreate<float> shape.Numel

        for i in 0 .. (min n m) - 1 do
            data[i * m + i] <- 1.0

        TConst((Tensor.Backend device).FromArray(data, shape).Cast(Args.dtypeOr Defaults.DType dtype))

    /// Uniform [0, 1) values drawn from a key.
    [<CompiledName("Rand")>]
    static member rand(key: Key, shape: int seq, [<Optional>] dtype: DType, [<Optional>] device: Device) =
        TConst(
            (Tensor.Backend device)
                .RandomUniform(key, Args.shape "rand" "shape" shape, Args.dtypeOr Defaults.DType dtype)
        )

    /// Standard normal values drawn from a key.
    [<CompiledName("Randn")>]
    static member randn(key: Key, shape: int seq, [<Optional>] dtype: DType, [<Optional>] device: Device) =
        TConst(
            (Tensor.Backend device)
                .RandomNormal(key, Args.shape "randn" "shape" shape, Args.dtypeOr Defaults.DType dtype)
        )

    /// Uniform integers in [low, high) drawn from a key (Int64 unless a dtype is given).
    [<CompiledName("RandInt")>]
    static member randint
        (key: Key, low: int, high: int, shape: int seq, [<Optional>] dtype: DType, [<Optional>] device: Device)
        =
        let shape = Args.shape "randint" "shape" shape

        if high <= low then
            invalidArg "high" (sprintf "randint: high (%d) must be greater than low (%d)." high low)

        let u = (Tensor.Backend device).RandomUniform(key, shape, DType.Float64)

        let b = u.Backend

        let scaled =
            u.Binary(BinaryKind.Mul, b.Full(Shape.Scalar, DType.Float64, float (high - low)))

        let shifted =
            scaled.Unary(UnaryKind.Floor).Binary(BinaryKind.Add, b.Full(Shape.Scalar, DType.Float64, float low))

        TConst(shifted.Cast(Args.dtypeOr DType.Int64 dtype))
