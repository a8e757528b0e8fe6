using System.Numerics;
using System.Runtime.Intrinsics;
namespace FunctionalNets.Kernels;

/// <summary>Type facts the JIT folds to constants per instantiation.</summary>
internal static class NumericTraits<T> where T : INumber<T>
{
    /// <summary>True for integer types: 0.5 truncates to zero only when T cannot hold fractions.</summary>
    public static readonly bool IsInteger = T.CreateTruncating(0.5) == T.Zero;
}
