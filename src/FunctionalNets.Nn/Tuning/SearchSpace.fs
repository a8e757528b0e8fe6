namespace FunctionalNets.Nn

open System
open FunctionalNets

/// One hyperparameter's value in a trial.
[<RequireQualifiedAccess>]
type HyperValue =
    | Real of float
    | Integer of int
    | Label of string

    /// The value as text, as tables and CSV files show it.
    override this.ToString() =
        match this with
        | Real v -> v.ToString("G6", Globalization.CultureInfo.InvariantCulture)
        | Integer v -> string v
        | Label v -> v

/// Where one hyperparameter's values come from.
[<RequireQualifiedAccess>]
type HyperRange =
    /// One of the listed values, each equally likely.
    | Choice of HyperValue list
    /// A real number uniform in [low, high].
    | Uniform of low: float * high: float
    /// A real number whose logarithm is uniform in [log low, log high] (a learning rate, a weight decay).
    | LogUniform of low: float * high: float
    /// An integer uniform in [low, high], both included.
    | IntRange of low: int * high: int

/// A named set of hyperparameter ranges, in the order they were declared.
type SearchSpace = { Ranges: (string * HyperRange) list }

/// The hyperparameters of one trial, by name.
type TrialConfig =
    {
        Values: Map<string, HyperValue>
    }

    member private this.Find(name: string) =
        match this.Values.TryFind name with
        | Some v -> v
        | None ->
            invalidArg
                "name"
                (sprintf
                    "TrialConfig: no hyperparameter '%s'; the trial has %s."
                    name
                    (String.Join(", ", Map.keys this.Values)))

    /// The real value named `name` (an integer is widened), or an exception naming the parameter.
    member this.Float(name: string) =
        match this.Find name with
        | HyperValue.Real v -> v
        | HyperValue.Integer v -> float v
        | other -> invalidArg "name" (sprintf "TrialConfig: '%s' is the label %O, not a number." name other)

    /// The integer value named `name`, or an exception naming the parameter.
    member this.Int(name: string) =
        match this.Find name with
        | HyperValue.Integer v -> v
        | other -> invalidArg "name" (sprintf "TrialConfig: '%s' is %O, not an integer." name other)

    /// The label named `name`, or an exception naming the parameter.
    member this.Label(name: string) =
        match this.Find name with
        | HyperValue.Label v -> v
        | other -> invalidArg "name" (sprintf "TrialConfig: '%s' is %O, not a label." name other)

    /// "name=value" pairs in name order, as a trial is reported.
    override this.ToString() =
        this.Values
        |> Seq.map (fun kv -> sprintf "%s=%O" kv.Key kv.Value)
        |> String.concat ", "

/// Building, checking, sampling and enumerating search spaces.
module SearchSpace =

    let private check (name: string) (range: HyperRange) =
        let fail text =
            invalidArg "space" (sprintf "SearchSpace: hyperparameter '%s': %s" name text)

        let finite (x: float) =
            not (Double.IsNaN x || Double.IsInfinity x)

        match range with
        | HyperRange.Choice [] -> fail "a choice needs at least one value."
        | HyperRange.Choice _ -> ()
        | HyperRange.Uniform(lo, hi) ->
            if not (finite lo && finite hi) || lo > hi then
                fail (sprintf "the range needs finite low <= high, got [%g, %g]." lo hi)
        | HyperRange.LogUniform(lo, hi) ->
            if not (finite lo && finite hi) || lo > hi then
                fail (sprintf "the range needs finite low <= high, got [%g, %g]." lo hi)

            if lo <= 0.0 then
                fail (sprintf "a log-uniform range must lie above 0 (its logarithm is drawn), got low = %g." lo)
        | HyperRange.IntRange(lo, hi) ->
            if lo > hi then
                fail (sprintf "the range needs low <= high, got [%d, %d]." lo hi)

    /// A space of the given ranges, checked: at least one range, unique names, low <= high, log-uniform
    /// ranges above 0, non-empty choices.
    let create (ranges: (string * HyperRange) list) : SearchSpace =
        if ranges.IsEmpty then
            invalidArg "ranges" "SearchSpace: the space is empty; add at least one hyperparameter to search over."

        match ranges |> List.countBy fst |> List.tryFind (fun (_, n) -> n > 1) with
        | Some(name, _) -> invalidArg "ranges" (sprintf "SearchSpace: the hyperparameter '%s' is declared twice." name)
        | None -> ()

        ranges |> List.iter (fun (name, range) -> check name range)
        { Ranges = ranges }

    /// One configuration drawn from the space with `key` (the same key gives the same configuration).
    let sample (key: Key) (space: SearchSpace) : TrialConfig =
        let draws = Array.zeroCreate<float> space.Ranges.Length
        Key.fillUniform64 key (Span draws)

        let value (u: float) (range: HyperRange) =
            match range with
            | HyperRange.Choice values -> values[min (values.Length - 1) (int (u * float values.Length))]
            | HyperRange.Uniform(lo, hi) -> HyperValue.Real(lo + u * (hi - lo))
            | HyperRange.LogUniform(lo, hi) -> HyperValue.Real(exp (log lo + u * (log hi - log lo)))
            | HyperRange.IntRange(lo, hi) ->
                let span = int64 hi - int64 lo + 1L
                HyperValue.Integer(int (int64 lo + min (span - 1L) (int64 (u * float span))))

        {
            Values =
                space.Ranges
                |> List.mapi (fun i (name, range) -> name, value draws[i] range)
                |> Map.ofList
        }

    /// The values a grid takes along one range: every choice, every integer when there are at most
    /// `points` of them (else `points` spread evenly), `points` evenly spaced reals (in log space for a
    /// log-uniform range), or the single value of a range with low = high.
    let axis (points: int) (range: HyperRange) : HyperValue list =
        let spread (lo: float) (hi: float) =
            if points = 1 || lo = hi then
                [ (lo + hi) / 2.0 ]
            else
                [ for i in 0 .. points - 1 -> lo + (hi - lo) * float i / float (points - 1) ]

        match range with
        | HyperRange.Choice values -> values
        | HyperRange.Uniform(lo, hi) -> spread lo hi |> List.map HyperValue.Real
        | HyperRange.LogUniform(lo, hi) -> spread (log lo) (log hi) |> List.map (exp >> HyperValue.Real)
        | HyperRange.IntRange(lo, hi) ->
            if int64 hi - int64 lo + 1L <= int64 points then
                [ for v in lo..hi -> HyperValue.Integer v ]
            else
                spread (float lo) (float hi)
                |> List.map (fun v -> HyperValue.Integer(int (Math.Round v)))
                |> List.distinct

    /// Every combination of the axes' values, the first range varying slowest.
    let grid (points: int) (space: SearchSpace) : TrialConfig list =
        if points < 1 then
            invalidArg "points" (sprintf "SearchSpace.grid: points per range must be >= 1, got %d." points)

        space.Ranges
        |> List.rev
        |> List.fold
            (fun (configs: Map<string, HyperValue> list) (name, range) ->
                [
                    for v in axis points range do
                        for c in configs -> Map.add name v c
                ])
            [ Map.empty ]
        |> List.map (fun values -> { Values = values })
