using System.Text;
using MiniGlm.Tokenization;

namespace MiniGlm.Interop.Gguf;

/// A tiktoken vocabulary as llama.cpp's `gpt2` tokenizer model wants it: every token spelled in GPT-2's
/// byte-to-unicode alphabet (so "Ġthe" for " the"), a type per token, and the BPE merges in order.
///
/// A tiktoken rank file has no merge list: BPE merges the adjacent pair whose concatenation has the lowest rank.
/// The merges are recovered as the tiktoken→Hugging Face converters do: for each token, run BPE on its bytes with
/// only lower ranks allowed; it stops at exactly two parts, and "part1 part2" is the merge that makes the token.
/// Ordered by the token's rank, merge priority equals tiktoken's rank order, so llama.cpp merges the same way.
public sealed record GgufVocab(IReadOnlyList<string> Tokens, IReadOnlyList<int> TokenTypes, IReadOnlyList<string> Merges)
{
    // llama_token_type: NORMAL = 1, CONTROL = 3.
    private const int Normal = 1, Control = 3;

    public static GgufVocab From(TextTokenizer tokenizer)
    {
        var specialIds = tokenizer.SpecialTokens.Values.ToHashSet();
        var ranks = new Dictionary<string, int>();
        var tokens = new string[tokenizer.VocabSize];
        var types = new int[tokenizer.VocabSize];
        for (int id = 0; id < tokenizer.VocabSize; id++)
        {
            bool special = specialIds.Contains(id);
            var bytes = tokenizer.TokenBytes(id);
            tokens[id] = special ? Encoding.UTF8.GetString(bytes) : ByteLevel(bytes);
            types[id] = special ? Control : Normal;
            if (!special) ranks[Latin1(bytes)] = id;
        }
        var merges = new List<string>();
        foreach (var (token, rank) in ranks.OrderBy(kv => kv.Value))
        {
            if (token.Length < 2) continue;
            var parts = Bpe(ranks, token, rank);
            if (parts.Count != 2)
                throw new MiniGlmException($"tokenizer {tokenizer.Spec}: token {rank} cannot be made by one merge of lower-ranked tokens (not a BPE vocabulary)");
            merges.Add(ByteLevel(Encoding.Latin1.GetBytes(parts[0])) + " " + ByteLevel(Encoding.Latin1.GetBytes(parts[1])));
        }
        return new GgufVocab(tokens, types, merges);
    }

    /// BPE over the bytes of `token` (one char per byte), merging lowest-ranked pairs below maxRank only.
    private static List<string> Bpe(Dictionary<string, int> ranks, string token, int maxRank)
    {
        var parts = token.Select(c => c.ToString()).ToList();
        while (parts.Count > 1)
        {
            int best = -1, bestRank = maxRank;
            for (int i = 0; i + 1 < parts.Count; i++)
                if (ranks.TryGetValue(parts[i] + parts[i + 1], out var r) && r < bestRank) { best = i; bestRank = r; }
            if (best < 0) break;
            parts[best] += parts[best + 1];
            parts.RemoveAt(best + 1);
        }
        return parts;
    }

    private static string Latin1(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);

    private static string ByteLevel(ReadOnlySpan<byte> bytes)
    {
        var s = new StringBuilder(bytes.Length);
        foreach (var b in bytes) s.Append(ByteToUnicode[b]);
        return s.ToString();
    }

    /// GPT-2's bytes_to_unicode: printable bytes stand for themselves, the other 68 map to U+0100 onwards in order.
    private static readonly char[] ByteToUnicode = BuildByteToUnicode();

    private static char[] BuildByteToUnicode()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
            map[b] = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF ? (char)b : (char)next++;
        return map;
    }
}
