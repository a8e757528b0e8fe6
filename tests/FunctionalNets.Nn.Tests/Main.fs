/// The xunit classes that expose this assembly's Expecto lists to `dotnet test` (one class per top-level list; the
/// class name is what a test explorer groups by), and the Expecto entry point that runs the same lists:
/// `dotnet run --project tests/FunctionalNets.Nn.Tests -- [expecto options]`.
module FunctionalNets.Tests.Nn.Main

open System.Reflection
open Expecto
open FunctionalNets.Testing

type Layer() =
    inherit ExpectoSuite(LayerTests.tests)

type Loss() =
    inherit ExpectoSuite(LossTests.tests)

type LossOption() =
    inherit ExpectoSuite(LossOptionTests.tests)

type OptimOption() =
    inherit ExpectoSuite(OptimOptionTests.tests)

type Init() =
    inherit ExpectoSuite(InitTests.tests)

type Perceptron() =
    inherit ExpectoSuite(PerceptronTests.tests)

type Optim() =
    inherit ExpectoSuite(OptimTests.tests)

type Schedule() =
    inherit ExpectoSuite(ScheduleTests.tests)

type Data() =
    inherit ExpectoSuite(DataTests.tests)

type Fetch() =
    inherit ExpectoSuite(FetchTests.tests)

type Mnist() =
    inherit ExpectoSuite(MnistTests.tests)

type SafeTensors() =
    inherit ExpectoSuite(SafeTensorsTests.tests)

type Metrics() =
    inherit ExpectoSuite(MetricsTests.tests)

type RegressionReport() =
    inherit ExpectoSuite(RegressionReportTests.tests)

type Training() =
    inherit ExpectoSuite(TrainingTests.tests)

type LoggingCallback() =
    inherit ExpectoSuite(LoggingCallbackTests.tests)

type Reporting() =
    inherit ExpectoSuite(ReportingTests.tests)

type Augmentation() =
    inherit ExpectoSuite(AugmentationTests.tests)

type Normalization() =
    inherit ExpectoSuite(NormalizationTests.tests)

type ConvLayer() =
    inherit ExpectoSuite(ConvLayerTests.tests)

type ConvPadding() =
    inherit ExpectoSuite(ConvPaddingTests.tests)

type LayerOption() =
    inherit ExpectoSuite(LayerOptionTests.tests)

type AttentionWeights() =
    inherit ExpectoSuite(AttentionWeightsTests.tests)

type Transform() =
    inherit ExpectoSuite(TransformTests.tests)

type CropFlipOracle() =
    inherit ExpectoSuite(CropFlipOracleTests.tests)

type Cifar10() =
    inherit ExpectoSuite(Cifar10Tests.tests)

type Plot() =
    inherit ExpectoSuite(PlotTests.tests)

type Search() =
    inherit ExpectoSuite(SearchTests.tests)

type Model() =
    inherit ExpectoSuite(ModelTests.tests)

type ResNetForward() =
    inherit ExpectoSuite(ResNetForwardTests.tests)

type Recurrent() =
    inherit ExpectoSuite(RecurrentTests.tests)

type Text() =
    inherit ExpectoSuite(TextTests.tests)

type HostileFile() =
    inherit ExpectoSuite(HostileFileTests.tests)

type Fuzz() =
    inherit ExpectoSuite(FuzzTests.tests)

type Transformer() =
    inherit ExpectoSuite(TransformerTests.tests)

type Script() =
    inherit ExpectoSuite(ScriptTests.tests)

type NoiseSchedule() =
    inherit ExpectoSuite(NoiseScheduleTests.tests)

type Vae() =
    inherit ExpectoSuite(VaeTests.tests)

type Gan() =
    inherit ExpectoSuite(GanTests.tests)

type UNet() =
    inherit ExpectoSuite(UNetTests.tests)

type SampleQuality() =
    inherit ExpectoSuite(SampleQualityTests.tests)

/// Lists that must not share the process with other running tests run alone under `dotnet test`: no other class
/// runs while the classes of this collection do. Determinism changes the process-wide KernelSettings.MaxThreads;
/// FoldBufferReuse counts the CPU pool's misses, which a neighbour renting the same buffers would change.
[<Xunit.CollectionDefinition("Process-wide state", DisableParallelization = true)>]
type ProcessWideStateCollection() = class end

[<Xunit.Collection("Process-wide state")>]
type Determinism() =
    inherit ExpectoSuite(DeterminismTests.tests)

[<Xunit.Collection("Process-wide state")>]
type FoldBufferReuse() =
    inherit ExpectoSuite(FoldBufferReuseTests.tests)

// Under Expecto's runner the two lists above are testSequenced (in their modules): they run one test at a time after
// the parallel tests are done.
[<EntryPoint>]
let main argv =
    Runner.main argv (ExpectoSuite.All(Assembly.GetExecutingAssembly()))
