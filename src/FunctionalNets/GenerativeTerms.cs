namespace FunctionalNets;

/// <summary>The generative building blocks' F# errors in the host's words: a message that opens with the F#
/// function's name ("Ddpm.linear: ...") opens with the C# member's ("NoiseSchedule.Linear: ..."), and shapes read
/// as C# writes them, so the exception names what the caller called.</summary>
internal static class GenerativeTerms
{
    /// <summary>Runs f; an <see cref="ArgumentException"/> from the F# function <paramref name="fsharpName"/> comes out
    /// as one naming <paramref name="member"/> instead (the original as the inner exception).</summary>
    internal static T Run<T>(string member, string fsharpName, Func<T> f) => Run(member, [fsharpName], f);

    /// <summary>As <see cref="Run{T}(string, string, Func{T})"/> for an F# function whose messages may come from
    /// any of several F# functions it calls.</summary>
    internal static T Run<T>(string member, string[] fsharpNames, Func<T> f)
    {
        try
        {
            return CSharpTerms.Run(f);
        }
        catch (ArgumentException e) when (e.GetType() == typeof(ArgumentException) && Array.Find(fsharpNames, n => e.Message.StartsWith(n + ":", StringComparison.Ordinal)) is { } fsharpName)
        {
            var text = e.ParamName is { } p && e.Message.EndsWith($" (Parameter '{p}')", StringComparison.Ordinal)
                ? e.Message[..^$" (Parameter '{p}')".Length]
                : e.Message;
            throw new ArgumentException(CSharpTerms.Translate(member + text[fsharpName.Length..]), e.ParamName, e);
        }
    }
}
