using System.Numerics;
using System.Runtime.Intrinsics;
namespace FunctionalNets.Kernels;

/// <summary>Elementwise unary operations on floating-point tensors.</summary>
public enum UnaryOp
{
    /// <summary>-x.</summary>
    Neg,
    /// <summary>|x|.</summary>
    Abs,
    /// <summary>-1, 0 or 1 (NaN stays NaN).</summary>
    Sign,
    /// <summary>e^x.</summary>
    Exp,
    /// <summary>Natural logarithm.</summary>
    Log,
    /// <summary>Square root.</summary>
    Sqrt,
    /// <summary>1 / sqrt(x).</summary>
    Rsqrt,
    /// <summary>Sine.</summary>
    Sin,
    /// <summary>Cosine.</summary>
    Cos,
    /// <summary>Hyperbolic tangent.</summary>
    Tanh,
    /// <summary>1 / (1 + e^-x).</summary>
    Sigmoid,
    /// <summary>max(x, 0).</summary>
    Relu,
    /// <summary>1 if x &gt; 0 else 0.</summary>
    Step,
    /// <summary>1 / x.</summary>
    Reciprocal,
    /// <summary>x * x.</summary>
    Square,
    /// <summary>log(1 + e^x), computed without overflow.</summary>
    Softplus,
    /// <summary>The error function.</summary>
    Erf,
    /// <summary>Round toward negative infinity.</summary>
    Floor,
    /// <summary>Round toward positive infinity.</summary>
    Ceil,
    /// <summary>Round to nearest, ties to even.</summary>
    Round,
    /// <summary>log(1 + x), accurate for small x.</summary>
    Log1p,
    /// <summary>e^x - 1, accurate for small x.</summary>
    Expm1,
}

/// <summary>Elementwise binary arithmetic with broadcasting.</summary>
public enum BinaryOp
{
    /// <summary>a + b.</summary>
    Add,
    /// <summary>a - b.</summary>
    Sub,
    /// <summary>a * b.</summary>
    Mul,
    /// <summary>a / b (integers truncate).</summary>
    Div,
    /// <summary>a ^ b.</summary>
    Pow,
    /// <summary>max(a, b), NaN-propagating.</summary>
    Max,
    /// <summary>min(a, b), NaN-propagating.</summary>
    Min,
}

/// <summary>Elementwise comparisons producing booleans.</summary>
public enum CompareOp
{
    /// <summary>a == b.</summary>
    Eq,
    /// <summary>a != b.</summary>
    Ne,
    /// <summary>a &lt; b.</summary>
    Lt,
    /// <summary>a &lt;= b.</summary>
    Le,
    /// <summary>a &gt; b.</summary>
    Gt,
    /// <summary>a &gt;= b.</summary>
    Ge,
}
