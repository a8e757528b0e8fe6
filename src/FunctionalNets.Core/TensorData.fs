namespace FunctionalNets

open System
open System.Collections

/// Nested data (lists, arrays, multi-dimensional arrays, sequences of numbers or bools) read into a flat typed
/// array and a shape, for Tensor.create.
module internal TensorData =
    /// Walks nested lists/arrays/seqs of numbers or bools into a flat array and a shape.
    let flatten (value: obj) : Array * int[] =
        let rec dimsOf (v: obj) =
            match v with
            | :? string -> invalidArg "value" "tensor: strings are not tensor data."
            | :? Array as a when a.Rank > 1 -> [ for r in 0 .. a.Rank - 1 -> a.GetLength r ]
            | :? IEnumerable as e ->
                let items = [ for x in e -> x ]

                match items with
                | [] -> [ 0 ]
                | first :: _ -> items.Length :: dimsOf first
            | _ -> []

        let leaves = Collections.Generic.List<obj>()

        let rec collect (v: obj) =
            match v with
            | :? Array as a when a.Rank > 1 ->
                for x in a do
                    leaves.Add x
            | :? IEnumerable as e when not (v :? string) ->
                for x in e do
                    collect x
            | x -> leaves.Add x

        let dims = dimsOf value
        collect value
        let n = List.fold (*) 1 dims

        if leaves.Count <> n then
            invalidArg
                "value"
                (sprintf
                    "tensor: nested data is ragged; expected %d elements for shape %A, found %d."
                    n
                    dims
                    leaves.Count)

        let arr: Array =
            if leaves.Count = 0 then
                Array.zeroCreate<float32> 0
            else
                match leaves[0] with
                | :? float -> leaves |> Seq.map (fun o -> o :?> float) |> Array.ofSeq :> Array
                | :? float32 -> leaves |> Seq.map (fun o -> o :?> float32) |> Array.ofSeq :> Array
                | :? int -> leaves |> Seq.map (fun o -> o :?> int) |> Array.ofSeq :> Array
                | :? int64 -> leaves |> Seq.map (fun o -> o :?> int64) |> Array.ofSeq :> Array
                | :? bool -> leaves |> Seq.map (fun o -> o :?> bool) |> Array.ofSeq :> Array
                | o -> invalidArg "value" (sprintf "tensor: unsupported element type %s." (o.GetType().Name))

        arr, Array.ofList dims
