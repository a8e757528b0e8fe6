using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.CompilerServices;
namespace FunctionalNets.Kernels;

/// <summary>Scalar special functions that System.Math lacks or computes too loosely for gradient checks.</summary>
internal static class SpecialMath
{
    private const double TwoOverSqrtPi = 1.1283791670955126;   // 2 / sqrt(pi)
    private const double OneOverSqrtPi = 0.56418958354775628;  // 1 / sqrt(pi)

    /// <summary>
    /// The error function to about 1e-16 relative in double.
    /// |x| &lt; 2.5: erf(x) = 2/sqrt(pi) e^{-x^2} sum_n (2x^2)^n x / (1*3*...*(2n+1)), a series of positive terms
    /// (no cancellation). 2.5 &lt;= |x| &lt; 6: erf = 1 - erfc with erfc from its continued fraction, which converges
    /// quickly there and only needs ~1e-11 relative accuracy because erfc &lt; 4e-4. |x| &gt;= 6: erfc &lt; 2e-17, so +-1.
    /// </summary>
    public static double Erf(double x)
    {
        if (double.IsNaN(x)) return x;
        double ax = Math.Abs(x);
        double r;
        if (ax >= 6.0) r = 1.0;
        else if (ax < 2.5) r = ErfSeries(ax);
        else r = 1.0 - ErfcContinuedFraction(ax);
        return x < 0 ? -r : r;
    }

    /// <summary>e^{-x^2} with x^2 split into head + tail (FMA) so the exponent carries no rounding error.</summary>
    private static double ExpMinusSquare(double x)
    {
        double hi = x * x;
        double lo = Math.FusedMultiplyAdd(x, x, -hi);
        return Math.Exp(-hi) * (1.0 - lo);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double ErfSeries(double x)
    {
        if (x < 1e-8) return TwoOverSqrtPi * x; // the x^3 term is below double precision
        double x2 = 2.0 * x * x;
        double term = x, sum = x;
        for (int n = 1; n < 200; n++)
        {
            term *= x2 / (2 * n + 1);
            sum += term;
            if (term < sum * 1e-17) break;
        }
        return TwoOverSqrtPi * ExpMinusSquare(x) * sum;
    }

    /// <summary>erfc(x) = e^{-x^2}/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), evaluated bottom-up.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double ErfcContinuedFraction(double x)
    {
        double t = x;
        for (int k = 60; k >= 1; k--) t = x + (k * 0.5) / t;
        return OneOverSqrtPi * ExpMinusSquare(x) / t;
    }

    /// <summary>log(1 + x) accurate for tiny x (Kahan's trick: the rounding of 1 + x cancels in log(u) / (u - 1)).</summary>
    public static T Log1p<T>(T x) where T : IFloatingPointIeee754<T>
    {
        T u = T.One + x;
        if (u == T.One) return x;
        if (T.IsPositiveInfinity(u)) return u;
        return T.Log(u) * x / (u - T.One);
    }

    /// <summary>e^x - 1 accurate for tiny x (Kahan's trick, the companion of <see cref="Log1p{T}"/>).</summary>
    public static T Expm1<T>(T x) where T : IFloatingPointIeee754<T>
    {
        T u = T.Exp(x);
        if (u == T.One) return x;
        T um1 = u - T.One;
        if (um1 == -T.One) return um1;
        if (T.IsPositiveInfinity(u)) return u;
        return um1 * x / T.Log(u);
    }

    /// <summary>log(1 + e^x) = max(x, 0) + log1p(e^{-|x|}): never overflows, accurate for very negative x.</summary>
    public static T Softplus<T>(T x) where T : IFloatingPointIeee754<T>
    {
        if (T.IsNaN(x)) return x;
        T m = x > T.Zero ? x : T.Zero;
        return m + Log1p(T.Exp(-T.Abs(x)));
    }
}
