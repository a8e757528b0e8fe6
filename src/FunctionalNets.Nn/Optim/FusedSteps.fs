namespace FunctionalNets.Nn

open System
open System.Runtime.CompilerServices
open FunctionalNets

/// An optimizer's update and its application to the parameters in one pass: (step, grads, optimizer state,
/// parameters) to Some (new parameters, new optimizer state), bit for bit what Update followed by applyUpdates
/// gives, or None where the fused pass does not apply (then the caller takes the two-pass road).
type internal FusedApply = int64 -> Params -> PTree<Tensor> -> Params -> (Params * PTree<Tensor>) option

/// Fused update-and-apply passes that the training fold uses in place of GradTx.Update + applyUpdates. The GradTx
/// contract stays the Optax shape (updates, then applyUpdates); an optimizer whose chain has a one-pass equivalent
/// is annotated with it when it is built, as LearningRates annotates the rate. Written once, dies with the GradTx.
[<RequireQualifiedAccess>]
module internal FusedSteps =
    let private table = ConditionalWeakTable<GradTx, FusedApply>()

    /// tx, annotated with its one-pass equivalent.
    let annotate (fused: FusedApply) (tx: GradTx) : GradTx =
        table.AddOrUpdate(tx, fused)
        tx

    /// The one-pass result of tx's update applied to parameters, if tx has one and it applies here.
    let tryApply (tx: GradTx) (step: int64) (grads: Params) (state: PTree<Tensor>) (parameters: Params) =
        match table.TryGetValue tx with
        | true, fused -> fused step grads state parameters
        | _ -> None

    /// Optim.adam without weight decay or AMSGrad: the chain [ scaleByAdam b1 b2 eps; -lr ] (state { "0": { count;
    /// mu; nu }; "1": lr's state }) as one Tensor.adamApply per leaf. lr is the rate at a step; scheduled says
    /// whether lr's transformation keeps a count (a schedule) or has no state (a constant).
    let adam (b1: float) (b2: float) (eps: float) (lr: Schedule) (scheduled: bool) : FusedApply =
        fun step grads state parameters ->
            match state with
            | Node [ (k0, adamTree); (k1, lrTree) ] ->
                let s = AdamState.OfTree("scaleByAdam", adamTree)

                let fits (g: Tensor) (m: Tensor) (v: Tensor) (p: Tensor) =
                    not (
                        g.IsDifferentiable
                        || m.IsDifferentiable
                        || v.IsDifferentiable
                        || p.IsDifferentiable
                    )
                    && g.DType = p.DType
                    && g.Shape.Equals p.Shape

                // The leaves are paired by position, so the four trees must list the same paths in the same order.
                let trees = [ grads; s.Mu; s.Nu; parameters ] |> List.map PTree.leaves
                let paths = trees |> List.map (List.map fst)
                let leaves = trees |> List.map (List.map snd >> Array.ofList)

                match leaves with
                | [ gs; ms; vs; ps ] when
                    paths |> List.forall ((=) paths.Head)
                    && Array.forall id (Array.init ps.Length (fun i -> fits gs[i] ms[i] vs[i] ps[i]))
                    ->
                    let t = float (step + 1L)
                    // The same host-side corrections and rate as scaleByAdamWith and the learning-rate scaling.
                    let bc1 = 1.0 - Math.Pow(b1, t)
                    let bc2 = 1.0 - Math.Pow(b2, t)
                    let scale = -(lr step)

                    let results =
                        Array.init ps.Length (fun i ->
                            Tensor.adamApply (gs[i], ms[i], vs[i], ps[i], b1, b2, eps, bc1, bc2, scale))

                    let count = Tensor.scalar (t, DType.Float64, s.Count.Device)

                    let adamState: AdamState =
                        {
                            Count = count
                            Mu = PTree.rebuild s.Mu (results |> Array.map (fun (m, _, _) -> m))
                            Nu = PTree.rebuild s.Nu (results |> Array.map (fun (_, v, _) -> v))
                        }

                    let lrState =
                        if scheduled then
                            let c = CountState.OfTree("scaleBySchedule", lrTree)

                            ({
                                Count = Tensor.scalar (t, DType.Float64, c.Count.Device)
                            }
                            : CountState)
                                .ToTree()
                        else
                            lrTree

                    Some(
                        PTree.rebuild parameters (results |> Array.map (fun (_, _, p) -> p)),
                        PTree.node [ k0, adamState.ToTree(); k1, lrState ]
                    )
                | _ -> None
            | _ -> None
