namespace MiniGlm.Interop.HuggingFace;

/// The merge list of a byte-level BPE, recovered from tiktoken ranks (which keep only the tokens): each token of
/// two or more bytes is what BPE makes of its own bytes using only the tokens ranked before it, and the last
/// merge of that run is its merge. In rank order, the merges make HF's BPE give tiktoken's ids.
public static class BpeMerges
{
    public static List<(int Left, int Right)> FromRanks(IReadOnlyList<byte[]> tokens)
    {
        var rank = new Dictionary<string, int>(tokens.Count);
        for (int i = 0; i < tokens.Count; i++) rank[Key(tokens[i])] = i;
        var merges = new List<(int, int)>();
        for (int r = 0; r < tokens.Count; r++)
        {
            if (tokens[r].Length < 2) continue;
            var parts = Split(tokens[r], rank, r);
            if (parts.Count != 2)
                throw new MiniGlmException($"tokenizer rank {r}: its bytes do not come from two earlier tokens (not a byte-level BPE rank list)");
            merges.Add((rank[Key(parts[0])], rank[Key(parts[1])]));
        }
        return merges;
    }

    /// BPE of one token's bytes with the tokens ranked below maxRank, stopping when nothing merges.
    private static List<byte[]> Split(byte[] token, Dictionary<string, int> rank, int maxRank)
    {
        var parts = token.Select(b => new[] { b }).ToList();
        while (parts.Count > 2)
        {
            int best = -1, bestRank = maxRank;
            for (int i = 0; i + 1 < parts.Count; i++)
                if (rank.TryGetValue(Key([.. parts[i], .. parts[i + 1]]), out var rk) && rk < bestRank) (best, bestRank) = (i, rk);
            if (best < 0) break;
            parts[best] = [.. parts[best], .. parts[best + 1]];
            parts.RemoveAt(best + 1);
        }
        return parts;
    }

    private static string Key(byte[] bytes) => Convert.ToBase64String(bytes);
}
