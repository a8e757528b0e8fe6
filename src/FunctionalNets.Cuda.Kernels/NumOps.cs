using ILGPU;

namespace FunctionalNets.Cuda.Kernels;

/// <summary>
/// The arithmetic a generic kernel needs from its element type. Kernels are generic over (T, TOps) with TOps a
/// struct, so every call is resolved at compile time for each element type, on the GPU and on the CPU accelerator.
/// Operation codes follow the order of FunctionalNets' UnaryKind, BinaryKind and CompareKind unions.
/// </summary>
public interface INumOps<T> where T : unmanaged
{
    /// <summary>The value converted from a double (truncating toward zero for integer types).</summary>
    T FromDouble(double v);
    /// <summary>The value as a double.</summary>
    double ToDouble(T v);
    /// <summary>a + b.</summary>
    T Add(T a, T b);
    /// <summary>a * b.</summary>
    T Mul(T a, T b);
    /// <summary>a &gt; b (false when either is NaN).</summary>
    bool Greater(T a, T b);
    /// <summary>True for a floating-point NaN.</summary>
    bool IsNaN(T a);
    /// <summary>f(x) for a UnaryKind code.</summary>
    T Unary(int op, T x);
    /// <summary>a op b for a BinaryKind code.</summary>
    T Binary(int op, T a, T b);
    /// <summary>a cmp b for a CompareKind code.</summary>
    bool Compare(int op, T a, T b);
    /// <summary>target += v, atomically.</summary>
    void AtomicAdd(ref T target, T v);
}

/// <summary>Special functions shared by the float and double operations (double precision).</summary>
public static class DeviceMath
{
    /// <summary>The error function (Abramowitz-Stegun 7.1.26 is too coarse; this is a series / continued fraction).</summary>
    public static double Erf(double x)
    {
        if (double.IsNaN(x)) return x;
        double ax = Math.Abs(x);
        double r;
        if (ax < 2.5)
        {
            // erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_n (2x^2)^n x / (1*3*...*(2n+1))
            double x2 = 2.0 * ax * ax;
            double term = ax, sum = ax;
            for (int n = 1; n < 60; n++)
            {
                term *= x2 / (2 * n + 1);
                sum += term;
            }
            r = 1.1283791670955126 * Math.Exp(-ax * ax) * sum;
        }
        else if (ax < 6.0)
        {
            double t = ax;
            for (int k = 60; k >= 1; k--) t = ax + (k * 0.5) / t;
            r = 1.0 - Math.Exp(-ax * ax) / (t * 1.7724538509055159);
        }
        else r = 1.0;
        return x < 0 ? -r : r;
    }

    /// <summary>log(1 + x), accurate for small x.</summary>
    public static double Log1p(double x)
    {
        double u = 1.0 + x;
        if (u == 1.0) return x;
        return Math.Log(u) * x / (u - 1.0);
    }

    /// <summary>e^x - 1, accurate for small x.</summary>
    public static double Expm1(double x)
    {
        if (Math.Abs(x) < 1e-5) return x + 0.5 * x * x + x * x * x / 6.0;
        return Math.Exp(x) - 1.0;
    }

    /// <summary>log(1 + e^x) without overflow.</summary>
    public static double Softplus(double x)
    {
        if (double.IsNaN(x)) return x;
        double m = x > 0 ? x : 0;
        return m + Log1p(Math.Exp(-Math.Abs(x)));
    }

    /// <summary>Round half to even.</summary>
    public static double RoundEven(double x)
    {
        double f = Math.Floor(x);
        double d = x - f;
        if (d > 0.5) return f + 1;
        if (d < 0.5) return f;
        return Math.Floor(f * 0.5) * 2.0 == f ? f : f + 1;
    }

