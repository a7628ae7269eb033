using System.Text;

namespace MiniGlm.Tokenization;

/// A character-level vocabulary (nanoGPT's shakespeare_char `meta.pkl`): id i is the i-th character, one Unicode
/// code point each. Such vocabularies have no end-of-text, but chat turns, SFT rows and documents need one here, so
/// `<|endoftext|>` is the id right after the characters, as a trained tokenizer reserves its special tokens after
/// its ranks. Characters outside the vocabulary are dropped when encoding (nanoGPT raises a KeyError): a chat
/// or API user may type anything, and the model has no id for it.
internal sealed class CharVocabulary
{
    private readonly IReadOnlyList<string> chars;
    private readonly Dictionary<int, int> ids = new();

    public CharVocabulary(IReadOnlyList<string> chars, string source)
    {
        this.chars = chars;
        for (int i = 0; i < chars.Count; i++)
        {
            var c = chars[i];
            if (!Rune.TryGetRuneAt(c, 0, out var rune) || rune.Utf16SequenceLength != c.Length)
                throw new MiniGlmException($"{source}: vocabulary entry {i} is \"{c}\", expected exactly one character");
            if (!ids.TryAdd(rune.Value, i))
                throw new MiniGlmException($"{source}: character U+{rune.Value:X4} appears twice in the vocabulary (ids {ids[rune.Value]} and {i})");
        }
    }

    /// The end-of-text id: the first after the characters.
    public int EotId => chars.Count;

    public List<int> Encode(ReadOnlySpan<char> text)
    {
        var result = new List<int>(text.Length);
        foreach (var rune in text.EnumerateRunes())
            if (ids.TryGetValue(rune.Value, out var id)) result.Add(id);
        return result;
    }

    public string Decode(IEnumerable<int> tokenIds)
    {
        var text = new StringBuilder();
        foreach (var id in tokenIds)
            if (id >= 0 && id < chars.Count) text.Append(chars[id]);
        return text.ToString();
    }

    public byte[][] TokenBytes() =>
        [.. chars.Select(Encoding.UTF8.GetBytes), Encoding.UTF8.GetBytes(TextTokenizer.EndOfText)];
}
