/// Backends for testing the backend contract itself: wrappers around the CPU backend that implement the required
/// tier only (the fused members keep RawTensor's defaults), that implement every member and record which ones were
/// called, or that get one primitive deliberately wrong.
module FunctionalNets.Tests.Conformance.TestBackends

open System
open System.Collections.Concurrent
open FunctionalNets

/// A deliberate fault, for proving that the conformance suite can fail.
type Fault =
    | NoFault
    /// The first element of every floating-point result of the named member is one ulp off.
    | UlpOff of memberName: string
    /// The first two elements of every result of the named member are swapped (one index off).
    | IndexOff of memberName: string

let private bumpUlp (r: RawTensor) =
    match r.ToArray() with
    | :? (float32[]) as a when a.Length > 0 ->
        a[0] <- MathF.BitIncrement a[0]
        r.Backend.FromArray(a, r.Shape)
    | :? (float[]) as a when a.Length > 0 ->
        a[0] <- Math.BitIncrement a[0]
        r.Backend.FromArray(a, r.Shape)
    | _ -> r

let private swapFirstTwo (r: RawTensor) =
    let a = r.ToArray()

    if a.Length >= 2 then
        let x0 = a.GetValue 0
        a.SetValue(a.GetValue 1, 0)
        a.SetValue(x0, 1)
        r.Backend.FromArray(a, r.Shape)
    else
        r

