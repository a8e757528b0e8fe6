namespace FunctionalNets

open System.Runtime.CompilerServices
open System.Runtime.InteropServices

/// Matrix products: batched, broadcasting over batch dims, with operands read transposed without copies.
[<AutoOpen; Extension>]
module MatmulOps =
    /// op(a) @ op(b) over the last two dims, where op transposes when its flag is set.
    let rec internal matmulT (a: Tensor) (ta: bool) (b: Tensor) (tb: bool) : Tensor =
        if a.DType <> b.DType then
            invalidArg
                "b"
                (sprintf
                    "matmul: dtypes differ (%O %O and %O %O); cast one with Tensor.cast."
                    a.DType
                    a.Shape
                    b.DType
                    b.Shape)

        TensorCore.apply
            {
                Name = "matmul"
                Raw = fun r -> r[0].MatMul(ta, r[1], tb)
                Jvp =
                    fun xs _ i t ->
                        if i = 0 then
                            matmulT t ta xs[1] tb
                        else
                            matmulT xs[0] ta t tb
                Vjp =
                    fun xs _ i g ->
                        let a, b = xs[0], xs[1]

                        let full =
                            if i = 0 then
                                if ta then
                                    matmulT b tb g true
                                else
                                    matmulT g false b (not tb)
                            else if tb then
                                matmulT g true a ta
                            else
                                matmulT a (not ta) g false

                        TensorCore.sumToShape xs[i].Shape full
            }
            [| a; b |]

    type Tensor with
        /// Matrix product with PyTorch's rules: 1-D operands are treated as vectors, batch dims broadcast.
        [<CompiledName("Matmul"); Extension>]
        static member matmul(a: Tensor, b: Tensor) =
            Args.required "matmul" "a" a
            Args.required "matmul" "b" b
            TensorCore.requireFloat "matmul" "a" a
            TensorCore.requireFloat "matmul" "b" b

            if a.Rank = 0 || b.Rank = 0 then
                invalidArg "a" (sprintf "matmul: both operands need at least one dim, got %O and %O." a.Shape b.Shape)

            // Checked here, on the shapes the caller passed, so messages show those and not the 2-D views.
            let k1 = a.Shape[a.Rank - 1]
            let k2 = if b.Rank = 1 then b.Shape[0] else b.Shape[b.Rank - 2]

            if k1 <> k2 then
                invalidArg
                    "b"
                    (sprintf
                        "matmul: shapes %O and %O cannot be multiplied (%d vs %d); the left operand's last dim must equal the right operand's %s dim."
                        a.Shape
                        b.Shape
                        k1
                        k2
                        (if b.Rank = 1 then "only" else "second-to-last"))

            if a.Rank > 2 && b.Rank > 2 then
                let batch (s: Shape) =
                    Shape.Create(s.ToArray()[.. s.Rank - 3])

                try
                    Shape.broadcast "matmul" (batch a.Shape) (batch b.Shape) |> ignore
                with :? System.ArgumentException ->
                    invalidArg
                        "b"
                        (sprintf "matmul: the batch dims of %O and %O cannot be broadcast together." a.Shape b.Shape)

            let a2 = if a.Rank = 1 then Tensor.unsqueeze (a, 0) else a
            let b2 = if b.Rank = 1 then Tensor.unsqueeze (b, 1) else b
            let y = matmulT a2 false b2 false
            let y = if a.Rank = 1 then Tensor.squeeze (y, -2) else y
            if b.Rank = 1 then Tensor.squeeze (y, -1) else y

        /// a @ b^T without materialising the transpose (b's last two dims swapped).
        [<CompiledName("MatmulNT"); Extension>]
        static member matmulNT(a: Tensor, b: Tensor) =
            Args.required "matmulNT" "a" a
            Args.required "matmulNT" "b" b

            matmulT a false b true

        /// a^T @ b without materialising the transpose.
        [<CompiledName("MatmulTN"); Extension>]
        static member matmulTN(a: Tensor, b: Tensor) =
            Args.required "matmulTN" "a" a
            Args.required "matmulTN" "b" b

            matmulT a true b false

        /// x @ weight^T + bias, PyTorch's linear: weight is [out; in], x is [...; in].
        [<CompiledName("Linear"); Extension>]
        static member linear(x: Tensor, weight: Tensor, [<Optional>] bias: Tensor) =
            Args.required "linear" "x" x
            Args.required "linear" "weight" weight
            let bias = Args.opt bias

            if weight.Rank <> 2 then
                invalidArg "weight" (sprintf "linear: weight must be [out; in], got %O." weight.Shape)

            if x.Rank = 0 || x.Shape.Dims[x.Rank - 1] <> weight.Shape.Dims[1] then
                invalidArg
                    "x"
                    (sprintf
                        "linear(%d->%d): input %O has last dim %d, expected %d."
                        weight.Shape.Dims[1]
                        weight.Shape.Dims[0]
                        x.Shape
                        (if x.Rank = 0 then 0 else x.Shape.Dims[x.Rank - 1])
                        weight.Shape.Dims[1])

            // Leading dims fold into rows: one [rows; in] x [in; out] GEMM (whose weight gradient is one GEMM
            // too) instead of a batch of small products broadcasting the weight and summing its gradients.
            let dims = x.Shape.ToArray()
            let rows = Array.fold (*) 1 dims[.. dims.Length - 2]
            let x2 = TensorCore.reshape [| rows; dims[dims.Length - 1] |] x
            let y = matmulT x2 false weight true

            let y =
                TensorCore.reshape (Array.append dims[.. dims.Length - 2] [| weight.Shape.Dims[0] |]) y

            match bias with
            | Some b -> TensorCore.add y b
            | None -> y

        /// Dot product of two 1-D tensors.
        [<CompiledName("Dot"); Extension>]
        static member dot(a: Tensor, b: Tensor) =
            Args.required "dot" "a" a
            Args.required "dot" "b" b

            if a.Rank <> 1 || b.Rank <> 1 || a.Numel <> b.Numel then
                invalidArg "b" (sprintf "dot: expects two 1-D tensors of equal length, got %O and %O." a.Shape b.Shape)

            Tensor.sum (TensorCore.mul a b)
