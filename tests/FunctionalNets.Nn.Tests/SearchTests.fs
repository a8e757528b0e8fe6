module FunctionalNets.Tests.Nn.SearchTests

open System
open System.IO
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn

let private quiet (goal: Goal) (seed: int64) =
    { Search.defaults with
        Goal = goal
        Key = Key.create seed
        Report = ignore
    }

let private space () =
    SearchSpace.create
        [
            "lr", HyperRange.LogUniform(1e-4, 1e-1)
            "width", HyperRange.Choice [ HyperValue.Integer 64; HyperValue.Integer 128; HyperValue.Integer 256 ]
            "dropout", HyperRange.Uniform(0.0, 0.5)
        ]

/// A stand-in for training whose objective is known in closed form: smallest at lr = 1e-3, width = 128,
/// dropout = 0.2, and falling as 1 / epochs with training.
let private bowl (config: TrialConfig) (_: Key) : TrialRun =
    let mutable trained = 0

    fun epochs ->
        trained <- trained + epochs
        let lr = log10 (config.Float "lr") + 3.0
        let width = (float (config.Int "width") - 128.0) / 64.0
        let dropout = (config.Float "dropout" - 0.2) * 4.0
        lr * lr + width * width + dropout * dropout + 1.0 / float trained

let ``bad spaces fail with the parameter and what to change`` () =
    let message (ranges: (string * HyperRange) list) =
        (Expects.throws<ArgumentException> "SearchSpace.create ranges" (fun () -> SearchSpace.create ranges |> ignore))
            .Message

    Expect.stringContains (message []) "empty" "message []"

    Expect.stringContains
        (message [ "lr", HyperRange.Uniform(1.0, 0.5) ])
        "'lr'"
        "message [ \"lr\", HyperRange.Uniform(1.0, 0.5) ]"

    Expect.stringContains
        (message [ "lr", HyperRange.Uniform(1.0, 0.5) ])
        "low <= high"
        "message [ \"lr\", HyperRange.Uniform(1.0, 0.5) ]"

    Expect.stringContains
        (message [ "lr", HyperRange.LogUniform(0.0, 0.1) ])
        "above 0"
        "message [ \"lr\", HyperRange.LogUniform(0.0, 0.1) ]"

    Expect.stringContains
        (message [ "layers", HyperRange.IntRange(3, 1) ])
        "[3, 1]"
        "message [ \"layers\", HyperRange.IntRange(3, 1) ]"

    Expect.stringContains
        (message [ "act", HyperRange.Choice [] ])
        "at least one value"
        "message [ \"act\", HyperRange.Choice [] ]"

    Expect.stringContains
        (message [ "a", HyperRange.Uniform(0.0, 1.0); "a", HyperRange.Uniform(0.0, 1.0) ])
        "declared twice"
        "message [ \"a\", HyperRange.Uniform(0.0, 1.0); \"a\", HyperRange.Uniform(0.0, 1.0) ]"

let ``a grid enumerates every combination, the first range slowest, log ranges evenly in log space`` () =
    let s =
        SearchSpace.create
            [
                "act", HyperRange.Choice [ HyperValue.Label "relu"; HyperValue.Label "gelu" ]
                "layers", HyperRange.IntRange(1, 3)
            ]

    let configs =
        SearchSpace.grid 3 s |> List.map (fun c -> c.Label "act", c.Int "layers")

    Expect.equal configs [ "relu", 1; "relu", 2; "relu", 3; "gelu", 1; "gelu", 2; "gelu", 3 ] "configs"

    let lrs = SearchSpace.axis 3 (HyperRange.LogUniform(1e-4, 1e-2))

    match lrs with
    | [ HyperValue.Real a; HyperValue.Real b; HyperValue.Real c ] ->
        Expect.equal (System.Math.Round(a, 12)) (System.Math.Round(1e-4, 12)) "a to 12 places"
        Expect.equal (System.Math.Round(b, 12)) (System.Math.Round(1e-3, 12)) "b to 12 places"
        Expect.equal (System.Math.Round(c, 12)) (System.Math.Round(1e-2, 12)) "c to 12 places"
    | other -> failwithf "unexpected axis %A" other