/// The CPU backend seen through a wrapper: every required (abstract) member is forwarded to the CPU tensor inside;
/// the fused (virtual) members are left at RawTensor's defaults. `calls` records each member called.
type RequiredTierRawTensor(inner: RawTensor, backend: WrappingBackend) =
    inherit RawTensor(inner.Shape, inner.DType, inner.Device)

    member _.Inner = inner
    member _.Owner = backend

    member internal _.Wrap (name: string) (r: RawTensor) : RawTensor = backend.Wrap ("RawTensor." + name) r
    member internal _.Note(name: string) = backend.Note("RawTensor." + name)

    static member Un(r: RawTensor) =
        match r with
        | :? RequiredTierRawTensor as w -> w.Inner
        | _ -> invalidArg "r" (sprintf "expected a tensor of the test backend, got one of %s" r.Backend.Name)

    override t.Backend =
        t.Note "Backend"
        backend :> Backend

    override t.Storage =
        t.Note "Storage"
        inner.Storage

    override t.Unary k = t.Wrap "Unary" (inner.Unary k)

    override t.Binary(k, o) =
        t.Wrap "Binary" (inner.Binary(k, RequiredTierRawTensor.Un o))

    override t.Compare(k, o) =
        t.Wrap "Compare" (inner.Compare(k, RequiredTierRawTensor.Un o))

    override t.Logical(k, o) =
        t.Wrap "Logical" (inner.Logical(k, RequiredTierRawTensor.Un o))

    override t.LogicalNot() =
        t.Wrap "LogicalNot" (inner.LogicalNot())

    override t.Where(c, o) =
        t.Wrap "Where" (inner.Where(RequiredTierRawTensor.Un c, RequiredTierRawTensor.Un o))

    override t.Cast d = t.Wrap "Cast" (inner.Cast d)
    override t.Sum(dims, keep) = t.Wrap "Sum" (inner.Sum(dims, keep))

    override t.MaxAlong(d, keep) =
        let a, b = inner.MaxAlong(d, keep)
        t.Wrap "MaxAlong" a, t.Wrap "MaxAlong" b

    override t.MinAlong(d, keep) =
        let a, b = inner.MinAlong(d, keep)
        t.Wrap "MinAlong" a, t.Wrap "MinAlong" b

    override t.MatMul(ta, o, tb) =
        t.Wrap "MatMul" (inner.MatMul(ta, RequiredTierRawTensor.Un o, tb))

    override t.Reshape s = t.Wrap "Reshape" (inner.Reshape s)
    override t.Permute p = t.Wrap "Permute" (inner.Permute p)
    override t.Expand s = t.Wrap "Expand" (inner.Expand s)
    override t.Slice(a, b, c) = t.Wrap "Slice" (inner.Slice(a, b, c))

    override t.SliceScatter(s, a, b) =
        t.Wrap "SliceScatter" (inner.SliceScatter(s, a, b))

    override t.Gather(d, i) =
        t.Wrap "Gather" (inner.Gather(d, RequiredTierRawTensor.Un i))

    override t.ScatterAdd(d, i, s) =
        t.Wrap "ScatterAdd" (inner.ScatterAdd(d, RequiredTierRawTensor.Un i, RequiredTierRawTensor.Un s))

    override t.IndexSelect(d, i) =
        t.Wrap "IndexSelect" (inner.IndexSelect(d, RequiredTierRawTensor.Un i))

    override t.IndexAdd(d, i, s) =
        t.Wrap "IndexAdd" (inner.IndexAdd(d, RequiredTierRawTensor.Un i, RequiredTierRawTensor.Un s))

    override t.Pad(b, a, v) = t.Wrap "Pad" (inner.Pad(b, a, v))

    override t.Conv2d(w, s, p, d, g) =
        t.Wrap "Conv2d" (inner.Conv2d(RequiredTierRawTensor.Un w, s, p, d, g))

    override t.Conv2dInputGrad(w, sh, s, p, d, g) =
        t.Wrap "Conv2dInputGrad" (inner.Conv2dInputGrad(RequiredTierRawTensor.Un w, sh, s, p, d, g))

    override t.Conv2dWeightGrad(x, sh, s, p, d, g) =
        t.Wrap "Conv2dWeightGrad" (inner.Conv2dWeightGrad(RequiredTierRawTensor.Un x, sh, s, p, d, g))

    override t.MaxPool2d(k, s, p, d, c) =
        let a, b = inner.MaxPool2d(k, s, p, d, c)
        t.Wrap "MaxPool2d" a, t.Wrap "MaxPool2d" b

    override t.AvgPool2d(k, s, p, c, i) =
        t.Wrap "AvgPool2d" (inner.AvgPool2d(k, s, p, c, i))

    override t.AvgPool2dBackward(sh, k, s, p, c, i) =
        t.Wrap "AvgPool2dBackward" (inner.AvgPool2dBackward(sh, k, s, p, c, i))

    override t.AdaptiveAvgPool2d o =
        t.Wrap "AdaptiveAvgPool2d" (inner.AdaptiveAvgPool2d o)

    override t.AdaptiveAvgPool2dBackward s =
        t.Wrap "AdaptiveAvgPool2dBackward" (inner.AdaptiveAvgPool2dBackward s)

    override t.UpsampleBilinear2d(o, a) =
        t.Wrap "UpsampleBilinear2d" (inner.UpsampleBilinear2d(o, a))

    override t.UpsampleBilinear2dBackward(s, a) =
        t.Wrap "UpsampleBilinear2dBackward" (inner.UpsampleBilinear2dBackward(s, a))

    override t.CumSum(d, r) = t.Wrap "CumSum" (inner.CumSum(d, r))

    override t.ToArray() =
        t.Note "ToArray"
        inner.ToArray()

    override t.AddInPlace o =
        t.Note "AddInPlace"
        inner.AddInPlace(RequiredTierRawTensor.Un o)

    override t.Clone() = t.Wrap "Clone" (inner.Clone())

