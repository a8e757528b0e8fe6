module FunctionalNets.Tests.Nn.SearchTests

open System
open System.IO
open Xunit
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

[<Fact>]
let ``bad spaces fail with the parameter and what to change`` () =
    let message (ranges: (string * HyperRange) list) =
        (Assert.Throws<ArgumentException>(fun () -> SearchSpace.create ranges |> ignore)).Message

    Assert.Contains("empty", message [])
    Assert.Contains("'lr'", message [ "lr", HyperRange.Uniform(1.0, 0.5) ])
    Assert.Contains("low <= high", message [ "lr", HyperRange.Uniform(1.0, 0.5) ])
    Assert.Contains("above 0", message [ "lr", HyperRange.LogUniform(0.0, 0.1) ])
    Assert.Contains("[3, 1]", message [ "layers", HyperRange.IntRange(3, 1) ])
    Assert.Contains("at least one value", message [ "act", HyperRange.Choice [] ])
    Assert.Contains("declared twice", message [ "a", HyperRange.Uniform(0.0, 1.0); "a", HyperRange.Uniform(0.0, 1.0) ])

[<Fact>]
let ``a grid enumerates every combination, the first range slowest, log ranges evenly in log space`` () =
    let s =
        SearchSpace.create
            [
                "act", HyperRange.Choice [ HyperValue.Label "relu"; HyperValue.Label "gelu" ]
                "layers", HyperRange.IntRange(1, 3)
            ]

    let configs =
        SearchSpace.grid 3 s |> List.map (fun c -> c.Label "act", c.Int "layers")

    Assert.Equal<(string * int) list>([ "relu", 1; "relu", 2; "relu", 3; "gelu", 1; "gelu", 2; "gelu", 3 ], configs)

    let lrs = SearchSpace.axis 3 (HyperRange.LogUniform(1e-4, 1e-2))

    match lrs with
    | [ HyperValue.Real a; HyperValue.Real b; HyperValue.Real c ] ->
        Assert.Equal(1e-4, a, 12)
        Assert.Equal(1e-3, b, 12)
        Assert.Equal(1e-2, c, 12)
    | other -> failwithf "unexpected axis %A" other

[<Fact>]
let ``samples stay in their ranges, repeat with the key, and spread log-uniformly`` () =
    let s = space ()
    let draws = [ for i in 0..1999 -> SearchSpace.sample (Key.create (int64 i)) s ]

    for c in draws do
        Assert.InRange(c.Float "lr", 1e-4, 1e-1)
        Assert.InRange(c.Float "dropout", 0.0, 0.5)
        Assert.Contains(c.Int "width", [ 64; 128; 256 ])

    Assert.Equal(draws[7], SearchSpace.sample (Key.create 7L) s)
    // log10 lr is uniform on [-4, -1]: mean -2.5, standard deviation 3 / sqrt 12; the mean of 2000 draws
    // lies within 5 standard errors of -2.5.
    let meanLog = draws |> List.averageBy (fun c -> log10 (c.Float "lr"))
    Assert.InRange(meanLog, -2.5 - 5.0 * (3.0 / sqrt 12.0) / sqrt 2000.0, -2.5 + 5.0 * (3.0 / sqrt 12.0) / sqrt 2000.0)
    // Each width is chosen about a third of the time (binomial, 5 standard deviations).
    for w in [ 64; 128; 256 ] do
        let share =
            float (draws |> List.filter (fun c -> c.Int "width" = w) |> List.length)
            / 2000.0

        Assert.InRange(share, 1.0 / 3.0 - 5.0 * sqrt (2.0 / 9.0 / 2000.0), 1.0 / 3.0 + 5.0 * sqrt (2.0 / 9.0 / 2000.0))

[<Fact>]
let ``grid search finds the known minimum of the bowl`` () =
    let result = Search.grid (quiet Goal.Minimize 0L) 4 2 bowl (space ())
    // 4 log-spaced lrs (1e-4, 1e-3, 1e-2, 1e-1) x 3 widths x 4 dropouts (0, 1/6, 1/3, 1/2).
    Assert.Equal(48, result.Trials.Length)
    Assert.Equal(96, result.TotalEpochs)
    Assert.Equal(1e-3, result.Best.Config.Float "lr", 12)
    Assert.Equal(128, result.Best.Config.Int "width")
    Assert.Equal(1.0 / 6.0, result.Best.Config.Float "dropout", 12)

