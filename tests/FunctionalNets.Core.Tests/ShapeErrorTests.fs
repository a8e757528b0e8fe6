module FunctionalNets.Tests.ShapeErrorTests

// "Shape errors name both shapes": one test per error family. Each asserts the exact exception type, that
// the message names the op, and that it names the shapes (or values) involved, so a user can act on it
// without a debugger. No error may surface as IndexOutOfRangeException or NullReferenceException.

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets

let private z (shape: int list) = Tensor.zeros shape
let private z64 (shape: int list) = Tensor.zeros (shape, DType.Float64)

let private idx (shape: int list) (values: int64 list) =
    Tensor.ofArray (Array.ofList values, shape)

/// Runs f, which must throw exactly 'E (not a subclass, not a crash type), and returns the exception.
let private raises<'E when 'E :> exn> (f: unit -> unit) : 'E =
    let ex = Expects.throwsAny<exn> "the call" (fun () -> f ())
    Expect.isTrue (not (isNull ex)) (sprintf "expected %s, but nothing was thrown" typeof<'E>.Name)
    Expect.isFalse (ex :? IndexOutOfRangeException) (sprintf "IndexOutOfRangeException leaked: %s" ex.Message)
    Expect.isFalse (ex :? NullReferenceException) (sprintf "NullReferenceException leaked: %s" ex.Message)

    Expect.isTrue
        (ex.GetType() = typeof<'E>)
        (sprintf "expected %s, got %s: %s" typeof<'E>.Name (ex.GetType().Name) ex.Message)

    ex :?> 'E

/// The message names every needle (op names compared case-insensitively).
let private names (needles: string list) (ex: exn) =
    for n in needles do
        Expect.isTrue
            (ex.Message.Contains(n, StringComparison.OrdinalIgnoreCase))
            (sprintf "message should mention %A but was: %s" n ex.Message)

let ``broadcasting mismatch names the op and both shapes`` () =
    raises<ArgumentException>(fun () -> ignore (z [ 2; 3 ] + z [ 4; 3 ]))
    |> names [ "add"; "[2; 3]"; "[4; 3]" ]

    raises<ArgumentException>(fun () -> ignore (z [ 2; 3 ] * z [ 2; 4 ]))
    |> names [ "mul"; "[2; 3]"; "[2; 4]" ]

    raises<ArgumentException>(fun () -> ignore (z [ 5 ] - z [ 3; 4 ]))
    |> names [ "sub"; "[5]"; "[3; 4]" ]

    raises<ArgumentException>(fun () -> ignore (z [ 2; 3 ] / z [ 3; 2 ]))
    |> names [ "div"; "[2; 3]"; "[3; 2]" ]

let ``where with unbroadcastable operands names the shapes`` () =
    raises<ArgumentException>(fun () -> ignore (Tensor.where (Tensor.gt (z [ 2; 3 ], 0.0), z [ 4; 3 ], z [ 1 ])))
    |> names [ "where"; "[2; 3]"; "[4; 3]" ]

let ``expand to an incompatible shape names both shapes`` () =
    raises<ArgumentException>(fun () -> ignore (Tensor.expand (z [ 2; 3 ], [ 4; 3 ])))
    |> names [ "expand"; "[2; 3]"; "[4; 3]" ]

let ``matmul inner-dimension mismatch names both shapes and the two sizes`` () =
    raises<ArgumentException>(fun () -> ignore (Tensor.matmul (z [ 2; 3 ], z [ 4; 5 ])))
    |> names [ "matmul"; "[2; 3]"; "[4; 5]"; "3 vs 4" ]
    // Batched: the inner dims still decide.
    raises<ArgumentException>(fun () -> ignore (Tensor.matmul (z [ 7; 2; 3 ], z [ 7; 2; 5 ])))
    |> names [ "matmul"; "[7; 2; 3]"; "[7; 2; 5]" ]

let ``matmul with a vector operand names the mismatching sizes`` () =
    // A 1-D left operand of length 3 against a [4; 5] matrix: the message names the matrix and both sizes.
    raises<ArgumentException>(fun () -> ignore (Tensor.matmul (z [ 3 ], z [ 4; 5 ])))
    |> names [ "matmul"; "[4; 5]"; "3 vs 4" ]

let ``matmul batch-dimension mismatch names both full shapes`` () =
    raises<ArgumentException>(fun () -> ignore (Tensor.matmul (z [ 2; 2; 3 ], z [ 3; 3; 4 ])))
    |> names [ "matmul"; "[2; 2; 3]"; "[3; 3; 4]" ]

let ``matmul of dtype-mismatched operands names both dtypes`` () =
    raises<ArgumentException>(fun () -> ignore (Tensor.matmul (z [ 2; 3 ], z64 [ 3; 2 ])))
    |> names [ "matmul"; "float32"; "float64" ]

let ``linear input-size mismatch reads linear(in->out) with the input shape`` () =
    let ex =
        raises<ArgumentException>(fun () -> ignore (Tensor.linear (z [ 64; 28; 28 ], z [ 128; 784 ])))

    names [ "linear(784->128): input [64; 28; 28] has last dim 28, expected 784" ] ex
    // A weight that is not a matrix is rejected with its shape.
    raises<ArgumentException>(fun () -> ignore (Tensor.linear (z [ 4; 3 ], z [ 3 ])))
    |> names [ "linear"; "[3]" ]

let ``reshape element-count mismatch names the source shape and the target`` () =
    raises<ArgumentException>(fun () -> ignore (Tensor.reshape (z [ 2; 3 ], [ 4; 2 ])))
    |> names [ "reshape"; "[2; 3]"; "4; 2"; "6 elements"; "8 elements" ]
    // With -1, when the known sizes do not divide the count.
    raises<ArgumentException>(fun () -> ignore (Tensor.reshape (z [ 2; 3 ], [ 4; -1 ])))
    |> names [ "reshape"; "[2; 3]"; "4; -1" ]
    // Two -1 entries are ambiguous.
    raises<ArgumentException>(fun () -> ignore (Tensor.reshape (z [ 2; 3 ], [ -1; -1 ])))
    |> names [ "reshape"; "-1" ]

let ``cat mismatch names the op, the dim and both shapes`` () =
    raises<ArgumentException>(fun () -> ignore (Tensor.cat [ z [ 2; 3 ]; z [ 2; 4 ] ]))
    |> names [ "cat"; "[2; 3]"; "[2; 4]"; "3 vs 4" ]

    raises<ArgumentException>(fun () -> ignore (Tensor.cat ([ z [ 2; 3 ]; z [ 4; 3 ] ], 1)))
    |> names [ "cat"; "[2; 3]"; "[4; 3]" ]
    // Rank mismatch.
    raises<ArgumentException>(fun () -> ignore (Tensor.cat [ z [ 2; 3 ]; z [ 3 ] ]))
    |> names [ "cat"; "[2; 3]"; "[3]" ]
    // Dtype mismatch.
    raises<ArgumentException>(fun () -> ignore (Tensor.cat [ z [ 2 ]; z64 [ 2 ] ]))
    |> names [ "cat"; "float32"; "float64" ]
    // Nothing to join.
    raises<ArgumentException>(fun () -> ignore (Tensor.cat ([]: Tensor list)))
    |> names [ "cat" ]

let ``stack mismatch names both shapes`` () =
    raises<ArgumentException>(fun () -> ignore (Tensor.stack [ z [ 2; 3 ]; z [ 2; 3 ]; z [ 3; 2 ] ]))
    |> names [ "stack"; "[2; 3]"; "[3; 2]" ]

let ``gather with an out-of-range index is ArgumentOutOfRange naming the op and the value`` () =
    raises<ArgumentOutOfRangeException>(fun () -> ignore (Tensor.gather (z [ 2; 3 ], 1, idx [ 1; 2 ] [ 0L; 5L ])))
    |> names [ "gather"; "5" ]
    // Negative indices are not wrapped by gather: they are out of range too.
    raises<ArgumentOutOfRangeException>(fun () -> ignore (Tensor.gather (z [ 2; 3 ], 0, idx [ 1; 1 ] [ -1L ])))
    |> names [ "gather"; "-1" ]
    // Index rank must match.
    raises<ArgumentException>(fun () -> ignore (Tensor.gather (z [ 2; 3 ], 1, idx [ 2 ] [ 0L; 1L ])))
    |> names [ "gather"; "[2]"; "[2; 3]" ]
    // A float index is rejected with its dtype.
    raises<ArgumentException>(fun () -> ignore (Tensor.gather (z [ 2; 3 ], 1, z [ 2; 3 ])))
    |> names [ "gather"; "float32" ]

let ``indexSelect with an out-of-range index is ArgumentOutOfRange naming the op and the value`` () =
    raises<ArgumentOutOfRangeException>(fun () -> ignore (Tensor.indexSelect (z [ 2; 3 ], 0, idx [ 2 ] [ 0L; 7L ])))
    |> names [ "indexselect"; "7" ]

    raises<ArgumentOutOfRangeException>(fun () -> ignore (Tensor.indexSelect (z [ 2; 3 ], 1, idx [ 1 ] [ 3L ])))
    |> names [ "indexselect"; "3" ]

    raises<ArgumentException>(fun () -> ignore (Tensor.indexSelect (z [ 2; 3 ], 0, idx [ 1; 1 ] [ 0L ])))
    |> names [ "indexSelect"; "[1; 1]" ]

let ``scatterAdd and indexAdd with out-of-range indices are ArgumentOutOfRange`` () =
    raises<ArgumentOutOfRangeException>(fun () ->
        ignore (Tensor.scatterAdd (z [ 2; 3 ], 0, idx [ 1; 2 ] [ 0L; 9L ], z [ 1; 2 ])))
    |> names [ "scatteradd"; "9" ]

    raises<ArgumentOutOfRangeException>(fun () ->
        ignore (Tensor.indexAdd (z [ 2; 3 ], 0, idx [ 1 ] [ 4L ], z [ 1; 3 ])))
    |> names [ "indexadd"; "4" ]
    // scatterAdd: index and src shapes must agree.
    raises<ArgumentException>(fun () -> ignore (Tensor.scatterAdd (z [ 2; 3 ], 0, idx [ 1; 2 ] [ 0L; 1L ], z [ 1; 3 ])))
    |> names [ "scatterAdd"; "[1; 2]"; "[1; 3]" ]

let ``indexAdd rejects a src whose non-indexed dims differ from the input`` () =
    // x is [2; 3; 4], index has one entry along dim 0, so src must be [1; 3; 4] (torch.index_add_ raises
    // otherwise). A [1; 4; 3] src has the right element count but the wrong layout and must be rejected.
    raises<ArgumentException>(fun () -> ignore (Tensor.indexAdd (z [ 2; 3; 4 ], 0, idx [ 1 ] [ 0L ], z [ 1; 4; 3 ])))
    |> names [ "indexAdd"; "[2; 3; 4]"; "[1; 4; 3]" ]

let ``select and indexing out of range name the index, the dim size and the shape`` () =
    raises<ArgumentOutOfRangeException>(fun () -> ignore (Tensor.select (z [ 2; 3 ], 0, 5)))
    |> names [ "select"; "index 5"; "size 2"; "[2; 3]" ]

    raises<ArgumentOutOfRangeException>(fun () -> ignore (Tensor.select (z [ 2; 3 ], 1, -4)))
    |> names [ "select"; "-4"; "size 3" ]

    raises<ArgumentOutOfRangeException>(fun () -> ignore ((z [ 2; 3 ]).[5]))
    |> names [ "index 5"; "[2; 3]" ]

    raises<ArgumentOutOfRangeException>(fun () -> ignore ((z [ 2; 3 ]).[0, 3]))
    |> names [ "index 3"; "[2; 3]" ]
    // More indices than dims.
    raises<ArgumentException>(fun () -> ignore ((z [ 2; 3 ]).[0..1, 0..1, 0..1]))
    |> names [ "slice"; "[2; 3]" ]

let ``permute with an invalid permutation names it and the shape`` () =
    raises<ArgumentException>(fun () -> ignore (Tensor.permute (z [ 2; 3; 4 ], [ 0; 0; 1 ])))
    |> names [ "permute"; "0; 0; 1"; "[2; 3; 4]" ]

    raises<ArgumentException>(fun () -> ignore (Tensor.permute (z [ 2; 3; 4 ], [ 0; 1 ])))
    |> names [ "permute"; "0; 1"; "[2; 3; 4]" ]

    raises<ArgumentOutOfRangeException>(fun () -> ignore (Tensor.permute (z [ 2; 3; 4 ], [ 0; 1; 3 ])))
    |> names [ "permute"; "dimension 3"; "rank 3" ]

let ``dims out of range in squeeze, unsqueeze, reductions and transpose are ArgumentOutOfRange`` () =
    raises<ArgumentOutOfRangeException>(fun () -> ignore (Tensor.squeeze (z [ 2; 3 ], 2)))
    |> names [ "squeeze"; "dimension 2"; "rank 2" ]
    // unsqueeze accepts -(rank+1)..rank.
    raises<ArgumentOutOfRangeException>(fun () -> ignore (Tensor.unsqueeze (z [ 2; 3 ], 3)))
    |> names [ "unsqueeze"; "dimension 3" ]

    raises<ArgumentOutOfRangeException>(fun () -> ignore (Tensor.unsqueeze (z [ 2; 3 ], -4)))
    |> names [ "unsqueeze"; "dimension -4" ]

    raises<ArgumentOutOfRangeException>(fun () -> ignore (Tensor.sum (z [ 2; 3 ], -3)))
    |> names [ "sum"; "dimension -3"; "rank 2" ]

    raises<ArgumentOutOfRangeException>(fun () -> ignore (Tensor.mean (z [ 2; 3 ], 2)))
    |> names [ "mean"; "dimension 2" ]

    raises<ArgumentOutOfRangeException>(fun () -> ignore (Tensor.max (z [ 2; 3 ], 2)))
    |> names [ "max"; "dimension 2" ]

    raises<ArgumentOutOfRangeException>(fun () -> ignore (Tensor.argmax (z [ 2; 3 ], 2)))
    |> names [ "argmax"; "dimension 2" ]

    raises<ArgumentOutOfRangeException>(fun () -> ignore (Tensor.softmax (z [ 2; 3 ], 2)))
    |> names [ "dimension 2" ]

    raises<ArgumentOutOfRangeException>(fun () -> ignore (Tensor.transpose (z [ 2; 3 ], 0, 2)))
    |> names [ "transpose"; "dimension 2" ]

    raises<ArgumentOutOfRangeException>(fun () -> ignore (Tensor.cat ([ z [ 2 ]; z [ 2 ] ], 1)))
    |> names [ "cat"; "dimension 1" ]
    // A repeated reduction dim is an ArgumentException.
    raises<ArgumentException>(fun () -> ignore (Tensor.sum (z [ 2; 3 ], [ 1; -1 ])))
    |> names [ "sum"; "repeated" ]

let ``dtype mismatch names both dtypes`` () =
    raises<ArgumentException>(fun () -> ignore (z [ 2 ] + z64 [ 2 ]))
    |> names [ "add"; "float32"; "float64" ]

    raises<ArgumentException>(fun () -> ignore (z64 [ 2 ] * z [ 2 ]))
    |> names [ "mul"; "float64"; "float32" ]

    raises<ArgumentException>(fun () -> ignore (Tensor.lt (z [ 2 ], z64 [ 2 ])))
    |> names [ "lt"; "float32"; "float64" ]

    raises<ArgumentException>(fun () -> ignore (Tensor.where (Tensor.gt (z [ 2 ], 0.0), z [ 2 ], z64 [ 2 ])))
    |> names [ "where"; "float32"; "float64" ]
    // Float-only ops on integers name the dtype.
    raises<ArgumentException>(fun () -> ignore (Tensor.exp (Tensor.create [ 1; 2 ])))
    |> names [ "exp"; "int32" ]

    raises<ArgumentException>(fun () -> ignore (Tensor.mean (Tensor.create [ 1; 2 ])))
    |> names [ "mean"; "int32" ]

    raises<ArgumentException>(fun () -> ignore (Tensor.logicalAnd (z [ 2 ], z [ 2 ])))
    |> names [ "logicalAnd"; "float32" ]

let ``ofArray length and shape mismatch names the count and the shape`` () =
    raises<ArgumentException>(fun () -> ignore (Tensor.ofArray ([| 1.0f; 2.0f; 3.0f |], [ 2; 2 ])))
    |> names [ "3 elements"; "[2; 2]"; "4" ]

    raises<ArgumentException>(fun () -> ignore (Tensor.ofArray ([| 1.0; 2.0 |], [ 3 ])))
    |> names [ "2 elements"; "[3]" ]
    // A negative size in the shape.
    raises<ArgumentException>(fun () -> ignore (Tensor.ofArray ([| 1.0 |], [ -1 ])))
    |> names [ "negative" ]
    // Ragged nested data.
    raises<ArgumentException>(fun () -> ignore (Tensor.create [ [ 1.0; 2.0 ]; [ 3.0 ] ]))
    |> names [ "ragged"; "[2; 2]" ]

let ``grad of a non-scalar function says to reduce`` () =
    raises<ArgumentException>(fun () -> ignore (Diff.grad (fun x -> x * 2.0) (z [ 3 ])))
    |> names [ "grad"; "[3]"; "reduce" ]
    // jvp/vjp with wrongly shaped vectors name both shapes.
    raises<ArgumentException>(fun () -> ignore (Diff.jvp id (z [ 3 ]) (z [ 2 ])))
    |> names [ "jvp"; "[2]"; "[3]" ]

    raises<ArgumentException>(fun () -> ignore (Diff.vjp id (z [ 3 ]) (z [ 2 ])))
    |> names [ "vjp"; "[2]"; "[3]" ]

let ``split sizes that do not add up name the sizes and the shape`` () =
    raises<ArgumentException>(fun () -> ignore (Tensor.split (z [ 5; 3 ], [ 2; 2 ])))
    |> names [ "split"; "2; 2"; "5"; "[5; 3]" ]

    raises<ArgumentException>(fun () -> ignore (Tensor.split (z [ 5; 3 ], [ 6; -1 ])))
    |> names [ "split"; "6; -1" ]

    raises<ArgumentException>(fun () -> ignore (Tensor.chunk (z [ 5 ], 0)))
    |> names [ "chunk"; "0" ]

let ``pad with negative or too many pairs is rejected`` () =
    raises<ArgumentException>(fun () -> ignore (Tensor.pad (z [ 2; 3 ], [ (-1, 0) ])))
    |> names [ "pad"; "-1" ]

    raises<ArgumentException>(fun () -> ignore (Tensor.pad (z [ 3 ], [ (1, 1); (1, 1) ])))
    |> names [ "pad"; "[3]" ]

let ``reductions of empty tensors are rejected cleanly`` () =
    raises<ArgumentException>(fun () -> ignore (Tensor.max (z [ 0 ])))
    |> names [ "max"; "[0]" ]

    raises<ArgumentException>(fun () -> ignore (Tensor.min (z [ 2; 0 ])))
    |> names [ "min"; "[2; 0]" ]

    raises<ArgumentException>(fun () -> ignore (Tensor.argmax (z [ 0 ])))
    |> names [ "max"; "empty" ]

let ``other argument errors: toScalar, arange, randint, oneHot, matmul rank 0, transpose rank 1`` () =
    raises<ArgumentException>(fun () -> ignore (Tensor.toScalar (z [ 2 ])))
    |> names [ "toScalar"; "[2]" ]

    raises<ArgumentException>(fun () -> ignore (Tensor.arange (5.0, step = 0.0)))
    |> names [ "arange"; "step" ]

    raises<ArgumentException>(fun () -> ignore (Tensor.randint (Key.create 1L, 3, 3, [ 2 ])))
    |> names [ "randint"; "3" ]

    raises<ArgumentException>(fun () -> ignore (Tensor.oneHot (z [ 2 ], 3)))
    |> names [ "oneHot"; "float32" ]

    raises<ArgumentOutOfRangeException>(fun () -> ignore (Tensor.oneHot (idx [ 1 ] [ 5L ], 3)))
    |> names [ "5" ]

    raises<ArgumentException>(fun () -> ignore (Tensor.matmul (Tensor.scalar 1.0, z [ 2; 2 ])))
    |> names [ "matmul"; "[]"; "[2; 2]" ]

    raises<ArgumentException>(fun () -> ignore (Tensor.transpose (z [ 3 ])))
    |> names [ "transpose"; "[3]" ]

    raises<ArgumentException>(fun () -> ignore (Key.splitN -1 (Key.create 0L)))
    |> names [ "splitN"; "-1" ]

let ``no malformed call leaks IndexOutOfRange or NullReference`` () =
    // A battery of bad calls across the API: every one must fail with an ArgumentException (or a subclass).
    let calls: (string * (unit -> unit)) list =
        [
            "item past end", (fun () -> ignore ((z [ 3 ]).[3]))
            "item negative past start", (fun () -> ignore ((z [ 3 ]).[-4]))
            "item on rank 0", (fun () -> ignore ((Tensor.scalar 1.0).[0]))
            "select negative", (fun () -> ignore (Tensor.select (z [ 3 ], 0, -4)))
            "slice dim", (fun () -> ignore (Tensor.slice (z [ 3 ], 1, 0, 1)))
            "slice step 0", (fun () -> ignore (Tensor.slice (z [ 3 ], 0, 0, 3, 0)))
            "gather huge", (fun () -> ignore (Tensor.gather (z [ 3 ], 0, idx [ 1 ] [ Int64.MaxValue ])))
            "gather min", (fun () -> ignore (Tensor.gather (z [ 3 ], 0, idx [ 1 ] [ Int64.MinValue ])))
            "gather index bigger",
            (fun () -> ignore (Tensor.gather (z [ 2; 3 ], 0, idx [ 1; 4 ] (List.replicate 4 0L))))
            "indexSelect negative", (fun () -> ignore (Tensor.indexSelect (z [ 3 ], 0, idx [ 1 ] [ -1L ])))
            "indexSelect dim", (fun () -> ignore (Tensor.indexSelect (z [ 3 ], 1, idx [ 1 ] [ 0L ])))
            "scatterAdd index rank",
            (fun () -> ignore (Tensor.scatterAdd (z [ 3 ], 0, idx [ 1; 1 ] [ 0L ], z [ 1; 1 ])))
            "indexAdd src rank", (fun () -> ignore (Tensor.indexAdd (z [ 3 ], 0, idx [ 1 ] [ 0L ], z [ 1; 1 ])))
            "permute repeated", (fun () -> ignore (Tensor.permute (z [ 2; 2 ], [ 1; 1 ])))
            "permute too long", (fun () -> ignore (Tensor.permute (z [ 2; 2 ], [ 0; 1; 2 ])))
            "flatten bad", (fun () -> ignore (Tensor.flatten (z [ 2; 3 ], 1, 0)))
            "expand fewer dims", (fun () -> ignore (Tensor.expand (z [ 2; 3 ], [ 3 ])))
            "expand -1 lead", (fun () -> ignore (Tensor.expand (z [ 2; 3 ], [ -1; -1; -1 ])))
            "reshape negative", (fun () -> ignore (Tensor.reshape (z [ 2; 3 ], [ -2; -3 ])))
            "split dim", (fun () -> ignore (Tensor.split (z [ 4 ], [ 2; 2 ], 1)))
            "stack empty", (fun () -> ignore (Tensor.stack ([]: Tensor list)))
            "cat rank-0", (fun () -> ignore (Tensor.cat [ Tensor.scalar 1.0; Tensor.scalar 2.0 ]))
            "pad rank 0", (fun () -> ignore (Tensor.pad (Tensor.scalar 1.0, [ (1, 1) ])))
            "linear rank 0", (fun () -> ignore (Tensor.linear (Tensor.scalar 1.0, z [ 2; 2 ])))
            "linear bias", (fun () -> ignore (Tensor.linear (z [ 4; 3 ], z [ 2; 3 ], z [ 3 ])))
            "dot", (fun () -> ignore (Tensor.dot (z [ 3 ], z [ 4 ])))
            "logsumexp dim", (fun () -> ignore (Tensor.logsumexp (z [ 3 ], 1)))
            "var dim", (fun () -> ignore (Tensor.var (z [ 3 ], 1)))
            "where cond dtype", (fun () -> ignore (Tensor.where (z [ 2 ], z [ 2 ], z [ 2 ])))
            "logicalNot float", (fun () -> ignore (Tensor.logicalNot (z [ 2 ])))
            "linspace negative", (fun () -> ignore (Tensor.linspace (0.0, 1.0, -1)))
            "zeros negative", (fun () -> ignore (Tensor.zeros [ 2; -1 ]))
            "create string", (fun () -> ignore (Tensor.create "abc"))
            "hessian non-scalar", (fun () -> ignore (Diff.hessian id (z [ 2 ])))
            "grad through broadcast error", (fun () -> ignore (Diff.grad (fun x -> Tensor.sum (x + z [ 4 ])) (z [ 3 ])))
        ]

    for name, f in calls do
        let ex = Expects.throwsAny<exn> "the call" (fun () -> f ())
        Expect.isTrue (not (isNull ex)) (sprintf "%s: expected an exception" name)

        Expect.isTrue
            ((ex :? ArgumentException))
            (sprintf "%s: expected an ArgumentException (or subclass), got %s: %s" name (ex.GetType().Name) ex.Message)

let tests =
    testList
        "ShapeError"
        [
            testCase
                "broadcasting mismatch names the op and both shapes"
                ``broadcasting mismatch names the op and both shapes``
            testCase
                "where with unbroadcastable operands names the shapes"
                ``where with unbroadcastable operands names the shapes``
            testCase
                "expand to an incompatible shape names both shapes"
                ``expand to an incompatible shape names both shapes``
            testCase
                "matmul inner-dimension mismatch names both shapes and the two sizes"
                ``matmul inner-dimension mismatch names both shapes and the two sizes``
            testCase
                "matmul with a vector operand names the mismatching sizes"
                ``matmul with a vector operand names the mismatching sizes``
            testCase
                "matmul batch-dimension mismatch names both full shapes"
                ``matmul batch-dimension mismatch names both full shapes``
            testCase
                "matmul of dtype-mismatched operands names both dtypes"
                ``matmul of dtype-mismatched operands names both dtypes``
            testCase
                "linear input-size mismatch reads linear(in->out) with the input shape"
                ``linear input-size mismatch reads linear(in->out) with the input shape``
            testCase
                "reshape element-count mismatch names the source shape and the target"
                ``reshape element-count mismatch names the source shape and the target``
            testCase
                "cat mismatch names the op, the dim and both shapes"
                ``cat mismatch names the op, the dim and both shapes``
            testCase "stack mismatch names both shapes" ``stack mismatch names both shapes``
            testCase
                "gather with an out-of-range index is ArgumentOutOfRange naming the op and the value"
                ``gather with an out-of-range index is ArgumentOutOfRange naming the op and the value``
            testCase
                "indexSelect with an out-of-range index is ArgumentOutOfRange naming the op and the value"
                ``indexSelect with an out-of-range index is ArgumentOutOfRange naming the op and the value``
            testCase
                "scatterAdd and indexAdd with out-of-range indices are ArgumentOutOfRange"
                ``scatterAdd and indexAdd with out-of-range indices are ArgumentOutOfRange``
            testCase
                "indexAdd rejects a src whose non-indexed dims differ from the input"
                ``indexAdd rejects a src whose non-indexed dims differ from the input``
            testCase
                "select and indexing out of range name the index, the dim size and the shape"
                ``select and indexing out of range name the index, the dim size and the shape``
            testCase
                "permute with an invalid permutation names it and the shape"
                ``permute with an invalid permutation names it and the shape``
            testCase
                "dims out of range in squeeze, unsqueeze, reductions and transpose are ArgumentOutOfRange"
                ``dims out of range in squeeze, unsqueeze, reductions and transpose are ArgumentOutOfRange``
            testCase "dtype mismatch names both dtypes" ``dtype mismatch names both dtypes``
            testCase
                "ofArray length and shape mismatch names the count and the shape"
                ``ofArray length and shape mismatch names the count and the shape``
            testCase "grad of a non-scalar function says to reduce" ``grad of a non-scalar function says to reduce``
            testCase
                "split sizes that do not add up name the sizes and the shape"
                ``split sizes that do not add up name the sizes and the shape``
            testCase
                "pad with negative or too many pairs is rejected"
                ``pad with negative or too many pairs is rejected``
            testCase
                "reductions of empty tensors are rejected cleanly"
                ``reductions of empty tensors are rejected cleanly``
            testCase
                "other argument errors: toScalar, arange, randint, oneHot, matmul rank 0, transpose rank 1"
                ``other argument errors: toScalar, arange, randint, oneHot, matmul rank 0, transpose rank 1``
            testCase
                "no malformed call leaks IndexOutOfRange or NullReference"
                ``no malformed call leaks IndexOutOfRange or NullReference``
        ]
