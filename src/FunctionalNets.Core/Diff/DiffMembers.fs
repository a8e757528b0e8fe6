namespace FunctionalNets

open System
open System.Runtime.CompilerServices
open System.Runtime.InteropServices

/// The differentiation operators of the Diff module as members taking Func delegates, so that C# calls them
/// directly (`Diff.Grad(x => x.Sin().Sum(), x)`) and F# may too (`Diff.Grad((fun x -> ...), x)`). Pairs come
/// back as named value tuples. Each call takes a fresh tag, so they nest as the module's functions do.
[<AbstractClass; Sealed>]
type Diff =
    /// The one check of the members' arguments: null gets an ArgumentNullException naming the member and the
    /// parameter, worded as the C# host's checks are.
    static member private NotNull(operation: string, name: string, value: obj) =
        if isNull value then
            raise (ArgumentNullException(name, sprintf "Diff.%s: %s is null." operation name))

    /// <summary>The gradient of a scalar-valued f at x (f must return a tensor with one element).</summary>
    /// <param name="f">The function; it must return a tensor with one element.</param>
    /// <param name="x">Where to differentiate.</param>
    static member Grad(f: Func<Tensor, Tensor>, x: Tensor) : Tensor =
        Diff.NotNull("Grad", "f", f)
        Diff.NotNull("Grad", "x", x)
        Diff.grad f.Invoke x

    /// <summary>The value of a scalar-valued f at x and its gradient there (one forward and one reverse sweep).</summary>
    /// <param name="f">The function; it must return a tensor with one element.</param>
    /// <param name="x">Where to differentiate.</param>
    [<return: TupleElementNames([| "Value"; "Gradient" |])>]
    static member ValueAndGrad(f: Func<Tensor, Tensor>, x: Tensor) : struct (Tensor * Tensor) =
        Diff.NotNull("ValueAndGrad", "f", f)
        Diff.NotNull("ValueAndGrad", "x", x)
        let value, g = Diff.valueAndGrad f.Invoke x
        struct (value, g)

    /// <summary>The value of f at x and the vector-Jacobian product vᵀJ (reverse mode; v has the shape of f's output,
    /// the product the shape of x).</summary>
    /// <param name="f">The function.</param>
    /// <param name="x">Where to differentiate.</param>
    /// <param name="v">The cotangent, shaped as f(x).</param>
    [<return: TupleElementNames([| "Value"; "Vjp" |])>]
    static member Vjp(f: Func<Tensor, Tensor>, x: Tensor, v: Tensor) : struct (Tensor * Tensor) =
        Diff.NotNull("Vjp", "f", f)
        Diff.NotNull("Vjp", "x", x)
        Diff.NotNull("Vjp", "v", v)
        let value, g = Diff.vjp f.Invoke x v
        struct (value, g)

    /// <summary>The value of f at x and the Jacobian-vector product Jv (forward mode; v has the shape of x, the product
    /// the shape of f's output).</summary>
    /// <param name="f">The function.</param>
    /// <param name="x">Where to differentiate.</param>
    /// <param name="v">The tangent, shaped as x.</param>
    [<return: TupleElementNames([| "Value"; "Jvp" |])>]
    static member Jvp(f: Func<Tensor, Tensor>, x: Tensor, v: Tensor) : struct (Tensor * Tensor) =
        Diff.NotNull("Jvp", "f", f)
        Diff.NotNull("Jvp", "x", x)
        Diff.NotNull("Jvp", "v", v)
        let value, t = Diff.jvp f.Invoke x v
        struct (value, t)

    /// <summary>The Hessian-vector product Hv of a scalar-valued f at x, without building the Hessian (forward over
    /// reverse).</summary>
    /// <param name="f">The function; it must return a tensor with one element.</param>
    /// <param name="x">Where to differentiate.</param>
    /// <param name="v">The vector, shaped as x.</param>
    static member Hvp(f: Func<Tensor, Tensor>, x: Tensor, v: Tensor) : Tensor =
        Diff.NotNull("Hvp", "f", f)
        Diff.NotNull("Hvp", "x", x)
        Diff.NotNull("Hvp", "v", v)
        Diff.hvp f.Invoke x v

    /// <summary>The Jacobian of f at x, shaped f(x).Shape followed by x.Shape (PyTorch's layout).</summary>
    /// <param name="f">The function.</param>
    /// <param name="x">Where to differentiate.</param>
    static member Jacobian(f: Func<Tensor, Tensor>, x: Tensor) : Tensor =
        Diff.NotNull("Jacobian", "f", f)
        Diff.NotNull("Jacobian", "x", x)
        Diff.jacobian f.Invoke x

    /// <summary>The Hessian of a scalar-valued f at x, shaped x.Shape followed by x.Shape.</summary>
    /// <param name="f">The function; it must return a tensor with one element.</param>
    /// <param name="x">Where to differentiate.</param>
    static member Hessian(f: Func<Tensor, Tensor>, x: Tensor) : Tensor =
        Diff.NotNull("Hessian", "f", f)
        Diff.NotNull("Hessian", "x", x)
        Diff.hessian f.Invoke x

    /// <summary>The gradient of a scalar-valued f at x by central differences with step eps, (f(x + eps e_i) -
    /// f(x - eps e_i)) / 2 eps for every element i: the independent check of a gradient in tests (use Float64).</summary>
    /// <param name="f">The function; it must return a tensor with one element.</param>
    /// <param name="x">Where to differentiate.</param>
    /// <param name="eps">The step (&gt; 0).</param>
    static member NumGrad
        (f: Func<Tensor, Tensor>, x: Tensor, [<Optional; DefaultParameterValue(1e-6)>] eps: float)
        : Tensor =
        Diff.NotNull("NumGrad", "f", f)
        Diff.NotNull("NumGrad", "x", x)

        if not (eps > 0.0 && Double.IsFinite eps) then
            raise (ArgumentOutOfRangeException("eps", eps, "Diff.NumGrad: eps must be a positive finite number."))

        Diff.numGrad eps f.Invoke x
