/// The kernels' dedicated worker threads (KernelPool): a kernel gets its helpers whatever the .NET ThreadPool is
/// doing, every item runs exactly once, and an item's exception reaches the caller as itself.
module FunctionalNets.Tests.KernelPoolTests

open System
open System.Threading
open Expecto
open FunctionalNets.Testing
open FunctionalNets.Kernels

let ``two items run at the same time on a thread outside the ThreadPool while every pool thread is blocked`` () =
    // Occupy as many ThreadPool threads as it starts with: a kernel split over the pool would now get no helper
    // until the pool noticed the starvation and added threads.
    use release = new ManualResetEventSlim(false)
    let blockers = Environment.ProcessorCount
    use started = new CountdownEvent(blockers)

    for _ in 1..blockers do
        ThreadPool.UnsafeQueueUserWorkItem(
            (fun _ ->
                started.Signal() |> ignore
                release.Wait()),
            null
        )
        |> ignore

    try
        Expect.isTrue (started.Wait(TimeSpan.FromSeconds 60.0)) "the ThreadPool never ran the blocking items"
        // Both items must be inside the body at once to pass the barrier: only possible with a second thread.
        use barrier = new Barrier(2)
        let met = Array.zeroCreate<bool> 2
        let caller = Environment.CurrentManagedThreadId
        let helperOnPool = Array.zeroCreate<bool> 2

        KernelPool.Run(
            2,
            2,
            fun i ->
                helperOnPool[i] <-
                    Environment.CurrentManagedThreadId <> caller
                    && Thread.CurrentThread.IsThreadPoolThread

                met[i] <- barrier.SignalAndWait(TimeSpan.FromSeconds 30.0)
        )

        Expect.isTrue (met[0] && met[1]) "the two items never ran concurrently: no helper thread joined"
        Expect.isFalse (helperOnPool[0] || helperOnPool[1]) "the helper was a ThreadPool thread"
    finally
        release.Set()

let ``every item runs exactly once, and nested calls run inline`` () =
    for threads in [ 1; 2; 3; 8 ] do
        let counts = Array.zeroCreate<int> 1000

        KernelPool.Run(
            100,
            threads,
            fun i -> KernelPool.Run(10, threads, fun j -> Interlocked.Increment(&counts[i * 10 + j]) |> ignore)
        )

        Seq.iter (fun c -> Expect.equal c 1 "c") counts

let ``an item's exception reaches the caller unwrapped after the other items finish`` () =
    let ran = Array.zeroCreate<int> 64

    let e =
        Expects.throws<DivideByZeroException> "KernelPool.Run( 64," (fun () ->
            KernelPool.Run(
                64,
                2,
                fun i ->
                    Interlocked.Increment(&ran[i]) |> ignore

                    if i = 5 then
                        raise (DivideByZeroException "item 5")
            ))

    Expect.equal e.Message "item 5" "e.Message"
    Seq.iter (fun c -> Expect.equal c 1 "c") ran
    // The pool is usable again after a failed call.
    let again = Array.zeroCreate<int> 8
    KernelPool.Run(8, 2, fun i -> again[i] <- i + 1)
    Expect.equal again (Array.init 8 (fun i -> i + 1)) "again"

let tests =
    testSequencedGroup "KernelSettings.MaxThreads"
    <| testList
        "KernelPool"
        [
            testCase
                "two items run at the same time on a thread outside the ThreadPool while every pool thread is blocked"
                ``two items run at the same time on a thread outside the ThreadPool while every pool thread is blocked``
            testCase
                "every item runs exactly once, and nested calls run inline"
                ``every item runs exactly once, and nested calls run inline``
            testCase
                "an item's exception reaches the caller unwrapped after the other items finish"
                ``an item's exception reaches the caller unwrapped after the other items finish``
        ]
