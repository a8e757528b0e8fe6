namespace FunctionalNets.Nn

open System

open System.Threading.Tasks
open FunctionalNets

/// Whether a search looks for the smallest or the largest objective (a loss or an accuracy).
[<RequireQualifiedAccess>]
type Goal =
    | Minimize
    | Maximize

/// A started trial: trains `epochs` more epochs and returns the objective measured after them. Trials
/// are resumable so that successive halving continues the survivors instead of training them again.
type TrialRun = int -> float

/// What became of one trial.
type TrialResult =
    {
        /// The trial's number, from 0, in the order the configurations were made.
        Index: int
        Config: TrialConfig
        /// The objective after the trial's last epoch (NaN when it failed).
        Score: float
        /// Epochs the trial trained in all.
        Epochs: int
        /// The exception's message when the trial raised; the search goes on without it.
        Error: string option
    }

/// The trials of a search and the best of them.
type SearchResult =
    {
        Goal: Goal
        /// The space searched.
        Space: SearchSpace
        Trials: TrialResult list
        Best: TrialResult
        /// Epochs trained over all trials: the search's cost.
        TotalEpochs: int
    }

/// Settings shared by every search.
type SearchOptions =
    {
        Goal: Goal
        /// The run's key: trial i gets `Key.foldIn i` of it, and random draws come from a split of it.
        Key: Key
        /// Trials trained at the same time (1: one after another).
        Parallelism: int
        /// Called with a line per finished or failed trial (the console by default).
        Report: string -> unit
    }

