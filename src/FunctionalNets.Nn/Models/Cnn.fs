namespace FunctionalNets.Nn

open System.Runtime.InteropServices
open FunctionalNets

/// Ready-made convolutional networks (the model zoo), built from the library's layers; each takes the
/// per-example input shape its docs name and returns logits.
[<AbstractClass; Sealed>]
type Models =
    static member private convBnRelu(inChannels: int, outChannels: int) =
        [
            Layers.conv2d (inChannels, outChannels, 3, padding = 1, bias = false)
            Layers.batchNorm2d outChannels
            Layers.relu ()
        ]

    /// The MNIST CNN of the PyTorch peer benchmark: conv(1->32, 3x3, pad 1)-relu-maxpool2, conv(32->64,
    /// 3x3, pad 1)-relu-maxpool2, fc(3136->128)-relu-dropout(0.5), fc(128->10). Input [1; 28; 28].
    /// Each ReLU runs after its max pool rather than before: ReLU is monotone, so relu (maxpool x) equals
    /// maxpool (relu x) and so do the gradients, on a quarter of the values.
    [<CompiledName("MnistCnn")>]
    static member mnistCnn() : Layer =
        Layer.sequential
            [
                Layers.conv2d (1, 32, 3, padding = 1)
                Layers.maxPool2d 2
                Layers.relu ()
                Layers.conv2d (32, 64, 3, padding = 1)
                Layers.maxPool2d 2
                Layers.relu ()
                Layers.flatten ()
                Layers.linear (64 * 7 * 7, 128)
                Layers.relu ()
                Layers.dropout 0.5
                Layers.linear (128, 10)
            ]

    /// A small, fast CIFAR-10 network for the CPU: four conv3x3-BatchNorm-ReLU stages of 32, 64, 128 and
    /// 256 channels with 2x2 max pooling between them (32 -> 16 -> 8 -> 4), global average pooling and one
    /// linear layer. About 0.4 M parameters and 30 MFLOP per 32x32 image forward. Input [3; 32; 32].
    [<CompiledName("CifarSmall")>]
    static member cifarSmall([<Optional; DefaultParameterValue(10)>] numClasses: int) : Layer =
        Check.atLeast "CifarSmall" "numClasses" 1 numClasses

        Layer.sequential (
            Models.convBnRelu (3, 32)
            @ [ Layers.maxPool2d 2 ]
            @ Models.convBnRelu (32, 64)
            @ [ Layers.maxPool2d 2 ]
            @ Models.convBnRelu (64, 128)
            @ [ Layers.maxPool2d 2 ]
            @ Models.convBnRelu (128, 256)
            @ [ Layers.globalAvgPool (); Layers.linear (256, numClasses) ]
        )

    /// ResNet-18 for 32x32 inputs (the CIFAR variant of He et al.: a 3x3 stem of 64 channels without max
    /// pooling, then four stages of two basic blocks with 64, 128, 256 and 512 channels, strides 1, 2, 2, 2,
    /// global average pooling and a linear classifier). About 11.2 M parameters. Input [3; 32; 32].
    [<CompiledName("ResNet18")>]
    static member resnet18Cifar([<Optional; DefaultParameterValue(10)>] numClasses: int) : Layer =
        Check.atLeast "ResNet18" "numClasses" 1 numClasses

        let stage (inChannels: int) (outChannels: int) (stride: int) =
            [
                Layers.basicBlock (inChannels, outChannels, stride = stride)
                Layers.basicBlock (outChannels, outChannels)
            ]

        Layer.sequential (
            Models.convBnRelu (3, 64)
            @ stage 64 64 1
            @ stage 64 128 2
            @ stage 128 256 2
            @ stage 256 512 2
            @ [ Layers.globalAvgPool (); Layers.linear (512, numClasses) ]
        )
