using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FunctionalNets.Kernels.GemmImpl;

/// <summary>Which micro-kernel family a GEMM call uses.</summary>
internal enum GemmIsa
{
    /// <summary>Portable scalar 4x4 tiles.</summary>
    Scalar,
    /// <summary>Vector256 with FMA (AVX2 class hardware).</summary>
    Vector256,
    /// <summary>Vector512 with FMA (AVX-512 class hardware).</summary>
    Vector512,
}

/// <summary>Picks the micro-kernel family once per process, with a hook for tests.</summary>
internal static class GemmIsaSelector
{
    /// <summary>The fastest family this machine runs natively.</summary>
    public static readonly GemmIsa Best =
        Vector512.IsHardwareAccelerated && Avx512F.IsSupported ? GemmIsa.Vector512
        : Vector256.IsHardwareAccelerated && Fma.IsSupported ? GemmIsa.Vector256
        : GemmIsa.Scalar;

    /// <summary>
    /// Tests set this to run a family the hardware would not pick. Vector512 code still runs (emulated, slowly)
    /// without AVX-512, which is how its tiles get checked on AVX2 machines. Per thread, so a test forcing a slow
    /// path never slows other tests' GEMMs; the family is chosen on the calling thread before any workers start.
    /// </summary>
    internal static GemmIsa? Override { get => overrideIsa; set => overrideIsa = value; }

    [ThreadStatic] private static GemmIsa? overrideIsa;

    public static GemmIsa Current => Override ?? Best;
}
