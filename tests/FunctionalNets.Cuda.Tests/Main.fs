/// The xunit classes that expose this assembly's Expecto lists to `dotnet test` (one class per top-level list; the
/// class name is what a test explorer groups by), and the Expecto entry point that runs the same lists:
/// `dotnet run --project tests/FunctionalNets.Cuda.Tests -- [expecto options]`.
module FunctionalNets.Cuda.Tests.Main

open System.Reflection
open Expecto
open FunctionalNets.Testing

type Primitive() =
    inherit ExpectoSuite(PrimitiveTests.tests)

type Random() =
    inherit ExpectoSuite(RandomTests.tests)

type GemmPlan() =
    inherit ExpectoSuite(GemmPlanTests.tests)

type ConvPlan() =
    inherit ExpectoSuite(ConvPlanTests.tests)

type GemmKernel() =
    inherit ExpectoSuite(GemmKernelTests.tests)

type Loader() =
    inherit ExpectoSuite(LoaderTests.tests)

type Training() =
    inherit ExpectoSuite(TrainingTests.tests)

type Transfer() =
    inherit ExpectoSuite(TransferTests.tests)

type Ptx() =
    inherit ExpectoSuite(PtxTests.tests)

type Conformance() =
    inherit ExpectoSuite(ConformanceTests.tests)

type GpuCheckSmoke() =
    inherit ExpectoSuite(GpuCheckSmokeTests.tests)

// One simulated device per process, whose allocator statistics and default device some tests read: the lists run
// one after another, here through testSequenced and under `dotnet test` through xunit.runner.json.
[<EntryPoint>]
let main argv =
    Runner.main argv (testSequenced (ExpectoSuite.All(Assembly.GetExecutingAssembly())))
