namespace FunctionalNets.Nn

/// Argument checks of the layer and loss constructors, written once for both languages: each raises an
/// ArgumentException (ArgumentOutOfRangeException, ArgumentNullException) whose ParamName is the argument and
/// whose message names the constructor (its PascalCase name, which reads the same from F# and C#), the
/// value that came and the values it takes.
[<RequireQualifiedAccess>]
module internal Check =
    /// value >= least, e.g. a feature count, a kernel size or a stride.
    let atLeast (op: string) (param: string) (least: int) (value: int) =
        if value < least then
            raise (
                System.ArgumentOutOfRangeException(
                    param,
                    value,
                    sprintf "%s: %s must be >= %d, got %d." op param least value
                )
            )

    /// A condition on one argument that a bound cannot say (divisibility, a kernel that fits); message says what
    /// was expected.
    let inRange (ok: bool) (param: string) (value: obj) (message: string) =
        if not ok then
            raise (System.ArgumentOutOfRangeException(param, value, message))

    /// A probability p with 0 <= p < 1 (dropout: p = 1 would drop everything and divide by zero).
    let probability (op: string) (param: string) (p: float) =
        if not (p >= 0.0 && p < 1.0) then
            raise (System.ArgumentOutOfRangeException(param, p, sprintf "%s: %s must be in [0, 1), got %g." op param p))

    /// A positive finite number (eps, beta, delta).
    let positive (op: string) (param: string) (value: float) =
        if not (value > 0.0) || System.Double.IsInfinity value then
            raise (
                System.ArgumentOutOfRangeException(
                    param,
                    value,
                    sprintf "%s: %s must be a positive finite number, got %g." op param value
                )
            )

    /// A finite number (a slope, a scale).
    let finite (op: string) (param: string) (value: float) =
        if not (System.Double.IsFinite value) then
            raise (
                System.ArgumentOutOfRangeException(
                    param,
                    value,
                    sprintf "%s: %s must be finite, got %g." op param value
                )
            )

    /// A reference a C# caller may pass as null (F# values cannot be null, .NET ones can).
    let notNull (op: string) (param: string) (value: 'T) =
        if isNull (box value) then
            raise (System.ArgumentNullException(param, sprintf "%s: %s must not be null." op param))

    /// An [<Optional>] argument of a type without a constant default (a layer, a tensor, a DU): omitted, it
    /// arrives as null.
    let given (value: 'T) : 'T option =
        if isNull (box value) then None else Some value
