/// Exposes Expecto tests to `dotnet test`: each Expecto test case becomes one xunit test case, named by its full
/// Expecto name, with its own pass, fail or skip. A test project declares one class per top-level list:
///
///     type Primitives() = inherit ExpectoSuite(PrimitiveTests.tests)
///
/// xunit runs the classes (its test collections) in parallel and the cases of one class one after another, as it
/// did for the [<Fact>]s the lists replace.
namespace FunctionalNets.Testing

#nowarn "44" // XunitTestCase's parameterless constructor is marked obsolete: it is the deserialiser's, as here.

open System
open System.ComponentModel
open System.Reflection
open Expecto
open Xunit
open Xunit.Abstractions
open Xunit.Sdk

/// Turns the failure of a test that raised SkippedException into a skip with the exception's message as reason
/// (xunit 2 has no skip decided at run time).
type internal SkipBus(inner: IMessageBus) =
    let mutable skipped = 0

    member _.Skipped = skipped

    interface IMessageBus with
        member _.QueueMessage(message: IMessageSinkMessage) =
            match message with
            | :? ITestFailed as f when
                f.ExceptionTypes.Length > 0
                && f.ExceptionTypes[0] = typeof<ExpectoRun.SkippedException>.FullName
                ->
                skipped <- skipped + 1
                inner.QueueMessage(TestSkipped(f.Test, f.Messages[0]))
            | _ -> inner.QueueMessage message

        member _.Dispose() = ()

/// One Expecto test as an xunit test case: the argument of the suite's Run method is the test's full name, which
/// is also the case's display name.
type ExpectoTestCase =
    inherit XunitTestCase

    /// For xunit's deserialiser only.
    [<EditorBrowsable(EditorBrowsableState.Never)>]
    new() = { inherit XunitTestCase() }

    /// The case that runs the Expecto test named `name` through `testMethod`.
    new(sink: IMessageSink, display: TestMethodDisplay, options: TestMethodDisplayOptions, testMethod, name: string) =
        {
            inherit XunitTestCase(sink, display, options, testMethod, [| box name |])
        }

    override this.GetDisplayName(_: IAttributeInfo, _: string) = string this.TestMethodArguments[0]

    override this.RunAsync(sink, bus, constructorArguments, aggregator, cancellation) =
        let skips = new SkipBus(bus)
        let run = base.RunAsync(sink, skips, constructorArguments, aggregator, cancellation)

        task {
            let! summary = run
            summary.Failed <- summary.Failed - skips.Skipped
            summary.Skipped <- summary.Skipped + skips.Skipped
            return summary
        }

/// Marks the method through which xunit runs the tests of an ExpectoSuite.
[<AttributeUsage(AttributeTargets.Method)>]
[<XunitTestCaseDiscoverer("FunctionalNets.Testing.ExpectoDiscoverer", "FunctionalNets.Testing")>]
type ExpectoTestsAttribute() =
    inherit FactAttribute()

/// One top-level Expecto list as one xunit test class: derive from it with a parameterless constructor.
[<AbstractClass>]
type ExpectoSuite(tests: Test) =
    /// The Expecto tests this suite exposes.
    member _.Tests = tests

    /// Runs the Expecto test with this full name (xunit calls it once per test the discoverer found).
    [<ExpectoTests>]
    member this.Run(name: string) =
        ExpectoRun.runOne (this.GetType().Assembly) tests name

    /// The lists of every ExpectoSuite class of an assembly, in declaration order, as one tree without a name of
    /// its own (so that names are the same under Expecto's runner and under `dotnet test`).
    static member All(assembly: Assembly) : Test =
        let suites =
            assembly.GetTypes()
            |> Array.filter (fun t -> typeof<ExpectoSuite>.IsAssignableFrom t && not t.IsAbstract)
            |> Array.map (fun t -> (Activator.CreateInstance t :?> ExpectoSuite).Tests)

        TestList(List.ofArray suites, FocusState.Normal)

/// Finds the Expecto tests of an ExpectoSuite class: one ExpectoTestCase per test, in the tree's order.
type ExpectoDiscoverer(sink: IMessageSink) =
    interface IXunitTestCaseDiscoverer with
        member _.Discover(options, testMethod, _) =
            let suite =
                Activator.CreateInstance(testMethod.TestClass.Class.ToRuntimeType()) :?> ExpectoSuite

            let display = options.MethodDisplayOrDefault()
            let displayOptions = options.MethodDisplayOptionsOrDefault()

            ExpectoRun.flatten suite.Tests
            |> List.map fst
            |> List.distinct
            |> List.map (fun name ->
                new ExpectoTestCase(sink, display, displayOptions, testMethod, name) :> IXunitTestCase)
            |> Seq.ofList
