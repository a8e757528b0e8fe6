namespace FunctionalNets.Nn

open System
open System.Text
open FunctionalNets

/// The scores of one class: precision TP / (TP + FP), recall TP / (TP + FN), their harmonic mean F1 (each 0 when
/// its denominator is, as scikit-learn's zero_division=0) and the support (rows whose target is the class).
type ClassScores =
    {
        Class: int
        Name: string
        Precision: float
        Recall: float
        F1: float
        Support: int
    }

/// scikit-learn's classification_report as data: a row per class present in the targets or the predictions, the
/// accuracy, and the macro (unweighted) and weighted (by support) averages of precision, recall and F1.
type ClassificationReport =
    {
        Classes: ClassScores list
        Accuracy: float
        /// Precision, recall and F1 averaged over the rows, unweighted.
        MacroAverage: float * float * float
        /// Precision, recall and F1 averaged over the rows, weighted by support.
        WeightedAverage: float * float * float
        /// The number of rows scored.
        Support: int
    }

    /// The report as scikit-learn prints it (two decimals, a column per score, support last).
    member r.Format(?digits: int) =
        let digits = defaultArg digits 2

        let width =
            r.Classes
            |> List.map (fun c -> c.Name.Length)
            |> List.fold max "weighted avg".Length

        let num (v: float) =
            v.ToString("F" + string digits, Globalization.CultureInfo.InvariantCulture).PadLeft 9

        let sb = StringBuilder()
        let line (s: string) = sb.Append(s).Append('\n') |> ignore

        line (String(' ', width) + " precision    recall  f1-score   support")
        line ""

        for c in r.Classes do
            line (
                c.Name.PadLeft width
                + " "
                + num c.Precision
                + " "
                + num c.Recall
                + " "
                + num c.F1
                + " "
                + (string c.Support).PadLeft 9
            )

        line ""

        line (
            "accuracy".PadLeft width
            + " "
            + String(' ', 19)
            + " "
            + num r.Accuracy
            + " "
            + (string r.Support).PadLeft 9
        )

        for name, (p, rc, f) in [ "macro avg", r.MacroAverage; "weighted avg", r.WeightedAverage ] do
            line (
                name.PadLeft width
                + " "
                + num p
                + " "
                + num rc
                + " "
                + num f
                + " "
                + (string r.Support).PadLeft 9
            )

        sb.ToString()

    override r.ToString() = r.Format()

/// Builds classification reports.
[<RequireQualifiedAccess>]
module ClassificationReport =
    /// The report of scores [N; C] against class indices [N] (or one-hot rows [N; C]); classNames, when given,
    /// names the C classes (the index otherwise).
    let compute (classNames: string list option) (predictions: Tensor) (targets: Tensor) : ClassificationReport =
        let counts = Metrics.confusionCounts "ClassificationReport" predictions targets
        let c = int (sqrt (float counts.Length))

        match classNames with
        | Some names when names.Length <> c ->
            invalidArg
                "classNames"
                (sprintf
                    "ClassificationReport: %d class names for %d classes (predictions %O)."
                    names.Length
                    c
                    predictions.Shape)
        | _ -> ()

        let support k =
            int (Array.sum counts[k * c .. k * c + c - 1])

        let predicted k =
            int (Seq.sum (seq { for r in 0 .. c - 1 -> counts[r * c + k] }))

        let scores = Metrics.perClass counts

        let rows =
            [
                for k in 0 .. c - 1 do
                    if support k > 0 || predicted k > 0 then
                        let p, r, f = scores[k]

                        {
                            Class = k
                            Name =
                                match classNames with
                                | Some names -> names[k]
                                | None -> string k
                            Precision = p
                            Recall = r
                            F1 = f
                            Support = support k
                        }
            ]

        let total = rows |> List.sumBy (fun r -> r.Support)

        let average (weight: ClassScores -> float) =
            let w = rows |> List.sumBy weight

            if w = 0.0 then
                0.0, 0.0, 0.0
            else
                (rows |> List.sumBy (fun r -> weight r * r.Precision)) / w,
                (rows |> List.sumBy (fun r -> weight r * r.Recall)) / w,
                (rows |> List.sumBy (fun r -> weight r * r.F1)) / w

        let correct = Seq.sum (seq { for k in 0 .. c - 1 -> counts[k * c + k] })

        {
            Classes = rows
            Accuracy = if total = 0 then 0.0 else correct / float total
            MacroAverage = average (fun _ -> 1.0)
            WeightedAverage = average (fun r -> float r.Support)
            Support = total
        }