let ``samples stay in their ranges, repeat with the key, and spread log-uniformly`` () =
    let s = space ()
    let draws = [ for i in 0..1999 -> SearchSpace.sample (Key.create (int64 i)) s ]

    for c in draws do
        Checks.inRange "c.Float \"lr\"" (1e-4) (1e-1) (c.Float "lr")
        Checks.inRange "c.Float \"dropout\"" 0.0 0.5 (c.Float "dropout")
        Expect.contains [ 64; 128; 256 ] (c.Int "width") "the width"

    Expect.equal (SearchSpace.sample (Key.create 7L) s) draws[7] "SearchSpace.sample (Key.create 7L) s"
    // log10 lr is uniform on [-4, -1]: mean -2.5, standard deviation 3 / sqrt 12; the mean of 2000 draws
    // lies within 5 standard errors of -2.5.
    let meanLog = draws |> List.averageBy (fun c -> log10 (c.Float "lr"))

    Checks.inRange
        "meanLog"
        (-2.5 - 5.0 * (3.0 / sqrt 12.0) / sqrt 2000.0)
        (-2.5 + 5.0 * (3.0 / sqrt 12.0) / sqrt 2000.0)
        meanLog
    // Each width is chosen about a third of the time (binomial, 5 standard deviations).
    for w in [ 64; 128; 256 ] do
        let share =
            float (draws |> List.filter (fun c -> c.Int "width" = w) |> List.length)
            / 2000.0

        Checks.inRange
            "share"
            (1.0 / 3.0 - 5.0 * sqrt (2.0 / 9.0 / 2000.0))
            (1.0 / 3.0 + 5.0 * sqrt (2.0 / 9.0 / 2000.0))
            share

let ``grid search finds the known minimum of the bowl`` () =
    let result = Search.grid (quiet Goal.Minimize 0L) 4 2 bowl (space ())
    // 4 log-spaced lrs (1e-4, 1e-3, 1e-2, 1e-1) x 3 widths x 4 dropouts (0, 1/6, 1/3, 1/2).
    Expect.equal result.Trials.Length 48 "result.Trials.Length"
    Expect.equal result.TotalEpochs 96 "result.TotalEpochs"

    Expect.equal
        (System.Math.Round(result.Best.Config.Float "lr", 12))
        (System.Math.Round(1e-3, 12))
        "result.Best.Config.Float \"lr\" to 12 places"

    Expect.equal (result.Best.Config.Int "width") 128 "result.Best.Config.Int \"width\""

    Expect.equal
        (System.Math.Round(result.Best.Config.Float "dropout", 12))
        (System.Math.Round(1.0 / 6.0, 12))
        "result.Best.Config.Float \"dropout\" to 12 places"

let ``random search returns the same best trial twice with the same seed and other trials with another`` () =
    let run seed =
        Search.random (quiet Goal.Minimize seed) 12 1 bowl (space ())

    let a, b, c = run 42L, run 42L, run 43L
    Expect.equal b.Best.Index a.Best.Index "b.Best.Index"
    Expect.equal b.Best.Config a.Best.Config "b.Best.Config"
    Expect.equal (b.Trials |> List.map _.Config) (a.Trials |> List.map _.Config) "b.Trials |> List.map _.Config"
    Expect.notEqual (c.Trials |> List.map _.Config) (a.Trials |> List.map _.Config) "c.Trials |> List.map _.Config"
    // The best is the trial with the smallest closed-form objective.
    let expected = a.Trials |> List.minBy (fun t -> bowl t.Config (Key.create 0L) 1)
    Expect.equal a.Best.Index expected.Index "a.Best.Index"

let ``successive halving spends fewer epochs than the grid and keeps the best configuration`` () =
    // 9 trials, rungs at 1, 3 and 9 epochs with eta = 3: 9 x 1 + 3 x (3 - 1) + 1 x (9 - 3) = 21 epochs.
    let halving =
        Search.successiveHalving (quiet Goal.Minimize 5L) 9 1 9 3 bowl (space ())

    Expect.equal halving.TotalEpochs 21 "halving.TotalEpochs"
    Expect.equal halving.Trials.Length 9 "halving.Trials.Length"
    Expect.equal halving.Best.Epochs 9 "halving.Best.Epochs"
    // The winner is the configuration with the lowest objective among the nine drawn.
    let closedForm (t: TrialResult) = bowl t.Config (Key.create 0L) 1
    Expect.equal halving.Best.Index ((halving.Trials |> List.minBy closedForm).Index) "halving.Best.Index"
    // The same nine configurations as a grid of full runs: 9 x 9 = 81 epochs.
    let grid = Search.random (quiet Goal.Minimize 5L) 9 9 bowl (space ())
    Expect.isTrue (halving.TotalEpochs < grid.TotalEpochs) (sprintf "%d vs %d" halving.TotalEpochs grid.TotalEpochs)

