/// The xunit classes that expose this assembly's Expecto lists to `dotnet test` (one class per top-level list; the
/// class name is what a test explorer groups by), and the Expecto entry point that runs the same lists:
/// `dotnet run --project tests/FunctionalNets.Core.Tests -- [expecto options]`.
module FunctionalNets.Tests.Main

open System.Reflection
open Expecto
open FunctionalNets.Testing

type Gemm() =
    inherit ExpectoSuite(GemmTests.tests)

type ElementwiseKernel() =
    inherit ExpectoSuite(ElementwiseKernelTests.tests)

type GradCheck() =
    inherit ExpectoSuite(GradCheck.tests)

type GradientProperty() =
    inherit ExpectoSuite(GradientPropertyTests.tests)

type GradCheckCoverage() =
    inherit ExpectoSuite(GradCheckCoverageTests.tests)

type KinkTie() =
    inherit ExpectoSuite(KinkTieTests.tests)

type SecondDerivative() =
    inherit ExpectoSuite(SecondDerivativeTests.tests)

type PerturbationConfusion() =
    inherit ExpectoSuite(PerturbationConfusionTests.tests)

type ShapeError() =
    inherit ExpectoSuite(ShapeErrorTests.tests)

type TensorValue() =
    inherit ExpectoSuite(TensorValueTests.tests)

type TorchEdge() =
    inherit ExpectoSuite(TorchEdgeTests.tests)

type Padding() =
    inherit ExpectoSuite(PaddingTests.tests)

type Key() =
    inherit ExpectoSuite(KeyTests.tests)

type Scope() =
    inherit ExpectoSuite(ScopeTests.tests)

type RandomKernel() =
    inherit ExpectoSuite(RandomKernelTests.tests)

type Convolution() =
    inherit ExpectoSuite(ConvolutionTests.tests)

type Winograd() =
    inherit ExpectoSuite(WinogradTests.tests)

type BatchNorm() =
    inherit ExpectoSuite(BatchNormTests.tests)

type Pooling() =
    inherit ExpectoSuite(PoolingTests.tests)

type SequenceOps() =
    inherit ExpectoSuite(SequenceOpsTests.tests)

type Attention() =
    inherit ExpectoSuite(AttentionTests.tests)

type FlashAttention() =
    inherit ExpectoSuite(FlashAttentionTests.tests)

type FusedAttention() =
    inherit ExpectoSuite(FusedAttentionTests.tests)

type GeluKernel() =
    inherit ExpectoSuite(GeluKernelTests.tests)

type Residual() =
    inherit ExpectoSuite(ResidualTests.tests)

type Conformance() =
    inherit ExpectoSuite(Conformance.ConformanceTests.tests)

type ErfKernel() =
    inherit ExpectoSuite(ErfKernelTests.tests)

type Lanes() =
    inherit ExpectoSuite(LanesTests.tests)

/// Tests that change the process-wide KernelSettings.MaxThreads, or count the buffers the kernel threads hand back or
/// the misses of the process-wide CPU pool, run alone under `dotnet test`: no other class runs while the classes of
/// this collection do.
[<Xunit.CollectionDefinition("KernelSettings.MaxThreads", DisableParallelization = true)>]
type KernelThreadsCollection() = class end

[<Xunit.Collection("KernelSettings.MaxThreads")>]
type ThreadCount() =
    inherit ExpectoSuite(ThreadCountTests.tests)

[<Xunit.Collection("KernelSettings.MaxThreads")>]
type KernelPool() =
    inherit ExpectoSuite(KernelPoolTests.tests)

[<Xunit.Collection("KernelSettings.MaxThreads")>]
type ScopePool() =
    inherit ExpectoSuite(ScopeTests.poolTests)

[<Xunit.Collection("KernelSettings.MaxThreads")>]
type AdamApply() =
    inherit ExpectoSuite(AdamApplyTests.tests)

[<Xunit.Collection("KernelSettings.MaxThreads")>]
type Dropout() =
    inherit ExpectoSuite(DropoutTests.tests)

// Under Expecto's runner the lists above form one sequenced group (testSequencedGroup in their modules): their
// tests run one at a time, though beside other lists; run them alone with `--filter-test-list`, or `--sequenced`.
[<EntryPoint>]
let main argv =
    Runner.main argv (ExpectoSuite.All(Assembly.GetExecutingAssembly()))
