using System.Text.RegularExpressions;

namespace MiniGlm.Corpora;

/// Traditional → simplified Chinese with OpenCC's own dictionaries (as shipped in the opencc-js npm package:
/// `dist/esm-lib/dict/TSPhrases.js` and `TSCharacters.js`, each `export default "trad simp|trad simp|…"`).
/// Like OpenCC's t2s, at each position the longest phrase wins, else the single character is mapped.
public sealed partial class OpenCc
{
    public static NpmPackage Package { get; } = new("opencc-js", "1.4.2",
        "sha512-EdcspgdROiCCZDM+jZR6Pa670xW+EW2QhctPBQ8gRjg6lrx4IHEl+2s+kt5izk/TkxVRgdWuFgaGkaEdIUfdaw==");

    private readonly Dictionary<string, string> map = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> lookup;
    // The longest key starting with each character: most positions then need one or two lookups, not twenty.
    private readonly Dictionary<char, int> longest = [];

    public OpenCc(IEnumerable<KeyValuePair<string, string>> entries)
    {
        foreach (var (from, to) in entries)
        {
            map[from] = to;
            longest[from[0]] = Math.Max(longest.GetValueOrDefault(from[0]), from.Length);
        }
        lookup = map.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// Loads TSPhrases and TSCharacters from an extracted opencc-js package.
    public static OpenCc LoadTraditionalToSimplified(string packageDir)
    {
        var dict = Path.Combine(packageDir, "dist", "esm-lib", "dict");
        return new OpenCc(new[] { "TSCharacters.js", "TSPhrases.js" }.SelectMany(f => Parse(Path.Combine(dict, f))));
    }

    /// Entries of one dictionary file; where a word has several simplified forms, the first is OpenCC's choice.
    public static IEnumerable<KeyValuePair<string, string>> Parse(string file)
    {
        if (!File.Exists(file)) throw new MiniGlmException($"{file}: OpenCC dictionary not found (run ./miniglm data fetch opencc)");
        var match = Quoted().Match(File.ReadAllText(file));
        if (!match.Success) throw new MiniGlmException($"{file}: expected `export default \"trad simp|…\"`");
        foreach (var entry in match.Groups[1].Value.Split('|', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = entry.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 2) yield return new(parts[0], parts[1]);
        }
    }

    public string Convert(string text)
    {
        var result = new System.Text.StringBuilder(text.Length);
        var span = text.AsSpan();
        for (int i = 0; i < span.Length;)
        {
            int one = char.IsHighSurrogate(span[i]) && i + 1 < span.Length ? 2 : 1;
            int matched = 0;
            for (int len = Math.Min(longest.GetValueOrDefault(span[i]), span.Length - i); len >= one && matched == 0; len--)
                if (lookup.TryGetValue(span.Slice(i, len), out var to)) { result.Append(to); matched = len; }
            if (matched == 0) { result.Append(span.Slice(i, one)); matched = one; }
            i += matched;
        }
        return result.ToString();
    }

    [GeneratedRegex("\"([^\"]*)\"", RegexOptions.Singleline)]
    private static partial Regex Quoted();
}
