namespace FunctionalNets

/// The differentiation operators. Each call takes a fresh tag, so they nest: grad (grad f) works and
/// a derivative taken inside another never confuses the two perturbations. C# calls the same operators
/// through the Diff type's members (DiffMembers.fs), which take Func delegates.
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Diff =
    let private onesLike (y: Tensor) =
        TConst(y.Raw.Backend.Full(y.Shape, y.DType, 1.0))

    let private zerosLike (x: Tensor) =
        TConst(x.Raw.Backend.Zeros(x.Shape, x.DType))

    let private primalAt (tag: uint32) (y: Tensor) =
        if y.NestingTag = tag then y.Primal else y

    let private requireScalar (op: string) (y: Tensor) =
        if y.Numel <> 1 then
            invalidArg
                "f"
                (sprintf
                    "%s: f must return a tensor with one element, got shape %O; reduce it (e.g. Tensor.sum) or use Diff.vjp."
                    op
                    y.Shape)

    let private leafAdjoint (adj: System.Collections.Generic.Dictionary<int64, Tensor>) (leaf: Tensor) (x: Tensor) =
        match leaf with
        | TReverse(_, n, _) ->
            match adj.TryGetValue n.Id with
            | true, g -> g
            | _ -> zerosLike x
        | _ -> zerosLike x

    /// The value of f and the vector-Jacobian product v^T J at a tree of inputs.
    let vjpTree (f: PTree<Tensor> -> Tensor) (xs: PTree<Tensor>) (v: Tensor) : Tensor * PTree<Tensor> =
        let tag = Tags.next ()
        let leaves = xs |> PTree.map (Reverse.leaf tag)
        let y = f leaves

        if not (v.Shape.Equals y.Shape) then
            invalidArg "v" (sprintf "vjp: v has shape %O but f returned %O; they must be equal." v.Shape y.Shape)

        let value = primalAt tag y

        match y with
        | TReverse(_, _, t) when t = tag ->
            let adj = Reverse.sweep y v
            value, PTree.map2 (leafAdjoint adj) leaves xs
        | _ -> value, PTree.map zerosLike xs

    /// The value of a scalar f and its gradient at a tree of inputs.
    let valueAndGradTree (f: PTree<Tensor> -> Tensor) (xs: PTree<Tensor>) : Tensor * PTree<Tensor> =
        let mutable seed = Unchecked.defaultof<Tensor>

        let probe (t: PTree<Tensor>) =
            let y = f t
            requireScalar "grad" y
            seed <- onesLike y
            y

        // The seed's shape is only known once f has run, so it is built inside the call.
        let tag = Tags.next ()
        let leaves = xs |> PTree.map (Reverse.leaf tag)
        let y = probe leaves
        let value = primalAt tag y

        match y with
        | TReverse(_, _, t) when t = tag ->
            let adj = Reverse.sweep y seed
            value, PTree.map2 (leafAdjoint adj) leaves xs
        | _ -> value, PTree.map zerosLike xs

    /// valueAndGradTree for an f that also returns an auxiliary tensor tree (JAX's has_aux): ((value, aux), grads).
    /// The aux tree comes back without this call's derivative level (as the value does), so state or predictions
    /// computed inside f can be returned through it instead of through a mutable captured by f.
    let valueAndGradTreeAux
        (f: PTree<Tensor> -> Tensor * PTree<Tensor>)
        (xs: PTree<Tensor>)
        : (Tensor * PTree<Tensor>) * PTree<Tensor> =
        let tag = Tags.next ()
        let leaves = xs |> PTree.map (Reverse.leaf tag)
        let y, aux = f leaves
        requireScalar "grad" y
        let value = primalAt tag y
        let aux = aux |> PTree.map (primalAt tag)

        match y with
        | TReverse(_, _, t) when t = tag ->
            let adj = Reverse.sweep y (onesLike y)
            (value, aux), PTree.map2 (leafAdjoint adj) leaves xs
        | _ -> (value, aux), PTree.map zerosLike xs

    /// The gradient of a scalar f at a tree of inputs.
    let gradTree (f: PTree<Tensor> -> Tensor) (xs: PTree<Tensor>) : PTree<Tensor> = snd (valueAndGradTree f xs)

    /// The value of a scalar f and its gradient at x.
    let valueAndGrad (f: Tensor -> Tensor) (x: Tensor) : Tensor * Tensor =
        let value, g =
            valueAndGradTree
                (function
                | Leaf t -> f t
                | _ -> invalidOp "unreachable")
                (Leaf x)

        match g with
        | Leaf g -> value, g
        | _ -> invalidOp "unreachable"

    /// The value of a scalar f, its auxiliary output (JAX's has_aux) and its gradient at x: ((value, aux), grad).
    let valueAndGradAux (f: Tensor -> Tensor * PTree<Tensor>) (x: Tensor) : (Tensor * PTree<Tensor>) * Tensor =
        let va, g =
            valueAndGradTreeAux
                (function
                | Leaf t -> f t
                | _ -> invalidOp "unreachable")
                (Leaf x)

        match g with
        | Leaf g -> va, g
        | _ -> invalidOp "unreachable"

    /// The gradient of a scalar f at x.
    let grad (f: Tensor -> Tensor) (x: Tensor) : Tensor = snd (valueAndGrad f x)

    /// The value of f and v^T J at x (reverse mode, any output shape; v has f's output shape).
    let vjp (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) : Tensor * Tensor =
        let value, g =
            vjpTree
                (function
                | Leaf t -> f t
                | _ -> invalidOp "unreachable")
                (Leaf x)
                v

        match g with
        | Leaf g -> value, g
        | _ -> invalidOp "unreachable"

    /// The value of f and the Jacobian-vector product J v at a tree of inputs (forward mode).
    let jvpTree (f: PTree<Tensor> -> Tensor) (xs: PTree<Tensor>) (vs: PTree<Tensor>) : Tensor * Tensor =
        let tag = Tags.next ()

        let duals =
            PTree.map2
                (fun (x: Tensor) (v: Tensor) ->
                    if not (x.Shape.Equals v.Shape) then
                        invalidArg
                            "v"
                            (sprintf
                                "jvp: the tangent has shape %O but the input has %O; they must be equal."
                                v.Shape
                                x.Shape)

                    TForward(x, v, tag))
                xs
                vs

        let y = f duals

        match y with
        | TForward(p, t, tg) when tg = tag -> p, t
        | _ -> y, zerosLike y

    /// The value of f and the Jacobian-vector product J v at x (forward mode).
    let jvp (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) : Tensor * Tensor =
        jvpTree
            (function
            | Leaf t -> f t
            | _ -> invalidOp "unreachable")
            (Leaf x)
            (Leaf v)

    /// The Jacobian of f at x, shaped f(x).Shape @ x.Shape (PyTorch's layout). Uses reverse mode when
    /// the output is smaller than the input and forward mode otherwise.
    let jacobian (f: Tensor -> Tensor) (x: Tensor) : Tensor =
        let y0 = f x
        let m, n = y0.Numel, x.Numel
        let outDims = Array.append (y0.Shape.ToArray()) (x.Shape.ToArray())

        let basis (like: Tensor) (count: int) (i: int) =
            let e = Array.zeroCreate<float> count
            e[i] <- 1.0
            let t = Tensor.ofArray (e, like.Shape.ToArray(), like.Device)
            Tensor.cast (t, like.DType)

        if m <= n then
            let rows = [ for i in 0 .. m - 1 -> Tensor.flatten (snd (vjp f x (basis y0 m i))) ]
            TensorCore.reshape outDims (Tensor.stack (rows, 0))
        else
            let cols = [ for j in 0 .. n - 1 -> Tensor.flatten (snd (jvp f x (basis x n j))) ]
            TensorCore.reshape outDims (Tensor.stack (cols, 1))

    /// The Hessian of a scalar f at x, shaped x.Shape @ x.Shape.
    let hessian (f: Tensor -> Tensor) (x: Tensor) : Tensor = jacobian (grad f) x

    /// The Hessian-vector product H v of a scalar f at x (forward over reverse, no Hessian built).
    let hvp (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) : Tensor = snd (jvp (grad f) x v)

    /// The gradient of a scalar f at x by central differences with step eps (for tests; use Float64).
    let numGrad (eps: float) (f: Tensor -> Tensor) (x: Tensor) : Tensor =
        let xs = Tensor.toFloatArray x
        let shape = x.Shape.ToArray()
        let g = Array.zeroCreate<float> xs.Length

        let eval (values: float[]) =
            let t = Tensor.cast (Tensor.ofArray (values, shape, x.Device), x.DType)
            let y = f t
            requireScalar "numGrad" y
            Tensor.toScalar y

        for i in 0 .. xs.Length - 1 do
            let orig = xs[i]
            xs[i] <- orig + eps
            let up = eval xs
            xs[i] <- orig - eps
            let down = eval xs
            xs[i] <- orig
            g[i] <- (up - down) / (2.0 * eps)

        Tensor.cast (Tensor.ofArray (g, shape, x.Device), x.DType)
