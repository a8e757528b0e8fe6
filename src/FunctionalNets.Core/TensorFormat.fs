namespace FunctionalNets

open System
open System.Text
open System.Globalization

/// PyTorch-like text for tensor values: tensor([[1.0000, 2.0000], [3.0000, 4.0000]]).
module internal TensorFormat =
    let private maxShown = 1000
    let private edge = 3

    let private element (a: Array) (i: int) =
        match a with
        | :? (float32[]) as x -> x[i].ToString("0.0000", CultureInfo.InvariantCulture)
        | :? (float[]) as x -> x[i].ToString("0.0000", CultureInfo.InvariantCulture)
        | :? (int[]) as x -> string x[i]
        | :? (int64[]) as x -> string x[i]
        | :? (bool[]) as x -> if x[i] then "true" else "false"
        | _ -> "?"

    /// Formats the values of a raw tensor (elided in the middle of long dims when large).
    let format (r: RawTensor) =
        let data = r.ToArray()
        let dims = r.Shape.ToArray()
        let strides = Shape.contiguousStrides r.Shape
        let elide = data.Length > maxShown
        let sb = StringBuilder()
        sb.Append("tensor(") |> ignore

        let rec go (d: int) (offset: int) =
            if d = dims.Length then
                sb.Append(element data offset) |> ignore
            else
                sb.Append('[') |> ignore
                let n = dims[d]

                let shown =
                    if elide && n > 2 * edge then
                        [ yield! [ 0 .. edge - 1 ]; yield -1; yield! [ n - edge .. n - 1 ] ]
                    else
                        [ 0 .. n - 1 ]

                shown
                |> List.iteri (fun j i ->
                    if j > 0 then
                        sb.Append(
                            if d = dims.Length - 1 then
                                ", "
                            else
                                ",\n" + String(' ', 8 + d)
                        )
                        |> ignore

                    if i < 0 then
                        sb.Append("...") |> ignore
                    else
                        go (d + 1) (offset + i * strides[d]))

                sb.Append(']') |> ignore

        if data.Length = 0 then
            sb.Append(sprintf "[], size=%O" r.Shape) |> ignore
        else
            go 0 0

        if r.DType <> DType.Float32 then
            sb.Append(", dtype=").Append(r.DType.Name) |> ignore

        if r.Device <> Device.Cpu then
            sb.Append(", device=").Append(r.Device) |> ignore

        sb.Append(')').ToString()