/// The wrapper that also forwards every fused member to the CPU kernels (so the suite can record that it calls them).
and FullRawTensor(inner: RawTensor, backend: WrappingBackend) =
    inherit RequiredTierRawTensor(inner, backend)

    override t.AdamStep(m, v, b1, b2, eps, bc1, bc2) =
        let a, b, c =
            inner.AdamStep(RequiredTierRawTensor.Un m, RequiredTierRawTensor.Un v, b1, b2, eps, bc1, bc2)

        t.Wrap "AdamStep" a, t.Wrap "AdamStep" b, t.Wrap "AdamStep" c

    override t.AdamApply(m, v, p, b1, b2, eps, bc1, bc2, scale) =
        let un = RequiredTierRawTensor.Un
        let a, b, c = inner.AdamApply(un m, un v, un p, b1, b2, eps, bc1, bc2, scale)
        t.Wrap "AdamApply" a, t.Wrap "AdamApply" b, t.Wrap "AdamApply" c

    override t.Dropout(key, p) =
        let y, keep = inner.Dropout(key, p)
        t.Wrap "Dropout" y, t.Wrap "Dropout" keep

    override t.DropoutBackward(keep, p) =
        t.Wrap "DropoutBackward" (inner.DropoutBackward(RequiredTierRawTensor.Un keep, p))

    override t.MaxPool2dBackward(i, s) =
        t.Wrap "MaxPool2dBackward" (inner.MaxPool2dBackward(RequiredTierRawTensor.Un i, s))

    override t.LayerNorm(n, w, b, eps) =
        let y, m, r =
            inner.LayerNorm(n, Option.map RequiredTierRawTensor.Un w, Option.map RequiredTierRawTensor.Un b, eps)

        t.Wrap "LayerNorm" y, t.Wrap "LayerNorm" m, t.Wrap "LayerNorm" r

    override t.LayerNormBackward(x, m, r, w, n) =
        let a, b, c =
            inner.LayerNormBackward(
                RequiredTierRawTensor.Un x,
                RequiredTierRawTensor.Un m,
                RequiredTierRawTensor.Un r,
                Option.map RequiredTierRawTensor.Un w,
                n
            )

        t.Wrap "LayerNormBackward" a, t.Wrap "LayerNormBackward" b, t.Wrap "LayerNormBackward" c

    override t.BatchNorm(w, b, eps) =
        let y, m, v =
            inner.BatchNorm(Option.map RequiredTierRawTensor.Un w, Option.map RequiredTierRawTensor.Un b, eps)

        t.Wrap "BatchNorm" y, t.Wrap "BatchNorm" m, t.Wrap "BatchNorm" v

    override t.BatchNormBackward(x, m, v, w, eps) =
        let a, b, c =
            inner.BatchNormBackward(
                RequiredTierRawTensor.Un x,
                RequiredTierRawTensor.Un m,
                RequiredTierRawTensor.Un v,
                Option.map RequiredTierRawTensor.Un w,
                eps
            )

        t.Wrap "BatchNormBackward" a, t.Wrap "BatchNormBackward" b, t.Wrap "BatchNormBackward" c

    override t.UpsampleNearest2d o =
        t.Wrap "UpsampleNearest2d" (inner.UpsampleNearest2d o)

    override t.UpsampleNearest2dBackward s =
        t.Wrap "UpsampleNearest2dBackward" (inner.UpsampleNearest2dBackward s)

    override t.AttentionSoftmax(s, c) =
        t.Wrap "AttentionSoftmax" (inner.AttentionSoftmax(s, c))

    override t.AttentionSoftmaxBackward(y, s) =
        t.Wrap "AttentionSoftmaxBackward" (inner.AttentionSoftmaxBackward(RequiredTierRawTensor.Un y, s))

    override t.PrefersFusedAttention(batch, l, s, e, ev, causal) =
        t.Note "PrefersFusedAttention"
        inner.PrefersFusedAttention(batch, l, s, e, ev, causal)

    override t.Attention(k, v, scale, causal, lens) =
        let o, lse =
            inner.Attention(RequiredTierRawTensor.Un k, RequiredTierRawTensor.Un v, scale, causal, lens)

        t.Wrap "Attention" o, t.Wrap "Attention" lse

    override t.AttentionBackward(q, k, v, o, lse, scale, causal, lens) =
        let un = RequiredTierRawTensor.Un

        let dq, dk, dv =
            inner.AttentionBackward(un q, un k, un v, un o, un lse, scale, causal, lens)

        t.Wrap "AttentionBackward" dq, t.Wrap "AttentionBackward" dk, t.Wrap "AttentionBackward" dv

    override t.GeluTanh() = t.Wrap "GeluTanh" (inner.GeluTanh())

    override t.GeluTanhBackward g =
        t.Wrap "GeluTanhBackward" (inner.GeluTanhBackward(RequiredTierRawTensor.Un g))