    /// <summary>A UnaryKind applied in double precision.</summary>
    public static double Unary(int op, double x)
    {
        switch (op)
        {
            case 0: return -x;
            case 1: return Math.Abs(x);
            case 2: return double.IsNaN(x) ? x : x > 0 ? 1.0 : x < 0 ? -1.0 : 0.0;
            case 3: return Math.Exp(x);
            case 4: return Math.Log(x);
            case 5: return Math.Sqrt(x);
            case 6: return 1.0 / Math.Sqrt(x);
            case 7: return Math.Sin(x);
            case 8: return Math.Cos(x);
            case 9: return Math.Tanh(x);
            case 10: return 1.0 / (1.0 + Math.Exp(-x));
            case 11: return x > 0 ? x : 0.0;
            case 12: return x > 0 ? 1.0 : 0.0;
            case 13: return 1.0 / x;
            case 14: return x * x;
            case 15: return Softplus(x);
            case 16: return Erf(x);
            case 17: return Math.Floor(x);
            case 18: return Math.Ceiling(x);
            case 19: return RoundEven(x);
            case 20: return Log1p(x);
            default: return Expm1(x);
        }
    }

    /// <summary>A BinaryKind applied in double precision (Max/Min propagate NaN, as PyTorch).</summary>
    public static double Binary(int op, double a, double b)
    {
        switch (op)
        {
            case 0: return a + b;
            case 1: return a - b;
            case 2: return a * b;
            case 3: return a / b;
            case 4: return Math.Pow(a, b);
            case 5: return double.IsNaN(a) || double.IsNaN(b) ? double.NaN : a > b ? a : b;
            default: return double.IsNaN(a) || double.IsNaN(b) ? double.NaN : a < b ? a : b;
        }
    }

    /// <summary>A CompareKind.</summary>
    public static bool Compare(int op, double a, double b)
    {
        switch (op)
        {
            case 0: return a == b;
            case 1: return a != b;
            case 2: return a < b;
            case 3: return a <= b;
            case 4: return a > b;
            default: return a >= b;
        }
    }
}

/// <summary>float32 operations (float arithmetic; transcendental functions rounded from double).</summary>
public struct F32Ops : INumOps<float>
{
    public float FromDouble(double v) => (float)v;
    public double ToDouble(float v) => v;
    public float Add(float a, float b) => a + b;
    public float Mul(float a, float b) => a * b;
    public bool Greater(float a, float b) => a > b;
    public bool IsNaN(float a) => float.IsNaN(a);
    public float Unary(int op, float x)
    {
        switch (op)
        {
            case 0: return -x;
            case 1: return Math.Abs(x);
            case 11: return x > 0 ? x : 0f;
            case 12: return x > 0 ? 1f : 0f;
            case 13: return 1f / x;
            case 14: return x * x;
            default: return (float)DeviceMath.Unary(op, x);
        }
    }
    public float Binary(int op, float a, float b)
    {
        switch (op)
        {
            case 0: return a + b;
            case 1: return a - b;
            case 2: return a * b;
            case 3: return a / b;
            default: return (float)DeviceMath.Binary(op, a, b);
        }
    }
    public bool Compare(int op, float a, float b) => DeviceMath.Compare(op, a, b);
    public void AtomicAdd(ref float target, float v) => Atomic.Add(ref target, v);
}

/// <summary>float64 operations.</summary>
public struct F64Ops : INumOps<double>
{
    public double FromDouble(double v) => v;
    public double ToDouble(double v) => v;
    public double Add(double a, double b) => a + b;
    public double Mul(double a, double b) => a * b;
    public bool Greater(double a, double b) => a > b;
    public bool IsNaN(double a) => double.IsNaN(a);
    public double Unary(int op, double x) => DeviceMath.Unary(op, x);
    public double Binary(int op, double a, double b) => DeviceMath.Binary(op, a, b);
    public bool Compare(int op, double a, double b) => DeviceMath.Compare(op, a, b);
    public void AtomicAdd(ref double target, double v) => Atomic.Add(ref target, v);
}