/// Grid search, random search and successive halving over a SearchSpace, on top of any training function.
module Search =

    /// Minimize, key from seed 0, one trial at a time, lines to the console.
    let defaults: SearchOptions =
        {
            Goal = Goal.Minimize
            Key = Key.create 0L
            Parallelism = 1
            Report = printfn "%s"
        }

    let private better (goal: Goal) (a: float) (b: float) =
        match goal with
        | Goal.Minimize -> a < b
        | Goal.Maximize -> a > b

    /// Trials ranked best first; failed or non-finite scores last; ties keep the trial order.
    let ranked (goal: Goal) (trials: TrialResult list) : TrialResult list =
        let finite (t: TrialResult) =
            t.Error.IsNone && not (Double.IsNaN t.Score || Double.IsInfinity t.Score)

        let sign = if goal = Goal.Minimize then 1.0 else -1.0
        let good, bad = trials |> List.partition finite

        (good |> List.sortBy (fun t -> sign * t.Score, t.Index))
        @ (bad |> List.sortBy _.Index)

    let private checkOptions (caller: string) (options: SearchOptions) =
        if options.Parallelism < 1 then
            invalidArg "options" (sprintf "%s: Parallelism must be >= 1, got %d." caller options.Parallelism)

    /// Runs `work` over the items, at most `parallelism` at a time, results in item order.
    let private runAll (parallelism: int) (work: 'a -> 'b) (items: 'a list) : 'b list =
        if parallelism = 1 then
            items |> List.map work
        else
            let input = Array.ofList items
            let output = Array.zeroCreate input.Length

            Parallel.For(
                0,
                input.Length,
                ParallelOptions(MaxDegreeOfParallelism = parallelism),
                fun i -> output[i] <- work input[i]
            )
            |> ignore

            List.ofArray output

    /// A trial's state between rungs: its result so far and, while it can go on, its run.
    type private Live =
        {
            Result: TrialResult
            Run: TrialRun option
        }

    let private describeError (e: exn) =
        match e with
        | :? AggregateException as a when a.InnerExceptions.Count = 1 -> a.InnerExceptions[0].Message
        | e -> e.Message

    /// Starts each trial and trains it `epochs` epochs; a trial that raises is recorded and reported.
    let private start
        (options: SearchOptions)
        (startTrial: TrialConfig -> Key -> TrialRun)
        (epochs: int)
        (configs: TrialConfig list)
        =
        configs
        |> List.mapi (fun i c -> i, c)
        |> runAll options.Parallelism (fun (i, config) ->
            let fresh =
                {
                    Index = i
                    Config = config
                    Score = nan
                    Epochs = 0
                    Error = None
                }

            try
                let run = startTrial config (Key.foldIn i options.Key)
                let score = run epochs
                options.Report(sprintf "trial %d (%O): %g after %d epochs" i config score epochs)

                {
                    Result =
                        { fresh with
                            Score = score
                            Epochs = epochs
                        }
                    Run = Some run
                }
            with e ->
                options.Report(sprintf "trial %d (%O) failed: %s" i config (describeError e))

                {
                    Result =
                        { fresh with
                            Error = Some(describeError e)
                        }
                    Run = None
                })

    let private finish (caller: string) (goal: Goal) (space: SearchSpace) (trials: TrialResult list) =
        match ranked goal trials with
        | best :: _ when best.Error.IsNone && not (Double.IsNaN best.Score) ->
            {
                Goal = goal
                Space = space
                Trials = trials |> List.sortBy _.Index
                Best = best
                TotalEpochs = trials |> List.sumBy _.Epochs
            }
        | _ ->
            let errors =
                trials
                |> List.map (fun t ->
                    sprintf "trial %d (%O): %s" t.Index t.Config (defaultArg t.Error "non-finite objective"))
                |> String.concat "; "

            invalidOp (sprintf "%s: no trial produced a finite objective: %s" caller errors)

    let private checkEpochs (caller: string) (epochs: int) =
        if epochs < 1 then
            invalidArg "epochs" (sprintf "%s: epochs per trial must be >= 1, got %d." caller epochs)

    /// Every combination of `points` values per range (see SearchSpace.grid), each trained `epochs` epochs.
    let grid
        (options: SearchOptions)
        (points: int)
        (epochs: int)
        (startTrial: TrialConfig -> Key -> TrialRun)
        (space: SearchSpace)
        =
        checkOptions "Search.grid" options
        checkEpochs "Search.grid" epochs
        let configs = SearchSpace.grid points space

        start options startTrial epochs configs
        |> List.map _.Result
        |> finish "Search.grid" options.Goal space

    /// The configurations random search draws: `trials` samples from the space with keys split from the run's key.
    let randomConfigs (key: Key) (trials: int) (space: SearchSpace) : TrialConfig list =
        if trials < 1 then
            invalidArg "trials" (sprintf "Search.random: trials must be >= 1, got %d." trials)

        let sampling = fst (Key.split key)

        Key.splitN trials sampling
        |> Array.map (fun k -> SearchSpace.sample k space)
        |> List.ofArray

    /// `trials` configurations drawn at random from the space, each trained `epochs` epochs.
    let random
        (options: SearchOptions)
        (trials: int)
        (epochs: int)
        (startTrial: TrialConfig -> Key -> TrialRun)
        (space: SearchSpace)
        =
        checkOptions "Search.random" options
        checkEpochs "Search.random" epochs
        let configs = randomConfigs options.Key trials space

        start options startTrial epochs configs
        |> List.map _.Result
        |> finish "Search.random" options.Goal space

    /// Successive halving: `trials` random configurations train `minEpochs` epochs; the best 1/`eta` of
    /// them (at least one) go on until they have trained `eta` times as long, and so on until the
    /// survivors reach `maxEpochs`. Weak trials stop early, so the search costs far fewer epochs than
    /// training every configuration for `maxEpochs`.
    let successiveHalving
        (options: SearchOptions)
        (trials: int)
        (minEpochs: int)
        (maxEpochs: int)
        (eta: int)
        (startTrial: TrialConfig -> Key -> TrialRun)
        (space: SearchSpace)
        =
        let caller = "Search.successiveHalving"
        checkOptions caller options
        checkEpochs caller minEpochs

        if maxEpochs < minEpochs then
            invalidArg "maxEpochs" (sprintf "%s: maxEpochs (%d) must be >= minEpochs (%d)." caller maxEpochs minEpochs)

        if eta < 2 then
            invalidArg "eta" (sprintf "%s: eta (the reduction factor) must be >= 2, got %d." caller eta)

        let configs = randomConfigs options.Key trials space
        let first = start options startTrial minEpochs configs

        let rec rung (budget: int) (live: Live list) (stopped: TrialResult list) =
            let running = live |> List.filter (fun l -> l.Run.IsSome)
            let failed = live |> List.filter (fun l -> l.Run.IsNone) |> List.map _.Result

            if budget >= maxEpochs || running.Length <= 1 then
                stopped @ failed @ (running |> List.map _.Result)
            else
                let keep = max 1 (running.Length / eta)
                let order = ranked options.Goal (running |> List.map _.Result) |> List.map _.Index
                let survivors = order |> List.truncate keep |> Set.ofList

                let next, halted =
                    running |> List.partition (fun l -> survivors.Contains l.Result.Index)

                let target = min maxEpochs (budget * eta)

                let continued =
                    next
                    |> runAll options.Parallelism (fun l ->
                        let run = l.Run.Value
                        let more = target - l.Result.Epochs

                        try
                            let score = run more

                            options.Report(
                                sprintf "trial %d (%O): %g after %d epochs" l.Result.Index l.Result.Config score target
                            )

                            { l with
                                Result =
                                    { l.Result with
                                        Score = score
                                        Epochs = target
                                    }
                            }
                        with e ->
                            options.Report(
                                sprintf "trial %d (%O) failed: %s" l.Result.Index l.Result.Config (describeError e)
                            )

                            {
                                Result =
                                    { l.Result with
                                        Error = Some(describeError e)
                                    }
                                Run = None
                            })

                rung target continued (stopped @ failed @ (halted |> List.map _.Result))

        rung minEpochs first [] |> finish caller options.Goal space

    /// The trials as a text table, best first, one column per hyperparameter.
    let table (result: SearchResult) : string =
        let names =
            result.Trials
            |> List.collect (fun t -> Map.keys t.Config.Values |> List.ofSeq)
            |> List.distinct

        let header = [ "rank"; "trial" ] @ names @ [ "epochs"; "score" ]

        let rows =
            ranked result.Goal result.Trials
            |> List.mapi (fun rank t ->
                [ string (rank + 1); string t.Index ]
                @ (names
                   |> List.map (fun n -> t.Config.Values.TryFind n |> Option.map string |> Option.defaultValue ""))
                @ [
                    string t.Epochs
                    (match t.Error with
                     | Some e -> "failed: " + e
                     | None -> t.Score.ToString("G6", Globalization.CultureInfo.InvariantCulture))
                ])

        let widths =
            header
            |> List.mapi (fun i h -> (h :: (rows |> List.map (fun r -> r[i]))) |> List.map String.length |> List.max)

        let line (cells: string list) =
            List.map2 (fun (c: string) w -> c.PadRight w) cells widths |> String.concat "  "

        (line header
         :: (widths |> List.map (fun w -> String('-', w)) |> line)
         :: (rows |> List.map line))
        |> String.concat Environment.NewLine

    /// Writes the trials as CSV (trial, each hyperparameter, epochs, score, error), in trial order,
    /// replacing the file atomically.
    let saveCsv (path: string) (result: SearchResult) : unit =
        let names =
            result.Trials
            |> List.collect (fun t -> Map.keys t.Config.Values |> List.ofSeq)
            |> List.distinct

        let quote (s: string) =
            if s.IndexOfAny [| ','; '"'; '\n'; '\r' |] >= 0 then
                "\"" + s.Replace("\"", "\"\"") + "\""
            else
                s

        let lines =
            (("trial" :: names) @ [ "epochs"; "score"; "error" ] |> String.concat ",")
            :: (result.Trials
                |> List.map (fun t ->
                    (string t.Index
                     :: (names
                         |> List.map (fun n ->
                             t.Config.Values.TryFind n |> Option.map string |> Option.defaultValue "")))
                    @ [
                        string t.Epochs
                        t.Score.ToString("R", Globalization.CultureInfo.InvariantCulture)
                        defaultArg t.Error ""
                    ]
                    |> List.map quote
                    |> String.concat ","))

        let text = String.Join("\n", lines) + "\n"
        AtomicFile.writeAllBytes "Search.saveCsv" path (Text.Encoding.UTF8.GetBytes text)