/// A backend over the CPU backend; make wraps a CPU tensor as one of this backend's (RequiredTierRawTensor keeps the
/// fused defaults, FullRawTensor forwards them too); fault: a deliberate error.
and WrappingBackend(name: string, make: RawTensor -> WrappingBackend -> RawTensor, fault: Fault) =
    inherit Backend()
    let cpu = Backends.get Device.Cpu
    let calls = ConcurrentDictionary<string, bool>()

    /// The members called so far, as "RawTensor.X" and "Backend.X".
    member _.Calls = calls.Keys |> Set.ofSeq
    member _.Note(name: string) = calls[name] <- true

    /// Wraps a CPU tensor that member `name` produced, applying the fault when it names that member.
    member b.Wrap (name: string) (r: RawTensor) : RawTensor =
        b.Note name

        let r =
            match fault with
            | UlpOff m when m = name -> bumpUlp r
            | IndexOff m when m = name -> swapFirstTwo r
            | _ -> r

        b.Own r

    member b.Own(r: RawTensor) : RawTensor =
        match r with
        | :? RequiredTierRawTensor as w when Object.ReferenceEquals(w.Owner, b) -> r
        | _ -> make r b

    override b.Name =
        b.Note "Backend.Name"
        name

    override b.Device =
        b.Note "Backend.Device"
        cpu.Device

    override b.Zeros(s, d) =
        b.Wrap "Backend.Zeros" (cpu.Zeros(s, d))

    override b.Full(s, d, v) =
        b.Wrap "Backend.Full" (cpu.Full(s, d, v))

    override b.FromArray(a, s) =
        b.Wrap "Backend.FromArray" (cpu.FromArray(a, s))

    override b.Arange(s, st, n, d) =
        b.Wrap "Backend.Arange" (cpu.Arange(s, st, n, d))

    override b.RandomUniform(k, s, d) =
        b.Wrap "Backend.RandomUniform" (cpu.RandomUniform(k, s, d))

    override b.RandomNormal(k, s, d) =
        b.Wrap "Backend.RandomNormal" (cpu.RandomNormal(k, s, d))

    override b.Cat(ts, d) =
        b.Wrap "Backend.Cat" (cpu.Cat(ts |> Array.map RequiredTierRawTensor.Un, d))

/// The CPU kernels behind the required tier only: every fused member runs RawTensor's default.
let requiredTier () =
    WrappingBackend("required-tier", (fun r b -> RequiredTierRawTensor(r, b) :> RawTensor), NoFault)

/// The CPU kernels behind every member, recording each member called.
let recording () =
    WrappingBackend("recording", (fun r b -> FullRawTensor(r, b) :> RawTensor), NoFault)

/// The CPU backend with one deliberate fault.
let faulty (fault: Fault) =
    WrappingBackend(sprintf "faulty (%A)" fault, (fun r b -> FullRawTensor(r, b) :> RawTensor), fault)

/// A backend whose MatMul is a stub (NotImplementedException), as a backend under construction has.
type NoMatMulRawTensor(inner: RawTensor, backend: WrappingBackend) =
    inherit RequiredTierRawTensor(inner, backend)
    override _.MatMul(_, _, _) = raise (NotImplementedException())

let withoutMatMul () =
    WrappingBackend("no-matmul", (fun r b -> NoMatMulRawTensor(r, b) :> RawTensor), NoFault)
