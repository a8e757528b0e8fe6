module FunctionalNets.Tests.Nn.ScheduleTests

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn
// Expected values are computed here from the published formulas (PyTorch's scheduler docs, Optax's
// schedule definitions), never by calling another schedule.

let private close (expected: float) (actual: float) =
    if abs (expected - actual) > 1e-12 * (1.0 + abs expected) then
        failwithf "expected %.17g, got %.17g" expected actual

let ``constant is the same at every step`` () =
    for s in [ 0L; 1L; 1000L; Int64.MaxValue ] do
        close 0.3 (Schedules.constant 0.3 s)

let ``stepDecay is StepLR`` () =
    let sched = Schedules.stepDecay 0.1 30L 0.5

    for s in [ 0L; 1L; 29L; 30L; 59L; 60L; 95L ] do
        close (0.1 * (0.5 ** floor (float s / 30.0))) (sched s)

let ``exponential is ExponentialLR`` () =
    let sched = Schedules.exponential 0.1 0.9

    for s in [ 0L; 1L; 2L; 7L; 100L ] do
        close (0.1 * (0.9 ** float s)) (sched s)

let ``exponentialDecay is Optax's, continuous and staircase`` () =
    let smooth = Schedules.exponentialDecay 2.0 0.5 10L false
    let stairs = Schedules.exponentialDecay 2.0 0.5 10L true

    for s in [ 0L; 5L; 10L; 15L; 37L ] do
        close (2.0 * (0.5 ** (float s / 10.0))) (smooth s)
        close (2.0 * (0.5 ** floor (float s / 10.0))) (stairs s)

let ``linear interpolates and then holds`` () =
    let sched = Schedules.linear 1.0 0.2 8L
    close 1.0 (sched 0L)
    close (1.0 + (0.2 - 1.0) * 3.0 / 8.0) (sched 3L)
    close 0.2 (sched 8L)
    close 0.2 (sched 50L)

let ``cosine is Optax's cosine_decay_schedule`` () =
    let init, steps, alpha = 0.5, 100L, 0.1
    let sched = Schedules.cosine init steps alpha

    for s in [ 0L; 1L; 25L; 50L; 99L; 100L; 150L ] do
        let c = float (min s steps)

        let expected =
            init * ((1.0 - alpha) * 0.5 * (1.0 + cos (Math.PI * c / float steps)) + alpha)

        close expected (sched s)

    close init (sched 0L)
    close (init * alpha) (sched 100L)

/// A property (FsCheck's default 100 cases and arbitraries, as the Check.QuickThrowOnFailure it replaces).
let ``cosine stays within its range and never rises`` (a: uint16) (b: uint16) =
    let sched = Schedules.cosine 2.0 97L 0.25
    let lo, hi = int64 (min a b), int64 (max a b)
    let x, y = sched lo, sched hi
    y <= x + 1e-15 && y >= 2.0 * 0.25 - 1e-15 && x <= 2.0 + 1e-15

let ``warmupCosine warms up linearly then decays to the end value`` () =
    let init, peak, warm, total, last = 0.0, 1.0, 10L, 110L, 0.05
    let sched = Schedules.warmupCosine init peak warm total last

    let expected (s: int64) =
        if s < warm then
            init + (peak - init) * float s / float warm
        else
            let c = float (min (s - warm) (total - warm))
            last + (peak - last) * 0.5 * (1.0 + cos (Math.PI * c / float (total - warm)))

    for s in [ 0L; 1L; 5L; 9L; 10L; 11L; 60L; 109L; 110L; 500L ] do
        close (expected s) (sched s)

    close peak (sched warm)
    close last (sched total)

let ``oneCycle follows OneCycleLR's cosine phases`` () =
    let maxLr, total, pct, div, finalDiv = 0.1, 100L, 0.3, 25.0, 1e4
    let sched = Schedules.oneCycle maxLr total pct div finalDiv
    let initial = maxLr / div
    let minLr = initial / finalDiv
    // PyTorch: phase ends at pct_start * total - 1 and total - 1; cos annealing between phase ends.
    let e1, e2 = pct * float total - 1.0, float total - 1.0

    let anneal a b p =
        b + (a - b) / 2.0 * (cos (Math.PI * p) + 1.0)

    let expected (s: int64) =
        let s = float s

        if s <= e1 then
            anneal initial maxLr (s / e1)
        else
            anneal maxLr minLr ((s - e1) / (e2 - e1))

    for s in [ 0L; 1L; 10L; 28L; 29L; 30L; 50L; 98L; 99L ] do
        close (expected s) (sched s)

    close 0.004 (sched 0L)
    close maxLr (sched 29L)
    close 4e-7 (sched 99L)
    // Past the end PyTorch raises; the schedule holds the final value.
    close 4e-7 (sched 150L)

let ``piecewise multiplies the scales of reached boundaries`` () =
    let sched = Schedules.piecewise 1.0 [ 20L, 0.1; 10L, 0.5 ]
    close 1.0 (sched 0L)
    close 1.0 (sched 9L)
    close 0.5 (sched 10L)
    close 0.5 (sched 19L)
    close 0.05 (sched 20L)
    close 0.05 (sched 1000L)

let ``join hands each later schedule the steps since its boundary`` () =
    let sched =
        Schedules.join [ Schedules.constant 1.0; (fun s -> float s); Schedules.constant 0.2 ] [ 5L; 15L ]

    close 1.0 (sched 0L)
    close 1.0 (sched 4L)
    close 0.0 (sched 5L)
    close 7.0 (sched 12L)
    close 9.0 (sched 14L)
    close 0.2 (sched 15L)
    close 0.2 (sched 99L)

let ``join rejects a wrong number of boundaries`` () =
    Expects.throws<ArgumentException> "Schedules.join [ Schedules.constant 1.0 ] [ 3L ]" (fun () ->
        Schedules.join [ Schedules.constant 1.0 ] [ 3L ] |> ignore)
    |> ignore

/// The tests of this module.
let tests =
    testList
        "Schedule"
        [
            testCase "constant is the same at every step" ``constant is the same at every step``
            testCase "stepDecay is StepLR" ``stepDecay is StepLR``
            testCase "exponential is ExponentialLR" ``exponential is ExponentialLR``
            testCase
                "exponentialDecay is Optax's, continuous and staircase"
                ``exponentialDecay is Optax's, continuous and staircase``
            testCase "linear interpolates and then holds" ``linear interpolates and then holds``
            testCase "cosine is Optax's cosine_decay_schedule" ``cosine is Optax's cosine_decay_schedule``
            testProperty
                "cosine stays within its range and never rises"
                ``cosine stays within its range and never rises``
            testCase
                "warmupCosine warms up linearly then decays to the end value"
                ``warmupCosine warms up linearly then decays to the end value``
            testCase "oneCycle follows OneCycleLR's cosine phases" ``oneCycle follows OneCycleLR's cosine phases``
            testCase
                "piecewise multiplies the scales of reached boundaries"
                ``piecewise multiplies the scales of reached boundaries``
            testCase
                "join hands each later schedule the steps since its boundary"
                ``join hands each later schedule the steps since its boundary``
            testCase "join rejects a wrong number of boundaries" ``join rejects a wrong number of boundaries``
        ]
