using NnModels = FunctionalNets.Nn.Models;

namespace FunctionalNets;

/// <summary>Ready-made networks; wrap one in a net with <see cref="Net.FromModel"/>.</summary>
public static class Models
{
    /// <summary>The MNIST CNN of the PyTorch peer benchmark (conv32-pool-conv64-pool-fc128-dropout0.5-fc10),
    /// for [1, 28, 28] inputs.</summary>
    public static Layer MnistCnn() => new(NnModels.MnistCnn());

    /// <summary>A small, fast CIFAR-10 network for the CPU: four conv-BatchNorm-ReLU stages (32, 64, 128, 256
    /// channels) with max pooling, global average pooling and a linear classifier; [3, 32, 32] inputs.</summary>
    /// <param name="numClasses">Output classes.</param>
    public static Layer CifarSmall(int numClasses = 10) => new(NnModels.CifarSmall(numClasses));

    /// <summary>ResNet-18 for 32x32 inputs (3x3 stem, four stages of two basic blocks, 11.2 M parameters).</summary>
    /// <param name="numClasses">Output classes.</param>
    public static Layer ResNet18(int numClasses = 10) => new(NnModels.ResNet18(numClasses));
}
