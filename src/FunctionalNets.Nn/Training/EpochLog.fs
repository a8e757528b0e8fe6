namespace FunctionalNets.Nn

open System
open System.Globalization

/// The order and the text of an epoch's logs, shared by the console line, the CSV logger, TensorBoard and the
/// history: Keras's order, the loss first, then the metrics, then the same for validation ("val_"), then the
/// learning rate ("lr").
[<RequireQualifiedAccess>]
module EpochLog =
    /// The name under which fit logs the learning rate of the epoch's last step.
    [<Literal>]
    let LearningRate = "lr"

    /// A sort key putting names in Keras's order (loss, metrics, val_loss, val_ metrics, lr).
    let columnOrder (key: string) =
        let isVal = key.StartsWith("val_", StringComparison.Ordinal)
        let baseName = if isVal then key.Substring 4 else key
        (key = LearningRate, isVal, baseName <> "loss", baseName)

    /// The entries of logs in Keras's order.
    let ordered (logs: Logs) : (string * float) list =
        logs |> Map.toList |> List.sortBy (fst >> columnOrder)

    /// "loss=0.1234 accuracy=0.9650 val_loss=0.1500 val_accuracy=0.9600 lr=0.001": four decimals, the
    /// learning rate to six significant digits.
    let line (logs: Logs) : string =
        ordered logs
        |> List.map (fun (k, v) ->
            if k = LearningRate then
                sprintf "%s=%s" k (v.ToString("G6", CultureInfo.InvariantCulture))
            else
                sprintf "%s=%s" k (v.ToString("F4", CultureInfo.InvariantCulture)))
        |> String.concat " "
