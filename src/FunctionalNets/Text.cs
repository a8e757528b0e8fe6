using NnCharTokenizer = FunctionalNets.Nn.CharTokenizer;
using NnText = FunctionalNets.Nn.Text;
using ITokenizer = FunctionalNets.Nn.ITokenizer;

namespace FunctionalNets;

/// <summary>A character-level tokenizer: one id per distinct character of the text it was built from, in
/// ordinal order, so the same text always gives the same vocabulary.</summary>
public sealed class CharTokenizer
{
    private readonly ITokenizer inner;

    private CharTokenizer(NnCharTokenizer tokenizer)
    {
        inner = tokenizer;
        Characters = new string(tokenizer.Chars);
    }

    /// <summary>The vocabulary of a text.</summary>
    /// <param name="text">The text (non-empty).</param>
    public static CharTokenizer FromText(string text)
    {
        ArgumentException.ThrowIfNullOrEmpty(text);
        return new(NnCharTokenizer.ofText(text));
    }

    /// <summary>Number of ids: every id is in [0, VocabSize).</summary>
    public int VocabSize => inner.VocabSize;

    /// <summary>The vocabulary's characters, id order.</summary>
    public string Characters { get; }

    /// <summary>The ids of a text.</summary>
    /// <exception cref="ArgumentException">A character outside the vocabulary (named in the message).</exception>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return inner.Encode(text);
    }

    /// <summary>The text of ids.</summary>
    /// <exception cref="ArgumentException">An id outside [0, VocabSize).</exception>
    public string Decode(int[] ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return inner.Decode(ids);
    }
}

/// <summary>The text corpus that ships with the repository: the King James Bible (public domain,
/// data/text/kjv.txt.gz).</summary>
public static class TextCorpus
{
    /// <summary>The whole text of a .txt or .txt.gz file, or of the shipped corpus.</summary>
    /// <param name="path">A .txt or .txt.gz file, or null to find data/text/kjv.txt.gz ($FUNCTIONALNETS_DATA/text,
    /// or data/text above the current or the application's folder).</param>
    /// <param name="lenient">Replace bytes that are not UTF-8 with U+FFFD instead of raising.</param>
    /// <exception cref="FileNotFoundException">No file at the path.</exception>
    /// <exception cref="InvalidDataException">A .gz file that is corrupt or truncated, gzip data under a plain
    /// name, a text larger than 512 MiB, or (unless <paramref name="lenient"/>) bytes that are not UTF-8; the
    /// message names the file and, for UTF-8, the byte offset.</exception>
    public static string Load(string? path = null, bool lenient = false)
    {
        if (path is not null && string.IsNullOrWhiteSpace(path))
            throw new ArgumentException("TextCorpus.Load: the path must not be empty; pass null for the shipped corpus.", nameof(path));
        return NnText.loadWith(lenient, path ?? NnText.findCorpus(Interop.None<string>()));
    }
}