/// <summary>int32 operations (integer division truncates; Pow through double).</summary>
public struct I32Ops : INumOps<int>
{
    public int FromDouble(double v) => (int)v;
    public double ToDouble(int v) => v;
    public int Add(int a, int b) => a + b;
    public int Mul(int a, int b) => a * b;
    public bool Greater(int a, int b) => a > b;
    public bool IsNaN(int a) => false;
    public int Unary(int op, int x)
    {
        switch (op)
        {
            case 0: return -x;
            case 1: return x < 0 ? -x : x;
            case 2: return x > 0 ? 1 : x < 0 ? -1 : 0;
            case 11: return x > 0 ? x : 0;
            case 12: return x > 0 ? 1 : 0;
            case 14: return x * x;
            case 17:
            case 18:
            case 19: return x;
            default: return (int)DeviceMath.Unary(op, x);
        }
    }
    public int Binary(int op, int a, int b)
    {
        switch (op)
        {
            case 0: return a + b;
            case 1: return a - b;
            case 2: return a * b;
            case 3: return b == 0 ? 0 : a / b;
            case 4: return (int)Math.Pow(a, b);
            case 5: return a > b ? a : b;
            default: return a < b ? a : b;
        }
    }
    public bool Compare(int op, int a, int b) => DeviceMath.Compare(op, a, b);
    public void AtomicAdd(ref int target, int v) => Atomic.Add(ref target, v);
}

/// <summary>int64 operations.</summary>
public struct I64Ops : INumOps<long>
{
    public long FromDouble(double v) => (long)v;
    public double ToDouble(long v) => v;
    public long Add(long a, long b) => a + b;
    public long Mul(long a, long b) => a * b;
    public bool Greater(long a, long b) => a > b;
    public bool IsNaN(long a) => false;
    public long Unary(int op, long x)
    {
        switch (op)
        {
            case 0: return -x;
            case 1: return x < 0 ? -x : x;
            case 2: return x > 0 ? 1 : x < 0 ? -1 : 0;
            case 11: return x > 0 ? x : 0;
            case 12: return x > 0 ? 1 : 0;
            case 14: return x * x;
            case 17:
            case 18:
            case 19: return x;
            default: return (long)DeviceMath.Unary(op, x);
        }
    }
    public long Binary(int op, long a, long b)
    {
        switch (op)
        {
            case 0: return a + b;
            case 1: return a - b;
            case 2: return a * b;
            case 3: return b == 0 ? 0 : a / b;
            case 4: return (long)Math.Pow(a, b);
            case 5: return a > b ? a : b;
            default: return a < b ? a : b;
        }
    }
    public bool Compare(int op, long a, long b)
    {
        switch (op)
        {
            case 0: return a == b;
            case 1: return a != b;
            case 2: return a < b;
            case 3: return a <= b;
            case 4: return a > b;
            default: return a >= b;
        }
    }
    public void AtomicAdd(ref long target, long v) => Atomic.Add(ref target, v);
}

/// <summary>Bool stored as one byte (0 or 1); arithmetic is not defined, conversions and comparisons are.</summary>
public struct BoolOps : INumOps<byte>
{
    public byte FromDouble(double v) => v != 0.0 ? (byte)1 : (byte)0;
    public double ToDouble(byte v) => v != 0 ? 1.0 : 0.0;
    public byte Add(byte a, byte b) => (a | b) != 0 ? (byte)1 : (byte)0;
    public byte Mul(byte a, byte b) => (a & b) != 0 ? (byte)1 : (byte)0;
    public bool Greater(byte a, byte b) => a > b;
    public bool IsNaN(byte a) => false;
    public byte Unary(int op, byte x) => x;
    public byte Binary(int op, byte a, byte b) => op == 2 ? Mul(a, b) : Add(a, b);
    public bool Compare(int op, byte a, byte b) => DeviceMath.Compare(op, a, b);
    public void AtomicAdd(ref byte target, byte v)
    {
        if (v != 0) target = 1;
    }
}
