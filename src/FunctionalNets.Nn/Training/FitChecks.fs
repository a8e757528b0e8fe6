namespace FunctionalNets.Nn

open FunctionalNets

/// What fit checks before the first epoch, so that a mistake fails in seconds rather than after an epoch of
/// training: the callbacks' monitors against the names fit will log, the validation set against the training
/// set, and the inputs' floating dtype against the parameters'.
[<RequireQualifiedAccess>]
module FitChecks =
    let private dims (s: Shape) =
        "[" + (s.ToArray() |> Array.map string |> String.concat ", ") + "]"

    let private perExample (t: Tensor) =
        Shape.ofList (List.tail (t.Shape.ToList()))

    /// The names an epoch of fit logs: the loss and the metrics, their val_ forms with a validation set,
    /// and "lr" when the optimizer's rate is known.
    let loggedNames (metrics: string list) (validation: bool) (learningRate: bool) : string list =
        let train = "loss" :: metrics

        train
        @ (if validation then train |> List.map ((+) "val_") else [])
        @ (if learningRate then [ EpochLog.LearningRate ] else [])

    /// Raises ArgumentException naming the first callback that monitors a name fit will not log.
    let monitors (callbacks: Callback list) (logged: string list) : unit =
        for cb in callbacks do
            for m in cb.Monitors do
                if not (List.contains m logged) then
                    let hint =
                        if
                            m.StartsWith "val_"
                            && not (List.exists (fun (n: string) -> n.StartsWith "val_") logged)
                        then
                            " Pass a validation set to log val_ names,"
                        else
                            ""

                    invalidArg
                        "callbacks"
                        (sprintf
                            "%s monitors '%s', which this fit will not log; it logs %s.%s or monitor one of those."
                            cb.Name
                            m
                            (logged |> List.map (sprintf "'%s'") |> String.concat ", ")
                            (if hint = "" then " Fix the name" else hint))

    /// Raises ArgumentException when the validation examples are not shaped like the training ones (inputs
    /// and targets per example), or their targets are of another kind (class indices against floats).
    let validation (train: IDataset) (validation: IDataset) : unit =
        if train.Count > 0 && validation.Count > 0 then
            let t = train.GetBatch [| 0 |]
            let v = validation.GetBatch [| 0 |]

            let mismatch (what: string) (tv: string) (vv: string) =
                invalidArg
                    "validation"
                    (sprintf
                        "fit: the validation %s is %s per example but the training %s is %s; give a validation set prepared like the training set."
                        what
                        vv
                        what
                        tv)

            if not ((perExample t.Input).Equals(perExample v.Input)) then
                mismatch "input" (dims (perExample t.Input)) (dims (perExample v.Input))

            if not ((perExample t.Target).Equals(perExample v.Target)) then
                mismatch "target" (dims (perExample t.Target)) (dims (perExample v.Target))

            if t.Target.DType.IsFloatingPoint <> v.Target.DType.IsFloatingPoint then
                mismatch "target dtype" (string t.Target.DType) (string v.Target.DType)

    /// Raises ArgumentException when floating inputs have another dtype than the floating parameters (a
    /// Float64 dataset into a Float32 net), naming both and the cast that fixes it.
    let inputDType (parameters: Params) (train: IDataset) : unit =
        if train.Count > 0 then
            let x = (train.GetBatch [| 0 |]).Input

            match PTree.values parameters |> List.tryFind (fun p -> p.DType.IsFloatingPoint) with
            | Some p when x.DType.IsFloatingPoint && x.DType <> p.DType ->
                let name (d: DType) = sprintf "%O (DType.%A)" d d

                invalidArg
                    "train"
                    (sprintf
                        "fit: the inputs are %s but the net's parameters are %s; cast the inputs to %s (Tensor.cast) or build the dataset from %O data."
                        (name x.DType)
                        (name p.DType)
                        (name p.DType)
                        p.DType)
            | _ -> ()