let ``a trial that raises is reported with its parameters and the search goes on`` () =
    let lines = Collections.Concurrent.ConcurrentQueue<string>()

    let options =
        { quiet Goal.Minimize 1L with
            Report = lines.Enqueue
        }

    let fragile (config: TrialConfig) (key: Key) : TrialRun =
        if config.Int "width" = 256 then
            failwith "out of memory at width 256"

        bowl config key

    let result = Search.grid options 2 1 fragile (space ())
    let failed = result.Trials |> List.filter (fun t -> t.Error.IsSome)
    Expect.equal failed.Length 4 "failed.Length"

    failed
    |> Seq.iter (fun t -> Expect.equal t.Error (Some "out of memory at width 256") "a failed trial's error")

    Expect.notEqual (result.Best.Config.Int "width") 256 "result.Best.Config.Int \"width\""

    let report = lines |> Seq.find (fun l -> l.Contains "failed")

    Expect.stringContains report "width=256" "report"
    Expect.stringContains report "out of memory" "report"
    // Failed trials come last in the table.
    let table = Search.table result
    Expect.stringEnds (table.TrimEnd()) "failed: out of memory at width 256" "table.TrimEnd()"

let ``a search whose every trial fails says so and lists them`` () =
    let e =
        Expects.throws<InvalidOperationException>
            "Search.random (quiet Goal.Maximize 0L) 2 1 (fun _ _ -> failwith \"diverged\") (space ())"
            (fun () ->
                Search.random (quiet Goal.Maximize 0L) 2 1 (fun _ _ -> failwith "diverged") (space ())
                |> ignore)

    Expect.stringContains e.Message "no trial produced a finite objective" "e.Message"
    Expect.stringContains e.Message "trial 1" "e.Message"
    Expect.stringContains e.Message "diverged" "e.Message"

let ``parallel trials give the same results as sequential ones`` () =
    let sequential = Search.random (quiet Goal.Minimize 9L) 6 2 bowl (space ())

    let concurrent =
        Search.random
            { quiet Goal.Minimize 9L with
                Parallelism = 2
            }
            6
            2
            bowl
            (space ())

    Expect.equal
        (concurrent.Trials |> List.map _.Score)
        (sequential.Trials |> List.map _.Score)
        "concurrent.Trials |> List.map _.Score"

let ``the CSV has a row per trial with every hyperparameter and the score`` () =
    let result = Search.random (quiet Goal.Minimize 3L) 4 1 bowl (space ())

    let path =
        Path.Combine(Path.GetTempPath(), "fn-search-" + Guid.NewGuid().ToString "N" + ".csv")

    try
        Search.saveCsv path result
        let lines = File.ReadAllLines path
        Expect.equal lines[0] "trial,dropout,lr,width,epochs,score,error" "lines[0]"
        Expect.equal lines.Length 5 "lines.Length"
        let row = lines[1].Split ','
        Expect.equal row[0] "0" "row[0]"

        Expect.equal
            (Double.Parse(row[5], Globalization.CultureInfo.InvariantCulture))
            (result.Trials[0].Score)
            "Double.Parse(row[5], Globalization.CultureInfo.InvariantCulture)"
    finally
        File.Delete path

/// The tests of this module.
let tests =
    testList
        "Search"
        [
            testCase
                "bad spaces fail with the parameter and what to change"
                ``bad spaces fail with the parameter and what to change``
            testCase
                "a grid enumerates every combination, the first range slowest, log ranges evenly in log space"
                ``a grid enumerates every combination, the first range slowest, log ranges evenly in log space``
            testCase
                "samples stay in their ranges, repeat with the key, and spread log-uniformly"
                ``samples stay in their ranges, repeat with the key, and spread log-uniformly``
            testCase
                "grid search finds the known minimum of the bowl"
                ``grid search finds the known minimum of the bowl``
            testCase
                "random search returns the same best trial twice with the same seed and other trials with another"
                ``random search returns the same best trial twice with the same seed and other trials with another``
            testCase
                "successive halving spends fewer epochs than the grid and keeps the best configuration"
                ``successive halving spends fewer epochs than the grid and keeps the best configuration``
            testCase
                "a trial that raises is reported with its parameters and the search goes on"
                ``a trial that raises is reported with its parameters and the search goes on``
            testCase
                "a search whose every trial fails says so and lists them"
                ``a search whose every trial fails says so and lists them``
            testCase
                "parallel trials give the same results as sequential ones"
                ``parallel trials give the same results as sequential ones``
            testCase
                "the CSV has a row per trial with every hyperparameter and the score"
                ``the CSV has a row per trial with every hyperparameter and the score``
        ]
