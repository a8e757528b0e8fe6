using System.Text.RegularExpressions;

namespace FunctionalNets;

/// <summary>Puts the F# core's error messages in the C# host's words: shapes as <c>[1, 28, 28]</c> rather than
/// <c>[1; 28; 28]</c>, and the host's names (<c>Losses.CrossEntropy</c>, <c>x.Cast</c>, <c>Net.Fit</c>) for
/// the F# ones, so that what a C# user reads names what a C# user calls.</summary>
internal static partial class CSharpTerms
{
    private static readonly Dictionary<string, string> LossNames = new(StringComparer.Ordinal)
    {
        ["mse"] = "MSE",
        ["mae"] = "MAE",
        ["bce"] = "BCE",
        ["bceWithLogits"] = "BCEWithLogits",
        ["crossEntropy"] = "CrossEntropy",
        ["nll"] = "NLL",
    };

    [GeneratedRegex(@"\[(-?\d+(?:; -?\d+)*)\]")]
    private static partial Regex FSharpShape();

    [GeneratedRegex(@"\bLosses\.([a-z]\w*)")]
    private static partial Regex FSharpLoss();

    [GeneratedRegex(@"^fit: ")]
    private static partial Regex FSharpFit();

    [GeneratedRegex(@"\bDevice\.Cuda (\d+):")]
    private static partial Regex FSharpCudaDevice();

    /// <summary>The message in C# terms.</summary>
    internal static string Translate(string message)
    {
        var m = FSharpShape().Replace(message, s => "[" + s.Groups[1].Value.Replace("; ", ", ") + "]");
        m = FSharpLoss().Replace(m, s => "Losses." + (LossNames.TryGetValue(s.Groups[1].Value, out var n)
            ? n
            : char.ToUpperInvariant(s.Groups[1].Value[0]) + s.Groups[1].Value[1..]));
        m = FSharpFit().Replace(m, "Net.Fit: ");
        m = FSharpCudaDevice().Replace(m, "Devices.Cuda($1):")
            .Replace("call Cuda.useSimulator () before creating tensors", "choose Devices.CudaSimulated before creating tensors")
            .Replace("Cuda.describe ()", "Devices.Describe()");
        return m.Replace("Tensor.cast (", "x.Cast(").Replace("Tensor.cast", "x.Cast");
    }

    /// <summary>Runs f; an ArgumentException, InvalidOperationException or InvalidDataException from the core
    /// comes out as the same type with its message in C# terms (the original as the inner exception).</summary>
    internal static T Run<T>(Func<T> f)
    {
        try
        {
            return f();
        }
        catch (Exception e) when (Rewrite(e) is { } rewritten)
        {
            throw rewritten;
        }
    }

    private static Exception? Rewrite(Exception e)
    {
        if (e.GetType() == typeof(ArgumentException))
        {
            var a = (ArgumentException)e;
            // ArgumentException.Message ends with " (Parameter 'name')"; that part is rebuilt by the new one.
            var text = a.ParamName is { } p && a.Message.EndsWith($" (Parameter '{p}')", StringComparison.Ordinal)
                ? a.Message[..^$" (Parameter '{p}')".Length]
                : a.Message;
            var t = Translate(text);
            return t == text ? null : new ArgumentException(t, a.ParamName, e);
        }

        if (e.GetType() == typeof(InvalidOperationException))
        {
            var t = Translate(e.Message);
            return t == e.Message ? null : new InvalidOperationException(t, e);
        }

        if (e.GetType() == typeof(InvalidDataException))
        {
            var t = Translate(e.Message);
            return t == e.Message ? null : new InvalidDataException(t, e);
        }

        return null;
    }
}
