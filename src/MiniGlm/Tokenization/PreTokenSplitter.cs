using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace MiniGlm.Tokenization;

/// Cuts text into pre-tokens with a pattern, matching it on code points as tiktoken, Hugging Face's tokenizers and
/// llama.cpp do. .NET regexes see UTF-16 units, so a character beyond the BMP (an emoji, a rarer Han character
/// such as 𠀋) would be two surrogates of no category: `\p{L}+` would stop at 𠀋, and `[^\r\n\p{L}\p{N}]?\p{L}+`
/// would not take 😊 in front of 谢谢. So such a character is first replaced by one BMP character of its own
/// Unicode category (the trick llama.cpp uses for its general regexes), the pattern runs on that text, and the
/// matches are mapped back. Patterns that name only categories, \s and ASCII characters (ours, GPT-2's) match
/// exactly as on code points. The old Han-pair pattern keeps matching UTF-16 units, as its tokenizers were trained.
/// Also the pre-tokenizer Microsoft.ML.Tokenizers runs before its merges.
public sealed class PreTokenSplitter : Microsoft.ML.Tokenizers.PreTokenizer
{
    private static readonly ConcurrentDictionary<string, PreTokenSplitter> ByPattern = new();
    private readonly Regex regex;

    private PreTokenSplitter(string pattern)
    {
        Pattern = pattern;
        regex = PreTokenPattern.Compile(pattern);
        CodePoints = pattern != PreTokenPattern.HanPairs;
    }

    /// One splitter per pattern, compiled once.
    public static PreTokenSplitter For(string pattern) => ByPattern.GetOrAdd(pattern, p => new PreTokenSplitter(p));

    public string Pattern { get; }
    /// Whether the pattern runs on code points (every pattern but the old Han-pair one).
    public bool CodePoints { get; }

    /// The pre-tokens of text as (offset, length) in UTF-16 units, in order; together they cover the text.
    public List<(int Offset, int Length)> Split(ReadOnlySpan<char> text)
    {
        var pieces = new List<(int, int)>();
        if (!CodePoints || text.IndexOfAnyInRange('\uD800', '\uDFFF') < 0)
        {
            foreach (var m in regex.EnumerateMatches(text)) pieces.Add((m.Index, m.Length));
            return pieces;
        }
        var (stand, starts) = StandIns(text);
        foreach (var m in regex.EnumerateMatches(stand)) pieces.Add((starts[m.Index], starts[m.Index + m.Length] - starts[m.Index]));
        return pieces;
    }

    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) => Split(text ?? "");

    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) => Split(text);

    /// The text with each supplementary code point replaced by its category's stand-in, and for each character of
    /// it (and its end) where it starts in the original.
    private static (string Text, int[] Starts) StandIns(ReadOnlySpan<char> text)
    {
        var stand = new StringBuilder(text.Length);
        var starts = new List<int>(text.Length + 1);
        for (int i = 0; i < text.Length; i++)
        {
            starts.Add(i);
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                stand.Append(StandIn[(int)Rune.GetUnicodeCategory(new Rune(text[i], text[i + 1]))]);
                i++;
            }
            else stand.Append(text[i]);
        }
        starts.Add(text.Length);
        return (stand.ToString(), starts.ToArray());
    }

    /// For each Unicode category, the first BMP character from U+00A0 on that has it: no ASCII character (which a
    /// pattern may name) and no space or line end stands in for a supplementary one.
    private static readonly char[] StandIn = BuildStandIns();

    private static char[] BuildStandIns()
    {
        var map = new char[Enum.GetValues<UnicodeCategory>().Length];
        var found = new bool[map.Length];
        for (int c = 0xA1; c < 0xFFFF; c++)
        {
            if (c is >= 0xD800 and <= 0xDFFF) continue;
            int category = (int)CharUnicodeInfo.GetUnicodeCategory((char)c);
            if (!found[category]) (map[category], found[category]) = ((char)c, true);
        }
        // Categories no BMP character has would be used by no supplementary one either; give them a symbol.
        for (int i = 0; i < map.Length; i++) if (!found[i]) map[i] = '\u00A9';
        return map;
    }
}
