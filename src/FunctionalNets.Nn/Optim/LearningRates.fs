namespace FunctionalNets.Nn

open System.Runtime.CompilerServices

/// The learning rate an optimizer applies, so that training can log it ("lr") and callbacks can report it.
/// The GradTx contract has no field for it (most transformations have no rate), so the transformations that
/// scale by a rate annotate their value and chain passes the annotation on. Entries are written once, when
/// a transformation is created, and die with it.
[<RequireQualifiedAccess>]
module LearningRates =
    let private table = ConditionalWeakTable<GradTx, Schedule>()

    /// tx, annotated as applying the learning rate lr.
    let annotate (lr: Schedule) (tx: GradTx) : GradTx =
        table.AddOrUpdate(tx, lr)
        tx

    /// The learning-rate schedule tx applies (for a chain, that of its first member that has one), if known.
    let tryFind (tx: GradTx) : Schedule option =
        match table.TryGetValue tx with
        | true, lr -> Some lr
        | _ -> None
