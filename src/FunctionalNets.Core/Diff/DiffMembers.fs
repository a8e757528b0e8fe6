namespace FunctionalNets

open System
open System.Runtime.CompilerServices

/// The differentiation operators of the Diff module as members taking Func delegates, so that C# calls them
/// directly (`Diff.Grad(x => x.Sin().Sum(), x)`) and F# may too (`Diff.Grad((fun x -> ...), x)`). Pairs come
/// back as named value tuples. Each call takes a fresh tag, so they nest as the module's functions do.
[<AbstractClass; Sealed>]
type Diff =
    /// The one check of a delegate argument: null gets an ArgumentNullException naming the member and the parameter.
    static member private Required(operation: string, name: string, f: 'F when 'F: null) : 'F =
        if isNull f then
            raise (
                ArgumentNullException(name, sprintf "Diff.%s: %s is null; pass a function of the input." operation name)
            )

        f

    static member private RequiredTensor(operation: string, name: string, x: Tensor) : Tensor =
        if isNull (box x) then
            raise (ArgumentNullException(name, sprintf "Diff.%s: the tensor %s is null." operation name))

        x

    /// <summary>The gradient of a scalar-valued f at x (f must return a tensor with one element).</summary>
    /// <param name="f">The function; it must return a tensor with one element.</param>
    /// <param name="x">Where to differentiate.</param>
    static member Grad(f: Func<Tensor, Tensor>, x: Tensor) : Tensor =
        let f = Diff.Required("Grad", "f", f)
        Diff.grad f.Invoke (Diff.RequiredTensor("Grad", "x", x))

    /// <summary>The value of a scalar-valued f at x and its gradient there (one forward and one reverse sweep).</summary>
    /// <param name="f">The function; it must return a tensor with one element.</param>
    /// <param name="x">Where to differentiate.</param>
    [<return: TupleElementNames([| "Value"; "Gradient" |])>]
    static member ValueAndGrad(f: Func<Tensor, Tensor>, x: Tensor) : struct (Tensor * Tensor) =
        let f = Diff.Required("ValueAndGrad", "f", f)

        let value, g =
            Diff.valueAndGrad f.Invoke (Diff.RequiredTensor("ValueAndGrad", "x", x))

        struct (value, g)

    /// <summary>The value of f at x and the vector-Jacobian product vᵀJ (reverse mode; v has the shape of f's output,
    /// the product the shape of x).</summary>
    /// <param name="f">The function.</param>
    /// <param name="x">Where to differentiate.</param>
    /// <param name="v">The cotangent, shaped as f(x).</param>
    [<return: TupleElementNames([| "Value"; "Vjp" |])>]
    static member Vjp(f: Func<Tensor, Tensor>, x: Tensor, v: Tensor) : struct (Tensor * Tensor) =
        let f = Diff.Required("Vjp", "f", f)

        let value, g =
            Diff.vjp f.Invoke (Diff.RequiredTensor("Vjp", "x", x)) (Diff.RequiredTensor("Vjp", "v", v))

        struct (value, g)

    /// <summary>The value of f at x and the Jacobian-vector product Jv (forward mode; v has the shape of x, the product
    /// the shape of f's output).</summary>
    /// <param name="f">The function.</param>
    /// <param name="x">Where to differentiate.</param>
    /// <param name="v">The tangent, shaped as x.</param>
    [<return: TupleElementNames([| "Value"; "Jvp" |])>]
    static member Jvp(f: Func<Tensor, Tensor>, x: Tensor, v: Tensor) : struct (Tensor * Tensor) =
        let f = Diff.Required("Jvp", "f", f)

        let value, t =
            Diff.jvp f.Invoke (Diff.RequiredTensor("Jvp", "x", x)) (Diff.RequiredTensor("Jvp", "v", v))

        struct (value, t)

    /// <summary>The Hessian-vector product Hv of a scalar-valued f at x, without building the Hessian (forward over reverse).</summary>
    /// <param name="f">The function; it must return a tensor with one element.</param>
    /// <param name="x">Where to differentiate.</param>
    /// <param name="v">The vector, shaped as x.</param>
    static member Hvp(f: Func<Tensor, Tensor>, x: Tensor, v: Tensor) : Tensor =
        let f = Diff.Required("Hvp", "f", f)
        Diff.hvp f.Invoke (Diff.RequiredTensor("Hvp", "x", x)) (Diff.RequiredTensor("Hvp", "v", v))

    /// <summary>The Jacobian of f at x, shaped f(x).Shape followed by x.Shape (PyTorch's layout).</summary>
    /// <param name="f">The function.</param>
    /// <param name="x">Where to differentiate.</param>
    static member Jacobian(f: Func<Tensor, Tensor>, x: Tensor) : Tensor =
        let f = Diff.Required("Jacobian", "f", f)
        Diff.jacobian f.Invoke (Diff.RequiredTensor("Jacobian", "x", x))

    /// <summary>The Hessian of a scalar-valued f at x, shaped x.Shape followed by x.Shape.</summary>
    /// <param name="f">The function; it must return a tensor with one element.</param>
    /// <param name="x">Where to differentiate.</param>
    static member Hessian(f: Func<Tensor, Tensor>, x: Tensor) : Tensor =
        let f = Diff.Required("Hessian", "f", f)
        Diff.hessian f.Invoke (Diff.RequiredTensor("Hessian", "x", x))