[<Fact>]
let ``random search returns the same best trial twice with the same seed and other trials with another`` () =
    let run seed =
        Search.random (quiet Goal.Minimize seed) 12 1 bowl (space ())

    let a, b, c = run 42L, run 42L, run 43L
    Assert.Equal(a.Best.Index, b.Best.Index)
    Assert.Equal(a.Best.Config, b.Best.Config)
    Assert.Equal<TrialConfig list>(a.Trials |> List.map _.Config, b.Trials |> List.map _.Config)
    Assert.NotEqual<TrialConfig list>(a.Trials |> List.map _.Config, c.Trials |> List.map _.Config)
    // The best is the trial with the smallest closed-form objective.
    let expected = a.Trials |> List.minBy (fun t -> bowl t.Config (Key.create 0L) 1)
    Assert.Equal(expected.Index, a.Best.Index)

[<Fact>]
let ``successive halving spends fewer epochs than the grid and keeps the best configuration`` () =
    // 9 trials, rungs at 1, 3 and 9 epochs with eta = 3: 9 x 1 + 3 x (3 - 1) + 1 x (9 - 3) = 21 epochs.
    let halving =
        Search.successiveHalving (quiet Goal.Minimize 5L) 9 1 9 3 bowl (space ())

    Assert.Equal(21, halving.TotalEpochs)
    Assert.Equal(9, halving.Trials.Length)
    Assert.Equal(9, halving.Best.Epochs)
    // The winner is the configuration with the lowest objective among the nine drawn.
    let closedForm (t: TrialResult) = bowl t.Config (Key.create 0L) 1
    Assert.Equal((halving.Trials |> List.minBy closedForm).Index, halving.Best.Index)
    // The same nine configurations as a grid of full runs: 9 x 9 = 81 epochs.
    let grid = Search.random (quiet Goal.Minimize 5L) 9 9 bowl (space ())
    Assert.True(halving.TotalEpochs < grid.TotalEpochs, sprintf "%d vs %d" halving.TotalEpochs grid.TotalEpochs)

[<Fact>]
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
    Assert.Equal(4, failed.Length)
    Assert.All(failed, fun t -> Assert.Equal(Some "out of memory at width 256", t.Error))
    Assert.NotEqual(256, result.Best.Config.Int "width")

    let report = lines |> Seq.find (fun l -> l.Contains "failed")

    Assert.Contains("width=256", report)
    Assert.Contains("out of memory", report)
    // Failed trials come last in the table.
    let table = Search.table result
    Assert.EndsWith("failed: out of memory at width 256", table.TrimEnd())

[<Fact>]
let ``a search whose every trial fails says so and lists them`` () =
    let e =
        Assert.Throws<InvalidOperationException>(fun () ->
            Search.random (quiet Goal.Maximize 0L) 2 1 (fun _ _ -> failwith "diverged") (space ())
            |> ignore)

    Assert.Contains("no trial produced a finite objective", e.Message)
    Assert.Contains("trial 1", e.Message)
    Assert.Contains("diverged", e.Message)

[<Fact>]
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

    Assert.Equal<float list>(sequential.Trials |> List.map _.Score, concurrent.Trials |> List.map _.Score)

[<Fact>]
let ``the CSV has a row per trial with every hyperparameter and the score`` () =
    let result = Search.random (quiet Goal.Minimize 3L) 4 1 bowl (space ())

    let path =
        Path.Combine(Path.GetTempPath(), "fn-search-" + Guid.NewGuid().ToString "N" + ".csv")

    try
        Search.saveCsv path result
        let lines = File.ReadAllLines path
        Assert.Equal("trial,dropout,lr,width,epochs,score,error", lines[0])
        Assert.Equal(5, lines.Length)
        let row = lines[1].Split ','
        Assert.Equal("0", row[0])
        Assert.Equal(result.Trials[0].Score, Double.Parse(row[5], Globalization.CultureInfo.InvariantCulture))
    finally
        File.Delete path
