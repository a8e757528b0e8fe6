namespace FunctionalNets

open System

/// The checks of arguments that reach the public ops from any language, written once: a null, a negative
/// dimension or a missing optional value is handled here, with one message per kind naming the op and the
/// parameter, so F# and C# callers get the same exception.
module internal Args =
    /// The value itself, or ArgumentNullException naming the op and the parameter.
    let notNull (op: string) (name: string) (value: 'T) : 'T =
        if isNull (box value) then
            raise (ArgumentNullException(name, sprintf "%s: %s is null; pass a value." op name))

        value

    /// Nothing, or ArgumentNullException naming the op and the parameter (the check at the entry of every op).
    let required (op: string) (name: string) (value: 'T) : unit = notNull op name value |> ignore

    /// Nothing, or ArgumentNullException naming the op and the collection or its null entry.
    let requiredAll (op: string) (name: string) (values: 'T seq) : unit =
        Seq.iteri (fun i v -> notNull op (sprintf "%s[%d]" name i) v |> ignore) (notNull op name values)

    /// A shape given by a caller (an empty sequence is the scalar shape); null and negative sizes are refused by
    /// the shape's own check.
    let shape (op: string) (name: string) (dims: int seq) : Shape =
        Shape.Checked(op, name, Array.ofSeq (notNull op name dims))

    /// An optional reference argument (null when the caller gave none) as an option.
    let opt (value: 'T) : 'T option =
        if isNull (box value) then None else Some value

    /// The element type asked for, or the process default (Defaults.DType) when the caller gave none.
    let dtypeOr (fallback: DType) (dtype: DType) =
        if isNull (box dtype) then fallback else dtype

    /// The device asked for, or the process default (Defaults.Device) when the caller gave none.
    let device (device: Device) =
        if isNull (box device) then Defaults.Device else device
